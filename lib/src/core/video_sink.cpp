#include "cvtool/core/video_sink.hpp"

#include <unistd.h>

#include <opencv2/videoio.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

struct VideoSink::State {
  cv::VideoWriter writer;
};

VideoSink::VideoSink(std::filesystem::path path, double fps)
    : path_(std::move(path)), fps_(fps > 0 ? fps : 25.0), state_(std::make_unique<State>()) {
  tmp_ = path_.parent_path() / (".tmp." + std::to_string(getpid()) + "." + path_.filename().string());
}

VideoSink::~VideoSink() {
  if (state_->writer.isOpened()) {
    state_->writer.release();
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void VideoSink::write(const cv::Mat& frame) {
  if (!state_->writer.isOpened()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    // MJPG in AVI is written by every OpenCV build, with or without FFmpeg.
    int fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    if (!state_->writer.open(tmp_.string(), cv::CAP_ANY, fourcc, fps_, frame.size()))
      throw Error(ErrorKind::Output, path_.string() + ": cannot open video for writing");
  }
  state_->writer.write(frame);
}

void VideoSink::finish() {
  if (!state_->writer.isOpened()) return;
  state_->writer.release();
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw Error(ErrorKind::Output, path_.string() + ": cannot rename into place: " + ec.message());
}

double video_fps(const std::string& path, double fallback) {
  cv::VideoCapture cap(path);
  double fps = cap.isOpened() ? cap.get(cv::CAP_PROP_FPS) : 0;
  return fps > 0 && fps < 1000 ? fps : fallback;
}

}  // namespace cvtool
