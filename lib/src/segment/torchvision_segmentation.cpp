// Scripted torchvision segmentation models (FCN, DeepLabV3, LR-ASPP): forward returns
// a dict whose "out" entry holds N x C x H x W logits at the input resolution.
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class TorchvisionSegmentationFamily : public SegmentationFamily {
 public:
  ScoreMaps decode(const torch::IValue& output, int64_t batch, const std::string& model) override {
    if (!output.isGenericDict())
      throw Error(ErrorKind::Model, model + ": family torchvision_segmentation expects a dict output with key "
                                            "\"out\", found a " + output.tagKind());
    const auto dict = output.toGenericDict();
    auto it = dict.find(torch::IValue(std::string("out")));
    if (it == dict.end() || !it->value().isTensor())
      throw Error(ErrorKind::Model, model + ": family torchvision_segmentation: the output dict has no tensor \"out\"");
    return scores_from_logits(it->value().toTensor(), batch, "torchvision_segmentation", model);
  }
};

}  // namespace

std::unique_ptr<SegmentationFamily> make_torchvision_segmentation_family() {
  return std::make_unique<TorchvisionSegmentationFamily>();
}

}  // namespace cvtool
