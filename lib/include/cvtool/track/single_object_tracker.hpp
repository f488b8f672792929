#pragma once
// Single-object tracking from a box on the first frame: OpenCV's KCF, CSRT and MIL
// trackers (meanshift/camshift and optical flow: meanshift_tracker.hpp, flow_tracker.hpp),
// and a template matcher of ours that searches near the last position and,
// once lost, the whole frame, so it reports both losing and recovering the object.
#include <memory>
#include <string>

#include <opencv2/core.hpp>

namespace cvtool {

enum class TrackState { Tracking, Lost, Recovered };
const char* to_string(TrackState state);

struct SingleTrackResult {
  TrackState state = TrackState::Tracking;
  cv::Rect2d box;      // last known box while lost
  double score = 0;    // the method's confidence where it has one (template: NCC), else 1/0
};

class SingleObjectTracker {
 public:
  virtual ~SingleObjectTracker() = default;
  virtual void init(const cv::Mat& frame, const cv::Rect2d& box) = 0;
  virtual SingleTrackResult update(const cv::Mat& frame) = 0;
};

// "kcf", "csrt", "mil", "template", or (with default parameters; see meanshift_tracker.hpp
// and flow_tracker.hpp) "meanshift", "camshift", "flow"; Error(Usage) for anything else.
std::unique_ptr<SingleObjectTracker> make_single_object_tracker(const std::string& method);

// "x,y,w,h" in pixels; Error(Usage) naming the text when malformed.
cv::Rect2d parse_box(const std::string& text);

}  // namespace cvtool
