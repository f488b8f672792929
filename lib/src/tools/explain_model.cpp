#include "cvtool/tools/explain_model.hpp"

#include <filesystem>
#include <functional>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/detect/detector.hpp"

namespace cvtool {

namespace {

const char* kCaptureAttr = "_cvtool_capture";

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string child_names(const torch::jit::Module& m) {
  std::string names;
  for (const auto& c : m.named_children()) names += (names.empty() ? "" : ", ") + c.name;
  return names.empty() ? "none" : names;
}

// The last prim::CallMethod "forward" on self.<child> anywhere in `block`.
torch::jit::Node* find_child_call(torch::jit::Block* block, torch::jit::Value* self, const std::string& child) {
  torch::jit::Node* found = nullptr;
  for (torch::jit::Node* n : block->nodes()) {
    for (torch::jit::Block* b : n->blocks())
      if (auto* inner = find_child_call(b, self, child)) found = inner;
    if (n->kind() != c10::prim::CallMethod || n->s(c10::attr::name) != "forward") continue;
    torch::jit::Node* obj = n->inputs()[0]->node();
    if (obj->kind() == c10::prim::GetAttr && obj->s(c10::attr::name) == child && obj->inputs()[0] == self) found = n;
  }
  return found;
}

void collect_ops(torch::jit::Block* block, const std::string& kind, std::vector<torch::jit::Node*>& out) {
  for (torch::jit::Node* n : block->nodes()) {
    if (std::string(n->kind().toQualString()) == kind) out.push_back(n);
    for (torch::jit::Block* b : n->blocks()) collect_ops(b, kind, out);
  }
}

}  // namespace

// TorchScript has no forward hooks. The parent's forward graph is rewritten instead:
// right after the call of the named child, its output is stored in a new tensor
// attribute of the parent (prim::SetAttr). The stored tensor is part of the autograd
// graph of the forward, so d(score)/d(activation) comes from torch::autograd::grad.
// The module was loaded by this object alone, so the edit touches no other user.
GradClassifier::GradClassifier(const nlohmann::json& config, const std::string& capture_layer, ScoreTarget target)
    : target_(target) {
  // The plain interpreter, as in training: the profiling executor re-specialises and
  // fuses after a few runs, and its results then differ from the first runs' in the
  // last bits; saliency and attacks should not depend on how often a model ran.
  torch::jit::setGraphExecutorOptimize(false);
  const auto& m = config.at("model");
  if (!m.contains("path") || !m["path"].is_string())
    throw Error(ErrorKind::Config, "model.path: a TorchScript classifier is needed");
  path_ = m["path"].get<std::string>();
  norm_ = normalization_from_config(m);
  input_size_ = cv::Size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>());
  resize_ = m["resize"].get<std::string>();
  pad_value_ = m["pad_value"].get<double>();
  if (m.contains("labels") && m["labels"].is_string()) labels_ = read_labels(m["labels"].get<std::string>());
  if (config.contains("runtime") && config["runtime"].contains("device"))
    device_ = parse_device(config["runtime"]["device"].get<std::string>());
  if (!std::filesystem::exists(path_)) throw Error(ErrorKind::Model, path_ + ": no such model file");
  try {
    module_ = torch::jit::load(path_, device_);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Model, path_ + ": not a TorchScript model (" + std::string(e.what_without_backtrace()) + ")");
  }
  module_.eval();
  for (auto p : module_.parameters()) p.set_requires_grad(false);

  if (!capture_layer.empty()) install_capture(capture_layer);
}

