#include "cvtool/track/meanshift_tracker.hpp"

#include <algorithm>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

class MeanShiftTracker : public SingleObjectTracker {
 public:
  explicit MeanShiftTracker(const MeanShiftParams& p) : p_(p) {}

  void init(const cv::Mat& frame, const cv::Rect2d& box) override {
    cv::Rect r = cv::Rect(box) & cv::Rect(0, 0, frame.cols, frame.rows);
    if (r.area() < 4) throw Error(ErrorKind::Usage, "--init box lies outside the first frame");
    cv::Mat hsv, mask;
    coloured(frame, hsv, mask);
    const int channels[] = {0, 1};
    const int sizes[] = {p_.hue_bins, p_.saturation_bins};
    const float hue_range[] = {0, 180}, sat_range[] = {0, 256};
    const float* ranges[] = {hue_range, sat_range};
    cv::Mat roi = hsv(r), roi_mask = mask(r);
    cv::calcHist(&roi, 1, channels, roi_mask, hist_, p_.use_saturation ? 2 : 1, sizes, ranges);
    cv::normalize(hist_, hist_, 0, 255, cv::NORM_MINMAX);
    reference_ = cv::mean(back_project(hsv, mask)(r))[0];
    // A grey or dark box has no hue to follow: say so instead of tracking noise.
    if (reference_ < 1)
      throw Error(ErrorKind::Usage, "--init box has no saturated colour to follow (meanshift/camshift need one)");
    window_ = r;
    box_ = r;
  }

  SingleTrackResult update(const cv::Mat& frame) override {
    cv::Mat hsv, mask;
    coloured(frame, hsv, mask);
    cv::Mat prob = back_project(hsv, mask);
    const cv::Rect full(0, 0, frame.cols, frame.rows);
    cv::Rect window = lost_ ? densest_window(prob) : window_ & full;
    cv::Rect2d box = climb(prob, window);
    double ratio = window.area() > 0 ? cv::mean(prob(window & full))[0] / reference_ : 0;
    SingleTrackResult r;
    r.score = ratio;
    bool found = ratio >= (lost_ ? p_.found_above : p_.lost_below) && window.area() > 0;
    if (found) {
      window_ = window;
      box_ = box;
    }
    r.state = found ? (lost_ ? TrackState::Recovered : TrackState::Tracking) : TrackState::Lost;
    r.box = box_;
    lost_ = !found;
    return r;
  }

 private:
  void coloured(const cv::Mat& frame, cv::Mat& hsv, cv::Mat& mask) const {
    cv::cvtColor(frame, hsv, cv::COLOR_BGR2HSV);
    cv::inRange(hsv, cv::Scalar(0, p_.min_saturation, p_.min_value), cv::Scalar(180, 256, 256), mask);
  }

  cv::Mat back_project(const cv::Mat& hsv, const cv::Mat& mask) const {
    const int channels[] = {0, 1};
    const float hue_range[] = {0, 180}, sat_range[] = {0, 256};
    const float* ranges[] = {hue_range, sat_range};
    cv::Mat prob;
    cv::calcBackProject(&hsv, 1, channels, hist_, prob, ranges);
    // Grey pixels have an arbitrary hue: they must not vote.
    prob &= mask;
    return prob;
  }

  // While lost: the window of the last size holding the most back-projection mass.
  cv::Rect densest_window(const cv::Mat& prob) const {
    int w = std::min(window_.width, prob.cols), h = std::min(window_.height, prob.rows);
    cv::Mat mean;
    cv::boxFilter(prob, mean, CV_32F, cv::Size(w, h), cv::Point(-1, -1), true, cv::BORDER_CONSTANT);
    cv::Point at;
    cv::minMaxLoc(mean, nullptr, nullptr, nullptr, &at);
    int x = std::clamp(at.x - w / 2, 0, prob.cols - w), y = std::clamp(at.y - h / 2, 0, prob.rows - h);
    return {x, y, w, h};
  }

  // meanShift or CamShift from `window` (moved in place); returns the reported box.
  cv::Rect2d climb(const cv::Mat& prob, cv::Rect& window) const {
    cv::TermCriteria stop(cv::TermCriteria::COUNT | cv::TermCriteria::EPS, p_.max_iterations, p_.epsilon);
    if (window.area() <= 0) return box_;
    if (!p_.camshift) {
      cv::meanShift(prob, window, stop);
      return window;
    }
    cv::Rect before = window;
    cv::RotatedRect rr = cv::CamShift(prob, window, stop);
    cv::Rect2d box = rr.boundingRect2f();
    box &= cv::Rect2d(0, 0, prob.cols, prob.rows);
    // With no mass under it CamShift shrinks the window to nothing: keep the old one.
    if (window.area() < 4 || box.area() < 4) {
      window = before;
      return before;
    }
    return box;
  }

  MeanShiftParams p_;
  cv::Mat hist_;
  double reference_ = 0;
  cv::Rect window_;
  cv::Rect2d box_;
  bool lost_ = false;
};

}  // namespace

std::unique_ptr<SingleObjectTracker> make_meanshift_tracker(const MeanShiftParams& params) {
  return std::make_unique<MeanShiftTracker>(params);
}

}  // namespace cvtool
