#include "cvtool/track/single_object_tracker.hpp"

#include <opencv2/imgproc.hpp>
#include <opencv2/tracking.hpp>
#include <opencv2/video/tracking.hpp>
#include <sstream>
#include <vector>

#include "cvtool/core/error.hpp"
#include "cvtool/track/flow_tracker.hpp"
#include "cvtool/track/meanshift_tracker.hpp"

namespace cvtool {

const char* to_string(TrackState state) {
  switch (state) {
    case TrackState::Tracking: return "tracking";
    case TrackState::Lost: return "lost";
    case TrackState::Recovered: return "recovered";
  }
  return "?";
}

namespace {

// OpenCV's trackers say only found / not found; we add the lost -> recovered edge.
class OpenCvTracker : public SingleObjectTracker {
 public:
  explicit OpenCvTracker(cv::Ptr<cv::Tracker> tracker) : tracker_(std::move(tracker)) {}
  void init(const cv::Mat& frame, const cv::Rect2d& box) override {
    tracker_->init(frame, cv::Rect(box));
    last_ = box;
  }
  SingleTrackResult update(const cv::Mat& frame) override {
    cv::Rect box;
    bool found = tracker_->update(frame, box);
    SingleTrackResult r;
    r.state = found ? (lost_ ? TrackState::Recovered : TrackState::Tracking) : TrackState::Lost;
    if (found) last_ = box;
    lost_ = !found;
    r.box = last_;
    r.score = found ? 1 : 0;
    return r;
  }

 private:
  cv::Ptr<cv::Tracker> tracker_;
  cv::Rect2d last_;
  bool lost_ = false;
};

// Normalised cross-correlation of the first frame's patch, searched in a window of
// twice the box around the last position; below `lost_below` the object is lost and
// the next frames search everywhere until it scores above `found_above` again.
class TemplateTracker : public SingleObjectTracker {
 public:
  void init(const cv::Mat& frame, const cv::Rect2d& box) override {
    cv::Rect r = cv::Rect(box) & cv::Rect(0, 0, frame.cols, frame.rows);
    if (r.area() < 4) throw Error(ErrorKind::Usage, "--init box lies outside the first frame");
    cv::cvtColor(frame(r), template_, cv::COLOR_BGR2GRAY);
    last_ = r;
  }

  SingleTrackResult update(const cv::Mat& frame) override {
    cv::Mat gray;
    cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
    cv::Rect full(0, 0, gray.cols, gray.rows);
    cv::Rect search = full;
    if (!lost_) {
      int mx = last_.width, my = last_.height;
      search = cv::Rect(last_.x - mx, last_.y - my, last_.width + 2 * mx, last_.height + 2 * my) & full;
    }
    SingleTrackResult r;
    r.box = last_;
    if (search.width < template_.cols || search.height < template_.rows) {
      lost_ = true;
      r.state = TrackState::Lost;
      return r;
    }
    cv::Mat scores;
    cv::matchTemplate(gray(search), template_, scores, cv::TM_CCOEFF_NORMED);
    double best;
    cv::Point at;
    cv::minMaxLoc(scores, nullptr, &best, nullptr, &at);
    r.score = best;
    bool found = best >= (lost_ ? kFoundAbove : kLostBelow);
    if (found) last_ = cv::Rect(search.x + at.x, search.y + at.y, template_.cols, template_.rows);
    r.state = found ? (lost_ ? TrackState::Recovered : TrackState::Tracking) : TrackState::Lost;
    r.box = last_;
    lost_ = !found;
    return r;
  }

 private:
  static constexpr double kLostBelow = 0.5, kFoundAbove = 0.7;
  cv::Mat template_;
  cv::Rect last_;
  bool lost_ = false;
};

}  // namespace

std::unique_ptr<SingleObjectTracker> make_single_object_tracker(const std::string& method) {
  if (method == "kcf") return std::make_unique<OpenCvTracker>(cv::TrackerKCF::create());
  if (method == "csrt") return std::make_unique<OpenCvTracker>(cv::TrackerCSRT::create());
  if (method == "mil") return std::make_unique<OpenCvTracker>(cv::TrackerMIL::create());
  if (method == "template") return std::make_unique<TemplateTracker>();
  if (method == "meanshift" || method == "camshift") {
    MeanShiftParams p;
    p.camshift = method == "camshift";
    return make_meanshift_tracker(p);
  }
  if (method == "flow") return make_flow_tracker(FlowTrackerParams{});
  throw Error(ErrorKind::Usage, "--method " + method + ": expected kcf, csrt, mil, template, meanshift, camshift or flow");
}

cv::Rect2d parse_box(const std::string& text) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      std::size_t used = 0;
      v.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error(ErrorKind::Usage, "--init " + text + ": expected x,y,w,h in pixels");
    }
  }
  if (v.size() != 4 || v[2] <= 0 || v[3] <= 0)
    throw Error(ErrorKind::Usage, "--init " + text + ": expected x,y,w,h with positive width and height");
  return {v[0], v[1], v[2], v[3]};
}

}  // namespace cvtool
