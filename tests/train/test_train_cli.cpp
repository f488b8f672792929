// `cvtool classify`, `cvtool augment` and `cvtool train classify` end to end, and
// 2-process data-parallel training on loopback against a single process.
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../cli/run_binary.hpp"
#include "train_fixtures.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;
using cvtool::test::make_shapes_dataset;
using cvtool::test::scratch_dir;

namespace {

cvtool::test::RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "train-cli"); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<Json> jsonl(const std::string& text) {
  std::vector<Json> out;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);)
    if (!l.empty()) out.push_back(Json::parse(l));
  return out;
}

const std::string kMessi = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg";
const std::string kConfigs = std::string(CVTOOL_SOURCE_DIR) + "/configs/";

}  // namespace

TEST_CASE("augment: same seed, same bytes, another seed, other bytes") {
  fs::path a = scratch_dir("aug-a"), b = scratch_dir("aug-b"), c = scratch_dir("aug-c");
  std::string base = "augment " + kMessi + " -c " + kConfigs + "augment-default.json -n 3 -q ";
  REQUIRE(run(base + "--seed 5 -o " + a.string()).exit_code == 0);
  auto rb = run(base + "--seed 5 --jsonl -o " + b.string());
  REQUIRE(rb.exit_code == 0);
  REQUIRE(run(base + "--seed 6 -o " + c.string()).exit_code == 0);
  for (int k = 0; k < 3; ++k) {
    std::string name = "messi5_aug" + std::to_string(k) + ".png";
    REQUIRE(fs::exists(a / name));
    CHECK(slurp(a / name) == slurp(b / name));
    CHECK(slurp(a / name) != slurp(c / name));
  }
  auto records = jsonl(rb.out);
  REQUIRE(records.size() == 1);
  CHECK(records[0]["source"] == kMessi);
  CHECK(records[0]["copies"].size() == 3);
  CHECK(run("augment " + kMessi + " -q").exit_code == 2);  // no -o
}

TEST_CASE("classify: JSONL, CSV and annotated images from a model with known weights") {
  torch::jit::Module m(c10::QualifiedName("__torch__.KnownWeights"), std::make_shared<torch::jit::CompilationUnit>(), true);
  if (!m.hasattr("training")) m.register_attribute("training", c10::BoolType::get(), true);
  m.register_parameter("w", torch::eye(3), false);
  m.define("def forward(self, x):\n    return torch.matmul(torch.mean(x, [2, 3]), self.w.t())\n");
  fs::path dir = scratch_dir("classify");
  fs::create_directories(dir);
  m.save((dir / "known.pt").string());
  std::ofstream(dir / "labels.txt") << "red\ngreen\nblue\n";
  Json cfg = {{"task", "classify"},
              {"model", {{"path", "known.pt"}, {"input_size", {8, 8}}, {"labels", "labels.txt"}, {"scale", 1.0 / 255},
                         {"mean", {0, 0, 0}}, {"std", {1, 1, 1}}}},
              {"post", {{"top_k", 3}}}};
  std::ofstream(dir / "known.json") << cfg.dump(2);
  cv::imwrite((dir / "blue.png").string(), cv::Mat(16, 16, CV_8UC3, cv::Scalar(255, 0, 0)));
  std::ofstream(dir / "broken.png") << "not a png";
  auto r = run("classify " + (dir / "blue.png").string() + " " + (dir / "broken.png").string() + " -c " + (dir / "known.json").string() +
               " --jsonl -k 1");
  CHECK(r.exit_code == 1);
  auto recs = jsonl(r.out);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]["classes"].size() == 1);
  CHECK(recs[0]["classes"][0]["label"] == "blue");
  CHECK(recs[0]["classes"][0]["class_id"] == 2);
  CHECK(recs[0]["classes"][0]["score"].get<double>() == Approx(std::exp(1.0) / (std::exp(1.0) + 2)));
  CHECK(recs[1].contains("error"));

  fs::path out = scratch_dir("classify-out");
  auto r2 = run("classify " + (dir / "blue.png").string() + " -c " + (dir / "known.json").string() + " -o " + out.string() + " -q");
  CHECK(r2.exit_code == 0);
  CHECK(fs::exists(out / "blue.jpg"));
  std::string csv = slurp(out / "predictions.csv");
  CHECK(csv.rfind("source,frame,rank,class_id,label,score\n", 0) == 0);
  CHECK(csv.find(",1,2,blue,0.576117\n") != std::string::npos);
  CHECK(csv.find(",3,1,green,") != std::string::npos);
}

