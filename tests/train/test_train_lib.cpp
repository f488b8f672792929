// The training library: augmentation determinism, datasets and samplers, metrics,
// classify top-k on a model with known weights, and tiny deterministic training runs.
// LibTorch before Catch2: glog (via LibTorch) defines CHECK too, and the last one wins.
#include <torch/script.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/train/augment.hpp"
#include "cvtool/train/dataset.hpp"
#include "cvtool/train/metrics.hpp"
#include "cvtool/train/network.hpp"
#include "cvtool/train/trainer.hpp"
#include "train_fixtures.hpp"

namespace fs = std::filesystem;
using namespace cvtool;
using cvtool::test::make_shapes_dataset;
using cvtool::test::scratch_dir;

namespace {

const std::string kMessi = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg";

AugmentParams every_op() {
  AugmentParams a;
  for (AugmentOp* op : {&a.hflip, &a.vflip, &a.rotate, &a.scale, &a.translate, &a.crop, &a.brightness, &a.contrast,
                        &a.saturation, &a.illumination, &a.blur, &a.gaussian_noise, &a.salt_pepper, &a.cutout})
    op->p = 0.5;
  a.rotate.lo = -20, a.rotate.hi = 20;
  a.scale.lo = 0.8, a.scale.hi = 1.2;
  a.translate.hi = 0.1;
  a.crop.lo = 0.5, a.crop.hi = 1;
  a.brightness.lo = -0.2, a.brightness.hi = 0.2;
  a.contrast.lo = 0.7, a.contrast.hi = 1.3;
  a.saturation.lo = 0.5, a.saturation.hi = 1.5;
  a.illumination.lo = 0.1, a.illumination.hi = 0.4;
  a.blur.lo = 0.5, a.blur.hi = 2;
  a.gaussian_noise.lo = 2, a.gaussian_noise.hi = 10;
  a.salt_pepper.lo = 0.01, a.salt_pepper.hi = 0.02;
  a.cutout.lo = 0.1, a.cutout.hi = 0.3;
  return a;
}

bool same_bytes(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

Json train_config(const fs::path& data, int epochs) {
  Json c = {{"task", "train"},
            {"seed", 3},
            {"data", {{"train", data.string()}, {"val_fraction", 0.25}}},
            {"model", {{"input_size", {24, 24}}, {"width", 8}, {"blocks", 2}, {"dropout", 0.0}}},
            {"optim", {{"optimizer", "adam"}, {"lr", 0.01}, {"epochs", epochs}, {"batch", 8}, {"early_stopping", 0}}},
            {"runtime", {{"threads", 1}}}};
  return with_defaults(c, task_schema("train"));
}

}  // namespace

TEST_CASE("augmentation: the same seed gives the same bytes, another seed other bytes") {
  cv::Mat img = cv::imread(kMessi);
  REQUIRE(!img.empty());
  Augmenter aug(every_op());
  for (std::uint64_t seed : {0ull, 1ull, 42ull, 123456789ull}) {
    cv::Mat a = aug.apply(img, seed), b = aug.apply(img, seed);
    CHECK(same_bytes(a, b));
    CHECK(a.size() == img.size());
  }
  int differing = 0;
  for (std::uint64_t s = 0; s < 8; ++s) differing += !same_bytes(aug.apply(img, s), aug.apply(img, s + 100));
  CHECK(differing == 8);
  // The input is never modified.
  cv::Mat before = img.clone();
  aug.apply(img, 5);
  CHECK(same_bytes(img, before));
}

TEST_CASE("augmentation: every op alone changes the image, p = 0 is the identity") {
  cv::Mat img = cv::imread(kMessi);
  REQUIRE(!img.empty());
  cv::resize(img, img, cv::Size(160, 100));
  AugmentParams none;
  CHECK_FALSE(none.any());
  CHECK(same_bytes(Augmenter(none).apply(img, 9), img));
  AugmentParams all = every_op();
  std::vector<std::pair<std::string, AugmentOp*>> ops = {
      {"hflip", &all.hflip},         {"vflip", &all.vflip},           {"rotate", &all.rotate},
      {"scale", &all.scale},         {"translate", &all.translate},   {"crop", &all.crop},
      {"brightness", &all.brightness}, {"contrast", &all.contrast},   {"saturation", &all.saturation},
      {"illumination", &all.illumination}, {"blur", &all.blur},       {"gaussian_noise", &all.gaussian_noise},
      {"salt_pepper", &all.salt_pepper}, {"cutout", &all.cutout}};
  for (auto& [name, op] : ops) {
    AugmentParams one;
    AugmentOp* target = reinterpret_cast<AugmentOp*>(reinterpret_cast<char*>(&one) + (reinterpret_cast<char*>(op) - reinterpret_cast<char*>(&all)));
    *target = *op;
    target->p = 1.0;
    AugmentTrace trace;
    cv::Mat out = Augmenter(one).apply(img, 11, &trace);
    INFO(name);
    REQUIRE(trace.applied == std::vector<std::string>{name});
    CHECK_FALSE(same_bytes(out, img));
  }
}

TEST_CASE("augment config: the schema fills defaults and ranges are read") {
  Json c = with_defaults(Json{{"task", "augment"}, {"augment", {{"rotate", {{"p", 1}}}}}}, task_schema("augment"));
  validate_json(c, task_schema("augment"));
  AugmentParams a = augment_params_from_json(c["augment"]);
  CHECK(a.rotate.p == 1.0);
  CHECK(a.rotate.lo == -15.0);
  CHECK(a.rotate.hi == 15.0);
  CHECK(a.hflip.p == 0.0);
  CHECK(c["copies"] == 4);
}

TEST_CASE("dataset: ImageFolder, a seeded per-class split, samplers and class weights") {
  fs::path root = make_shapes_dataset(scratch_dir("dataset"), {10, 10, 4}, 24);
  Dataset d = load_dataset(root.string(), false);
  REQUIRE(d.classes == std::vector<std::string>{"a_red_square", "b_green_disc", "c_blue_bar"});
  REQUIRE(d.items.size() == 24);
  auto s1 = split_dataset(d, 0.25, 7), s2 = split_dataset(d, 0.25, 7), s3 = split_dataset(d, 0.25, 8);
  CHECK(class_counts(s1.val) == std::vector<std::size_t>{3, 3, 1});  // round(2.5)=3, round(1)=1
  CHECK(class_counts(s1.train) == std::vector<std::size_t>{7, 7, 3});
  std::vector<std::string> v1, v2, v3;
  for (auto& i : s1.val.items) v1.push_back(i.path);
  for (auto& i : s2.val.items) v2.push_back(i.path);
  for (auto& i : s3.val.items) v3.push_back(i.path);
  CHECK(v1 == v2);
  CHECK(v1 != v3);

  auto count_classes = [&](const std::vector<std::size_t>& order) {
    std::vector<int> n(3, 0);
    for (auto i : order) ++n[std::size_t(d.items[i].labels[0])];
    return n;
  };
  CHECK(count_classes(epoch_order(d, "shuffle", 1, 0)) == std::vector<int>{10, 10, 4});
  CHECK(count_classes(epoch_order(d, "oversample", 1, 0)) == std::vector<int>{10, 10, 10});
  CHECK(count_classes(epoch_order(d, "undersample", 1, 0)) == std::vector<int>{4, 4, 4});
  CHECK(epoch_order(d, "shuffle", 1, 0) == epoch_order(d, "shuffle", 1, 0));
  CHECK(epoch_order(d, "shuffle", 1, 0) != epoch_order(d, "shuffle", 1, 1));
  auto w = class_weights(d, "balanced");
  CHECK(w[0] == Approx(24.0 / 30));
  CHECK(w[2] == Approx(24.0 / 12));
}

TEST_CASE("dataset: multi-label CSV and JSONL lists") {
  fs::path dir = scratch_dir("lists");
  fs::create_directories(dir);
  cv::imwrite((dir / "x.png").string(), cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(0)));
  std::ofstream(dir / "l.csv") << "path,labels\nx.png,cat;dog\nx.png,dog\n";
  std::ofstream(dir / "l.jsonl") << "{\"path\": \"x.png\", \"labels\": [\"cat\", \"dog\"]}\n{\"path\": \"x.png\", \"labels\": \"dog\"}\n";
  for (const char* name : {"l.csv", "l.jsonl"}) {
    Dataset d = load_dataset((dir / name).string(), true);
    CHECK(d.classes == std::vector<std::string>{"cat", "dog"});
    REQUIRE(d.items.size() == 2);
    CHECK(d.items[0].labels == std::vector<int>{0, 1});
    CHECK(d.items[1].labels == std::vector<int>{1});
    CHECK(d.items[0].path == (dir / "x.png").string());
  }
  CHECK_THROWS_WITH(load_dataset((dir / "l.csv").string(), false), Catch::Contains("set data.multi_label"));
}

