#pragma once
// The record of finished inputs that makes a run resumable. It lives in the output
// folder as one JSON line per finished input, appended and fsync'd as each finishes,
// so a run killed at any moment loses at most the inputs in flight.
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace cvtool {

class Manifest {
 public:
  static constexpr const char* kFileName = "cvtool-manifest.jsonl";

  // Opens <dir>/cvtool-manifest.jsonl. resume=false starts a new one (truncates);
  // resume=true reads the finished inputs and removes temp files a killed run left.
  // A torn last line (the kill hit mid-append) is ignored.
  Manifest(const std::filesystem::path& dir, bool resume);
  ~Manifest();
  Manifest(const Manifest&) = delete;
  Manifest& operator=(const Manifest&) = delete;

  bool done(const std::string& source) const;
  // What the finished input recorded (e.g. its COCO entries), or null.
  nlohmann::json payload(const std::string& source) const;
  std::size_t done_count() const { return done_.size(); }

  // Appends {"source": source, "payload": payload} and fsyncs.
  void mark_done(const std::string& source, const nlohmann::json& payload = nullptr);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::map<std::string, nlohmann::json> done_;
  mutable std::mutex mutex_;
};

// Removes files named "<name>.tmp.<pid>" under `dir` (write_file_atomic's temp files
// of a killed run); returns how many it removed.
std::size_t remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace cvtool
