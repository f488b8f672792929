// Models that output one foreground probability per pixel: MediaPipe selfie
// segmentation (N x H x W x 1, already a sigmoid) and DB text maps (N x 1 x H x W).
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

class ProbabilityFamily : public SegmentationFamily {
 public:
  ScoreMaps decode(const torch::IValue& output, int64_t batch, const std::string& model) override {
    auto tensors = output_tensors(output, model);
    if (tensors.size() != 1)
      throw Error(ErrorKind::Model, model + ": family probability expects one output tensor, found " +
                                        std::to_string(tensors.size()));
    torch::Tensor t = tensors[0];
    // The channel axis may be first (NCHW exports) or last (TF/TFLite exports).
    if (t.dim() == 3) t = t.unsqueeze(1);
    else if (t.dim() == 4 && t.size(1) != 1 && t.size(3) == 1) t = t.permute({0, 3, 1, 2});
    if (t.dim() != 4 || t.size(0) != batch || t.size(1) != 1)
      throw Error(ErrorKind::Model, model + ": family probability expects N x 1 x H x W or N x H x W x 1 with N=" +
                                        std::to_string(batch) + ", found " + describe_shape(tensors[0]));
    ScoreMaps s;
    // Clamped: converted models can overshoot [0,1] by float rounding.
    s.maps = t.to(torch::kCPU, torch::kFloat32).clamp(0.0, 1.0).contiguous();
    s.probability = true;
    return s;
  }
};

}  // namespace

std::unique_ptr<SegmentationFamily> make_probability_family() { return std::make_unique<ProbabilityFamily>(); }

}  // namespace cvtool
