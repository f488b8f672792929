#pragma once
// Text detection + (optional) orientation classification + recognition from a
// validated "ocr" config. LibTorch stays behind the pimpl.
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cvtool/ocr/text_line.hpp"

namespace cvtool {

struct OcrTimings {
  double detect_ms = 0, classify_ms = 0, recognize_ms = 0;
};

class OcrEngine {
 public:
  // `config` is an ocr config as returned by load_config. Throws Error(Model) when a
  // model or the dictionary is missing or a model's outputs do not have the expected
  // shape (checked once on a blank image, which also warms the models up).
  explicit OcrEngine(const nlohmann::json& config);
  ~OcrEngine();
  OcrEngine(OcrEngine&&) noexcept;

  // `image` is 8-bit BGR. No text gives an empty result.
  OcrResult run(const cv::Mat& image, OcrTimings* timings = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cvtool
