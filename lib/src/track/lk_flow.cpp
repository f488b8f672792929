#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "cvtool/track/flow_sparse.hpp"

namespace cvtool {

namespace {

double median(std::vector<double> v) {
  auto mid = v.begin() + v.size() / 2;
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2) return *mid;
  double upper = *mid;
  return (*std::max_element(v.begin(), mid) + upper) / 2;
}

}  // namespace

std::vector<cv::Point2f> seed_features(const cv::Mat& gray, const cv::Rect& roi, const LkParams& params,
                                       const cv::Mat& extra_mask) {
  cv::Mat mask;
  if (roi.area() > 0) {
    mask = cv::Mat::zeros(gray.size(), CV_8U);
    mask(roi & cv::Rect(0, 0, gray.cols, gray.rows)).setTo(255);
  }
  if (!extra_mask.empty()) mask = mask.empty() ? extra_mask : (mask & extra_mask);
  std::vector<cv::Point2f> corners;
  if (params.max_corners <= 0) return corners;
  cv::goodFeaturesToTrack(gray, corners, params.max_corners, params.quality, params.min_distance, mask);
  return corners;
}

std::vector<unsigned char> forward_backward_keep(const std::vector<cv::Point2f>& points,
                                                 const std::vector<cv::Point2f>& back,
                                                 const std::vector<unsigned char>& ok, double threshold,
                                                 std::vector<float>* errors) {
  std::vector<unsigned char> keep(points.size(), 0);
  if (errors) errors->assign(points.size(), std::numeric_limits<float>::infinity());
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (!ok[i]) continue;
    float e = float(cv::norm(points[i] - back[i]));
    if (errors) (*errors)[i] = e;
    keep[i] = e <= threshold;
  }
  return keep;
}

LkStep lk_forward_backward(const cv::Mat& prev_gray, const cv::Mat& gray, const std::vector<cv::Point2f>& points,
                           const LkParams& params) {
  LkStep s;
  s.from = points;
  if (points.empty()) return s;
  std::vector<unsigned char> fwd, bwd;
  std::vector<float> err;
  std::vector<cv::Point2f> back;
  cv::Size win(params.win_size, params.win_size);
  cv::TermCriteria stop(cv::TermCriteria::COUNT | cv::TermCriteria::EPS, 30, 0.01);
  cv::calcOpticalFlowPyrLK(prev_gray, gray, points, s.to, fwd, err, win, params.levels, stop);
  // No initial guess for the way back: starting it at the true origin would hide errors.
  cv::calcOpticalFlowPyrLK(gray, prev_gray, s.to, back, bwd, err, win, params.levels, stop);
  std::vector<unsigned char> ok(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) ok[i] = fwd[i] && bwd[i];
  s.keep = forward_backward_keep(points, back, ok, params.fb_threshold, &s.fb_error);
  return s;
}

std::optional<cv::Rect2d> robust_box_update(const cv::Rect2d& box, const std::vector<cv::Point2f>& from,
                                            const std::vector<cv::Point2f>& to) {
  if (from.empty() || from.size() != to.size()) return std::nullopt;
  std::vector<double> dx, dy, ratios;
  for (std::size_t i = 0; i < from.size(); ++i) {
    dx.push_back(to[i].x - from[i].x);
    dy.push_back(to[i].y - from[i].y);
  }
  for (std::size_t i = 0; i < from.size(); ++i)
    for (std::size_t j = i + 1; j < from.size(); ++j) {
      double before = cv::norm(from[i] - from[j]);
      // Points closer than 2 px give ratios dominated by their sub-pixel noise.
      if (before >= 2) ratios.push_back(cv::norm(to[i] - to[j]) / before);
    }
  double scale = ratios.empty() ? 1.0 : median(ratios);
  double cx = box.x + box.width / 2 + median(dx), cy = box.y + box.height / 2 + median(dy);
  double w = box.width * scale, h = box.height * scale;
  return cv::Rect2d(cx - w / 2, cy - h / 2, w, h);
}

std::vector<PointTracks::Point> PointTracks::update(const cv::Mat& gray) {
  if (!prev_.empty() && !points_.empty()) {
    std::vector<cv::Point2f> from;
    for (const auto& p : points_) from.push_back(p.at);
    LkStep s = lk_forward_backward(prev_, gray, from, params_);
    std::vector<Point> alive;
    const cv::Rect2f inside(0, 0, float(gray.cols), float(gray.rows));
    for (std::size_t i = 0; i < points_.size(); ++i)
      if (s.keep[i] && inside.contains(s.to[i])) alive.push_back({points_[i].id, s.to[i], s.fb_error[i]});
    points_ = std::move(alive);
  }
  if (int(points_.size()) * 2 < std::max(params_.max_corners, 1)) {
    // New corners only away from the live points, so ids do not double up.
    cv::Mat free(gray.size(), CV_8U, cv::Scalar(255));
    for (const auto& p : points_) cv::circle(free, p.at, int(std::ceil(params_.min_distance)), 0, -1);
    LkParams more = params_;
    more.max_corners = params_.max_corners - int(points_.size());
    for (const auto& c : seed_features(gray, cv::Rect(), more, free)) points_.push_back({next_id_++, c, 0.f});
  }
  gray.copyTo(prev_);
  return points_;
}

}  // namespace cvtool