TEST_CASE("train classify: the CLI trains, exports, and classify uses the export") {
  fs::path data = make_shapes_dataset(scratch_dir("cli-data"), {8, 8, 8}, 24);
  fs::path out = scratch_dir("cli-run");
  auto r = run("train classify --data " + data.string() + " -o " + out.string() +
               " --imgsz 24 --epochs 4 --batch 8 --lr 0.01 --threads 1 --seed 1 --patience 0 --jsonl -q"
               " --set model.width=8 --set model.blocks=2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto summary = jsonl(r.out);
  REQUIRE(summary.size() == 1);
  CHECK(summary[0]["epochs"] == 4);
  CHECK(summary[0]["classes"] == Json::parse(R"(["a_red_square","b_green_disc","c_blue_bar"])"));
  auto c = run("classify " + (data / "b_green_disc" / "0.png").string() + " -c " + (out / "classify.json").string() + " --jsonl");
  REQUIRE(c.exit_code == 0);
  CHECK(jsonl(c.out)[0]["classes"][0]["label"] == "b_green_disc");
  // Config errors exit 2 before any work.
  CHECK(run("train classify --data " + data.string() + " -o " + out.string() + " --set optim.lr=-1 -q").exit_code == 2);
  CHECK(run("train classify --data /nonexistent -o " + out.string() + " -q").exit_code == 2);
}

TEST_CASE("train classify: 2 data-parallel processes on loopback match one process on the same global batch") {
  fs::path data = make_shapes_dataset(scratch_dir("ddp-data"), {8, 8, 8}, 24);
  fs::path single = scratch_dir("ddp-single"), ddp = scratch_dir("ddp-two");
  // No batch norm or dropout (per-rank statistics and masks differ by design), SGD.
  std::string common = "train classify --data " + data.string() +
                       " --imgsz 24 --epochs 3 --batch 12 --lr 0.05 --optimizer sgd --threads 1 --seed 2 --patience 0"
                       " --dropout 0 --progress off -q --set model.width=8 --set model.blocks=2 --set model.batch_norm=false -o ";
  REQUIRE(run(common + single.string()).exit_code == 0);
  int port = 29500 + int(getpid() % 400);
  std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 ";
  std::string bin = CVTOOL_BINARY;
  fs::create_directories(scratch_dir("ddp-logs"));
  std::string log = (fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "train" / "ddp-logs").string();
  std::string cmd = "(" + env + "RANK=1 " + bin + " " + common + ddp.string() + " 2>" + log + "/rank1.txt & " + env +
                    "RANK=0 " + bin + " " + common + ddp.string() + " 2>" + log + "/rank0.txt; s0=$?; wait $!; s1=$?; " +
                    "exit $((s0 + s1)))";
  int status = std::system(("bash -c '" + cmd + "'").c_str());
  INFO(slurp(fs::path(log) / "rank0.txt") + slurp(fs::path(log) / "rank1.txt"));
  REQUIRE(status == 0);

  auto a = torch::jit::load((single / "model.pt").string());
  auto b = torch::jit::load((ddp / "model.pt").string());
  auto pa = a.named_parameters(), pb = b.named_parameters();
  double worst = 0;
  std::size_t n = 0;
  for (auto ia = pa.begin(), ib = pb.begin(); ia != pa.end() && ib != pb.end(); ++ia, ++ib, ++n) {
    REQUIRE((*ia).name == (*ib).name);
    worst = std::max(worst, ((*ia).value - (*ib).value).abs().max().item<double>());
  }
  CHECK(n == 6);
  CHECK(worst < 1e-5);
  auto la = jsonl(slurp(single / "metrics.jsonl")), lb = jsonl(slurp(ddp / "metrics.jsonl"));
  REQUIRE(la.size() == 3);
  REQUIRE(lb.size() == 3);
  for (int e = 0; e < 3; ++e) {
    CHECK(lb[std::size_t(e)]["train_loss"].get<double>() == Approx(la[std::size_t(e)]["train_loss"].get<double>()).epsilon(1e-5));
    CHECK(lb[std::size_t(e)]["val_loss"].get<double>() == Approx(la[std::size_t(e)]["val_loss"].get<double>()).epsilon(1e-5));
  }
}