TEST_CASE("metrics: confusion, per-class precision/recall/F1") {
  ConfusionMatrix cm(3);
  cm.add(0, 0, 8);
  cm.add(0, 1, 2);
  cm.add(1, 1, 5);
  cm.add(2, 0, 1);
  cm.add(2, 2, 4);
  auto pc = cm.per_class();
  CHECK(pc[0].precision == Approx(8.0 / 9));
  CHECK(pc[0].recall == Approx(0.8));
  CHECK(pc[1].precision == Approx(5.0 / 7));
  CHECK(pc[1].recall == Approx(1.0));
  CHECK(pc[2].recall == Approx(0.8));
  CHECK(pc[2].f1 == Approx(2 * 1.0 * 0.8 / 1.8));
  CHECK(cm.accuracy() == Approx(17.0 / 20));
  Json j = cm.to_json({"a", "b", "c"});
  CHECK(j["confusion"] == Json::parse("[[8,2,0],[0,5,0],[1,0,4]]"));
  cv::Mat png = cm.render({"a", "b", "c"});
  CHECK(png.cols > 100);
  ConfusionMatrix copy(3);
  copy.set_counts(cm.counts());
  CHECK(copy.to_json({"a", "b", "c"}) == j);
}

TEST_CASE("classify: softmax top-k and multi-label thresholds on a model with known weights") {
  // logits = per-channel mean of the RGB input (0..1): identity weights, no bias.
  torch::jit::Module m(c10::QualifiedName("__torch__.KnownWeights"), std::make_shared<torch::jit::CompilationUnit>(), true);
  if (!m.hasattr("training")) m.register_attribute("training", c10::BoolType::get(), true);
  m.register_parameter("w", torch::eye(3), false);
  m.define("def forward(self, x):\n    return torch.matmul(torch.mean(x, [2, 3]), self.w.t())\n");
  fs::path dir = scratch_dir("known");
  fs::create_directories(dir);
  m.save((dir / "known.pt").string());
  std::ofstream(dir / "labels.txt") << "red\ngreen\nblue\n";
  Json c = {{"task", "classify"},
            {"model", {{"path", (dir / "known.pt").string()}, {"input_size", {8, 8}}, {"labels", (dir / "labels.txt").string()},
                       {"scale", 1.0 / 255}, {"mean", {0, 0, 0}}, {"std", {1, 1, 1}}}},
            {"post", {{"top_k", 2}}}};
  c = with_defaults(c, task_schema("classify"));
  cv::Mat red(20, 30, CV_8UC3, cv::Scalar(0, 0, 255));  // BGR
  {
    Classifier clf(c);
    CHECK(clf.num_classes() == 3);
    auto r = clf.classify({red});
    REQUIRE(r[0].classes.size() == 2);
    double e = std::exp(1.0);
    CHECK(r[0].classes[0].label == "red");
    CHECK(r[0].classes[0].score == Approx(e / (e + 2)));
    CHECK(r[0].classes[1].label == "green");  // ties keep class order
    CHECK(r[0].classes[1].score == Approx(1 / (e + 2)));
  }
  c["post"]["multi_label"] = true;
  c["post"]["thresholds"] = {{"red", 0.7}, {"green", 0.6}, {"blue", 0.4}};
  Classifier clf(c);
  auto r = clf.classify({red});
  REQUIRE(r[0].classes.size() == 2);
  CHECK(r[0].classes[0].label == "red");
  CHECK(r[0].classes[0].score == Approx(1 / (1 + std::exp(-1.0))));
  CHECK(r[0].classes[1].label == "blue");
  CHECK(r[0].classes[1].score == Approx(0.5));
  c["post"]["thresholds"] = {0.1, 0.2};
  CHECK_THROWS_WITH(Classifier(c), Catch::Contains("post.thresholds: 2 values for 3 classes"));
}

