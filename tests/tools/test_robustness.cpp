// Corruptions and attacks with answers computable by hand (fixture tools_models,
// tests/models/make_tools_explain_models.py).
#include <catch2/catch.hpp>

#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <torch/script.h>

#include "cvtool/core/config.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/tools/explain_model.hpp"
#include "cvtool/tools/robustness.hpp"
#include "cvtool/train/trainer_hooks.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-tools";

Json robustness_config(const std::string& name) {
  return load_config({kModels / ("robustness-" + name + ".json"), {}}, task_schema("robustness"));
}

std::vector<LabelledPath> bright_set() {
  std::vector<LabelledPath> d;
  for (int label : {0, 1})
    for (int k : {0, 1}) d.push_back({(kModels / "bright" / std::to_string(label) / (std::to_string(k) + ".png")).string(), label});
  return d;
}

double l1_of_weights() {
  NpyArray w = read_npy(kModels / "linear_w.npy");
  double s = 0;
  for (float v : w.data) s += std::abs(v);
  return s;
}

}  // namespace

TEST_CASE("a brightness-only model flips at the severities computed by hand", "[robustness]") {
  // Class 0 images are grey 64 (mean 0.251), class 1 grey 200 (0.784); the model says 1
  // iff the mean pixel is above 0.5. Brightness +s*255 flips class 0 once s > 0.249;
  // gamma g flips class 1 once 0.784^g < 0.5 (g > 2.86); an L-inf attack moves every
  // pixel by eps towards the other class: class 0 flips for eps > 0.249, class 1 for
  // eps > 0.284.
  RobustnessParams p;
  p.corruptions = {{"brightness", {0.1, 0.2, 0.3}}, {"gamma", {2, 2.5, 3}}, {"fgsm", {0.1, 0.26, 0.3}},
                   {"pgd", {0.1, 0.26, 0.3}}};
  p.pgd_steps = 5;
  RobustnessReport r = evaluate_robustness(robustness_config("brightness"), bright_set(), p);
  REQUIRE(r.images == 4);
  CHECK(r.clean_accuracy == 1.0);
  std::vector<double> acc;
  for (const auto& row : r.rows) acc.push_back(row.accuracy());
  const std::vector<double> want{1, 1, 1, 0.5, 1, 1, 0.5, 1, 0.5, 0, 1, 0.5, 0};
  CHECK(acc == want);
  CHECK(r.rows[3].corruption == "brightness");
  CHECK(r.rows[3].level == 3);
  CHECK(r.rows[3].correct == 2);
}

TEST_CASE("FGSM moves a linear model's logit by eps times the L1 norm of its weights", "[robustness]") {
  GradClassifier model(robustness_config("linear"));
  cv::Mat grey = cv::imread((kModels / "grey.png").string());
  torch::Tensor px = model.pixels({grey});
  torch::Tensor y = torch::zeros({1}, torch::kInt64);
  const double eps = 0.02;
  at::NoGradGuard ng;
  float before = model.logits(px)[0][0].item<float>();
  float after_fgsm = model.logits(fgsm(model, px, y, eps))[0][0].item<float>();
  float after_pgd = model.logits(pgd(model, px, y, eps, 10))[0][0].item<float>();
  const double expected = eps * l1_of_weights();
  CHECK(before - after_fgsm == Approx(expected).epsilon(1e-4));
  // PGD on a linear model ends on the same corner of the eps-ball.
  CHECK(before - after_pgd == Approx(expected).epsilon(1e-4));
  // The attack stays inside the budget.
  CHECK((fgsm(model, px, y, eps) - px).abs().max().item<float>() == Approx(eps).epsilon(1e-5));
}