// "a.b" captures the output of submodule a.b as called by a's forward; "a.b:op[:k]"
// captures the k-th (0-based; negative counts from the end; default -1) aten::op node
// of a.b's own forward ("" = the root), for models that call functional ops.
void GradClassifier::install_capture(const std::string& layer) {
  std::string module_path = layer, op;
  int index = -1;
  if (auto colon = layer.find(':'); colon != std::string::npos) {
    module_path = layer.substr(0, colon);
    op = layer.substr(colon + 1);
    if (auto c2 = op.find(':'); c2 != std::string::npos) {
      try {
        index = std::stoi(op.substr(c2 + 1));
      } catch (const std::exception&) {
        throw Error(ErrorKind::Config, "layer '" + layer + "': expected PATH:OP:INDEX with an integer index");
      }
      op = op.substr(0, c2);
    }
  }
  auto parts = module_path.empty() ? std::vector<std::string>{} : split_dots(module_path);
  const std::size_t walk = op.empty() ? (parts.empty() ? 0 : parts.size() - 1) : parts.size();
  if (op.empty() && parts.empty()) throw Error(ErrorKind::Config, "layer: empty name");
  torch::jit::Module owner = module_;
  std::string walked;
  for (std::size_t i = 0; i < walk; ++i) {
    walked += (walked.empty() ? "" : ".") + parts[i];
    if (!owner.hasattr(parts[i]) || !owner.attr(parts[i]).isModule())
      throw Error(ErrorKind::Model, path_ + ": layer '" + walked + "' not found; children here: " + child_names(owner));
    owner = owner.attr(parts[i]).toModule();
  }
  if (!owner.find_method("forward"))
    throw Error(ErrorKind::Model, path_ + ": '" + (walked.empty() ? std::string("(root)") : walked) + "' has no forward");
  auto graph = owner.get_method("forward").graph();
  torch::jit::Node* node = nullptr;
  if (op.empty()) {
    const std::string& child = parts.back();
    if (!owner.hasattr(child) || !owner.attr(child).isModule())
      throw Error(ErrorKind::Model, path_ + ": layer '" + layer + "' not found; children here: " + child_names(owner));
    node = find_child_call(graph->block(), graph->inputs()[0], child);
    if (!node)
      throw Error(ErrorKind::Model, path_ + ": layer '" + layer +
                                        "' is not called as a submodule by its parent's forward (frozen or inlined model?)");
  } else {
    std::vector<torch::jit::Node*> found;
    collect_ops(graph->block(), "aten::" + op, found);
    int n = int(found.size());
    int k = index < 0 ? n + index : index;
    if (k < 0 || k >= n)
      throw Error(ErrorKind::Model, path_ + ": layer '" + layer + "': the forward of '" +
                                        (walked.empty() ? std::string("(root)") : walked) + "' has " + std::to_string(n) +
                                        " aten::" + op + " node(s)");
    node = found[std::size_t(k)];
  }
  if (node->outputs().size() != 1 || !node->output()->type()->cast<c10::TensorType>())
    throw Error(ErrorKind::Model, path_ + ": layer '" + layer + "' does not return one tensor");
  owner.register_attribute(kCaptureAttr, c10::TensorType::get(), torch::zeros({0}), false);
  torch::jit::Node* set = graph->create(c10::prim::SetAttr, {graph->inputs()[0], node->output()}, 0);
  set->s_(c10::attr::name, kCaptureAttr);
  set->insertAfter(node);
  capture_owner_ = owner;
  capture_attr_ = kCaptureAttr;
  // Loading may already have made the optimised (inlined) copies of the graphs; drop
  // them so every caller sees the edit.
  for (const auto& m : module_.modules())
    for (const auto& method : m.get_methods()) torch::jit::toGraphFunction(method.function()).clear_optimized_graphs();
}

torch::Tensor GradClassifier::pixels(const std::vector<cv::Mat>& images_bgr) const {
  std::vector<torch::Tensor> out;
  for (const auto& img : images_bgr) {
    cv::Mat bgr = img;
    if (img.channels() == 1) cv::cvtColor(img, bgr, cv::COLOR_GRAY2BGR);
    else if (img.channels() == 4) cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR);
    // classifier_input returns the image itself when it has the input size: convert
    // into a new Mat, never in place.
    cv::Mat r = classifier_input(bgr, input_size_, resize_, pad_value_), ordered;
    if (norm_.rgb) cv::cvtColor(r, ordered, cv::COLOR_BGR2RGB);
    else ordered = r;
    r = ordered;
    cv::Mat f;
    r.convertTo(f, CV_32FC3, 1.0 / 255);
    torch::Tensor t = torch::from_blob(f.data, {f.rows, f.cols, 3}, torch::kFloat32).clone();
    out.push_back(t.permute({2, 0, 1}));
  }
  return torch::stack(out).to(device_);
}

