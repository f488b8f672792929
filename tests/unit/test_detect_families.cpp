// Parity of each detection family with an independent Python reference of the whole
// pipeline. The models, configs and expected results come from
// tests/models/make_detect_test_models.py (CTest fixture "detect_models"), written
// into <build>/test-models.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/detect/detector.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models";
constexpr double kBoxTolerance = 1e-3;  // pixels
constexpr double kScoreTolerance = 1e-4;

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    FAIL(path.string() + " is missing: run the make_detect_test_models test (ctest fixture) first");
  return Json::parse(in);
}

Json family_config(const std::string& family, const std::vector<std::string>& overrides = {}) {
  ConfigSources sources;
  sources.file = kModels / ("detect-" + family + ".json");
  sources.overrides = overrides;
  return load_config(sources, task_schema("detect"));
}

std::string describe(const Detection& d) {
  std::ostringstream s;
  s << d.label << " #" << d.class_id << " " << d.score << " [" << d.box[0] << ", " << d.box[1]
    << ", " << d.box[2] << ", " << d.box[3] << "]";
  return s.str();
}

bool same(const Detection& found, const Json& want) {
  if (found.class_id != want["class_id"].get<int>() ||
      found.label != want["label"].get<std::string>())
    return false;
  if (std::abs(found.score - want["score"].get<double>()) > kScoreTolerance) return false;
  for (int i = 0; i < 4; ++i)
    if (std::abs(found.box[i] - want["box"][i].get<double>()) > kBoxTolerance) return false;
  return true;
}

// Matches as sets: detections of equal score may come out in either order.
// Returns "" when every expected detection is found once and nothing else is.
std::string compare(const std::vector<Detection>& found, const Json& expected) {
  std::vector<bool> used(found.size(), false);
  std::string problems;
  for (const auto& want : expected) {
    bool matched = false;
    for (std::size_t i = 0; i < found.size() && !matched; ++i)
      if (!used[i] && same(found[i], want)) used[i] = matched = true;
    if (!matched) problems += "  missing " + want.dump() + "\n";
  }
  for (std::size_t i = 0; i < found.size(); ++i)
    if (!used[i]) problems += "  unexpected " + describe(found[i]) + "\n";
  return problems;
}

// Runs the family's config over the expected images, all in one detect() call (one
// batch for fixed-size models), and returns the per-image mismatches ("" when equal).
std::string run_family(const std::string& family, const std::vector<std::string>& overrides = {}) {
  Json expected = read_json(kModels / ("expected_" + family + ".json"));
  Detector detector(family_config(family, overrides));
  std::vector<cv::Mat> images;
  for (const auto& record : expected["images"]) {
    images.push_back(decode_image(record["source"].get<std::string>()));
    REQUIRE(images.back().cols == record["width"].get<int>());
    REQUIRE(images.back().rows == record["height"].get<int>());
  }
  DetectTimings timings;
  auto results = detector.detect(images, &timings);
  REQUIRE(results.size() == images.size());
  std::string report;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Json& want = expected["images"][i]["detections"];
    std::string problems = compare(results[i], want);
    if (!problems.empty())
      report += expected["images"][i]["source"].get<std::string>() + ": " +
                std::to_string(results[i].size()) + " found, " + std::to_string(want.size()) +
                " expected\n" + problems;
  }
  return report;
}

std::size_t expected_count(const std::string& family) {
  std::size_t n = 0;
  Json expected = read_json(kModels / ("expected_" + family + ".json"));
  for (const auto& record : expected["images"]) n += record["detections"].size();
  return n;
}

}  // namespace

TEST_CASE("Detection families match the Python reference on real images", "[detect][families]") {
  for (std::string family : {"yolov8", "yolov5", "centernet", "torchvision_detection"}) {
    SECTION(family) {
      INFO("family " << family);
      REQUIRE(expected_count(family) > 0);  // a parity test on nothing proves nothing
      std::string report = run_family(family);
      INFO(report);
      CHECK(report.empty());
    }
  }
}

