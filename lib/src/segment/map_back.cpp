#include "cvtool/segment/map_back.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

cv::Rect valid_region(const ResizeMap& map) {
  // Same rounding as apply_resize, so the region is exactly the pixels it wrote.
  int w = int(std::lround(map.source_size.width * map.scale_x));
  int h = int(std::lround(map.source_size.height * map.scale_y));
  return cv::Rect(int(map.offset_x), int(map.offset_y), w, h);
}

cv::Mat map_to_source(const cv::Mat& model_map, const ResizeMap& map) {
  if (model_map.empty() || model_map.channels() != 1)
    throw Error(ErrorKind::Internal, "map_to_source: expected a non-empty single-channel map");
  cv::Mat grid = model_map;
  if (grid.size() != map.target_size) cv::resize(model_map, grid, map.target_size, 0, 0, cv::INTER_LINEAR);
  cv::Rect region = valid_region(map);
  if ((region & cv::Rect(cv::Point(), grid.size())) != region)
    throw Error(ErrorKind::Internal, "map_to_source: the valid region lies outside the model map");
  cv::Mat valid = grid(region);
  if (valid.size() == map.source_size) return valid.clone();
  cv::Mat out;
  cv::resize(valid, out, map.source_size, 0, 0, cv::INTER_LINEAR);
  return out;
}

}  // namespace cvtool