cv::Mat GradClassifier::to_image(const torch::Tensor& chw) const {
  torch::Tensor t = (chw.detach().to(torch::kCPU).clamp(0, 1) * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  cv::Mat img(int(t.size(0)), int(t.size(1)), CV_8UC3, t.data_ptr<std::uint8_t>());
  img = img.clone();
  if (norm_.rgb) cv::cvtColor(img, img, cv::COLOR_RGB2BGR);
  return img;
}

torch::Tensor GradClassifier::logits(const torch::Tensor& pixels) {
  auto mean = torch::tensor({norm_.mean[0], norm_.mean[1], norm_.mean[2]}, torch::kFloat32).view({1, 3, 1, 1}).to(device_);
  auto stdv = torch::tensor({norm_.std[0], norm_.std[1], norm_.std[2]}, torch::kFloat32).view({1, 3, 1, 1}).to(device_);
  torch::Tensor x = (pixels * float(255 * norm_.scale) - mean) / stdv;
  if (norm_.layout == Layout::NHWC) x = x.permute({0, 2, 3, 1}).contiguous();
  auto outs = output_tensors(module_.forward({x}), path_);
  if (target_.output < 0 || target_.output >= int(outs.size()))
    throw Error(ErrorKind::Model, path_ + ": output " + std::to_string(target_.output) + " asked for, the model has " +
                                      std::to_string(outs.size()));
  torch::Tensor y = outs[std::size_t(target_.output)];
  if (y.dim() == 2) return y;
  if (y.dim() < 2) throw Error(ErrorKind::Model, path_ + ": expected scores N x classes, got " + describe_shape(y));
  // A dense score map (e.g. a detector heatmap): the best location per class.
  int cd = target_.channel_dim < 0 ? target_.channel_dim + int(y.dim()) : target_.channel_dim;
  y = y.movedim(cd, 1).flatten(2);
  return std::get<0>(y.max(2));
}

torch::Tensor GradClassifier::activation() const {
  if (!capture_owner_) return {};
  return capture_owner_->attr(capture_attr_).toTensor();
}

int GradClassifier::num_classes() {
  torch::NoGradGuard ng;
  return int(logits(torch::zeros({1, 3, input_size_.height, input_size_.width}, torch::TensorOptions().device(device_)))
                 .size(1));
}

const std::vector<std::string>& GradClassifier::labels() {
  if (labels_.empty()) {
    int n = num_classes();
    for (int i = 0; i < n; ++i) labels_.push_back(std::to_string(i));
  }
  return labels_;
}

namespace {

torch::Tensor loss_gradient(const std::function<torch::Tensor(const torch::Tensor&)>& forward, const torch::Tensor& x,
                            const torch::Tensor& labels) {
  torch::Tensor xg = x.detach().requires_grad_(true);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      forward(xg), labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return torch::autograd::grad({loss}, {xg})[0];
}

}  // namespace

torch::Tensor fgsm(GradClassifier& model, const torch::Tensor& pixels, const torch::Tensor& labels, double eps) {
  torch::AutoGradMode grad_on(true);
  auto g = loss_gradient([&](const torch::Tensor& x) { return model.logits(x); }, pixels, labels);
  return (pixels.detach() + eps * g.sign()).clamp(0, 1).detach();
}

torch::Tensor pgd(GradClassifier& model, const torch::Tensor& pixels, const torch::Tensor& labels, double eps,
                  int steps, double step) {
  torch::AutoGradMode grad_on(true);
  if (steps < 1) steps = 1;
  if (step <= 0) step = 2.5 * eps / steps;
  torch::Tensor clean = pixels.detach(), x = clean.clone();
  for (int i = 0; i < steps; ++i) {
    auto g = loss_gradient([&](const torch::Tensor& v) { return model.logits(v); }, x, labels);
    x = x + step * g.sign();
    x = torch::min(torch::max(x, clean - eps), clean + eps).clamp(0, 1).detach();
  }
  return x;
}

torch::Tensor fgsm_normalized(torch::jit::Module& model, const torch::Tensor& inputs, const torch::Tensor& labels,
                              double eps, const Normalization& norm) {
  torch::AutoGradMode grad_on(true);
  auto g = loss_gradient([&](const torch::Tensor& x) { return model.forward({x}).toTensor(); }, inputs, labels);
  std::vector<float> step(3), lo(3), hi(3);
  for (int c = 0; c < 3; ++c) {
    step[c] = float(eps * 255 * norm.scale / norm.std[c]);
    lo[c] = float((0 - norm.mean[c]) / norm.std[c]);
    hi[c] = float((255 * norm.scale - norm.mean[c]) / norm.std[c]);
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(inputs.device());
  auto view = [&](const std::vector<float>& v) { return torch::tensor(v, opts).view({1, 3, 1, 1}); };
  torch::Tensor x = inputs.detach() + view(step) * g.sign();
  return torch::max(torch::min(x, view(hi)), view(lo)).detach();
}

}  // namespace cvtool
