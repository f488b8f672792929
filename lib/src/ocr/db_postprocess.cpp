#include "cvtool/ocr/db_postprocess.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace cvtool {

namespace {

Quad quad_of(const cv::RotatedRect& rect) {
  cv::Point2f corners[4];
  rect.points(corners);
  std::vector<cv::Point2f> p(corners, corners + 4);
  // PaddleOCR sorts by x (Python's sort is stable) and then picks the upper of the
  // two left points as top-left and the upper of the two right points as top-right.
  std::stable_sort(p.begin(), p.end(),
                   [](const cv::Point2f& a, const cv::Point2f& b) { return a.x < b.x; });
  int i1 = 0, i4 = 1, i2 = 2, i3 = 3;
  if (!(p[1].y > p[0].y)) std::swap(i1, i4);
  if (!(p[3].y > p[2].y)) std::swap(i2, i3);
  return {p[i1], p[i2], p[i3], p[i4]};
}

}  // namespace

Quad mini_box(const std::vector<cv::Point2f>& points, float* shorter_side) {
  cv::RotatedRect rect = cv::minAreaRect(points);
  if (shorter_side) *shorter_side = std::min(rect.size.width, rect.size.height);
  return quad_of(rect);
}

cv::RotatedRect unclip_rect(const cv::RotatedRect& rect, float ratio) {
  double w = rect.size.width, h = rect.size.height;
  double perimeter = 2 * (w + h);
  if (perimeter <= 0) return rect;
  double offset = w * h * ratio / perimeter;
  return cv::RotatedRect(rect.center, cv::Size2f(float(w + 2 * offset), float(h + 2 * offset)),
                         rect.angle);
}

float box_score_fast(const cv::Mat& prob, const Quad& quad) {
  const int w = prob.cols, h = prob.rows;
  float min_x = quad[0].x, max_x = quad[0].x, min_y = quad[0].y, max_y = quad[0].y;
  for (const auto& p : quad) {
    min_x = std::min(min_x, p.x), max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y), max_y = std::max(max_y, p.y);
  }
  int x0 = std::clamp(int(std::floor(min_x)), 0, w - 1),
      x1 = std::clamp(int(std::ceil(max_x)), 0, w - 1);
  int y0 = std::clamp(int(std::floor(min_y)), 0, h - 1),
      y1 = std::clamp(int(std::ceil(max_y)), 0, h - 1);
  cv::Mat mask = cv::Mat::zeros(y1 - y0 + 1, x1 - x0 + 1, CV_8U);
  std::vector<cv::Point> pts;
  // Truncation toward zero, as numpy's astype("int32") does.
  for (const auto& p : quad) pts.emplace_back(int(p.x - x0), int(p.y - y0));
  cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(1));
  return float(cv::mean(prob(cv::Rect(x0, y0, x1 - x0 + 1, y1 - y0 + 1)), mask)[0]);
}

Quad order_points_clockwise(const Quad& q) {
  // Mirrors PaddleOCR's order_points_clockwise, ties included (first index wins).
  int smin = 0, smax = 0;
  for (int i = 1; i < 4; ++i) {
    if (q[i].x + q[i].y < q[smin].x + q[smin].y) smin = i;
    if (q[i].x + q[i].y > q[smax].x + q[smax].y) smax = i;
  }
  if (smax == smin) smax = smin == 3 ? 2 : 3;
  std::vector<cv::Point2f> rest;
  for (int i = 0; i < 4; ++i)
    if (i != smin && i != smax) rest.push_back(q[i]);
  float d0 = rest[0].y - rest[0].x, d1 = rest[1].y - rest[1].x;
  int dmin = d1 < d0 ? 1 : 0, dmax = d1 > d0 ? 1 : 0;
  return {q[smin], rest[dmin], q[smax], rest[dmax]};
}

cv::Size db_input_size(cv::Size image, int limit_side_len, bool limit_max) {
  const int h = image.height, w = image.width;
  double ratio = 1.0;
  if (limit_max) {
    if (std::max(h, w) > limit_side_len) ratio = double(limit_side_len) / std::max(h, w);
  } else if (std::min(h, w) < limit_side_len) {
    ratio = double(limit_side_len) / std::min(h, w);
  }
  // Python's round() rounds halves to even (48 -> 64, 80 -> 64); nearbyint does the same.
  auto round32 = [](int v) { return std::max(int(std::nearbyint(v / 32.0)) * 32, 32); };
  return cv::Size(round32(int(w * ratio)), round32(int(h * ratio)));
}

std::vector<DetectedBox> db_boxes(const cv::Mat& prob, cv::Size dest, const DbParams& params) {
  CV_Assert(prob.type() == CV_32F);
  cv::Mat bitmap = prob > params.threshold;
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  const std::size_t n = std::min(contours.size(), std::size_t(std::max(0, params.max_candidates)));
  std::vector<DetectedBox> boxes;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<cv::Point2f> points(contours[i].begin(), contours[i].end());
    cv::RotatedRect rect = cv::minAreaRect(points);
    if (std::min(rect.size.width, rect.size.height) < params.min_size) continue;
    float score = box_score_fast(prob, quad_of(rect));
    if (params.box_threshold > score) continue;
    cv::RotatedRect grown = unclip_rect(rect, params.unclip_ratio);
    if (std::min(grown.size.width, grown.size.height) < params.min_size + 2) continue;
    Quad q = quad_of(grown);
    for (auto& p : q) {
      // np.round rounds halves to even, as nearbyint does.
      p.x = std::clamp(std::nearbyint(p.x / prob.cols * dest.width), 0.f, float(dest.width));
      p.y = std::clamp(std::nearbyint(p.y / prob.rows * dest.height), 0.f, float(dest.height));
    }
    // PaddleOCR's filter_tag_det_res: clockwise order, clip inside the image, drop
    // boxes with a side of 3 pixels or less.
    q = order_points_clockwise(q);
    for (auto& p : q) {
      p.x = std::min(std::max(p.x, 0.f), float(dest.width - 1));
      p.y = std::min(std::max(p.y, 0.f), float(dest.height - 1));
    }
    if (int(cv::norm(q[0] - q[1])) <= 3 || int(cv::norm(q[0] - q[3])) <= 3) continue;
    boxes.push_back({q, score});
  }
  return boxes;
}

}  // namespace cvtool
