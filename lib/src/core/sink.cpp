#include "cvtool/core/sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <opencv2/imgcodecs.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error(ErrorKind::Output, path.parent_path().string() + ": cannot create folder: " + ec.message());
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorKind::Output, tmp.string() + ": cannot create: " + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(ErrorKind::Output, path.string() + ": write failed: " + std::strerror(err));
    }
    written += std::size_t(n);
  }
  // fsync before rename: after a crash the name points at complete data or at nothing.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::Output, path.string() + ": write failed: " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::Output, path.string() + ": cannot rename into place: " + std::strerror(err));
  }
}

void write_image_atomic(const fs::path& path, const cv::Mat& image) {
  std::vector<unsigned char> buffer;
  std::string ext = path.extension().string();
  try {
    if (!cv::imencode(ext, image, buffer)) throw Error(ErrorKind::Output, path.string() + ": cannot encode image");
  } catch (const cv::Exception& e) {
    throw Error(ErrorKind::Output, path.string() + ": cannot encode image: " + e.msg);
  }
  write_file_atomic(path, std::string(buffer.begin(), buffer.end()));
}

void JsonlWriter::write(const nlohmann::json& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
}

std::string sanitize_stem(const std::string& stem) {
  std::string out;
  for (unsigned char c : stem) {
    bool safe = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c >= 0x80;
    out += safe ? char(c) : '_';
  }
  while (!out.empty() && out[0] == '.') out[0] = '_';  // no hidden files, no ".."
  if (!out.empty() && out[0] == '-') out[0] = '_';     // not an option to the next tool
  if (out.empty()) out = "input";
  return out;
}

OutputNamer::OutputNamer(fs::path dir) : dir_(std::move(dir)) {}

void OutputNamer::protect_input(const std::string& input_path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(input_path, ec);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    inputs_.insert(ec ? input_path : canonical.string());
  }
  // Claim the input's stem now, in input order: names then depend only on the input
  // list, not on which inputs failed, were another shard's or were done before --resume.
  stem_for(input_path);
}

std::string OutputNamer::stem_for(const std::string& source, long long frame_index) {
  std::string key = source + '\0' + std::to_string(frame_index);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = assigned_.find(key);
  if (it != assigned_.end()) return it->second;
  std::string base = sanitize_stem(fs::path(source).stem().string());
  if (frame_index >= 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "_%06lld", frame_index);
    base += buf;
  }
  std::string stem = base;
  for (int n = 2; used_.count(stem); ++n) stem = base + "_" + std::to_string(n);
  used_.insert(stem);
  assigned_[key] = stem;
  return stem;
}

fs::path OutputNamer::path_for(const std::string& source, const std::string& suffix, long long frame_index) {
  fs::path p = dir_ / (stem_for(source, frame_index) + suffix);
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(p, ec);
  std::lock_guard<std::mutex> lock(mutex_);
  if (inputs_.count(ec ? p.string() : canonical.string()))
    throw Error(ErrorKind::Output, p.string() + ": refusing to overwrite an input file");
  return p;
}

}  // namespace cvtool
