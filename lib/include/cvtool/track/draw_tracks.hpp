#pragma once
// Drawing tracks: a box and "#id label" per track, plus a short trail of past centres.
#include <deque>
#include <map>
#include <vector>

#include <opencv2/core.hpp>

#include "cvtool/track/byte_tracker.hpp"

namespace cvtool {

class TrackDrawer {
 public:
  explicit TrackDrawer(int trail_length) : trail_length_(trail_length) {}
  // Draws on a copy of `image`; remembers centres for the trails.
  cv::Mat draw(const cv::Mat& image, const std::vector<Track>& tracks);

 private:
  int trail_length_;
  std::map<int, std::deque<cv::Point>> trails_;
};

}  // namespace cvtool