TEST_CASE("FGSM on normalised inputs scales eps by the normalisation", "[robustness]") {
  torch::jit::Module m = torch::jit::load((kModels / "linear.pt").string());
  Normalization norm;
  norm.scale = 1 / 255.0;
  norm.mean = {0.5, 0.5, 0.5};
  norm.std = {0.5, 0.5, 0.5};
  torch::Tensor x = torch::zeros({1, 3, 8, 8});  // grey 0.5 after normalisation
  torch::Tensor y = torch::zeros({1}, torch::kInt64);
  torch::Tensor adv = fgsm_normalized(m, x, y, 0.02, norm);
  CHECK(adv.abs().max().item<float>() == Approx(0.04).epsilon(1e-5));
  at::NoGradGuard ng;
  float before = m.forward({x}).toTensor()[0][0].item<float>();
  float after = m.forward({adv}).toTensor()[0][0].item<float>();
  CHECK(before - after == Approx(0.04 * l1_of_weights()).epsilon(1e-4));
  // Clamped to the normalised image of [0, 1], i.e. [-1, 1].
  torch::Tensor big = fgsm_normalized(m, x, y, 0.9, norm);
  CHECK(big.abs().max().item<float>() == Approx(1.0));
}

TEST_CASE("corruptions: exact values where they are known", "[robustness]") {
  cv::Mat grey(16, 16, CV_8UC3, cv::Scalar::all(64));
  CHECK(corrupt(grey, "gamma", 2, 0).at<cv::Vec3b>(5, 5)[0] == 16);  // 255 * (64/255)^2 = 16.06
  cv::Mat b = corrupt(grey, "brightness", 0.2, 0);
  CHECK(b.at<cv::Vec3b>(3, 3)[1] == 115);  // 64 + 51
  cv::Mat occ = corrupt(cv::Mat(20, 20, CV_8UC3, cv::Scalar::all(200)), "occlusion", 0.5, 7);
  CHECK(cv::countNonZero(occ.reshape(1)) == 3 * (400 - 100));  // a 10x10 patch, wholly inside
  CHECK(corrupt(grey, "jpeg", 90, 0).size() == grey.size());
  CHECK_THROWS(corrupt(grey, "fgsm", 0.1, 0));
  CHECK_THROWS(corrupt(grey, "fog", 1, 0));
}

TEST_CASE("the robustness table, CSV and plot", "[robustness]") {
  RobustnessParams p;
  p.corruptions = {{"brightness", {0.1, 0.3}}, {"blur", {1}}};
  RobustnessReport r = evaluate_robustness(robustness_config("brightness"), bright_set(), p);
  std::string csv = robustness_csv(r);
  CHECK(csv.rfind("corruption,level,severity,accuracy,correct,n\nclean,0,0,1.000000,4,4\nbrightness,1,0.1,1.000000,4,4\n"
                  "brightness,2,0.3,0.500000,2,4\nblur,1,1,1.000000,4,4\n",
                  0) == 0);
  CHECK_THAT(robustness_table(r), Catch::Contains("brightness") && Catch::Contains("0.5000"));
  cv::Mat plot = plot_robustness(r, "test", {640, 400});
  CHECK(plot.size() == cv::Size(640, 400));
  CHECK(plot.type() == CV_8UC3);
  CHECK(r.to_json()["rows"].size() == 4);
}

TEST_CASE("adversarial training replaces the first share of each batch with FGSM examples", "[robustness][train]") {
  Json config = {{"data", {{"multi_label", false}}},
                 {"model", {{"color", "rgb"}, {"scale", 1 / 255.0}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.5, 0.5, 0.5}},
                            {"layout", "nchw"}}},
                 {"adversarial", {{"method", "fgsm"}, {"eps", 0.02}, {"ratio", 0.5}}}};
  TrainHooks hooks = with_adversarial(config, TrainHooks{});
  REQUIRE(hooks.transform_inputs);
  torch::jit::Module m = torch::jit::load((kModels / "linear.pt").string());
  torch::Tensor x = torch::zeros({4, 3, 8, 8}), y = torch::zeros({4}, torch::kInt64);
  torch::Tensor out = hooks.transform_inputs(m, x, y);
  // eps 0.02 in pixels is 0.04 after (x - 0.5) / 0.5.
  CHECK(out.slice(0, 0, 2).abs().min().item<float>() == Approx(0.04).epsilon(1e-5));
  CHECK(out.slice(0, 2).abs().max().item<float>() == 0.0f);
  config["adversarial"]["method"] = "none";
  CHECK_FALSE(with_adversarial(config, TrainHooks{}).transform_inputs);
  config["adversarial"]["method"] = "fgsm";
  config["data"]["multi_label"] = true;
  CHECK_THROWS_WITH(with_adversarial(config, TrainHooks{}), Catch::Contains("single-label"));
}
