// Magnitude pruning: unstructured (smallest |w| per layer or globally) and structured by
// output channel (smallest L1 norm, Li et al. 2017, "Pruning Filters for Efficient ConvNets").
#include "cvtool/tools/prune_module.hpp"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace tj = torch::jit;

PruneMethod parse_prune_method(const std::string& name) {
  if (name == "unstructured") return PruneMethod::Unstructured;
  if (name == "channel") return PruneMethod::Channel;
  throw Error(ErrorKind::Config, "prune.method: expected unstructured or channel, got \"" + name + "\"");
}

std::string to_string(PruneMethod method) { return method == PruneMethod::Channel ? "channel" : "unstructured"; }

PruneScope parse_prune_scope(const std::string& name) {
  if (name == "layer") return PruneScope::Layer;
  if (name == "global") return PruneScope::Global;
  throw Error(ErrorKind::Config, "prune.scope: expected layer or global, got \"" + name + "\"");
}

std::string to_string(PruneScope scope) { return scope == PruneScope::Global ? "global" : "layer"; }

int64_t prune_count(double share, int64_t n) {
  return std::min<int64_t>(n, static_cast<int64_t>(std::llround(share * static_cast<double>(n))));
}

torch::Tensor magnitude_mask(const torch::Tensor& w, int64_t k) {
  torch::Tensor flat = w.detach().abs().reshape({-1}).to(torch::kFloat);
  torch::Tensor mask = torch::ones({flat.numel()}, torch::kFloat);
  if (k > 0) {
    auto order = std::get<1>(torch::sort(flat, /*stable=*/true, /*dim=*/0, /*descending=*/false));
    mask.index_fill_(0, order.slice(0, 0, k), 0.0);
  }
  return mask.reshape(w.sizes()).to(w.scalar_type());
}

std::vector<int64_t> lowest_l1_channels(const torch::Tensor& w, int64_t k) {
  torch::Tensor l1 = w.detach().abs().reshape({w.size(0), -1}).sum(1).to(torch::kDouble);
  auto order = std::get<1>(torch::sort(l1, /*stable=*/true, 0, false));
  std::vector<int64_t> out;
  for (int64_t i = 0; i < k; ++i) out.push_back(order[i].item<int64_t>());
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::vector<int64_t> sizes_of(const torch::Tensor& t) { return t.sizes().vec(); }

int64_t zeros_in(const torch::Tensor& t) { return (t == 0).sum().item<int64_t>(); }

torch::Tensor keep_index(int64_t n, const std::vector<int64_t>& removed) {
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n; ++i)
    if (!std::binary_search(removed.begin(), removed.end(), i)) keep.push_back(i);
  return torch::tensor(keep, torch::kLong);
}

torch::Tensor param(const tj::Module& m, const std::string& name) { return m.attr(name).toTensor(); }

int small_cnn_blocks(const tj::Module& backbone) {
  int blocks = 0;
  while (backbone.hasattr("conv" + std::to_string(blocks) + "_weight")) ++blocks;
  return blocks;
}

// Global unstructured: one threshold over all layers, i.e. the k smallest |w| of the
// concatenation; returns one mask per layer.
std::vector<torch::Tensor> global_masks(const std::vector<torch::Tensor>& weights, double sparsity) {
  std::vector<torch::Tensor> flat;
  int64_t total = 0;
  for (const auto& w : weights) {
    flat.push_back(w.detach().reshape({-1}).to(torch::kFloat));
    total += w.numel();
  }
  torch::Tensor all_mask = magnitude_mask(torch::cat(flat), prune_count(sparsity, total));
  std::vector<torch::Tensor> masks;
  int64_t at = 0;
  for (const auto& w : weights) {
    masks.push_back(all_mask.slice(0, at, at + w.numel()).reshape(w.sizes()).to(w.scalar_type()));
    at += w.numel();
  }
  return masks;
}

std::vector<torch::Tensor> unstructured_masks(const std::vector<torch::Tensor>& weights, const PruneModuleOptions& o) {
  if (o.scope == PruneScope::Global) return global_masks(weights, o.sparsity);
  std::vector<torch::Tensor> masks;
  for (const auto& w : weights) masks.push_back(magnitude_mask(w, prune_count(o.sparsity, w.numel())));
  return masks;
}

// --- cvtool classifiers: prune the parameters -------------------------------------------

