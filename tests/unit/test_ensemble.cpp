// Ensembles end to end: `cvtool classify` averaging on models with known weights,
// `cvtool detect -c X -c X` reproducing `-c X`, and the detector's test-time mirror
// (pre.flip_horizontal) against the plain detector on the mirrored image.
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "../cli/run_binary.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/detect/detector.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

cvtool::test::RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "ensemble"); }

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "ensemble" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<Json> jsonl(const std::string& text) {
  std::vector<Json> out;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);)
    if (!l.empty()) out.push_back(Json::parse(l));
  return out;
}

// logits = gain * mean RGB (0..1): a pure colour gives known softmax scores.
void save_known_model(const fs::path& path, double gain) {
  torch::jit::Module m(c10::QualifiedName("__torch__.KnownWeights"), std::make_shared<torch::jit::CompilationUnit>(), true);
  if (!m.hasattr("training")) m.register_attribute("training", c10::BoolType::get(), true);
  m.register_parameter("w", torch::eye(3) * gain, false);
  m.define("def forward(self, x):\n    return torch.matmul(torch.mean(x, [2, 3]), self.w.t())\n");
  m.save(path.string());
}

void save_config(const fs::path& path, const std::string& model, const std::string& labels) {
  Json cfg = {{"task", "classify"},
              {"model", {{"path", model}, {"input_size", {8, 8}}, {"labels", labels}, {"scale", 1.0 / 255},
                         {"mean", {0, 0, 0}}, {"std", {1, 1, 1}}}},
              {"post", {{"top_k", 3}}}};
  std::ofstream(path) << cfg.dump(2);
}

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models";
const std::vector<std::string> kImages = {"/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
                                          "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"};

}  // namespace

TEST_CASE("classify ensemble: the members' softmax scores averaged, weighted, exactly") {
  fs::path dir = scratch("classify");
  save_known_model(dir / "one.pt", 1.0);
  save_known_model(dir / "two.pt", 2.0);
  std::ofstream(dir / "labels.txt") << "red\ngreen\nblue\n";
  std::ofstream(dir / "other.txt") << "red\ngreen\nazure\n";
  save_config(dir / "one.json", "one.pt", "labels.txt");
  save_config(dir / "two.json", "two.pt", "labels.txt");
  save_config(dir / "other.json", "two.pt", "other.txt");
  cv::imwrite((dir / "blue.png").string(), cv::Mat(16, 16, CV_8UC3, cv::Scalar(255, 0, 0)));
  const std::string img = (dir / "blue.png").string();
  const std::string one = " -c " + (dir / "one.json").string(), two = " -c " + (dir / "two.json").string();

  // Softmax of (0,0,1) and (0,0,2).
  const double e = std::exp(1.0), e2 = std::exp(2.0);
  const double a_blue = e / (e + 2), a_other = 1 / (e + 2), b_blue = e2 / (e2 + 2), b_other = 1 / (e2 + 2);
  auto scores = [](const Json& rec) {
    std::map<std::string, double> s;
    for (const auto& c : rec["classes"]) s[c["label"].get<std::string>()] = c["score"].get<double>();
    return s;
  };

  auto single = run("classify " + img + one + " --jsonl -q");
  REQUIRE(single.exit_code == 0);
  auto plain = run("classify " + img + " -c " + (dir / "one.json").string() + " --jsonl -q");
  CHECK(single.out == plain.out);
  auto s1 = scores(jsonl(single.out).at(0));
  CHECK(s1["blue"] == Approx(a_blue).epsilon(1e-6));

  auto r = run("classify " + img + one + two + " --jsonl -q");
  REQUIRE(r.exit_code == 0);
  auto rec = jsonl(r.out).at(0);
  CHECK(rec["classes"][0]["label"] == "blue");
  auto s = scores(rec);
  CHECK(s["blue"] == Approx((a_blue + b_blue) / 2).epsilon(1e-6));
  CHECK(s["red"] == Approx((a_other + b_other) / 2).epsilon(1e-6));
  CHECK(s["green"] == Approx((a_other + b_other) / 2).epsilon(1e-6));

  auto w = run("classify " + img + one + two + " --weights 1,3 --jsonl -q");
  REQUIRE(w.exit_code == 0);
  s = scores(jsonl(w.out).at(0));
  CHECK(s["blue"] == Approx((a_blue + 3 * b_blue) / 4).epsilon(1e-6));
  CHECK(s["red"] == Approx((a_other + 3 * b_other) / 4).epsilon(1e-6));

  // -o records the members.
  fs::path out = scratch("classify-out");
  REQUIRE(run("classify " + img + one + two + " --weights 1,3 -q -o " + out.string()).exit_code == 0);
  std::ifstream meta(out / "ensemble.json");
  REQUIRE(meta);
  Json m = Json::parse(meta);
  REQUIRE(m["members"].size() == 2);
  CHECK(m["members"][1]["config"] == (dir / "two.json").string());
  CHECK(m["members"][1]["weight"] == 3.0);

  // Different label sets: a config error naming both configs, before any work.
  auto bad = run("classify " + img + one + " -c " + (dir / "other.json").string() + " --jsonl");
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
  CHECK(bad.err.find((dir / "one.json").string()) != std::string::npos);
  CHECK(bad.err.find((dir / "other.json").string()) != std::string::npos);
  CHECK(bad.err.find("different label sets") != std::string::npos);
  CHECK(run("classify " + img + one + two + " --weights 1 -q").exit_code == 2);
  CHECK(run("classify " + img + one + two + " --weights 1,x -q").exit_code == 2);
}

