#pragma once
// A segmentation family names how a model's raw outputs become per-pixel class
// scores. Adding one is one new file plus one row in family_table.cpp.
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <torch/script.h>

namespace cvtool {

struct ScoreMaps {
  // N x C x H x W float on the CPU, over the model input grid (or a grid
  // proportional to it). probability: C == 1 and values are a foreground
  // probability in [0,1]; otherwise C class scores, the class is their argmax.
  torch::Tensor maps;
  bool probability = false;
};

// An instance before it is brought back to the source image: model-input pixels.
struct InstanceCandidate {
  int class_id = 0;
  float score = 0;
  std::array<float, 4> box{};  // x1, y1, x2, y2
  // H x W float foreground probability over the model input, or over a grid
  // proportional to it (YOLOv8 prototypes at 1/4), brought back like semantic maps.
  torch::Tensor soft;
  // Keep only pixels inside the box once in source pixels (YOLOv8's crop_mask).
  bool crop_to_box = false;
};

struct InstanceParams {
  float score_threshold = 0.25f;
  float nms_iou = 0.45f;
  int top_k = 300;          // candidates per image before NMS
  int max_instances = 100;  // per image, after NMS
  bool class_agnostic = false;
  int num_labels = 0;  // 0 when the config names no classes
};

class SegmentationFamily {
 public:
  virtual ~SegmentationFamily() = default;
  // Instance families return true and implement decode_instances, the others decode.
  virtual bool instances() const { return false; }
  // What forward() receives; by default the batched tensor itself.
  virtual std::vector<torch::IValue> make_inputs(const torch::Tensor& batch) { return {batch}; }
  // Throws Error(Model) naming `model` when `output` does not have this family's
  // shape for a batch of `batch` images.
  virtual ScoreMaps decode(const torch::IValue& output, int64_t batch, const std::string& model);
  // Per image, best score first, at most params.max_instances. Same errors as decode.
  virtual std::vector<std::vector<InstanceCandidate>> decode_instances(const torch::IValue& output, int64_t batch,
                                                                       cv::Size input_size,
                                                                       const InstanceParams& params,
                                                                       const std::string& model);
};

using SegmentationFamilyFactory = std::unique_ptr<SegmentationFamily> (*)();
const std::map<std::string, SegmentationFamilyFactory>& segmentation_family_table();

std::unique_ptr<SegmentationFamily> make_probability_family();
std::unique_ptr<SegmentationFamily> make_logits_family();
std::unique_ptr<SegmentationFamily> make_torchvision_segmentation_family();
std::unique_ptr<SegmentationFamily> make_torchvision_maskrcnn_family();
std::unique_ptr<SegmentationFamily> make_yolov8_seg_family();

// Shared: checks a 4-D N x C x H x W score tensor and turns it into ScoreMaps
// (C == 1 logits become a sigmoid probability).
ScoreMaps scores_from_logits(const torch::Tensor& t, int64_t batch, const std::string& family, const std::string& model);

}  // namespace cvtool