PruneModuleResult prune_small_cnn(const tj::Module& original, const PruneModuleOptions& o) {
  PruneModuleResult r;
  r.module = original.deepcopy();
  r.module.eval();
  tj::Module backbone = r.module.attr("backbone").toModule();
  const int blocks = small_cnn_blocks(backbone);
  torch::NoGradGuard no_grad;

  if (o.method == PruneMethod::Unstructured) {
    std::vector<std::string> names;
    std::vector<torch::Tensor> weights;
    for (int i = 0; i < blocks; ++i) {
      names.push_back("backbone.conv" + std::to_string(i) + "_weight");
      weights.push_back(param(backbone, "conv" + std::to_string(i) + "_weight"));
    }
    names.push_back("head_weight");
    weights.push_back(param(r.module, "head_weight"));
    auto masks = unstructured_masks(weights, o);
    for (size_t i = 0; i < weights.size(); ++i) {
      weights[i].mul_(masks[i]);  // in place: the tensor is the module's parameter
      r.masks[names[i]] = masks[i];
      r.layers.push_back({names[i], i + 1 == weights.size() ? "linear" : "conv2d", sizes_of(weights[i]),
                          sizes_of(weights[i]), weights[i].numel(), zeros_in(weights[i]), {}});
    }
    return r;
  }

  // Channel: remove output channels of every conv block, and their inputs downstream.
  // Each block's channels are ranked on its own original weights.
  r.physical = true;
  std::vector<std::vector<int64_t>> removed(blocks);
  for (int i = 0; i < blocks; ++i) {
    torch::Tensor w = param(backbone, "conv" + std::to_string(i) + "_weight");
    int64_t out = w.size(0);
    removed[i] = lowest_l1_channels(w, std::min(prune_count(o.sparsity, out), out - 1));  // keep one at least
  }
  for (int i = 0; i < blocks; ++i) {
    const std::string c = "conv" + std::to_string(i), b = "bn" + std::to_string(i);
    torch::Tensor w = param(backbone, c + "_weight");
    PrunedLayer layer{"backbone." + c + "_weight", "conv2d", sizes_of(w), {}, 0, 0, removed[i]};
    torch::Tensor keep = keep_index(w.size(0), removed[i]);
    w = w.index_select(0, keep);
    if (i > 0) w = w.index_select(1, keep_index(w.size(1), removed[i - 1]));
    backbone.setattr(c + "_weight", w.contiguous());
    if (backbone.hasattr(c + "_bias") && backbone.attr(c + "_bias").isTensor())
      backbone.setattr(c + "_bias", param(backbone, c + "_bias").index_select(0, keep).contiguous());
    for (const char* s : {"_weight", "_bias", "_running_mean", "_running_var"})
      if (backbone.hasattr(b + s)) backbone.setattr(b + s, param(backbone, b + s).index_select(0, keep).contiguous());
    layer.shape_after = sizes_of(w);
    layer.weights = w.numel();
    layer.zeros = zeros_in(w);
    r.layers.push_back(layer);
  }
  torch::Tensor head = param(r.module, "head_weight");
  PrunedLayer hl{"head_weight", "linear", sizes_of(head), {}, 0, 0, {}};
  head = head.index_select(1, keep_index(head.size(1), removed[blocks - 1])).contiguous();
  r.module.setattr("head_weight", head);
  hl.shape_after = sizes_of(head);
  hl.weights = head.numel();
  hl.zeros = zeros_in(head);
  r.layers.push_back(hl);
  return r;
}

// --- any other model: prune the constants of the frozen graph ----------------------------

c10::optional<at::Tensor> constant_tensor(tj::Value* v) {
  if (v->node()->kind() != c10::prim::Constant) return c10::nullopt;
  auto iv = tj::toIValue(v);
  if (!iv || !iv->isTensor()) return c10::nullopt;
  return iv->toTensor();
}

struct GraphWeight {
  tj::Node* node;
  size_t weight_input;
  c10::optional<size_t> bias_input;
  std::string op;
  bool output_channels_first;  // dim 0 of the weight is the op's output channel
};

// The conv / linear ops of a frozen graph with a constant weight, in graph order.
std::vector<GraphWeight> graph_weights(tj::Graph& graph) {
  std::vector<GraphWeight> out;
  for (auto* n : graph.nodes()) {
    const std::string k = n->kind().toQualString();
    bool conv = k == "aten::_convolution" || k == "aten::convolution" || k == "aten::conv1d" || k == "aten::conv2d" ||
                k == "aten::conv3d" || k == "aten::conv_transpose1d" || k == "aten::conv_transpose2d";
    if (conv) {
      auto w = constant_tensor(n->input(1));
      if (!w) continue;
      bool transposed = k.find("transpose") != std::string::npos;
      if (k == "aten::_convolution" || k == "aten::convolution")
        transposed = tj::toIValue(n->input(6)).value_or(c10::IValue(false)).toBool();
      std::string op = (transposed ? "conv_transpose" : "conv") + std::to_string(w->dim() - 2) + "d";
      c10::optional<size_t> bias;
      if (constant_tensor(n->input(2))) bias = 2;
      out.push_back({n, 1, bias, op, !transposed});
    } else if (k == "aten::linear" || k == "aten::addmm" || k == "aten::matmul" || k == "aten::mm") {
      size_t wi = k == "aten::addmm" ? 2 : 1;
      auto w = constant_tensor(n->input(wi));
      if (!w || w->dim() != 2) continue;  // activation x activation: not a layer
      c10::optional<size_t> bias;
      if (k == "aten::linear" && constant_tensor(n->input(2))) bias = 2;
      out.push_back({n, wi, bias, "linear", k == "aten::linear"});
    }
  }
  return out;
}

void set_constant_input(tj::Graph& graph, tj::Node* n, size_t index, const at::Tensor& t) {
  tj::WithInsertPoint guard(n);
  n->replaceInput(index, graph.insertConstant(t));
}

