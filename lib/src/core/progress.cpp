#include "cvtool/core/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "cvtool/core/error.hpp"

namespace cvtool {

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::Auto;
  if (text == "on") return ProgressMode::On;
  if (text == "off") return ProgressMode::Off;
  throw Error(ErrorKind::Usage, "--progress " + text + ": expected auto, on or off");
}

Progress::Progress(std::size_t total, ProgressMode mode)
    : total_(total),
      enabled_(mode == ProgressMode::On || (mode == ProgressMode::Auto && isatty(STDERR_FILENO))),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::step(bool failed) {
  ++done_;
  if (failed) ++failed_;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(200)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::draw(bool final) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = seconds > 0 ? done_ / seconds : 0;
  char line[160];
  if (total_ > 0) {
    double eta = rate > 0 && total_ > done_ ? (total_ - done_) / rate : 0;
    int width = 24, filled = int(width * double(std::min(done_, total_)) / total_);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line, "\r[%s] %zu/%zu items  %.1f/s  ETA %.0fs  failed %zu", bar.c_str(), done_,
                  total_, rate, eta, failed_);
  } else {
    std::snprintf(line, sizeof line, "\r%zu frames  %.1f/s  failed %zu", done_, rate, failed_);
  }
  std::fputs(line, stderr);
  if (final) std::fputs("\n", stderr);
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_ && done_ > 0) draw(true);
}

}  // namespace cvtool
