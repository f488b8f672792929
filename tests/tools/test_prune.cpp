// Pruning on models with known weights: the fixture's plain scripted model
// (tests/models/make_tools_prune_models.py, pruned frozen) and cvtool small-CNN
// classifiers built here with hand-set weights (pruned in their parameters).
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../cli/run_binary.hpp"
#include "test_modules.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/tools/prune.hpp"
#include "cvtool/tools/prune_module.hpp"
#include "cvtool/train/network.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-tools-prune";

torch::jit::Module load(const std::string& name) { return test::load_module(kModels / name); }

PruneModuleOptions options(PruneMethod method, double sparsity) {
  PruneModuleOptions o;
  o.method = method;
  o.sparsity = sparsity;
  return o;
}

// A cvtool classifier (small CNN, 2 blocks of 4 and 8 channels, batch norm, 2 classes)
// with weights whose magnitudes are all distinct and non-trivial batch-norm statistics.
torch::jit::Module small_classifier(int classes = 2) {
  SmallCnnOptions so;
  so.width = 4;
  so.blocks = 2;
  torch::jit::Module backbone = make_small_cnn(so);
  torch::jit::Module m = make_classifier(backbone, 8, classes, 0.0);
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  int64_t next = 1;
  for (const auto& p : m.named_parameters(true)) {
    torch::Tensor t = p.value;
    if (p.name.find("conv") != std::string::npos || p.name == "head_weight") {
      // +-(next .. next + n - 1) / 100 in a random order: distinct magnitudes.
      int64_t n = t.numel();
      torch::Tensor mags = torch::arange(next, next + n, torch::kFloat) / 100;
      torch::Tensor signs = torch::randint(0, 2, {n}).to(torch::kFloat) * 2 - 1;
      t.copy_((mags * signs).index_select(0, torch::randperm(n)).reshape(t.sizes()));
      next += n;
    } else {
      t.copy_(torch::rand(t.sizes()) + 0.5);  // biases, bn gamma / beta
    }
  }
  for (const auto& b : m.named_buffers(true)) {
    torch::Tensor t = b.value;
    t.copy_(torch::rand(t.sizes()) + (b.name.find("var") != std::string::npos ? 0.5 : -0.5));
  }
  m.eval();
  return m;
}

torch::Tensor param(const torch::jit::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters(true))
    if (p.name == name) return p.value.detach();
  FAIL("no parameter " << name);
  return {};
}

}  // namespace

TEST_CASE("unstructured 0.5 zeroes exactly the smallest-magnitude half of every layer (frozen route)") {
  auto m = load("generic.pt");
  auto r = prune_module(m, options(PruneMethod::Unstructured, 0.5));
  CHECK(r.frozen);
  CHECK_FALSE(r.physical);
  REQUIRE(r.layers.size() == 3);  // conv1, conv2, fc
  CHECK(r.layers[0].op == "conv2d");
  CHECK(r.layers[0].shape_before == std::vector<int64_t>{4, 3, 3, 3});
  CHECK(r.layers[0].zeros == 54);
  CHECK(r.layers[1].zeros == 4);  // 8 weights
  CHECK(r.layers[2].op == "linear");
  CHECK(r.layers[2].zeros == 3);  // 6 weights
  // conv1 holds +-(1..108)/100: exactly |w| <= 0.54 must be gone, the rest unchanged.
  auto after = weight_layers(r.module);
  REQUIRE(after.size() == 3);
  torch::Tensor orig = param(m, "conv1.weight");
  // The pruned weight itself, from the frozen graph of the result.
  torch::Tensor pruned;
  for (auto* n : r.module.get_method("forward").graph()->nodes())
    if (n->kind() == c10::prim::Constant && n->output()->type()->kind() == c10::TypeKind::TensorType) {
      auto t = torch::jit::toIValue(n->output())->toTensor();
      if (t.sizes() == orig.sizes()) pruned = t;
    }
  REQUIRE(pruned.defined());
  torch::Tensor small = orig.abs() <= 0.545;
  CHECK(small.sum().item<int64_t>() == 54);
  CHECK((pruned.masked_select(small) == 0).all().item<bool>());
  CHECK(torch::equal(pruned.masked_select(~small), orig.masked_select(~small)));
  // fc [[1, -.5], [.25, .75], [-1.5, .1]]: the three smallest are .1, .25, -.5.
  torch::Tensor fc;
  for (auto* n : r.module.get_method("forward").graph()->nodes())
    if (n->kind() == c10::prim::Constant && n->output()->type()->kind() == c10::TypeKind::TensorType) {
      auto t = torch::jit::toIValue(n->output())->toTensor();
      if (t.sizes() == c10::IntArrayRef{3, 2}) fc = t;
    }
  REQUIRE(fc.defined());
  CHECK(torch::equal(fc, torch::tensor({{1.0f, 0.0f}, {0.0f, 0.75f}, {-1.5f, 0.0f}})));
}

