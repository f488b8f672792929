#pragma once
// A progress line on stderr for long runs: count, rate and ETA. Drawn only when
// stderr is a terminal (mode "auto") so logs and pipes stay clean.
#include <chrono>
#include <cstddef>
#include <string>

namespace cvtool {

enum class ProgressMode { Auto, On, Off };
ProgressMode parse_progress_mode(const std::string& text);

class Progress {
 public:
  Progress(std::size_t total, ProgressMode mode);
  ~Progress();
  void step(bool failed);
  void finish();

 private:
  void draw(bool final);
  std::size_t total_;
  std::size_t done_ = 0, failed_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace cvtool
