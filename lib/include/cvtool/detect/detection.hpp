#pragma once
// Detection results: plain data, no LibTorch.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct Detection {
  int class_id = 0;
  std::string label;
  float score = 0;
  std::array<float, 4> box{};  // x1, y1, x2, y2 in original image pixels
};

// IoU of two x1,y1,x2,y2 boxes; 0 when either is empty.
float box_iou(const std::array<float, 4>& a, const std::array<float, 4>& b);

// Greedy non-maximum suppression. Returns the indices kept, best score first. With
// class_aware, boxes of different classes never suppress each other.
std::vector<std::size_t> nms(const std::vector<Detection>& dets, float iou_threshold, bool class_aware);

nlohmann::json to_json(const Detection& d);

}  // namespace cvtool