TEST_CASE("global scope uses one threshold over all layers") {
  auto m = load("generic.pt");
  auto o = options(PruneMethod::Unstructured, 0.5);
  o.scope = PruneScope::Global;
  auto r = prune_module(m, o);
  int64_t zeros = 0, total = 0;
  for (const auto& l : r.layers) {
    zeros += l.zeros;
    total += l.weights;
  }
  CHECK(total == 108 + 8 + 6);
  CHECK(zeros == 61);
  // The big weights of conv2 / fc (|w| >= 0.7) survive a threshold set by conv1's
  // many small ones: fc keeps 1, .75, -1.5 and loses .25 and .1 and -.5.
  CHECK(r.layers[2].zeros == 3);
}

TEST_CASE("small CNN: unstructured keeps the module trainable and zeroes the smallest half per layer") {
  auto m = small_classifier();
  auto r = prune_module(m, options(PruneMethod::Unstructured, 0.5));
  CHECK_FALSE(r.frozen);
  REQUIRE(r.layers.size() == 3);
  CHECK(r.masks.size() == 3);
  for (const auto& name : {"backbone.conv0_weight", "backbone.conv1_weight", "head_weight"}) {
    torch::Tensor before = param(m, name), after = param(r.module, name);
    torch::Tensor order = std::get<1>(before.abs().reshape({-1}).sort());
    int64_t half = before.numel() / 2;
    INFO(name);
    CHECK((after.reshape({-1}).index_select(0, order.slice(0, 0, half)) == 0).all().item<bool>());
    CHECK(torch::equal(after.reshape({-1}).index_select(0, order.slice(0, half)),
                       before.reshape({-1}).index_select(0, order.slice(0, half))));
  }
  CHECK(torch::equal(param(r.module, "backbone.conv0_bias"), param(m, "backbone.conv0_bias")));  // biases stay
}

