// Any network that outputs N x C x H x W class scores (U-Net and friends): the class
// is the argmax over C; a single channel is a logit for foreground.
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class LogitsFamily : public SegmentationFamily {
 public:
  ScoreMaps decode(const torch::IValue& output, int64_t batch, const std::string& model) override {
    auto tensors = output_tensors(output, model);
    if (tensors.size() != 1)
      throw Error(ErrorKind::Model, model + ": family logits expects one output tensor, found " +
                                        std::to_string(tensors.size()));
    return scores_from_logits(tensors[0], batch, "logits", model);
  }
};

}  // namespace

std::unique_ptr<SegmentationFamily> make_logits_family() { return std::make_unique<LogitsFamily>(); }

}  // namespace cvtool
