// Knowledge distillation: the loss on hand-set logits, the teacher's input conversion
// and class reordering, and `cvtool distill` end to end on a tiny set (fixture
// tools_quant_models, tests/models/make_tools_quant_models.py).
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "../cli/run_binary.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/tools/distill.hpp"
#include "cvtool/tools/distill_loss.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {
const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-tools-quant";

Json teacher_config(const std::string& name) { return load_config({kModels / (name + ".json"), {}}, task_schema("classify")); }

Normalization student_norm() {
  Normalization n;  // the digits recipe: x/255, mean 0.5, std 0.5, RGB
  n.scale = 1.0 / 255;
  n.mean = {0.5, 0.5, 0.5};
  n.std = {0.5, 0.5, 0.5};
  return n;
}
}  // namespace

TEST_CASE("distillation loss on hand-set logits, to the number") {
  // s = [1, 2, 3], t = [3, 2, 1], label 2, T = 2. Reference values from torch (Python):
  // CE = 0.40760595, KL(softmax(t/2) || softmax(s/2)) = 0.32015669, T^2 KL = 1.28062677.
  torch::Tensor s = torch::tensor({{1.0f, 2.0f, 3.0f}}), t = torch::tensor({{3.0f, 2.0f, 1.0f}});
  torch::Tensor y = torch::tensor({2}, torch::kLong);
  CHECK(distillation_loss(s, t, y, 2.0, 0.0).item<double>() == Approx(0.40760595).epsilon(1e-6));
  CHECK(distillation_loss(s, t, y, 2.0, 1.0).item<double>() == Approx(1.28062677).epsilon(1e-6));
  CHECK(distillation_loss(s, t, y, 2.0, 0.5).item<double>() == Approx(0.84411633).epsilon(1e-6));
  // Per sample: a teacher that agrees with the student adds nothing.
  torch::Tensor two = distillation_loss(torch::cat({s, s}), torch::cat({t, s}), torch::tensor({2, 2}, torch::kLong), 2.0, 1.0);
  REQUIRE(two.sizes() == torch::IntArrayRef({2}));
  CHECK(two[1].item<double>() == Approx(0.0).margin(1e-7));
  // Gradients reach the student only.
  torch::Tensor sg = s.clone().requires_grad_(true), tg = t.clone().requires_grad_(true);
  distillation_loss(sg, tg, y, 2.0, 0.5).sum().backward();
  CHECK(sg.grad().defined());
  CHECK_FALSE(tg.grad().defined());
}

TEST_CASE("the teacher sees the student's batch in its own format and class order") {
  // A red 4x4 image, normalised the student's way: R = (1 - 0.5) / 0.5 = 1, G = B = -1.
  torch::Tensor x = torch::full({1, 3, 4, 4}, -1.0f);
  x.select(1, 0).fill_(1.0f);
  InputAdapter a;
  a.student = student_norm();
  a.teacher.scale = 1.0 / 255;
  a.teacher.rgb = false;
  a.teacher.layout = Layout::NHWC;
  a.teacher_width = 2;
  a.teacher_height = 2;
  torch::Tensor t = a(x);
  REQUIRE(t.sizes() == torch::IntArrayRef({1, 2, 2, 3}));
  CHECK(t[0][1][1][2].item<float>() == Approx(1.0f));  // red is last in BGR
  CHECK(t[0][0][0][0].item<float>() == Approx(0.0f).margin(1e-6));

  // teacher.pt: logits = mean colour (0..1, RGB); its labels are r, g, b; the student's
  // classes b, g, r get them reordered.
  Teacher teacher(teacher_config("teacher-rgb"), student_norm(), {"b", "g", "r"});
  torch::Tensor logits = teacher.logits(x);
  REQUIRE(logits.sizes() == torch::IntArrayRef({1, 3}));
  CHECK(logits[0][0].item<float>() == Approx(0.0f).margin(1e-6));
  CHECK(logits[0][2].item<float>() == Approx(1.0f));

  CHECK_THROWS_WITH(Teacher(teacher_config("teacher-rgb"), student_norm(), {"r", "x"}),
                    Catch::Contains("class \"x\" is not among the teacher's labels"));
}

TEST_CASE("cvtool distill trains a student against a teacher and scores both") {
  auto out = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "distill-cli" / "run";
  fs::remove_all(out);
  std::string images = (kModels / "images").string();
  auto r = cvtool::test::run_cvtool("distill --teacher " + (kModels / "teacher-ab.json").string() + " --data " + images +
                                        " --test " + images +
                                        " --epochs 2 --width 4 --blocks 1 --runs 3 --set optim.batch=4 --set data.val_fraction=0.25"
                                        " -T 3 --alpha 0.8 --threads 1 -o " +
                                        out.string() + " --jsonl -q",
                                    "distill-cli");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["temperature"] == 3.0);
  CHECK(j["alpha"] == Approx(0.8));
  REQUIRE(j["scores"].size() == 2);
  CHECK(j["scores"][0]["name"] == "teacher");
  CHECK(j["scores"][1]["images"] == 8);
  CHECK(fs::exists(out / "model.pt"));
  CHECK(fs::exists(out / "classify.json"));

  auto bad = cvtool::test::run_cvtool("distill --data " + images + " -o " + out.string() + " --set distill.teacher=null -q", "distill-cli");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("needs a teacher") != std::string::npos);
}

TEST_CASE("the distill schema is the train schema plus its distill section, less pretext") {
  Json distill = distill_schema(), train = task_schema("train");
  REQUIRE(distill["properties"].contains("distill"));
  CHECK(distill["properties"]["task"]["enum"] == Json::array({"distill"}));
  distill["properties"].erase("distill");
  distill["properties"].erase("task");
  train["properties"].erase("task");
  train["properties"].erase("pretext");  // only `cvtool train pretext` reads it; a student learns labels
  INFO("configs/schema/train.schema.json changed: update configs/schema/distill.schema.json to match");
  CHECK(distill["properties"] == train["properties"]);
}