TEST_CASE("small CNN: channel pruning removes the lowest-L1 channels and equals the original with them zeroed") {
  auto m = small_classifier();
  auto r = prune_module(m, options(PruneMethod::Channel, 0.5));
  CHECK(r.physical);
  REQUIRE(r.layers.size() == 3);
  torch::Tensor w0 = param(m, "backbone.conv0_weight"), w1 = param(m, "backbone.conv1_weight");
  auto expect_lowest = [](const torch::Tensor& w, int64_t k) {
    torch::Tensor l1 = w.abs().reshape({w.size(0), -1}).sum(1);
    auto idx = std::get<1>(l1.sort()).slice(0, 0, k);
    std::vector<int64_t> v(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + k);
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(r.layers[0].pruned_channels == expect_lowest(w0, 2));
  CHECK(r.layers[1].pruned_channels == expect_lowest(w1, 4));
  CHECK(r.layers[0].shape_after == std::vector<int64_t>{2, 3, 3, 3});
  CHECK(r.layers[1].shape_after == std::vector<int64_t>{4, 2, 3, 3});
  CHECK(r.layers[2].shape_after == std::vector<int64_t>{2, 4});
  CHECK(param(r.module, "backbone.bn1_weight").size(0) == 4);

  // The original with those channels zeroed: conv weight + bias and bn gamma + beta set
  // to 0 make the channel's output after bn -> relu -> pool exactly 0.
  torch::jit::Module zeroed = m.deepcopy();
  {
    torch::NoGradGuard ng;
    torch::jit::Module bb = zeroed.attr("backbone").toModule();
    for (int i = 0; i < 2; ++i) {
      torch::Tensor idx = torch::tensor(r.layers[i].pruned_channels, torch::kLong);
      for (const char* p : {"conv%d_weight", "conv%d_bias", "bn%d_weight", "bn%d_bias"}) {
        char name[32];
        std::snprintf(name, sizeof name, p, i);
        bb.attr(name).toTensor().index_fill_(0, idx, 0.0);
      }
    }
  }
  zeroed.eval();
  torch::manual_seed(1);
  torch::Tensor x = torch::randn({3, 3, 16, 16});
  torch::Tensor a = test::run_module(zeroed, x), b = test::run_module(r.module, x);
  CHECK((a - b).abs().max().item<double>() < 1e-6);
  CHECK((test::run_module(m, x) - b).abs().max().item<double>() > 1e-3);  // and pruning did change it
}

TEST_CASE("frozen route: channel pruning zeroes the lowest-L1 output channels of each conv") {
  auto m = load("generic-channels.pt");
  auto r = prune_module(m, options(PruneMethod::Channel, 0.5));
  CHECK_FALSE(r.physical);
  REQUIRE(r.layers.size() == 3);
  CHECK(r.layers[0].pruned_channels == std::vector<int64_t>{0, 1});  // L1 grows with the channel
  CHECK(r.layers[0].zeros == 2 * 27);
  CHECK(r.layers[0].shape_after == r.layers[0].shape_before);
  CHECK(r.layers[1].pruned_channels.size() == 1);
  CHECK(r.layers[2].pruned_channels.empty());  // linear layers are left alone
  CHECK(r.layers[2].zeros == 0);
}

TEST_CASE("bad sparsity and a model without conv / linear are clear errors") {
  auto m = load("generic.pt");
  for (double s : {-0.1, 1.0, 1.5}) {
    INFO(s);
    CHECK_THROWS_MATCHES(prune_module(m, options(PruneMethod::Unstructured, s)), Error,
                         Catch::Matchers::Predicate<Error>([](const Error& e) {
                           return e.kind() == ErrorKind::Config && std::string(e.what()).find("outside [0, 1)") != std::string::npos;
                         }));
  }
  CHECK_THROWS_WITH(parse_prune_method("random"), Catch::Contains("expected unstructured or channel"));
  auto none = load("noweights.pt");
  CHECK_THROWS_WITH(prune_module(none, options(PruneMethod::Unstructured, 0.5)),
                    Catch::Contains("no convolution or linear layer"));
  CHECK(prune_count(0.5, 7) == 4);
  CHECK(prune_count(0.0, 7) == 0);
}

TEST_CASE("fine-tuning keeps the pruning mask fixed") {
  fs::path dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "prune-finetune";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto m = small_classifier();
  m.save((dir / "small.pt").string());
  // 2 classes x 6 images, 16x16: dark vs bright with a varying dot.
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 6; ++i) {
      fs::create_directories(dir / "data" / std::to_string(c));
      cv::Mat img(16, 16, CV_8UC3, cv::Scalar::all(c ? 200 : 40));
      img.at<cv::Vec3b>(i, 15 - i) = cv::Vec3b(c ? 0 : 255, 128, 64);
      cv::imwrite((dir / "data" / std::to_string(c) / (std::to_string(i) + ".png")).string(), img);
    }
  ConfigSources src;
  src.overrides = {"task=prune",
                   "model.path=\"" + (dir / "small.pt").string() + "\"",
                   "model.input_size=[16, 16]",
                   "model.mean=[0.5, 0.5, 0.5]",
                   "model.std=[0.5, 0.5, 0.5]",
                   "prune.sparsity=0.5",
                   "finetune.epochs=1",
                   "finetune.lr=0.05",
                   "bench.runs=1",
                   "bench.warmup=0"};
  Json config = load_config(src, task_schema("prune"));
  PruneJob job;
  job.output_path = (dir / "pruned.pt").string();
  job.finetune_data = (dir / "data").string();
  for (int c = 0; c < 2; ++c) job.eval_images.push_back((dir / "data" / std::to_string(c) / "0.png").string());
  PruneReport r = run_prune(config, job);
  REQUIRE(r.rows.size() == 3);
  CHECK(r.finetune_epochs == 1);
  CHECK(r.rows[2].accuracy >= 0);
  auto pruned = torch::jit::load((dir / "pruned.pt.finetune" / "pruned.pt").string());
  auto tuned = torch::jit::load(job.output_path);
  bool moved = false;
  for (const auto& name : {"backbone.conv0_weight", "backbone.conv1_weight", "head_weight"}) {
    torch::Tensor p = param(pruned, name), t = param(tuned, name);
    INFO(name);
    torch::Tensor zero = p == 0;
    CHECK(zero.sum().item<int64_t>() == p.numel() / 2);
    CHECK((t.masked_select(zero) == 0).all().item<bool>());  // pruned weights stayed exactly 0
    moved = moved || !torch::equal(t.masked_select(~zero), p.masked_select(~zero));
  }
  CHECK(moved);  // the kept weights did train
  for (const auto& l : r.layers) CHECK(l.zeros == l.weights / 2);
  // A non-cvtool model cannot be fine-tuned.
  src.overrides[1] = "model.path=\"" + (kModels / "generic.pt").string() + "\"";
  src.overrides[2] = "model.input_size=[4, 4]";
  Json generic = load_config(src, task_schema("prune"));
  CHECK_THROWS_WITH(run_prune(generic, job), Catch::Contains("--finetune-data needs a cvtool classifier"));
}