tj::Module frozen_copy(const tj::Module& module) {
  tj::Module m = module.clone();
  m.eval();
  return tj::freeze(m);
}

PruneModuleResult prune_frozen(const tj::Module& original, const PruneModuleOptions& o) {
  PruneModuleResult r;
  r.frozen = true;
  r.module = frozen_copy(original);
  auto graph = r.module.get_method("forward").graph();
  auto found = graph_weights(*graph);
  if (found.empty())
    throw Error(ErrorKind::Model, "prune: the model has no convolution or linear layer with constant weights");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> weights;
  for (const auto& g : found) weights.push_back(*constant_tensor(g.node->input(g.weight_input)));
  std::vector<torch::Tensor> masks;
  if (o.method == PruneMethod::Unstructured) masks = unstructured_masks(weights, o);
  for (size_t i = 0; i < found.size(); ++i) {
    const auto& g = found[i];
    const torch::Tensor& w = weights[i];
    PrunedLayer layer{g.op + " #" + std::to_string(i), g.op, sizes_of(w), sizes_of(w), w.numel(), 0, {}};
    torch::Tensor pruned = w;
    if (o.method == PruneMethod::Unstructured) {
      pruned = w * masks[i];
    } else if (g.op.rfind("conv", 0) == 0 && g.output_channels_first) {
      // Whole output channels (weights and bias) to zero: the channel's output is 0.
      layer.pruned_channels = lowest_l1_channels(w, std::min(prune_count(o.sparsity, w.size(0)), w.size(0) - 1));
      torch::Tensor idx = torch::tensor(layer.pruned_channels, torch::kLong);
      pruned = w.clone().index_fill_(0, idx, 0.0);
      if (g.bias_input) {
        torch::Tensor b = constant_tensor(g.node->input(*g.bias_input))->clone().index_fill_(0, idx, 0.0);
        set_constant_input(*graph, g.node, *g.bias_input, b);
      }
    }
    if (!pruned.is_same(w)) set_constant_input(*graph, g.node, g.weight_input, pruned);
    layer.zeros = zeros_in(pruned);
    r.layers.push_back(layer);
  }
  tj::EliminateDeadCode(graph);  // the replaced constants
  return r;
}

}  // namespace

bool is_small_cnn_classifier(const torch::jit::Module& module) {
  if (!module.hasattr("backbone") || !module.hasattr("head_weight") || !module.attr("backbone").isModule()) return false;
  tj::Module backbone = module.attr("backbone").toModule();
  auto type_name = backbone.type()->name();
  if (!type_name || type_name->name() != "SmallCNN") return false;
  int blocks = small_cnn_blocks(backbone);
  if (blocks == 0) return false;
  int64_t in = -1;
  for (int i = 0; i < blocks; ++i) {
    torch::Tensor w = param(backbone, "conv" + std::to_string(i) + "_weight");
    if (w.dim() != 4 || (in >= 0 && w.size(1) != in)) return false;
    in = w.size(0);
  }
  torch::Tensor head = param(module, "head_weight");
  return head.dim() == 2 && head.size(1) == in;
}

PruneModuleResult prune_module(const torch::jit::Module& module, const PruneModuleOptions& options) {
  if (!(options.sparsity >= 0.0 && options.sparsity < 1.0)) {
    std::ostringstream s;
    s << "prune.sparsity: " << options.sparsity << " is outside [0, 1)";
    throw Error(ErrorKind::Config, s.str());
  }
  if (is_small_cnn_classifier(module)) return prune_small_cnn(module, options);
  return prune_frozen(module, options);
}

std::vector<PrunedLayer> weight_layers(const torch::jit::Module& module) {
  std::vector<PrunedLayer> out;
  torch::NoGradGuard no_grad;
  if (is_small_cnn_classifier(module)) {
    tj::Module backbone = module.attr("backbone").toModule();
    auto add = [&](const std::string& name, const std::string& op, const torch::Tensor& w) {
      out.push_back({name, op, sizes_of(w), sizes_of(w), w.numel(), zeros_in(w), {}});
    };
    for (int i = 0; i < small_cnn_blocks(backbone); ++i)
      add("backbone.conv" + std::to_string(i) + "_weight", "conv2d", param(backbone, "conv" + std::to_string(i) + "_weight"));
    add("head_weight", "linear", param(module, "head_weight"));
    return out;
  }
  tj::Module frozen = frozen_copy(module);
  auto graph = frozen.get_method("forward").graph();
  auto found = graph_weights(*graph);
  for (size_t i = 0; i < found.size(); ++i) {
    torch::Tensor w = *constant_tensor(found[i].node->input(found[i].weight_input));
    out.push_back({found[i].op + " #" + std::to_string(i), found[i].op, sizes_of(w), sizes_of(w), w.numel(), zeros_in(w), {}});
  }
  return out;
}

void apply_masks(torch::jit::Module& module, const std::map<std::string, torch::Tensor>& masks) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters(true)) {
    auto it = masks.find(p.name);
    if (it != masks.end()) p.value.mul_(it->second);
  }
}

}  // namespace cvtool
