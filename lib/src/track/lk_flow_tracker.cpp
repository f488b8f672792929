#include <cmath>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/track/flow_tracker.hpp"

namespace cvtool {

namespace {

// Normalised correlation of two equal-size patches; 0 when either is flat.
double patch_ncc(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat r;
  cv::matchTemplate(a, b, r, cv::TM_CCOEFF_NORMED);
  double v = r.at<float>(0, 0);
  return std::isfinite(v) ? v : 0;
}

cv::Mat to_gray(const cv::Mat& frame) {
  cv::Mat gray;
  if (frame.channels() == 1) return frame;
  cv::cvtColor(frame, gray, cv::COLOR_BGR2GRAY);
  return gray;
}

class FlowTracker : public SingleObjectTracker {
 public:
  explicit FlowTracker(const FlowTrackerParams& p) : p_(p) {}

  void init(const cv::Mat& frame, const cv::Rect2d& box) override {
    prev_ = to_gray(frame);
    cv::Rect r = cv::Rect(box) & cv::Rect(0, 0, prev_.cols, prev_.rows);
    if (r.area() < 4) throw Error(ErrorKind::Usage, "--init box lies outside the first frame");
    template_ = prev_(r).clone();
    box_ = box;
  }

  SingleTrackResult update(const cv::Mat& frame) override {
    cv::Mat gray = to_gray(frame);
    SingleTrackResult r;
    bool found = lost_ ? redetect(gray, r.score) : follow(gray, r.score);
    r.state = found ? (lost_ ? TrackState::Recovered : TrackState::Tracking) : TrackState::Lost;
    r.box = box_;
    lost_ = !found;
    prev_ = gray;
    return r;
  }

 private:
  // One Median-Flow step; `score` is the share of seeded points that survived.
  bool follow(const cv::Mat& gray, double& score) {
    const cv::Rect full(0, 0, gray.cols, gray.rows);
    cv::Rect roi = cv::Rect(box_) & full;
    auto seeds = seed_features(prev_, roi, p_.lk);
    score = 0;
    if (int(seeds.size()) < p_.min_points) return false;
    LkStep s = lk_forward_backward(prev_, gray, seeds, p_.lk);
    std::vector<cv::Point2f> from, to;
    cv::Size patch(p_.patch, p_.patch);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      if (!s.keep[i]) continue;
      cv::Mat a, b;
      cv::getRectSubPix(prev_, patch, s.from[i], a, CV_32F);
      cv::getRectSubPix(gray, patch, s.to[i], b, CV_32F);
      if (patch_ncc(a, b) < p_.min_patch_ncc) continue;
      from.push_back(s.from[i]);
      to.push_back(s.to[i]);
    }
    score = double(from.size()) / seeds.size();
    if (int(from.size()) < p_.min_points) return false;
    cv::Rect2d moved = *robust_box_update(box_, from, to);
    // Mostly out of view: the points left are on the frame edge, not the object.
    if ((moved & cv::Rect2d(full)).area() < 0.5 * moved.area()) return false;
    box_ = moved;
    return true;
  }

  // The first frame's patch near the last box, at its own size and at the box's (fine
  // texture decorrelates within a pixel or two of scale, so both are tried).
  bool redetect(const cv::Mat& gray, double& score) {
    score = 0;
    const cv::Rect full(0, 0, gray.cols, gray.rows);
    cv::Size current(std::max(4, int(std::lround(box_.width))), std::max(4, int(std::lround(box_.height))));
    cv::Rect search = cv::Rect(int(box_.x) - current.width, int(box_.y) - current.height, 3 * current.width,
                               3 * current.height) & full;
    bool found = false;
    for (cv::Size size : {template_.size(), current}) {
      if (search.width < size.width || search.height < size.height) continue;
      cv::Mat templ = template_;
      if (size != template_.size()) cv::resize(template_, templ, size, 0, 0, cv::INTER_AREA);
      cv::Mat scores;
      cv::matchTemplate(gray(search), templ, scores, cv::TM_CCOEFF_NORMED);
      double best;
      cv::Point at;
      cv::minMaxLoc(scores, nullptr, &best, nullptr, &at);
      if (best <= score) continue;
      score = best;
      if (best < p_.found_above) continue;
      box_ = cv::Rect2d(search.x + at.x, search.y + at.y, size.width, size.height);
      found = true;
    }
    return found;
  }

  FlowTrackerParams p_;
  cv::Mat prev_, template_;
  cv::Rect2d box_;
  bool lost_ = false;
};

}  // namespace

std::unique_ptr<SingleObjectTracker> make_flow_tracker(const FlowTrackerParams& params) {
  return std::make_unique<FlowTracker>(params);
}

}  // namespace cvtool