TEST_CASE("Detection parity does not depend on batching", "[detect][families]") {
  // The same images one call each (batch of 1) give the same results as one batch.
  Json expected = read_json(kModels / "expected_yolov8.json");
  Detector detector(family_config("yolov8"));
  for (const auto& record : expected["images"]) {
    auto result = detector.detect({decode_image(record["source"].get<std::string>())});
    REQUIRE(result.size() == 1);
    INFO(record["source"].get<std::string>());
    CHECK(compare(result[0], record["detections"]).empty());
  }
}

TEST_CASE("The parity models see colour order: swapping RGB and BGR breaks parity",
          "[detect][families]") {
  // Guards the parity test itself: if a colour swap went unnoticed, the test would
  // not protect the channel order.
  CHECK_FALSE(run_family("yolov8", {"model.color=bgr"}).empty());
  CHECK_FALSE(run_family("yolov5", {"model.color=rgb"}).empty());
  CHECK_FALSE(run_family("centernet", {"model.color=bgr"}).empty());
  CHECK_FALSE(run_family("torchvision_detection", {"model.color=bgr"}).empty());
}

TEST_CASE("A model whose output does not fit its family fails at construction",
          "[detect][families]") {
  auto error_of = [](const Json& config) -> std::string {
    try {
      Detector detector(config);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Model);
      return e.what();
    }
    return "no error";
  };
  const std::string bad = (kModels / "bad_shape.pt").string();
  // bad_shape.pt returns one N x 3 tensor.
  std::string msg = error_of(family_config("yolov8", {"model.path=" + bad}));
  CHECK_THAT(msg, Catch::Contains("bad_shape.pt") &&
                      Catch::Contains("yolov8 expects one output Nx(4+C)xA with C=3") &&
                      Catch::Contains("found 1x3"));
  msg = error_of(family_config("yolov5", {"model.path=" + bad}));
  CHECK_THAT(msg, Catch::Contains("yolov5 expects an output NxAx(5+C) with C=3") &&
                      Catch::Contains("found 1x3"));
  // A yolov8 model (1 x 7 x 36) under the yolov5 family: right rank, wrong columns.
  msg = error_of(family_config("yolov5", {"model.path=" + (kModels / "yolov8.pt").string()}));
  CHECK_THAT(msg, Catch::Contains("NxAx(5+C) with C=3") && Catch::Contains("found 1x7x36"));
  // A one-output model under centernet, which needs (heatmap, boxes).
  msg = error_of(family_config(
      "centernet", {"model.path=" + (kModels / "yolov8.pt").string(), "model.layout=nchw"}));
  CHECK_THAT(msg, Catch::Contains("centernet expects (heatmap Nxhxwx3, boxes Nxhxwx4)") &&
                      Catch::Contains("found 1 outputs"));
  // The CenterNet model under yolov8: two outputs where one is expected.
  msg = error_of(family_config("yolov8", {"model.path=" + (kModels / "centernet.pt").string(),
                                          "model.layout=nhwc", "model.input_size=[256,256]"}));
  CHECK_THAT(msg, Catch::Contains("yolov8 expects one output tensor, found 2"));
  // A plain tensor model under torchvision_detection, which feeds a list of images.
  msg = error_of(
      family_config("torchvision_detection", {"model.path=" + (kModels / "yolov5.pt").string()}));
  CHECK_THAT(msg, Catch::Contains("yolov5.pt: forward failed") &&
                      Catch::Contains("found type 'List[Tensor]'"));
  // ... and a torchvision detector under yolov8.
  msg = error_of(
      family_config("yolov8", {"model.path=" + (kModels / "torchvision_detection.pt").string()}));
  CHECK_THAT(msg, Catch::Contains("torchvision_detection.pt") && Catch::Contains("forward failed"));
}
