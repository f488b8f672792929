#include "cvtool/train/network.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include <torch/torch.h>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

std::shared_ptr<torch::jit::CompilationUnit> new_unit() { return std::make_shared<torch::jit::CompilationUnit>(); }

// A module made in C++ needs the "training" flag that nn.Module gives Python modules:
// train()/eval() and the forward code read it.
torch::jit::Module new_module(const std::string& name) {
  torch::jit::Module m(c10::QualifiedName("__torch__.cvtool." + name), new_unit(), true);
  if (!m.hasattr("training")) m.register_attribute("training", c10::BoolType::get(), true);
  return m;
}

}  // namespace

torch::jit::Module make_small_cnn(const SmallCnnOptions& o) {
  torch::NoGradGuard no_grad;
  torch::jit::Module m = new_module("SmallCNN");
  std::ostringstream src;
  src << "def forward(self, x):\n";
  int in = o.in_channels;
  for (int b = 0; b < o.blocks; ++b) {
    int out = o.width << b;
    std::string i = std::to_string(b);
    torch::Tensor w = torch::empty({out, in, 3, 3});
    torch::nn::init::kaiming_normal_(w, 0, torch::kFanOut, torch::kReLU);
    m.register_parameter("conv" + i + "_weight", w, false);
    m.register_parameter("conv" + i + "_bias", torch::zeros({out}), false);
    src << "    x = torch.conv2d(x, self.conv" << i << "_weight, self.conv" << i << "_bias, [1, 1], [1, 1])\n";
    if (o.batch_norm) {
      m.register_parameter("bn" + i + "_weight", torch::ones({out}), false);
      m.register_parameter("bn" + i + "_bias", torch::zeros({out}), false);
      m.register_buffer("bn" + i + "_running_mean", torch::zeros({out}));
      m.register_buffer("bn" + i + "_running_var", torch::ones({out}));
      src << "    x = torch.batch_norm(x, self.bn" << i << "_weight, self.bn" << i << "_bias, self.bn" << i
          << "_running_mean, self.bn" << i << "_running_var, self.training, 0.1, 1e-05, False)\n";
    }
    src << "    x = torch.relu(x)\n";
    src << "    x = torch.max_pool2d(x, [2, 2])\n";
    in = out;
  }
  src << "    return torch.mean(x, [2, 3])\n";
  m.define(src.str());
  return m;
}

std::int64_t backbone_feature_dim(torch::jit::Module& backbone, int height, int width, int channels) {
  torch::NoGradGuard no_grad;
  bool was_training = backbone.is_training();
  backbone.eval();
  torch::Tensor f = backbone.forward({torch::zeros({1, channels, height, width})}).toTensor();
  backbone.train(was_training);
  if (f.dim() != 2 && f.dim() != 4)
    throw Error(ErrorKind::Model, "backbone: expected features N x C or N x C x H x W, got " + std::to_string(f.dim()) + " dims");
  return f.size(1);
}

torch::jit::Module make_classifier(const torch::jit::Module& backbone, std::int64_t feature_dim, int num_classes,
                                   double dropout) {
  torch::NoGradGuard no_grad;
  torch::jit::Module m = new_module("Classifier");
  m.register_module("backbone", backbone);
  // nn.Linear's default initialisation: uniform in +-1/sqrt(fan_in).
  double bound = 1.0 / std::sqrt(double(feature_dim));
  m.register_parameter("head_weight", torch::empty({num_classes, feature_dim}).uniform_(-bound, bound), false);
  m.register_parameter("head_bias", torch::empty({num_classes}).uniform_(-bound, bound), false);
  m.register_attribute("dropout", c10::FloatType::get(), dropout);
  m.define(R"(
def forward(self, x):
    f = self.backbone.forward(x)
    if f.dim() == 4:
        f = torch.mean(f, [2, 3])
    f = torch.dropout(f, self.dropout, self.training)
    return torch.addmm(self.head_bias, f, self.head_weight.t())
)");
  return m;
}

std::vector<std::string> freeze_backbone(torch::jit::Module& classifier, const std::string& until) {
  std::vector<std::string> frozen;
  if (until.empty()) return frozen;
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& p : classifier.named_parameters(true))
    if (p.name.rfind("backbone.", 0) == 0) params.emplace_back(p.name.substr(9), p.value);
  std::size_t last = params.size();  // index of the last parameter to freeze, exclusive
  if (until != "all") {
    last = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string& n = params[i].first;
      if (n == until || n.rfind(until + ".", 0) == 0 || n.rfind(until + "_", 0) == 0) last = i + 1;
    }
    if (last == 0) {
      std::set<std::string> modules;
      for (const auto& [n, t] : params) modules.insert(n.substr(0, n.find('.')));
      std::string names;
      for (const auto& n : modules) names += (names.empty() ? "" : ", ") + n;
      throw Error(ErrorKind::Config, "model.freeze: no backbone layer named '" + until + "' (top-level layers: " + names + ")");
    }
  }
  for (std::size_t i = 0; i < last; ++i) {
    params[i].second.set_requires_grad(false);
    frozen.push_back(params[i].first);
  }
  return frozen;
}

void set_train_mode(torch::jit::Module& classifier, bool train) {
  classifier.train(train);
  if (!train) return;
  for (const auto& sub : classifier.named_modules()) {
    if (sub.name.empty()) continue;
    bool any = false, all_frozen = true;
    for (const auto& p : sub.value.parameters(true)) {
      any = true;
      all_frozen = all_frozen && !p.requires_grad();
    }
    if (any && all_frozen) {
      torch::jit::Module m = sub.value;
      m.train(false);
    }
  }
}

std::vector<torch::Tensor> trainable_parameters(const torch::jit::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters(true))
    if (p.requires_grad()) out.push_back(p);
  return out;
}

}  // namespace cvtool
