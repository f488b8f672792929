#pragma once
// What a segmentation pipeline returns for one image, in that image's pixels.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct ClassArea {
  int class_id = 0;
  std::string label;
  std::int64_t area = 0;  // pixels
  double fraction = 0;    // of the image
};

// One object of an instance segmentation, in source image pixels.
struct Instance {
  int class_id = 0;
  std::string label;
  float score = 0;
  std::array<float, 4> box{};  // x1, y1, x2, y2, clipped to the image
  // The mask, CV_8UC1 0/1, covering `roi` of the image (every pixel outside is 0):
  // masks are stored at the size of what they cover, not of the whole image.
  cv::Rect roi;
  cv::Mat mask;
  std::int64_t area = 0;  // mask pixels

  // The mask at the whole image's size (0/1).
  cv::Mat full_mask(cv::Size image_size) const;
};

struct Segmentation {
  // CV_8UC1, original image size. Semantic families: the class index per pixel.
  // Instance families: the instance index per pixel, 1-based into `instances`
  // (0: none; where instances overlap the higher score wins).
  cv::Mat labels;
  cv::Mat probability;  // CV_32FC1 in [0,1] for probability families (foreground), else empty
  std::vector<ClassArea> classes;  // semantic families: classes present (area > 0), by class id
  std::vector<Instance> instances;  // instance families: by score, best first
  bool instance_map = false;        // true when `labels` holds instance indices
};

// Counts the pixels of each class in `labels` (CV_8UC1); classes with no pixel are
// left out. Names come from `names`, or "class_<id>" past its end.
std::vector<ClassArea> class_areas(const cv::Mat& labels, const std::vector<std::string>& names);

nlohmann::json to_json(const ClassArea& area);

// {label, class_id, score, box, area}: the JSONL `instances` entry.
nlohmann::json to_json(const Instance& instance);

// The instance index map of `instances` (at most 255): painted from the lowest score
// up, so the best-scoring instance owns overlapping pixels.
cv::Mat instance_index_map(const std::vector<Instance>& instances, cv::Size image_size);

}  // namespace cvtool
