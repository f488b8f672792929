#pragma once
// Resizing an image into a model's input and mapping coordinates back exactly.
#include <array>

#include <opencv2/core.hpp>

namespace cvtool {

enum class ResizeMode { Letterbox, Stretch };

// target = source * scale + offset, per axis.
struct ResizeMap {
  cv::Size source_size;
  cv::Size target_size;
  double scale_x = 1, scale_y = 1;
  double offset_x = 0, offset_y = 0;

  cv::Point2d to_source(cv::Point2d target_point) const;
  cv::Point2d to_target(cv::Point2d source_point) const;
  // Maps an x1,y1,x2,y2 box in model input pixels to source pixels, clipped to the image.
  std::array<float, 4> box_to_source(const std::array<float, 4>& box) const;
};

// Letterbox keeps the aspect ratio and centres the image, padding the rest;
// Stretch scales each axis independently.
ResizeMap make_resize_map(cv::Size source, cv::Size target, ResizeMode mode);

// Applies the map: the returned image has target_size, padded with pad_value.
cv::Mat apply_resize(const cv::Mat& image, const ResizeMap& map, const cv::Scalar& pad_value);

ResizeMode parse_resize_mode(const std::string& name);

}  // namespace cvtool
