#pragma once
// The model-tool tests' hand-built TorchScript modules: loaded in eval mode, run without
// gradients.
#include <torch/script.h>

#include <filesystem>

namespace cvtool::test {

inline torch::jit::Module load_module(const std::filesystem::path& file) {
  auto m = torch::jit::load(file.string());
  m.eval();
  return m;
}

inline torch::Tensor run_module(torch::jit::Module& m, const torch::Tensor& x) {
  torch::NoGradGuard ng;
  return m.forward({x}).toTensor();
}

}  // namespace cvtool::test
