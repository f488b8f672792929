#include "cvtool/detect/detection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace cvtool {

float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  float iw = std::min(a[2], b[2]) - std::max(a[0], b[0]);
  float ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  float inter = iw * ih;
  float area_a = (a[2] - a[0]) * (a[3] - a[1]);
  float area_b = (b[2] - b[0]) * (b[3] - b[1]);
  float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<std::size_t> nms(const std::vector<Detection>& dets, float iou_threshold, bool class_aware) {
  std::vector<std::size_t> order(dets.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: equal scores keep input order, so results are deterministic.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return dets[a].score > dets[b].score; });
  std::vector<std::size_t> kept;
  std::vector<bool> removed(dets.size(), false);
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::size_t a = order[i];
    if (removed[a]) continue;
    kept.push_back(a);
    for (std::size_t j = i + 1; j < order.size(); ++j) {
      std::size_t b = order[j];
      if (removed[b] || (class_aware && dets[a].class_id != dets[b].class_id)) continue;
      if (box_iou(dets[a].box, dets[b].box) > iou_threshold) removed[b] = true;
    }
  }
  return kept;
}

nlohmann::json to_json(const Detection& d) {
  auto round2 = [](float v) { return std::round(double(v) * 100.0) / 100.0; };
  return {{"label", d.label},
          {"class_id", d.class_id},
          {"score", std::round(double(d.score) * 10000.0) / 10000.0},
          {"box", {round2(d.box[0]), round2(d.box[1]), round2(d.box[2]), round2(d.box[3])}}};
}

}  // namespace cvtool
