#include "cvtool/track/appearance.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace cvtool {

float cosine_distance(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || b.empty() || a.size() != b.size()) return 1.f;
  double dot = 0;
  for (std::size_t i = 0; i < a.size(); ++i) dot += double(a[i]) * double(b[i]);
  return float(std::clamp(1.0 - dot, 0.0, 2.0));
}

void l2_normalize(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += double(x) * double(x);
  if (n <= 0) return;
  float inv = float(1.0 / std::sqrt(n));
  for (float& x : v) x *= inv;
}

void update_gallery(std::vector<float>& gallery, const std::vector<float>& embedding, float ema) {
  if (embedding.empty()) return;
  if (gallery.size() != embedding.size()) {
    gallery = embedding;
    return;
  }
  for (std::size_t i = 0; i < gallery.size(); ++i) gallery[i] = ema * gallery[i] + (1 - ema) * embedding[i];
  l2_normalize(gallery);
}

double fused_cost(float iou, float min_iou, const std::vector<float>& track_gallery,
                  const std::vector<float>& detection_embedding, const AppearanceParams& params) {
  if (iou < min_iou) return kGatedCost;
  if (track_gallery.empty() || detection_embedding.empty()) return 1.0 - iou;
  float cosine = cosine_distance(track_gallery, detection_embedding);
  if (cosine > params.max_cosine_distance) return kGatedCost;
  return params.iou_weight * (1.0 - iou) + (1.0 - params.iou_weight) * cosine;
}

std::vector<std::vector<float>> colour_embeddings(const cv::Mat& frame, const std::vector<std::array<float, 4>>& boxes) {
  constexpr int kHue = 16, kSat = 4;
  std::vector<std::vector<float>> out;
  cv::Rect bounds(0, 0, frame.cols, frame.rows);
  for (const auto& b : boxes) {
    std::vector<float> v(2 * kHue * kSat, 0.f);
    cv::Rect r = cv::Rect(cv::Point(int(std::floor(b[0])), int(std::floor(b[1]))),
                          cv::Point(int(std::ceil(b[2])), int(std::ceil(b[3])))) & bounds;
    if (r.width >= 2 && r.height >= 4) {
      cv::Mat hsv;
      cv::cvtColor(frame(r), hsv, cv::COLOR_BGR2HSV);
      for (int y = 0; y < hsv.rows; ++y) {
        int half = 2 * y < hsv.rows ? 0 : 1;
        for (int x = 0; x < hsv.cols; ++x) {
          const auto& p = hsv.at<cv::Vec3b>(y, x);
          int h = std::min(kHue - 1, p[0] * kHue / 180), s = std::min(kSat - 1, p[1] * kSat / 256);
          v[std::size_t((half * kHue + h) * kSat + s)] += 1.f;
        }
      }
      // Square root (Hellinger) so that a dominant colour does not swamp the rest.
      for (float& x : v) x = std::sqrt(x);
      l2_normalize(v);
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace cvtool
