#pragma once
// An annotated video written under a temporary name and renamed into place when
// complete, so an interrupted run leaves no half-written video behind.
#include <filesystem>
#include <memory>

#include <opencv2/core.hpp>

namespace cvtool {

class VideoSink {
 public:
  VideoSink(std::filesystem::path path, double fps);
  ~VideoSink();  // an unfinished video is removed
  void write(const cv::Mat& frame);
  void finish();
  const std::filesystem::path& path() const { return path_; }

 private:
  struct State;
  std::filesystem::path path_, tmp_;
  double fps_;
  std::unique_ptr<State> state_;
};

// Frames per second of a video file, or `fallback` when the container does not say.
double video_fps(const std::string& path, double fallback = 25.0);

}  // namespace cvtool
