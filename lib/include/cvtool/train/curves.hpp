#pragma once
// Training curves as a picture: loss (train, val) and accuracy (train, val) per epoch,
// side by side, from the metrics.jsonl a training run appends to (one record per epoch,
// so a resumed run plots its whole history). No LibTorch here.
#include <filesystem>
#include <opencv2/core.hpp>

namespace cvtool {

// Throws cvtool::Error naming the file when it cannot be read or holds no epoch.
cv::Mat render_training_curves(const std::filesystem::path& metrics_jsonl);

}  // namespace cvtool
