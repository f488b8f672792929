#pragma once
// Object detection from a validated "detect" config. LibTorch stays behind the
// pimpl so that users of this header compile fast.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "cvtool/detect/detection.hpp"

namespace cvtool {

struct DetectTimings {
  double preprocess_ms = 0, model_ms = 0, postprocess_ms = 0;
};

class Detector {
 public:
  // `config` is a detect config as returned by load_config (validated, paths resolved).
  // Throws Error(Model) when the model is missing or its outputs do not fit the family.
  explicit Detector(const nlohmann::json& config);
  ~Detector();
  Detector(Detector&&) noexcept;

  // One result list per image (8-bit BGR), boxes in that image's pixels.
  std::vector<std::vector<Detection>> detect(const std::vector<cv::Mat>& images, DetectTimings* timings = nullptr);
  const std::vector<std::string>& labels() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The detection families this build knows ("centernet", "yolov8", ...).
std::vector<std::string> detection_families();

// Reads a labels file: one name per line, blank lines skipped.
std::vector<std::string> read_labels(const std::string& path);

}  // namespace cvtool
