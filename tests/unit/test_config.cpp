#include <catch2/catch.hpp>

#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "test_helpers.hpp"

using namespace cvtool;

namespace {

std::string config_error(const std::string& text, std::vector<std::string> overrides = {}) {
  auto dir = test::scratch_dir("config_error");
  test::write_bytes(dir / "c.json", text);
  try {
    load_config({dir / "c.json", overrides}, task_schema("detect"));
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    return e.what();
  }
  return "";
}

const char* kMinimal = R"({"task": "detect", "model": {"path": "m.pt", "family": "yolov8"}})";

}  // namespace

TEST_CASE("a minimal config gets the schema defaults and paths relative to the file") {
  auto dir = test::scratch_dir("config_ok");
  test::write_bytes(dir / "sub" / "c.json", kMinimal);
  Json c = load_config({dir / "sub" / "c.json", {}}, task_schema("detect"));
  CHECK(c["model"]["path"] == (dir / "sub" / "m.pt").lexically_normal().string());
  CHECK(c["post"]["score_threshold"] == 0.25);
  CHECK(c["post"]["nms_iou"] == 0.45);
  CHECK(c["runtime"]["threads"] == 0);
  CHECK(c["model"]["input_size"] == Json::array({640, 640}));
  CHECK(c["model"]["labels"].is_null());
}

TEST_CASE("overrides set nested keys, parse JSON values and resolve paths from the working directory") {
  auto dir = test::scratch_dir("config_override");
  test::write_bytes(dir / "c.json", kMinimal);
  Json c = load_config({dir / "c.json", {"post.score_threshold=0.4", "post.classes=[\"person\",2]",
                                         "model.labels=labels.txt", "model.family=centernet"}},
                       task_schema("detect"));
  CHECK(c["post"]["score_threshold"] == 0.4);
  CHECK(c["post"]["classes"] == Json::array({"person", 2}));
  CHECK(c["model"]["labels"] == (std::filesystem::current_path() / "labels.txt").string());
  CHECK(c["model"]["family"] == "centernet");
}

TEST_CASE("config errors name the key path and the problem") {
  CHECK_THAT(config_error(kMinimal, {"post.nms_iou=x"}), Catch::Contains("post.nms_iou: expected number, got string \"x\""));
  CHECK_THAT(config_error(kMinimal, {"post.nms_iuo=0.5"}), Catch::Contains("post.nms_iuo: unknown key"));
  CHECK_THAT(config_error(kMinimal, {"post.score_threshold=1.5"}), Catch::Contains("post.score_threshold: must be <= 1, got 1.5"));
  CHECK_THAT(config_error(kMinimal, {"model.family=yolov99"}), Catch::Contains("model.family: expected one of"));
  CHECK_THAT(config_error(kMinimal, {"model.input_size=[640]"}), Catch::Contains("model.input_size: needs at least 2 items, got 1"));
  CHECK_THAT(config_error(R"({"task": "detect", "model": {"family": "yolov8"}})"), Catch::Contains("model.path: is required"));
  CHECK_THAT(config_error(R"({"task": "detect", "model": )"), Catch::Contains("malformed JSON"));
  CHECK_THAT(config_error(kMinimal, {"runtime.threads=1.5"}), Catch::Contains("runtime.threads: expected integer"));
  CHECK_THAT(config_error(kMinimal, {"novalue"}), Catch::Contains("expected key.path=value"));
}

TEST_CASE("a missing config file is a config error naming it") {
  try {
    load_config({"/nonexistent/c.json", {}}, task_schema("detect"));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "/nonexistent/c.json: cannot open config file");
  }
}

TEST_CASE("every bundled config validates against its task schema") {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CVTOOL_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    Json raw = Json::parse(in);
    INFO(entry.path().string());
    CHECK_NOTHROW(load_config({entry.path(), {}}, task_schema(raw["task"].get<std::string>())));
    ++checked;
  }
  CHECK(checked >= 1);
}
