#pragma once
// Dense optical flow (Farnebäck) and what is done with a flow field: the HSV colour
// wheel picture (hue = direction, value = magnitude), Middlebury .flo files, and the
// mean vector. A field is a CV_32FC2 matrix of (u, v) in pixels per frame.
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace cvtool {

struct FarnebackParams {
  double pyr_scale = 0.5;
  int levels = 3;
  int win_size = 15;
  int iterations = 3;
  int poly_n = 5;
  double poly_sigma = 1.2;
  bool gaussian = false;  // Gaussian instead of box window (slower, smoother)
};

// Flow from `prev_gray` to `gray` (both 8-bit single channel, same size).
cv::Mat dense_flow(const cv::Mat& prev_gray, const cv::Mat& gray, const FarnebackParams& params);

// BGR picture: hue = direction (0 = pointing right, red; 90 degrees = down), full
// saturation, value = magnitude / max_magnitude (clipped at 1); max_magnitude <= 0
// uses the field's own largest magnitude.
cv::Mat flow_to_colour(const cv::Mat& flow, double max_magnitude = 0);

// Middlebury .flo bytes: "PIEH" (float 202021.25), int32 width, int32 height, then
// u, v interleaved float32 row by row, little-endian.
std::string flo_bytes(const cv::Mat& flow);
void write_flo(const std::filesystem::path& path, const cv::Mat& flow);  // atomically; Error(Output)
cv::Mat read_flo(const std::filesystem::path& path);                     // Error(Input)

// Mean (u, v) over the field less a `margin`-pixel border (where Farnebäck is weakest).
cv::Vec2d mean_flow(const cv::Mat& flow, int margin = 0);

}  // namespace cvtool