TEST_CASE("train: a tiny run from scratch lowers the loss and exports a classifier that reloads") {
  configure_threads(1);
  fs::path root = make_shapes_dataset(scratch_dir("tiny-data"), {12, 12, 12}, 24);
  fs::path out = scratch_dir("tiny-run");
  TrainRun run;
  run.output_dir = out.string();
  run.progress = "off";
  TrainResult r = train_classifier(train_config(root, 6), run);
  REQUIRE(r.epochs.size() == 6);
  CHECK(r.epochs.back().train_loss < 0.5 * r.epochs.front().train_loss);
  for (const char* f : {"model.pt", "classify.json", "labels.txt", "metrics.json", "metrics.jsonl", "confusion.png", "curves.png", "last.pt"})
    CHECK(fs::exists(out / f));

  // The exported model, through its own classify config, knows its training images.
  Json cc = load_config({out / "classify.json", {}}, task_schema("classify"));
  Classifier clf(cc);
  Dataset d = load_dataset(root.string(), false);
  std::vector<cv::Mat> imgs;
  for (const auto& it : d.items) imgs.push_back(cv::imread(it.path));
  auto res = clf.classify(imgs);
  int correct = 0;
  for (std::size_t i = 0; i < res.size(); ++i) correct += res[i].classes[0].class_id == d.items[i].labels[0];
  CHECK(correct == int(res.size()));

  // Same seed, same config, one thread: the same run, loss for loss.
  fs::path out2 = scratch_dir("tiny-run-again");
  run.output_dir = out2.string();
  TrainResult r2 = train_classifier(train_config(root, 6), run);
  CHECK(r2.epochs[0].train_loss == r.epochs[0].train_loss);
  CHECK(r2.epochs[1].train_loss == r.epochs[1].train_loss);
}

