#include "cvtool/core/manifest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace fs = std::filesystem;

Manifest::Manifest(const fs::path& dir, bool resume) : path_(dir / kFileName) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::Output, dir.string() + ": cannot create folder: " + ec.message());
  if (resume) {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_discarded() || !record.is_object() || !record.contains("source") ||
          !record["source"].is_string())
        continue;  // a torn last line from a killed run
      done_[record["source"].get<std::string>()] = record.value("payload", nlohmann::json());
    }
    remove_stale_temp_files(dir);
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC | O_APPEND), 0644);
  if (fd_ < 0) throw Error(ErrorKind::Output, path_.string() + ": cannot open manifest: " + std::strerror(errno));
  if (resume) {
    // A torn line must not glue itself to the next record.
    off_t size = ::lseek(fd_, 0, SEEK_END);
    if (size > 0) {
      char last = '\n';
      int rfd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (rfd >= 0) {
        if (::pread(rfd, &last, 1, size - 1) != 1) last = '\n';
        ::close(rfd);
      }
      if (last != '\n' && ::write(fd_, "\n", 1) != 1)
        throw Error(ErrorKind::Output, path_.string() + ": cannot write manifest: " + std::strerror(errno));
    }
  }
}

Manifest::~Manifest() {
  if (fd_ >= 0) ::close(fd_);
}

bool Manifest::done(const std::string& source) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_.count(source) > 0;
}

nlohmann::json Manifest::payload(const std::string& source) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = done_.find(source);
  return it == done_.end() ? nlohmann::json() : it->second;
}

void Manifest::mark_done(const std::string& source, const nlohmann::json& payload) {
  nlohmann::json record = {{"source", source}};
  if (!payload.is_null()) record["payload"] = payload;
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  // One write per line (O_APPEND): a kill leaves whole lines plus at most one torn tail.
  std::size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::Output, path_.string() + ": cannot write manifest: " + std::strerror(errno));
    }
    written += std::size_t(n);
  }
  if (::fdatasync(fd_) != 0)
    throw Error(ErrorKind::Output, path_.string() + ": cannot sync manifest: " + std::strerror(errno));
  done_[source] = payload;
}

std::size_t remove_stale_temp_files(const fs::path& dir) {
  static const std::regex temp_name(R"(.*\.tmp\.[0-9]+)");
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && std::regex_match(it->path().filename().string(), temp_name)) {
      std::error_code rm_ec;
      if (fs::remove(it->path(), rm_ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace cvtool
