#pragma once
// Latency of one model on one input, for the before/after tables of `quantize` and
// `distill`. Includes LibTorch (a tensor crosses).
#include <torch/script.h>

#include "cvtool/core/model.hpp"

namespace cvtool {

// Median wall time in ms of `runs` forwards, after `warmup` untimed ones (TorchScript's
// executor profiles and specialises the graph during the first calls).
double median_forward_ms(Model& model, const torch::Tensor& input, int warmup, int runs);

}  // namespace cvtool
