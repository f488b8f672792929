#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"

namespace cvtool {

namespace fs = std::filesystem;

namespace {

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

InputItem make_item(const std::string& path) {
  InputItem item;
  item.path = path;
  item.kind = is_video_extension(path) ? InputKind::Video : InputKind::Image;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    item.error = path + ": no such file";
  } else if (fs::is_directory(status)) {
    item.error = path + ": is a directory";
  } else if (access(path.c_str(), R_OK) != 0) {
    item.error = path + ": permission denied";
  }
  return item;
}

// Lists `dir` recursively. A sub-folder that cannot be read becomes a failed item
// naming it (not a silent gap); so does a broken link with an image/video name.
void list_directory(const fs::path& dir, std::vector<InputItem>& found) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    found.push_back({dir.string(), InputKind::Image, dir.string() + ": cannot read directory: " + ec.message()});
    return;
  }
  std::vector<fs::path> subdirs;
  for (; it != end; it.increment(ec)) {
    if (ec) {
      found.push_back({dir.string(), InputKind::Image, dir.string() + ": error while listing: " + ec.message()});
      break;
    }
    const fs::path& p = it->path();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (!it->is_symlink(type_ec)) subdirs.push_back(p);  // no symlink loops
    } else if ((is_image_extension(p) || is_video_extension(p)) &&
               (it->is_regular_file(type_ec) || it->is_symlink(type_ec))) {
      found.push_back(make_item(p.string()));
    }
  }
  for (const auto& sub : subdirs) list_directory(sub, found);
}

void add_directory(const std::string& dir, std::vector<InputItem>& out) {
  std::vector<InputItem> found;
  list_directory(dir, found);
  std::stable_sort(found.begin(), found.end(), [](const InputItem& a, const InputItem& b) { return a.path < b.path; });
  out.insert(out.end(), found.begin(), found.end());
}

void add_list_file(const std::string& list, std::vector<InputItem>& out) {
  std::ifstream in(list);
  if (!in) {
    out.push_back({list, InputKind::Image, list + ": cannot open list file"});
    return;
  }
  fs::path base = fs::path(list).parent_path();
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    fs::path p(line);
    out.push_back(make_item(p.is_absolute() ? line : (base / p).string()));
  }
}

void add_argument(const std::string& arg, std::vector<InputItem>& out);

void add_glob(const std::string& pattern, std::vector<InputItem>& out) {
  glob_t g{};
  int rc = glob(pattern.c_str(), 0, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    out.push_back({pattern, InputKind::Image, pattern + ": pattern matches no file"});
  } else if (rc != 0) {
    out.push_back({pattern, InputKind::Image, pattern + ": cannot expand pattern"});
  } else {
    std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    std::sort(matches.begin(), matches.end());  // glob sorts by locale; we want bytes
    for (const auto& m : matches) {
      if (fs::is_directory(m)) add_directory(m, out); else out.push_back(make_item(m));
    }
  }
  globfree(&g);
}

void add_argument(const std::string& arg, std::vector<InputItem>& out) {
  std::error_code ec;
  if (arg.size() > 1 && arg[0] == '@') {
    add_list_file(arg.substr(1), out);
  } else if (fs::is_directory(arg, ec)) {
    add_directory(arg, out);
  } else if (!fs::exists(arg, ec) && has_glob_chars(arg)) {
    add_glob(arg, out);
  } else {
    out.push_back(make_item(arg));
  }
}

}  // namespace

bool is_image_extension(const fs::path& path) {
  static const char* exts[] = {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp",
                               ".pbm", ".pgm", ".ppm", ".pnm", ".pxm", ".jp2", ".sr", ".ras", ".hdr", ".pic", ".exr"};
  std::string ext = lower_extension(path);
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

bool is_video_extension(const fs::path& path) {
  static const char* exts[] = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv"};
  std::string ext = lower_extension(path);
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

std::vector<InputItem> enumerate_inputs(const std::vector<std::string>& args, std::istream* stdin_paths) {
  std::vector<InputItem> out;
  for (const auto& arg : args) {
    if (arg == "-") {
      std::istream& in = stdin_paths ? *stdin_paths : std::cin;
      std::string line;
      while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) add_argument(line, out);
      }
    } else {
      add_argument(arg, out);
    }
  }
  return out;
}

}  // namespace cvtool
