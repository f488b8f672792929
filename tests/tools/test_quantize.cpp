// Post-training quantization on hand-built models with known answers (fixture
// tools_quant_models, tests/models/make_tools_quant_models.py).
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../cli/run_binary.hpp"
#include "test_modules.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/tools/quantize_module.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-tools-quant";

torch::jit::Module load(const std::string& name) { return test::load_module(kModels / name); }

std::string graph_text(torch::jit::Module& m) {
  std::ostringstream s;
  s << *m.get_method("forward").graph();
  return s.str();
}

QuantizeModuleOptions options(QuantMode mode) {
  QuantizeModuleOptions o;
  o.mode = mode;
  return o;
}

const std::vector<std::vector<float>> kLinearW = {{0.5f, -1.0f, 0.25f, 2.0f}, {-0.3f, 0.7f, 1.1f, -0.2f}, {0.05f, 0.0f, -0.9f, 0.6f}};

}  // namespace

TEST_CASE("affine and symmetric qparams follow torch.ao's MinMaxObserver") {
  auto [s1, z1] = affine_qparams(0.0, 2.55);
  CHECK(s1 == Approx(0.01).epsilon(1e-6));
  CHECK(z1 == 0);
  auto [s2, z2] = affine_qparams(-1.0, 3.0);  // 4/255; -(-1)/(4/255) = 63.75 -> 64
  CHECK(s2 == Approx(4.0 / 255).epsilon(1e-6));
  CHECK(z2 == 64);
  auto [s3, z3] = affine_qparams(0.5, 2.0);  // the range always includes 0
  CHECK(s3 == Approx(2.0 / 255).epsilon(1e-6));
  CHECK(z3 == 0);
  CHECK(symmetric_scale(2.0) == Approx(2.0 / 127.5));
}

TEST_CASE("dynamic int8: a Linear with known weights stays within the quantization error bound") {
  auto m = load("linear.pt");
  torch::Tensor x = torch::tensor({{1.0f, -2.0f, 0.5f, 3.0f}, {0.25f, 0.5f, -1.5f, 0.0f}});
  auto r = quantize_module(m, options(QuantMode::Dynamic), {});
  REQUIRE(r.ops.size() == 1);
  CHECK(r.ops[0].op == "linear");
  CHECK(r.ops[0].quantized);
  CHECK(graph_text(r.module).find("quantized::linear_dynamic") != std::string::npos);
  torch::Tensor y = test::run_module(m, x), yq = test::run_module(r.module, x);
  // Activations: quint8 per batch over [min(x,0), max(x,0)] (7 bits with reduce_range:
  // the worst case); weights: qint8 per output channel, scale max|w| / 127.5.
  for (int64_t n = 0; n < x.size(0); ++n) {
    double lo = std::min(0.0f, x[n].min().item<float>()), hi = std::max(0.0f, x[n].max().item<float>());
    lo = std::min(lo, double(x.min().item<float>()));
    hi = std::max(hi, double(x.max().item<float>()));
    double sx = (hi - lo) / 127.0;
    for (int i = 0; i < 3; ++i) {
      double amax = 0;
      for (float w : kLinearW[i]) amax = std::max(amax, double(std::abs(w)));
      double sw = amax / 127.5, bound = 1e-5;
      for (int j = 0; j < 4; ++j)
        bound += std::abs(x[n][j].item<float>()) * sw / 2 + std::abs(kLinearW[i][j]) * sx / 2 + sw * sx / 4;
      double diff = std::abs(y[n][i].item<float>() - yq[n][i].item<float>());
      INFO("row " << n << " out " << i << " diff " << diff << " bound " << bound);
      CHECK(diff <= bound);
    }
  }
  CHECK((y - yq).abs().max().item<float>() > 0);  // it really ran in int8
}

TEST_CASE("static int8: activation scale and zero point follow from the calibration range") {
  auto m = load("conv1x1.pt");  // y = 2 * mean_c(x) + 0.5, then Linear(16, 2)
  std::vector<torch::Tensor> calibration = {torch::full({1, 3, 4, 4}, -1.0f), torch::full({1, 3, 4, 4}, 3.0f)};
  auto r = quantize_module(m, options(QuantMode::Static), calibration);
  CHECK(r.quantized_ops() == 2);
  REQUIRE(r.activation_qparams.size() == 3);
  // Input observed on [-1, 3]: scale 4/255, zero point 64.
  CHECK(r.activation_qparams[0].op == "quantize");
  CHECK(r.activation_qparams[0].scale == Approx(4.0 / 255).epsilon(1e-6));
  CHECK(r.activation_qparams[0].zero_point == 64);
  // Conv output 2x + 0.5 on [-1.5, 6.5]: scale 8/255, zero point round(1.5 / (8/255)) = 48.
  CHECK(r.activation_qparams[1].op == "quantized::conv2d");
  CHECK(r.activation_qparams[1].scale == Approx(8.0 / 255).epsilon(1e-5));
  CHECK(r.activation_qparams[1].zero_point == 48);
  // Linear output: the range the float model produces on the calibration inputs.
  double lo = 0, hi = 0;
  for (const auto& x : calibration) {
    torch::Tensor y = test::run_module(m, x);
    lo = std::min(lo, double(y.min().item<float>()));
    hi = std::max(hi, double(y.max().item<float>()));
  }
  auto [s, z] = affine_qparams(lo, hi);
  CHECK(r.activation_qparams[2].op == "quantized::linear");
  CHECK(r.activation_qparams[2].scale == Approx(s).epsilon(1e-5));
  CHECK(r.activation_qparams[2].zero_point == z);
  // And the int8 model computes the same function to within a few steps.
  torch::Tensor x = torch::full({1, 3, 4, 4}, 1.0f);
  CHECK((test::run_module(m, x) - test::run_module(r.module, x)).abs().max().item<float>() < 4 * s);
  // Saved and loaded again, it gives the same answers.
  std::stringstream bytes;
  r.module.save(bytes);
  auto reloaded = torch::jit::load(bytes);
  CHECK(torch::equal(test::run_module(reloaded, x), test::run_module(r.module, x)));
}