TEST_CASE("detect ensemble: -c X -c X gives the boxes and scores of -c X") {
  const std::string cfg = (kModels / "detect-yolov8.json").string();
  REQUIRE(fs::exists(cfg));
  std::string inputs = kImages[0] + " " + kImages[1];
  auto single = run("detect " + inputs + " -c " + cfg + " --jsonl -q");
  REQUIRE(single.exit_code == 0);
  fs::path out = scratch("detect-out");
  auto twice = run("detect " + inputs + " -c " + cfg + " -c " + cfg + " --jsonl -q -o " + out.string());
  REQUIRE(twice.exit_code == 0);
  auto a = jsonl(single.out), b = jsonl(twice.out);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i]["detections"].size() >= 10);
    CHECK(a[i]["detections"] == b[i]["detections"]);
  }
  std::ifstream meta(out / "ensemble.json");
  REQUIRE(meta);
  Json m = Json::parse(meta);
  CHECK(m["members"].size() == 2);
  CHECK(m["fusion"]["method"] == "weighted_box_fusion");
  CHECK(m["fusion"]["iou_threshold"].get<double>() == Approx(0.55));
  CHECK(fs::exists(out / "predictions.coco.json"));
  // -c takes one path: an input right after it stays an input.
  auto before = run("detect -c " + cfg + " -c " + cfg + " " + kImages[0] + " --jsonl -q");
  REQUIRE(before.exit_code == 0);
  REQUIRE(jsonl(before.out).size() == 1);
  CHECK(jsonl(before.out)[0]["detections"] == a[0]["detections"]);
  // Weights must match the configs.
  CHECK(run("detect " + kImages[0] + " -c " + cfg + " -c " + cfg + " --weights 1,2,3 -q").exit_code == 2);
}

TEST_CASE("pre.flip_horizontal: the boxes of the mirrored image, mirrored back") {
  for (std::string family : {"yolov8", "centernet"}) {
    cvtool::ConfigSources plain_src, flip_src;
    plain_src.file = flip_src.file = kModels / ("detect-" + family + ".json");
    flip_src.overrides = {"pre.flip_horizontal=true"};
    cvtool::Detector plain(cvtool::load_config(plain_src, cvtool::task_schema("detect")));
    cvtool::Detector flip(cvtool::load_config(flip_src, cvtool::task_schema("detect")));
    for (const auto& path : kImages) {
      cv::Mat image = cv::imread(path), mirrored;
      cv::flip(image, mirrored, 1);
      auto want = plain.detect({mirrored})[0];
      auto got = flip.detect({image})[0];
      INFO(family << " " << path);
      CHECK(!want.empty());
      REQUIRE(got.size() == want.size());
      const float w = float(image.cols);
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].class_id == want[i].class_id);
        CHECK(got[i].score == want[i].score);
        CHECK(got[i].box[0] == w - want[i].box[2]);
        CHECK(got[i].box[2] == w - want[i].box[0]);
        CHECK(got[i].box[1] == want[i].box[1]);
        CHECK(got[i].box[3] == want[i].box[3]);
      }
      // And the mirror is no no-op here: the plain detector finds other boxes on the image.
      auto unflipped = plain.detect({image})[0];
      bool differs = unflipped.size() != got.size();
      for (std::size_t i = 0; !differs && i < got.size(); ++i) differs = unflipped[i].box != got[i].box;
      CHECK(differs);
    }
  }
}
