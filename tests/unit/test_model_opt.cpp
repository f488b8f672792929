// Inference optimisations keep the zoo models' outputs equal to tolerance. Each model
// runs on the same fixed input plain (as loaded) and with the optimisation on; the
// largest absolute difference over every output must stay under the bound below
// (float32 reassociation in oneDNN kernels; the bounds are ~10x what was measured).
// The zoo models are needed: these tests fail when they are missing.
#include <filesystem>

#include <catch2/catch.hpp>

#include "cvtool/core/model.hpp"
#include "cvtool/core/runtime.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

fs::path zoo(const std::string& name) {
  fs::path p = fs::path(CVTOOL_SOURCE_DIR) / "models" / (name + ".pt");
  INFO("zoo model " << p << " is missing: run scripts/fetch-models.sh");
  REQUIRE(fs::exists(p));
  return p;
}

std::vector<torch::Tensor> run(const fs::path& path, const ModelOptions& options, const torch::Tensor& x) {
  Model model(path, options);
  auto out = output_tensors(model.forward(x), path.string());
  for (auto& t : out) t = t.contiguous();
  return out;
}

double max_abs_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].sizes() == b[i].sizes());
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  }
  return worst;
}

struct Case {
  const char* model;
  std::vector<int64_t> shape;
  double scale;      // input range
  double tolerance;  // max abs difference allowed
  bool oneDNN_fusion_safe = true;  // optimize_for_inference keeps its outputs
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"centernet", {1, 512, 512, 3}, 255.0, 5e-3},  // box distances up to ~512 px: 1e-5 relative
      {"ppocrv4-det", {1, 3, 320, 320}, 2.0, 1e-4},  // probability map
      {"ppocrv4-rec", {2, 3, 48, 320}, 2.0, 1e-4},   // softmax over 6625 characters
      {"ppocr-cls", {2, 3, 48, 192}, 2.0, 1e-4, false},  // softmax over 2 orientations
      {"selfie-segmentation", {1, 256, 256, 3}, 1.0, 1e-4},
  };
  return c;
}

}  // namespace

TEST_CASE("model optimisations: channels-last input keeps the zoo models' outputs") {
  configure_threads(0);
  for (const auto& c : cases()) {
    INFO(c.model);
    torch::manual_seed(1);
    torch::Tensor x = torch::rand(c.shape) * c.scale;
    ModelOptions plain, nhwc;
    nhwc.channels_last = true;
    double diff = max_abs_diff(run(zoo(c.model), plain, x), run(zoo(c.model), nhwc, x));
    WARN(c.model << " max abs diff " << diff);
    REQUIRE(diff <= c.tolerance);
  }
}

TEST_CASE("model optimisations: optimize_for_inference keeps the zoo models' outputs") {
  configure_threads(0);
  for (const auto& c : cases()) {
    INFO(c.model);
    torch::manual_seed(2);
    torch::Tensor x = torch::rand(c.shape) * c.scale;
    ModelOptions plain, fused;
    fused.optimize_for_inference = true;
    double diff = max_abs_diff(run(zoo(c.model), plain, x), run(zoo(c.model), fused, x));
    WARN(c.model << " max abs diff " << diff);
    // PP-OCR cls comes out changed by 0.36 in probability: one reason the option is off
    // by default. Should a LibTorch update fix it, this fails and the flag can go.
    if (c.oneDNN_fusion_safe)
      REQUIRE(diff <= c.tolerance);
    else
      REQUIRE(diff > 0.1);
  }
}

TEST_CASE("model optimisations: the graph executor's re-optimisation (off by default) keeps the outputs") {
  configure_threads(0);
  for (const auto& c : cases()) {
    INFO(c.model);
    torch::manual_seed(4);
    torch::Tensor x = torch::rand(c.shape) * c.scale;
    ModelOptions plain, optimised;
    optimised.graph_optimize = true;
    REQUIRE_FALSE(plain.graph_optimize);
    // The profiling executor records the first calls and runs its optimised graph after.
    Model model(zoo(c.model), optimised);
    std::vector<torch::Tensor> out;
    for (int call = 0; call < 4; ++call) out = output_tensors(model.forward(x), c.model);
    for (auto& t : out) t = t.contiguous();
    double diff = max_abs_diff(run(zoo(c.model), plain, x), out);
    WARN(c.model << " max abs diff " << diff);
    REQUIRE(diff <= c.tolerance);
  }
}

TEST_CASE("model optimisations: an unfrozen module is frozen on load and gives the same outputs") {
  // A module with its weights still as parameters, as a user's torch.jit.script gives.
  torch::manual_seed(3);
  torch::jit::Module m("Net");
  m.register_parameter("w", torch::randn({8, 3, 3, 3}), false);
  m.register_parameter("b", torch::randn({8}), false);
  m.define(R"(
def forward(self, x):
    return torch.relu(torch.conv2d(x, self.w, self.b, [1, 1], [1, 1]) * 0.5 + 1.0)
)");
  fs::path file = fs::temp_directory_path() / "cvtool_unfrozen_test.pt";
  m.save(file.string());
  torch::Tensor x = torch::rand({2, 3, 16, 16});
  ModelOptions frozen, unfrozen;
  unfrozen.freeze = false;
  auto a = run(file, unfrozen, x);
  auto b = run(file, frozen, x);
  fs::remove(file);
  REQUIRE(max_abs_diff(a, b) <= 1e-5);
}
