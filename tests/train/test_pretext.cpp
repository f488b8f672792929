// Self-supervised pretext tasks (`cvtool train pretext`): exact labels and pixels of the
// rotation and jigsaw transforms, the seeded permutation set, the unlabeled loader, and
// a tiny run from the CLI whose backbone `train classify --backbone` accepts.
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../cli/run_binary.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/train/pretext.hpp"
#include "cvtool/train/pretext_transform.hpp"
#include "train_fixtures.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace cvtool;
using cvtool::test::scratch_dir;

namespace {

cvtool::test::RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "train-pretext"); }

// 1 x 1 x H x W holding 0, 1, 2, ... row-major.
torch::Tensor counting(int h, int w) { return torch::arange(h * w, torch::kFloat).reshape({1, 1, h, w}); }

torch::Tensor rows(std::vector<std::vector<float>> r) {
  std::vector<float> flat;
  for (auto& row : r) flat.insert(flat.end(), row.begin(), row.end());
  return torch::tensor(flat).reshape({1, 1, std::int64_t(r.size()), std::int64_t(r[0].size())});
}

// An 8-bit BGR image as a 1 x 3 x H x W float tensor, and back.
torch::Tensor to_tensor(const cv::Mat& m) {
  cv::Mat f;
  m.convertTo(f, CV_32FC3);
  return torch::from_blob(f.data, {1, m.rows, m.cols, 3}).permute({0, 3, 1, 2}).clone();
}

Json base_config() {
  return {{"seed", 0}, {"model", {{"input_size", {24, 24}}}}, {"pretext", {{"task", "rotation"}, {"grid", 2}, {"permutations", 24}}}};
}

}  // namespace

TEST_CASE("pretext rotation: label k gives exactly the image turned k quarter turns counter-clockwise") {
  torch::Tensor x = counting(3, 3);  // 0 1 2 / 3 4 5 / 6 7 8
  CHECK(torch::equal(rotate_quarters(x, {0}), x));
  CHECK(torch::equal(rotate_quarters(x, {1}), rows({{2, 5, 8}, {1, 4, 7}, {0, 3, 6}})));
  CHECK(torch::equal(rotate_quarters(x, {2}), rows({{8, 7, 6}, {5, 4, 3}, {2, 1, 0}})));
  CHECK(torch::equal(rotate_quarters(x, {3}), rows({{6, 3, 0}, {7, 4, 1}, {8, 5, 2}})));

  // The same as OpenCV's rotations on a real image, every channel.
  cv::Mat digits = cv::imread("/usr/share/doc/opencv-doc/examples/data/digits.png");
  REQUIRE(!digits.empty());
  cv::Mat cell = digits(cv::Rect(0, 0, 20, 20)).clone();  // a 0
  cell.col(3).setTo(cv::Scalar(10, 20, 30));               // make it asymmetric and the channels differ
  cv::Mat r90, r180, r270;
  cv::rotate(cell, r90, cv::ROTATE_90_COUNTERCLOCKWISE);
  cv::rotate(cell, r180, cv::ROTATE_180);
  cv::rotate(cell, r270, cv::ROTATE_90_CLOCKWISE);
  torch::Tensor batch = torch::cat({to_tensor(cell), to_tensor(cell), to_tensor(cell), to_tensor(cell)});
  torch::Tensor turned = rotate_quarters(batch, {0, 1, 2, 3});
  CHECK(torch::equal(turned[0], to_tensor(cell)[0]));
  CHECK(torch::equal(turned[1], to_tensor(r90)[0]));
  CHECK(torch::equal(turned[2], to_tensor(r180)[0]));
  CHECK(torch::equal(turned[3], to_tensor(r270)[0]));

  // The batch transform: labels come from the seeds alone, pixels follow the labels.
  PretextTask task;  // rotation
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t s = 0; s < 64; ++s) seeds.push_back(1000 + s);
  torch::Tensor many = counting(4, 4).repeat({64, 2, 1, 1}) + torch::arange(64, torch::kFloat).reshape({64, 1, 1, 1});
  auto [moved, labels] = apply_pretext(task, many, seeds);
  std::vector<std::int64_t> drawn = draw_pretext_labels(seeds, 4);
  REQUIRE(labels.size(0) == 64);
  std::set<std::int64_t> seen;
  for (std::int64_t i = 0; i < 64; ++i) {
    CHECK(labels[i].item<std::int64_t>() == drawn[std::size_t(i)]);
    CHECK(torch::equal(moved[i], torch::rot90(many[i], drawn[std::size_t(i)], {1, 2})));
    seen.insert(drawn[std::size_t(i)]);
  }
  CHECK(seen == std::set<std::int64_t>{0, 1, 2, 3});
  CHECK(draw_pretext_labels(seeds, 4) == drawn);  // same seeds, same labels
}