TEST_CASE("fp16 weight storage: lossless for float16-exact weights, rounding-bounded otherwise") {
  auto exact = load("halfexact.pt");
  auto r = quantize_module(exact, options(QuantMode::Float16), {});
  CHECK(graph_text(r.module).find("Half") != std::string::npos);
  torch::Tensor x = torch::tensor({{1.0f, -2.0f, 0.5f, 3.0f}});
  CHECK(torch::equal(test::run_module(exact, x), test::run_module(r.module, x)));

  auto lin = load("linear.pt");
  auto r2 = quantize_module(lin, options(QuantMode::Float16), {});
  torch::Tensor w = torch::tensor({0.5f, -1.0f, 0.25f, 2.0f, -0.3f, 0.7f, 1.1f, -0.2f, 0.05f, 0.0f, -0.9f, 0.6f}).reshape({3, 4});
  torch::Tensor w16 = w.to(torch::kHalf).to(torch::kFloat);
  torch::Tensor expected = torch::matmul(x, w16.t()) + torch::tensor({0.1f, -0.2f, 0.3f}).to(torch::kHalf).to(torch::kFloat);
  CHECK(torch::allclose(test::run_module(r2.module, x), expected, 0, 1e-6));
  CHECK_FALSE(torch::equal(test::run_module(r2.module, x), test::run_module(lin, x)));  // 0.05, -0.3 ... are not exact in float16
}

TEST_CASE("static int8 refuses a transposed convolution by name, or keeps it float when allowed") {
  auto m = load("deconv.pt");
  std::vector<torch::Tensor> calibration = {torch::rand({1, 3, 4, 4})};
  try {
    quantize_module(m, options(QuantMode::Static), calibration);
    FAIL("expected a refusal");
  } catch (const Error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("refusing") != std::string::npos);
    CHECK(what.find("conv_transpose2d (weight [2, 1, 2, 2])") != std::string::npos);
    CHECK(what.find("no int8 route") != std::string::npos);
  }
  auto o = options(QuantMode::Static);
  o.allow_float_ops = true;
  auto r = quantize_module(m, o, calibration);
  REQUIRE(r.ops.size() == 2);
  CHECK(r.ops[0].op == "conv2d");
  CHECK(r.ops[0].quantized);
  CHECK(r.ops[1].op == "conv_transpose2d");
  CHECK_FALSE(r.ops[1].quantized);
  torch::Tensor x = calibration[0];
  CHECK(test::run_module(r.module, x).sizes() == test::run_module(m, x).sizes());

  // Dynamic mode has nothing to do on a model without linear layers: it says so.
  try {
    quantize_module(m, options(QuantMode::Dynamic), {});
    FAIL("expected a refusal");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("no linear layer") != std::string::npos);
  }
}

TEST_CASE("cvtool quantize: the before/after table as JSONL, and a refusal with exit code") {
  auto out = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "quantize-cli";
  fs::create_directories(out);
  std::string images = (kModels / "images").string();
  auto r = cvtool::test::run_cvtool("quantize -c " + (kModels / "quantize-conv.json").string() + " " + images + " --calib " + images +
                                        " -o " + (out / "conv-int8.pt").string() + " --jsonl -q",
                                    "quantize-cli");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["variant"] == "float32");
  CHECK(rows[1]["variant"] == "int8 static");
  CHECK(rows[1]["eval_images"] == 8);
  CHECK(rows[0]["accuracy"].is_number());  // images/<a|b>/ and labels a, b
  CHECK(rows[1]["top1_agreement"].get<double>() >= 0.0);
  CHECK(rows[1]["size_bytes"].get<long long>() > 0);
  CHECK(rows[2]["quantized_ops"] == 2);
  CHECK(rows[2]["calibration_images"] == 8);
  CHECK(fs::exists(out / "conv-int8.pt"));

  auto refused = cvtool::test::run_cvtool("quantize -c " + (kModels / "quantize-conv.json").string() + " -m " +
                                              (kModels / "deconv.pt").string() + " " + images + " --calib " + images + " -o " +
                                              (out / "deconv-int8.pt").string() + " -q",
                                          "quantize-cli");
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("conv_transpose2d") != std::string::npos);
  CHECK_FALSE(fs::exists(out / "deconv-int8.pt"));
}
