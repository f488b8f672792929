#pragma once
// Magnitude pruning of a TorchScript module, tensor level (modules and tensors cross the
// interface, so this includes LibTorch; tools/prune.hpp is the LibTorch-free job API).
//
// Two kinds of model are handled:
//  - cvtool's own classifiers (`train classify` with the built-in small CNN: a "backbone"
//    of conv{i} -> [bn{i}] -> relu -> max-pool blocks, then mean + linear "head"): pruned in
//    their parameters, so the result stays trainable (fine-tuning) and, for channel
//    pruning, is physically smaller: pruned output channels are removed from conv{i} and
//    bn{i} and the matching input channels from conv{i+1} (or the head's columns);
//  - any other TorchScript model: frozen (eval mode, conv-bn folded, weights as graph
//    constants) and pruned in the constants; channel pruning then only zeroes whole
//    output channels (weights and bias), the shapes stay.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/script.h>

namespace cvtool {

enum class PruneMethod { Unstructured, Channel };
PruneMethod parse_prune_method(const std::string& name);  // "unstructured" | "channel"; else Error(Config)
std::string to_string(PruneMethod method);

enum class PruneScope { Layer, Global };
PruneScope parse_prune_scope(const std::string& name);  // "layer" | "global"
std::string to_string(PruneScope scope);

struct PruneModuleOptions {
  PruneMethod method = PruneMethod::Unstructured;
  double sparsity = 0.5;  // in [0, 1): share of weights (unstructured) or output channels (channel) removed
  // Unstructured only: every layer to the target (Layer), or one magnitude threshold over
  // all layers (Global).
  PruneScope scope = PruneScope::Layer;
};

// One conv / linear weight and its zeros.
struct PrunedLayer {
  std::string name;  // parameter name ("backbone.conv0_weight") or "conv2d #3" in graph order
  std::string op;    // "conv2d", "conv_transpose2d", "linear", ...
  std::vector<int64_t> shape_before, shape_after;
  int64_t weights = 0, zeros = 0;        // in the pruned weight
  std::vector<int64_t> pruned_channels;  // channel method: the output channels removed / zeroed
  double sparsity() const { return weights ? double(zeros) / double(weights) : 0.0; }
};

struct PruneModuleResult {
  torch::jit::Module module;
  std::vector<PrunedLayer> layers;
  bool physical = false;  // channels removed (cvtool small CNN), not just zeroed
  bool frozen = false;    // the generic route: a frozen copy, not trainable any more
  // Unstructured on a cvtool classifier: parameter name -> mask (1 keep, 0 pruned), what
  // fine-tuning keeps fixed.
  std::map<std::string, torch::Tensor> masks;
};

// Throws Error(Config) for a sparsity outside [0, 1), Error(Model) for a model with no
// conv / linear weight.
PruneModuleResult prune_module(const torch::jit::Module& module, const PruneModuleOptions& options);

// True for a cvtool classifier over the built-in small CNN (see above).
bool is_small_cnn_classifier(const torch::jit::Module& module);

// The k smallest-|w| entries of `w` set to 0 in a mask of w's shape (ties: lower flat
// index first).
torch::Tensor magnitude_mask(const torch::Tensor& w, int64_t k);
// The k output channels (dim 0) of `w` with the smallest L1 norm, ascending by index.
std::vector<int64_t> lowest_l1_channels(const torch::Tensor& w, int64_t k);
// round(share * n), what "sparsity" means for n weights or channels.
int64_t prune_count(double share, int64_t n);

// The conv / linear weights of a model as they are now (pruned or not): parameter names
// for cvtool classifiers, graph constants of the frozen module otherwise.
std::vector<PrunedLayer> weight_layers(const torch::jit::Module& module);

// Multiplies the masked parameters by their masks (under no-grad).
void apply_masks(torch::jit::Module& module, const std::map<std::string, torch::Tensor>& masks);

}  // namespace cvtool