TEST_CASE("pretext jigsaw: a known permutation gives the exact patch layout and its index") {
  // 4x4 in a 2x2 grid: patches 0 = {0,1,4,5}, 1 = {2,3,6,7}, 2 = {8,9,12,13}, 3 = {10,11,14,15}.
  torch::Tensor x = counting(4, 4);
  std::vector<std::vector<int>> perms = {{0, 1, 2, 3}, {2, 0, 3, 1}};
  CHECK(torch::equal(jigsaw_shuffle(x, 2, perms, {0}), x));
  // Label 1: position 0 <- patch 2, 1 <- 0, 2 <- 3, 3 <- 1.
  CHECK(torch::equal(jigsaw_shuffle(x, 2, perms, {1}),
                     rows({{8, 9, 0, 1}, {12, 13, 4, 5}, {10, 11, 2, 3}, {14, 15, 6, 7}})));
  // 3x3 grid of 1-pixel patches on 2 channels: the pixels are the permutation itself.
  torch::Tensor y = torch::cat({counting(3, 3), counting(3, 3) + 100}, 1);
  std::vector<std::vector<int>> p9 = {{8, 7, 6, 5, 4, 3, 2, 1, 0}, {1, 2, 0, 4, 5, 3, 8, 6, 7}};
  torch::Tensor s = jigsaw_shuffle(y, 3, p9, {1});
  CHECK(torch::equal(s[0][0], rows({{1, 2, 0}, {4, 5, 3}, {8, 6, 7}})[0][0]));
  CHECK(torch::equal(s[0][1], rows({{101, 102, 100}, {104, 105, 103}, {108, 106, 107}})[0][0]));

  // Through the task: each sample's label indexes the seeded set and its pixels follow it.
  PretextTask task = pretext_task_from_config([] {
    Json c = base_config();
    c["pretext"]["task"] = "jigsaw";
    c["pretext"]["permutations"] = 6;
    return c;
  }());
  REQUIRE(task.kind == PretextKind::Jigsaw);
  REQUIRE(task.num_classes() == 6);
  torch::Tensor img = counting(24, 24).repeat({16, 3, 1, 1});
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t k = 0; k < 16; ++k) seeds.push_back(k * 7919);
  auto [moved, labels] = apply_pretext(task, img, seeds);
  for (std::int64_t i = 0; i < 16; ++i) {
    const auto& perm = task.permutations.at(std::size_t(labels[i].item<std::int64_t>()));
    for (int pos = 0; pos < 4; ++pos) {
      int src = perm[std::size_t(pos)];
      torch::Tensor out_patch = moved[i].slice(1, (pos / 2) * 12, (pos / 2) * 12 + 12).slice(2, (pos % 2) * 12, (pos % 2) * 12 + 12);
      torch::Tensor in_patch = img[i].slice(1, (src / 2) * 12, (src / 2) * 12 + 12).slice(2, (src % 2) * 12, (src % 2) * 12 + 12);
      CHECK(torch::equal(out_patch, in_patch));
    }
  }
  CHECK(task.class_names()[0] == "perm-0-1-2-3");
}

TEST_CASE("pretext jigsaw: the permutation set is deterministic from the seed, distinct and spread") {
  auto all4 = jigsaw_permutations(2, 24, 0);
  REQUIRE(all4.size() == 24);
  CHECK(all4[0] == std::vector<int>{0, 1, 2, 3});
  CHECK(std::set<std::vector<int>>(all4.begin(), all4.end()).size() == 24);  // every permutation of 4, once
  CHECK(jigsaw_permutations(2, 24, 0) == all4);
  // Identity first, then the farthest: all 4 patches moved.
  auto few = jigsaw_permutations(2, 2, 0);
  int moved = 0;
  for (int i = 0; i < 4; ++i) moved += few[1][std::size_t(i)] != i;
  CHECK(moved == 4);

  auto a = jigsaw_permutations(3, 12, 7), b = jigsaw_permutations(3, 12, 7), c = jigsaw_permutations(3, 12, 8);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a[0] == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
  int min_distance = 9;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::vector<int> sorted = a[i];
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == a[0]);  // a permutation of the 9 patches
    for (std::size_t j = 0; j < i; ++j) {
      int d = 0;
      for (std::size_t k = 0; k < 9; ++k) d += a[i][k] != a[j][k];
      min_distance = std::min(min_distance, d);
    }
  }
  CHECK(min_distance >= 7);  // the greedy max-min Hamming choice keeps them far apart
  try {
    jigsaw_permutations(2, 25, 0);
    FAIL("25 permutations of 4 patches");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    CHECK(std::string(e.what()).find("only 24") != std::string::npos);
  }
}

