#pragma once
// Classifier networks as TorchScript modules built in C++: the module trained is the
// module exported, so there is no separate export step that could drift from training.
// A classifier is a "backbone" submodule (features N x C, or N x C x H x W, averaged)
// followed by dropout and a linear head. Includes LibTorch (modules cross the interface).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/script.h>

namespace cvtool {

struct SmallCnnOptions {
  int in_channels = 3;
  int width = 32;       // channels of the first block; doubled per block
  int blocks = 3;       // conv 3x3 [+ batch norm] + ReLU + 2x2 max-pool, each
  bool batch_norm = true;
};

// A small CNN backbone defined in TorchScript source; parameters initialised from the
// current torch seed (He-normal convolutions).
torch::jit::Module make_small_cnn(const SmallCnnOptions& options);

// Features per image of `backbone` for an input of `height` x `width` (one dry run).
std::int64_t backbone_feature_dim(torch::jit::Module& backbone, int height, int width, int channels = 3);

// backbone + dropout + Linear(feature_dim, num_classes). Head initialised from the
// current torch seed.
torch::jit::Module make_classifier(const torch::jit::Module& backbone, std::int64_t feature_dim, int num_classes,
                                   double dropout);

// Freezes (requires_grad = false) the classifier's backbone parameters in order up to
// and including the last whose name equals `until` or starts with `until` + "." or "_", and
// every parameter before it. "all" freezes the whole backbone; "" none. Throws
// Error(Config) listing the backbone's module names when `until` names nothing.
// Returns the frozen parameter names.
std::vector<std::string> freeze_backbone(torch::jit::Module& classifier, const std::string& until);

// Puts the module in train mode but keeps fully frozen submodules in eval mode, so a
// frozen backbone's batch-norm statistics stay as pretrained.
void set_train_mode(torch::jit::Module& classifier, bool train);

// The parameters that require gradients, in a fixed order.
std::vector<torch::Tensor> trainable_parameters(const torch::jit::Module& module);

}  // namespace cvtool
