#pragma once
// Image batches to model input tensors.
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/types.h>

namespace cvtool {

enum class Layout { NCHW, NHWC };
Layout parse_layout(const std::string& name);

struct Normalization {
  bool rgb = true;                    // channel order the model expects
  double scale = 1.0;                 // applied to 0..255 pixels first
  std::array<double, 3> mean{0, 0, 0};  // then (x*scale - mean) / std, in model channel order
  std::array<double, 3> std{1, 1, 1};
  Layout layout = Layout::NCHW;
};

// Reads color, scale, mean, std and layout from a validated config's "model" section.
Normalization normalization_from_config(const nlohmann::json& model);

// Stacks same-size 8-bit BGR images into one float tensor, converting colour order,
// scale, mean/std and layout. Throws Error(Internal) on mixed sizes.
torch::Tensor images_to_tensor(const std::vector<cv::Mat>& images_bgr, const Normalization& norm);

}  // namespace cvtool
