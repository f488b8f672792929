#pragma once
// Undoing the model-input resize on a per-pixel map: the inverse of apply_resize.
#include <opencv2/core.hpp>

#include "cvtool/core/geometry.hpp"

namespace cvtool {

// `model_map` is a single-channel float map over the model input (map.target_size)
// or over a grid proportional to it (a strided output). Returns a map of
// map.source_size: the map is brought to the input grid, the valid (non-padding)
// region of the letterbox is cut out and that region is resized to the source size,
// bilinearly (pixel centres aligned, as cv::resize does on the way in).
cv::Mat map_to_source(const cv::Mat& model_map, const ResizeMap& map);

// The part of the model input the image occupies (everything but the letterbox padding).
cv::Rect valid_region(const ResizeMap& map);

}  // namespace cvtool