TEST_CASE("pretext config and data: shape checks and unlabeled folders") {
  Json c = base_config();
  c["model"]["input_size"] = {24, 20};
  try {
    pretext_task_from_config(c);
    FAIL("rotation of a non-square input");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("model.input_size") != std::string::npos);
  }
  c["pretext"]["task"] = "jigsaw";
  c["pretext"]["grid"] = 3;
  c["model"]["input_size"] = {24, 20};
  CHECK_THROWS_WITH(pretext_task_from_config(c), Catch::Contains("3x3 grid"));

  fs::path root = scratch_dir("unlabeled");
  fs::create_directories(root / "b" / "deeper");
  fs::create_directories(root / "empty");
  cv::Mat img(8, 8, CV_8UC3, cv::Scalar::all(9));
  cv::imwrite((root / "z.png").string(), img);
  cv::imwrite((root / "b" / "deeper" / "a.png").string(), img);
  std::ofstream(root / "notes.txt") << "not an image";
  Dataset d = load_unlabeled(root.string());
  REQUIRE(d.items.size() == 2);
  CHECK(d.items[0].path == (root / "b" / "deeper" / "a.png").string());
  CHECK(d.items[1].path == (root / "z.png").string());
  CHECK(d.items[0].labels == std::vector<int>{0});
  CHECK(d.classes == std::vector<std::string>{"unlabeled"});
  CHECK_THROWS_WITH(load_unlabeled((root / "empty").string()), Catch::Contains("empty: no images found"));
  CHECK_THROWS_WITH(load_unlabeled((root / "missing").string()), Catch::Contains("missing: no such folder"));
}

TEST_CASE("train pretext: a tiny run writes a backbone that train classify --backbone accepts") {
  fs::path data = cvtool::test::make_shapes_dataset(scratch_dir("pretext-data"), {6, 6, 6}, 16);
  fs::path rot = scratch_dir("pretext-rot"), jig = scratch_dir("pretext-jig"), ft = scratch_dir("pretext-ft");
  const std::string tiny = " --imgsz 16 --epochs 2 --batch 6 --threads 1 --seed 3 --patience 0 -q --jsonl"
                           " --set model.width=4 --set model.blocks=2";
  auto r = run("train pretext --data " + data.string() + " --task rotation -o " + rot.string() + tiny);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Json summary = Json::parse(r.out);
  CHECK(summary["pretext"] == "rotation");
  CHECK(summary["feature_dim"] == 8);  // width 4, two blocks
  CHECK(summary["epochs"] == 2);
  CHECK(summary["classes"] == Json::parse(R"(["rot0","rot90","rot180","rot270"])"));
  REQUIRE(fs::exists(rot / "backbone.pt"));
  std::ifstream metrics(rot / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(metrics, l);) lines += !l.empty();
  CHECK(lines == 2);
  torch::jit::Module backbone = torch::jit::load((rot / "backbone.pt").string());
  torch::NoGradGuard ng;
  backbone.eval();
  CHECK(backbone.forward({torch::zeros({2, 3, 16, 16})}).toTensor().sizes().vec() == std::vector<std::int64_t>{2, 8});

  auto j = run("train pretext --data " + data.string() + " --task jigsaw --grid 2 --permutations 5 -o " + jig.string() + tiny);
  INFO(j.err);
  REQUIRE(j.exit_code == 0);
  std::ifstream info_in(jig / "pretext.json");
  Json info = Json::parse(info_in);
  CHECK(info["task"] == "jigsaw");
  CHECK(info["permutations"].size() == 5);
  CHECK(info["permutations"][0] == Json::parse("[0,1,2,3]"));
  CHECK(info["permutations"] == Json(jigsaw_permutations(2, 5, 3)));

  auto c = run("train classify --data " + data.string() + " --backbone " + (rot / "backbone.pt").string() + " -o " + ft.string() +
               " --imgsz 16 --epochs 1 --batch 6 --threads 1 --jsonl -q");
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  CHECK(Json::parse(c.out)["classes"].size() == 3);
  CHECK(fs::exists(ft / "model.pt"));
}

TEST_CASE("train pretext: bad options name the problem and exit 2") {
  fs::path data = cvtool::test::make_shapes_dataset(scratch_dir("pretext-bad-data"), {2, 2, 2}, 16);
  fs::path empty = scratch_dir("pretext-empty"), out = scratch_dir("pretext-bad-run");
  fs::create_directories(empty);
  auto r = run("train pretext --data " + data.string() + " --task colour -o " + out.string() + " -q");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("pretext.task") != std::string::npos);
  CHECK(r.err.find("colour") != std::string::npos);
  auto e = run("train pretext --data " + empty.string() + " --task rotation -o " + out.string() + " -q");
  CHECK(e.exit_code == 2);
  CHECK(e.err.find(empty.string() + ": no images found") != std::string::npos);
  auto g = run("train pretext --data " + data.string() + " --task jigsaw --grid 2 --permutations 30 -o " + out.string() + " -q");
  CHECK(g.exit_code == 2);
  CHECK(g.err.find("pretext.permutations: 30 asked, but a 2x2 grid has only 24") != std::string::npos);
  auto n = run("train pretext --task rotation -o " + out.string() + " -q");
  CHECK(n.exit_code == 2);
  CHECK(n.err.find("--data") != std::string::npos);
}
