#pragma once
// A segmentation family names how a model's raw outputs become per-pixel class
// scores. Adding one is one new file plus one row in family_table.cpp.
#include <map>
#include <memory>
#include <string>

#include <torch/script.h>

namespace cvtool {

struct ScoreMaps {
  // N x C x H x W float on the CPU, over the model input grid (or a grid
  // proportional to it). probability: C == 1 and values are a foreground
  // probability in [0,1]; otherwise C class scores, the class is their argmax.
  torch::Tensor maps;
  bool probability = false;
};

class SegmentationFamily {
 public:
  virtual ~SegmentationFamily() = default;
  // Throws Error(Model) naming `model` when `output` does not have this family's
  // shape for a batch of `batch` images.
  virtual ScoreMaps decode(const torch::IValue& output, int64_t batch, const std::string& model) = 0;
};

using SegmentationFamilyFactory = std::unique_ptr<SegmentationFamily> (*)();
const std::map<std::string, SegmentationFamilyFactory>& segmentation_family_table();

std::unique_ptr<SegmentationFamily> make_probability_family();
std::unique_ptr<SegmentationFamily> make_logits_family();
std::unique_ptr<SegmentationFamily> make_torchvision_segmentation_family();

// Shared: checks a 4-D N x C x H x W score tensor and turns it into ScoreMaps
// (C == 1 logits become a sigmoid probability).
ScoreMaps scores_from_logits(const torch::Tensor& t, int64_t batch, const std::string& family, const std::string& model);

}  // namespace cvtool
