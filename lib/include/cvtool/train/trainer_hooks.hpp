#pragma once
// Tensor-level extension points of the trainer, for tools built on it (distillation,
// adversarial training): a custom loss and a per-batch input transform. Includes LibTorch.
#include <functional>

#include <torch/script.h>

#include "cvtool/train/trainer.hpp"

namespace cvtool {

struct TrainHooks {
  // Replaces the configured loss. Gets the model, the (augmented, normalised) inputs,
  // targets (class ids, or multi-hot floats) and logits; returns the per-sample loss
  // (N); the trainer sums it over the global batch and divides by its size.
  std::function<torch::Tensor(torch::jit::Module& model, const torch::Tensor& inputs, const torch::Tensor& targets,
                              const torch::Tensor& logits)>
      loss;
  // Runs before the forward pass of every training batch (e.g. adversarial examples).
  std::function<torch::Tensor(torch::jit::Module& model, const torch::Tensor& inputs, const torch::Tensor& targets)>
      transform_inputs;
};

TrainResult train_classifier(const nlohmann::json& config, const TrainRun& run, const TrainHooks& hooks);

}  // namespace cvtool
