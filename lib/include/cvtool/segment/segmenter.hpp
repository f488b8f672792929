#pragma once
// Semantic and person segmentation from a validated "segment" config. LibTorch stays
// behind the pimpl so that users of this header compile fast.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cvtool/core/png_palette.hpp"
#include "cvtool/segment/segmentation.hpp"

namespace cvtool {

struct SegmentTimings {
  double preprocess_ms = 0, model_ms = 0, postprocess_ms = 0;
};

class Segmenter {
 public:
  // `config` is a segment config as returned by load_config (validated, paths
  // resolved). Throws Error(Model) when the model is missing or its outputs do not
  // fit the family, Error(Config) when labels or palette do not fit the model.
  explicit Segmenter(const nlohmann::json& config);
  ~Segmenter();
  Segmenter(Segmenter&&) noexcept;

  // One result per image (8-bit BGR), at that image's size.
  std::vector<Segmentation> segment(const std::vector<cv::Mat>& images, SegmentTimings* timings = nullptr);

  const std::vector<std::string>& labels() const;
  const std::vector<PaletteColour>& palette() const;  // one colour per class at least
  // True for families that give a soft foreground mask (Segmentation::probability).
  bool has_probability() const;
  // True for instance families (Segmentation::instances, `labels` an instance map).
  bool has_instances() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The segmentation families this build knows ("selfie", "logits", ...).
std::vector<std::string> segmentation_families();

}  // namespace cvtool
