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

// `hooks` plus what the config's "adversarial" section asks for (FGSM examples in a
// share of every batch, via transform_inputs). Throws Error(Config) for multi-label data
// or when `hooks` already has a transform_inputs. train_classifier calls it.
TrainHooks with_adversarial(const nlohmann::json& config, TrainHooks hooks);

}  // namespace cvtool