TEST_CASE("cvtool prune: table, sizes, and exit 2 for bad sparsity, method or model") {
  const std::string cfg = (kModels / "prune-generic.json").string();
  const std::string images = (kModels / "images").string();
  const std::string out = (fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "prune-cli-out.pt").string();
  auto r = test::run_cvtool("prune -c " + cfg + " " + images + " -o " + out + " --jsonl -q", "prune-cli");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.out);
  std::vector<nlohmann::json> recs;
  for (std::string line; std::getline(lines, line);) recs.push_back(nlohmann::json::parse(line));
  REQUIRE(recs.size() == 3);
  CHECK(recs[0]["variant"] == "original");
  CHECK(recs[0]["parameters"] == 122);
  CHECK(recs[0]["nonzero"] == 122);
  CHECK(recs[1]["nonzero"] == 122 - 54 - 4 - 3);
  CHECK(recs[1]["compressed_bytes"].get<long long>() < recs[1]["size_bytes"].get<long long>());
  CHECK(recs[2]["summary"] == true);
  CHECK(recs[2]["layers"].size() == 3);
  CHECK(recs[2]["layers"][0]["sparsity"] == 0.5);

  auto bad = test::run_cvtool("prune -c " + cfg + " " + images + " -o " + out + " --sparsity 1", "prune-cli");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("must be in [0, 1)") != std::string::npos);
  bad = test::run_cvtool("prune -c " + cfg + " " + images + " -o " + out + " --sparsity=-0.2", "prune-cli");
  CHECK(bad.exit_code == 2);
  bad = test::run_cvtool("prune -c " + cfg + " " + images + " -o " + out + " --method random", "prune-cli");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("prune.method") != std::string::npos);
  bad = test::run_cvtool("prune -c " + cfg + " -m " + (kModels / "noweights.pt").string() + " " + images + " -o " + out,
                         "prune-cli");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("no convolution or linear layer") != std::string::npos);
}
