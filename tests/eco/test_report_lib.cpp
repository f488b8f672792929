// The report and config-doc building blocks of libcvtool: base64, HTML escaping, the
// schema walk, and reading a run folder back.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "cvtool/core/config.hpp"
#include "cvtool/report/html_report.hpp"
#include "cvtool/report/run_summary.hpp"
#include "cvtool/report/schema_doc.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<unsigned char> bytes(const std::string& s) { return {s.begin(), s.end()}; }

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "eco" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("base64 matches RFC 4648's test vectors") {
  CHECK(cvtool::base64_encode(bytes("")) == "");
  CHECK(cvtool::base64_encode(bytes("f")) == "Zg==");
  CHECK(cvtool::base64_encode(bytes("fo")) == "Zm8=");
  CHECK(cvtool::base64_encode(bytes("foo")) == "Zm9v");
  CHECK(cvtool::base64_encode(bytes("foob")) == "Zm9vYg==");
  CHECK(cvtool::base64_encode(bytes("fooba")) == "Zm9vYmE=");
  CHECK(cvtool::base64_encode(bytes("foobar")) == "Zm9vYmFy");
  CHECK(cvtool::base64_encode({0xff, 0xfe, 0x00}) == "//4A");
}

TEST_CASE("html_escape escapes markup and quotes") {
  CHECK(cvtool::html_escape("<a href=\"x\">O'Neil & co</a>") ==
        "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;");
}

TEST_CASE("schema_keys lists every detect key with type, default and constraints") {
  auto keys = cvtool::schema_keys(cvtool::task_schema("detect"));
  auto find = [&](const std::string& path) {
    auto it = std::find_if(keys.begin(), keys.end(), [&](const cvtool::SchemaKey& k) { return k.path == path; });
    REQUIRE(it != keys.end());
    return *it;
  };
  auto score = find("post.score_threshold");
  CHECK(score.type == "number");
  CHECK(score.default_value == 0.25);
  CHECK(score.constraints == "0 ≤ x ≤ 1");
  auto path = find("model.path");
  CHECK(path.type == "path");
  CHECK(path.required);
  CHECK_FALSE(path.has_default);
  CHECK(find("model.input_size").type == "array of integer or null");
  CHECK(find("model.input_size").constraints == "2 items, each 1 ≤ x ≤ 8192");
  CHECK(find("model.color").type == "one of \"rgb\", \"bgr\"");
  CHECK(find("post").type == "section");
  CHECK(find("task").type == "\"detect\"");
  // Sections come before their keys.
  auto pos = [&](const std::string& p) {
    return std::find_if(keys.begin(), keys.end(), [&](const cvtool::SchemaKey& k) { return k.path == p; }) - keys.begin();
  };
  CHECK(pos("post") < pos("post.nms_iou"));
}

TEST_CASE("schema_markdown has one row per key and the value column for a config") {
  const auto& schema = cvtool::task_schema("detect");
  cvtool::Json config = {{"post", {{"score_threshold", 0.5}}}};
  std::string md = cvtool::schema_markdown("detect", schema, &config);
  auto rows = std::count(md.begin(), md.end(), '\n');
  CHECK(std::size_t(rows) == cvtool::schema_keys(schema).size() + 6);  // heading, blank, title, blank, header, rule
  CHECK(md.find("| `post.score_threshold` | number | `0.25` | 0 ≤ x ≤ 1 |  | `0.5` |") != std::string::npos);
}

TEST_CASE("read_run groups records per input, counts classes and finds artifacts") {
  fs::path dir = scratch("read_run");
  cv::imwrite((dir / "a.jpg").string(), cv::Mat(40, 60, CV_8UC3, cv::Scalar(0, 0, 255)));
  std::ofstream(dir / "results.jsonl")
      << R"({"source":"/x/a.png","width":60,"height":40,"detections":[{"label":"person","class_id":0,"score":0.9,"box":[1,2,3,4]},{"label":"dog","class_id":16,"score":0.5,"box":[5,6,7,8]},{"label":"person","class_id":0,"score":0.4,"box":[1,1,9,9]}]})"
      << "\n"
      << R"({"source":"/x/b.png","error":"/x/b.png: not an image"})" << "\n"
      << R"({"source":"/y/a.png","width":60,"height":40,"detections":[]})" << "\n";
  std::ofstream(dir / "bench.jsonl")
      << R"({"task":"detect","images":5,"ms_per_image":{"decode":5.5,"preprocess":1.25,"model":40,"postprocess":0.5},"images_per_s":20.5,"threads":2,"model":"m.pt"})"
      << "\n";
  auto run = cvtool::read_run(dir);
  REQUIRE(run.items.size() == 3);
  CHECK(run.failed() == 1);
  CHECK(run.tasks == std::vector<std::string>{"detect"});
  CHECK(run.counts["detect"]["person"] == 2);
  CHECK(run.counts["detect"]["dog"] == 1);
  CHECK(run.items[0].artifact == dir / "a.jpg");
  CHECK(run.items[1].error == "/x/b.png: not an image");
  // /y/a.png came third: the run named its image a_2.jpg, which this run did not write.
  CHECK(run.items[2].artifact.empty());
  REQUIRE(run.stage_ms.size() == 4);
  CHECK(run.stage_ms[1] == std::make_pair(std::string("preprocess"), 1.25));  // pipeline order
  CHECK(run.stage_ms[2] == std::make_pair(std::string("model"), 40.0));

  std::string html = cvtool::html_report(run);
  CHECK(html.find("<span id=\"n-inputs\">3</span>") != std::string::npos);
  CHECK(html.find("<span id=\"n-failed\">1</span>") != std::string::npos);
  CHECK(html.find("data-label=\"person\"><td>detect</td><td>person</td><td class=\"count\">2 detections</td>") !=
        std::string::npos);
  CHECK(html.find("<li class=\"failure\"><b>/x/b.png</b>: /x/b.png: not an image</li>") != std::string::npos);
  CHECK(html.find("data-stage=\"model\"><td>model</td><td>40.00</td>") != std::string::npos);
  CHECK(html.find("data:image/jpeg;base64,") != std::string::npos);
  CHECK(html.find("http") == std::string::npos);  // self-contained: nothing to fetch
}

TEST_CASE("read_run refuses a folder without results") {
  fs::path dir = scratch("empty_run");
  CHECK_THROWS_WITH(cvtool::read_run(dir), Catch::Contains("no results to report"));
}
