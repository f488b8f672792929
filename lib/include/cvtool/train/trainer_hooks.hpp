#pragma once
// Tensor-level extension points of the trainer, for tools built on it (distillation,
// adversarial training, self-supervised pretext tasks): a custom loss, a per-batch input
// transform, and targets made from the images. Includes LibTorch.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/script.h>

#include "cvtool/train/dataset.hpp"
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

  // Self-supervised (pretext) tasks, whose targets are made from the images
  // (cvtool/train/pretext.hpp). `classes` names the head's outputs (empty: the dataset's
  // classes); `load_data` replaces load_dataset for data.train and data.val;
  // `transform_batch` remakes every batch's inputs and targets, in training and in
  // validation, before transform_inputs. It gets one seed per sample: in training keyed
  // by (seed, epoch, position in the epoch), in validation by (seed, index), so the
  // validation batches are the same every epoch and no seed depends on the rank.
  std::vector<std::string> classes;
  std::function<Dataset(const std::string& path)> load_data;
  std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor& inputs, const torch::Tensor& targets,
                                                        const std::vector<std::uint64_t>& sample_seeds)>
      transform_batch;
};

TrainResult train_classifier(const nlohmann::json& config, const TrainRun& run, const TrainHooks& hooks);

// `hooks` plus what the config's "adversarial" section asks for (FGSM examples in a
// share of every batch, via transform_inputs). Throws Error(Config) for multi-label data
// or when `hooks` already has a transform_inputs. train_classifier calls it.
TrainHooks with_adversarial(const nlohmann::json& config, TrainHooks hooks);

}  // namespace cvtool