TEST_CASE("train: --resume continues after the last checkpoint") {
  configure_threads(1);
  fs::path root = make_shapes_dataset(scratch_dir("resume-data"), {6, 6, 6}, 24);
  fs::path out = scratch_dir("resume-run");
  TrainRun run;
  run.output_dir = out.string();
  run.progress = "off";
  TrainResult first = train_classifier(train_config(root, 2), run);
  REQUIRE(first.epochs.size() == 2);
  run.resume = true;
  TrainResult more = train_classifier(train_config(root, 3), run);
  REQUIRE(more.epochs.size() == 1);
  CHECK(more.epochs[0].epoch == 3);
  std::ifstream in(out / "metrics.jsonl");
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  CHECK(lines == 3);
}

TEST_CASE("train: transfer learning freezes the backbone and trains a new head") {
  configure_threads(1);
  fs::path root = make_shapes_dataset(scratch_dir("transfer-data"), {6, 6, 6}, 24);
  fs::path pre = scratch_dir("transfer-pre"), out = scratch_dir("transfer-run");
  TrainRun run;
  run.output_dir = pre.string();
  run.progress = "off";
  train_classifier(train_config(root, 1), run);

  // Two of the three classes as the new task: the head is resized to 2.
  fs::path two = scratch_dir("transfer-two");
  fs::create_directories(two);
  for (const char* c : {"a_red_square", "c_blue_bar"}) fs::copy(root / c, two / c, fs::copy_options::recursive);
  Json c = train_config(two, 2);
  c["model"]["backbone"] = (pre / "model.pt").string();
  c["model"]["freeze"] = "all";
  run.output_dir = out.string();
  TrainResult r = train_classifier(c, run);
  CHECK(r.classes.size() == 2);
  auto before = torch::jit::load((pre / "model.pt").string());
  auto after = torch::jit::load((out / "model.pt").string());
  CHECK(after.attr("head_weight").toTensor().size(0) == 2);
  auto pb = before.attr("backbone").toModule().named_parameters();
  auto pa = after.attr("backbone").toModule().named_parameters();
  std::size_t compared = 0;
  for (auto itb = pb.begin(), ita = pa.begin(); itb != pb.end(); ++itb, ++ita, ++compared)
    CHECK(torch::equal((*itb).value, (*ita).value));
  CHECK(compared == 8);  // 2 blocks x (conv weight, bias + batch-norm weight, bias)
  c["model"]["freeze"] = "no_such_layer";
  run.output_dir = scratch_dir("transfer-bad").string();
  CHECK_THROWS_WITH(train_classifier(c, run), Catch::Contains("model.freeze: no backbone layer named 'no_such_layer'"));
}

TEST_CASE("train: multi-label from a CSV list") {
  configure_threads(1);
  fs::path root = make_shapes_dataset(scratch_dir("multi-data"), {6, 6, 6}, 24);
  // Tags: "red" for squares, "round" for discs, "red"+"long" for nothing... keep it simple:
  // squares are {warm}, discs {cool, round}, bars {cool}.
  fs::path list = root / "tags.csv";
  std::ofstream csv(list);
  csv << "path,labels\n";
  Dataset d = load_dataset(root.string(), false);
  for (const auto& it : d.items)
    csv << fs::relative(it.path, root).string() << ","
        << (it.labels[0] == 0 ? "warm" : it.labels[0] == 1 ? "cool;round" : "cool") << "\n";
  csv.close();
  Json c = train_config(list, 5);
  c["data"]["multi_label"] = true;
  TrainRun run;
  run.output_dir = scratch_dir("multi-run").string();
  run.progress = "off";
  TrainResult r = train_classifier(c, run);
  CHECK(r.classes == std::vector<std::string>{"cool", "round", "warm"});
  CHECK(r.epochs.back().train_loss < r.epochs.front().train_loss);
  Json cc = load_config({fs::path(run.output_dir) / "classify.json", {}}, task_schema("classify"));
  CHECK(cc["post"]["multi_label"] == true);
}
