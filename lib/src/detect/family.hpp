#pragma once
// A detection family names how a model's raw outputs decode into boxes. Adding one
// is one new file plus one row in family_table.cpp.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/script.h>

#include "cvtool/detect/detection.hpp"

namespace cvtool {

struct DecodeParams {
  float score_threshold = 0.25f;
  int top_k = 100;           // candidates kept per image before NMS
  int num_labels = 0;        // 0 when the config has no labels file
};

class DetectionFamily {
 public:
  virtual ~DetectionFamily() = default;
  // What forward() receives; by default the batched tensor itself.
  virtual std::vector<torch::IValue> make_inputs(const torch::Tensor& batch) { return {batch}; }
  // Throws Error(Model) when `output` does not have this family's shape for a batch of
  // `batch` images of `input_size` (called once at load time on a zero input).
  virtual void check_output(const torch::IValue& output, int64_t batch, cv::Size input_size,
                            const DecodeParams& params, const std::string& model) = 0;
  // Candidates per image, boxes in model-input pixels, labels unset.
  virtual std::vector<std::vector<Detection>> decode(const torch::IValue& output, int64_t batch,
                                                     cv::Size input_size, const DecodeParams& params) = 0;
};

using FamilyFactory = std::unique_ptr<DetectionFamily> (*)();
const std::map<std::string, FamilyFactory>& detection_family_table();

std::unique_ptr<DetectionFamily> make_centernet_family();
std::unique_ptr<DetectionFamily> make_yolov8_family();
std::unique_ptr<DetectionFamily> make_yolov5_family();
std::unique_ptr<DetectionFamily> make_torchvision_detection_family();

// Shared by the families: the first tensor of an output that must be one tensor.
torch::Tensor single_output(const torch::IValue& output, const std::string& family, const std::string& model);

}  // namespace cvtool
