#pragma once
// What a segmentation pipeline returns for one image, in that image's pixels.
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

struct Segmentation {
  cv::Mat labels;       // CV_8UC1, class index per pixel, original image size
  cv::Mat probability;  // CV_32FC1 in [0,1] for probability families (foreground), else empty
  std::vector<ClassArea> classes;  // classes present (area > 0), by class id
};

// Counts the pixels of each class in `labels` (CV_8UC1); classes with no pixel are
// left out. Names come from `names`, or "class_<id>" past its end.
std::vector<ClassArea> class_areas(const cv::Mat& labels, const std::vector<std::string>& names);

nlohmann::json to_json(const ClassArea& area);

}  // namespace cvtool
