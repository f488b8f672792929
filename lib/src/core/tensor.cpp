#include "cvtool/core/tensor.hpp"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"

namespace cvtool {

Layout parse_layout(const std::string& name) {
  if (name == "nchw") return Layout::NCHW;
  if (name == "nhwc") return Layout::NHWC;
  throw Error(ErrorKind::Config, "layout '" + name + "': expected nchw or nhwc");
}

Normalization normalization_from_config(const nlohmann::json& m) {
  Normalization n;
  n.rgb = m["color"] == "rgb";
  n.scale = m["scale"].get<double>();
  n.mean = m["mean"].get<std::array<double, 3>>();
  n.std = m["std"].get<std::array<double, 3>>();
  n.layout = parse_layout(m["layout"].get<std::string>());
  return n;
}

torch::Tensor images_to_tensor(const std::vector<cv::Mat>& images_bgr, const Normalization& norm) {
  if (images_bgr.empty()) throw Error(ErrorKind::Internal, "images_to_tensor: empty batch");
  const cv::Size size = images_bgr[0].size();
  const auto n = static_cast<int64_t>(images_bgr.size());
  torch::Tensor batch = torch::empty({n, size.height, size.width, 3}, torch::kFloat32);
  // One pass per image: colour order, scale, mean and std folded into a*x + b per channel.
  std::array<float, 3> a, b;
  for (int c = 0; c < 3; ++c) {
    a[c] = float(norm.scale / norm.std[c]);
    b[c] = float(-norm.mean[c] / norm.std[c]);
  }
  for (int64_t i = 0; i < n; ++i) {
    const cv::Mat& img = images_bgr[i];
    if (img.size() != size || img.type() != CV_8UC3)
      throw Error(ErrorKind::Internal, "images_to_tensor: images of a batch must share size and be 8-bit BGR");
    float* dst = batch[i].data_ptr<float>();
    for (int y = 0; y < size.height; ++y) {
      const unsigned char* row = img.ptr<unsigned char>(y);
      for (int x = 0; x < size.width; ++x, dst += 3, row += 3) {
        // row is B,G,R; model channel c reads source channel (rgb ? 2-c : c).
        if (norm.rgb) {
          dst[0] = a[0] * row[2] + b[0];
          dst[1] = a[1] * row[1] + b[1];
          dst[2] = a[2] * row[0] + b[2];
        } else {
          dst[0] = a[0] * row[0] + b[0];
          dst[1] = a[1] * row[1] + b[1];
          dst[2] = a[2] * row[2] + b[2];
        }
      }
    }
  }
  if (norm.layout == Layout::NHWC) return batch;
  return batch.permute({0, 3, 1, 2}).contiguous();
}

}  // namespace cvtool
