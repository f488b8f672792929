// `cvtool segment` end to end: exit codes, JSONL records and the files written.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "../cli/run_binary.hpp"

namespace fs = std::filesystem;

namespace {

using cvtool::test::RunResult;
RunResult run(const std::string& args) { return cvtool::test::run_cvtool(args, "segment-cli"); }

std::vector<nlohmann::json> jsonl(const std::string& out) {
  std::vector<nlohmann::json> records;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty()) records.push_back(nlohmann::json::parse(line));
  return records;
}

fs::path scratch(const std::string& name) {
  auto dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "segment-cli" / name;
  fs::remove_all(dir);
  return dir;
}

const std::string kAstronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";
const fs::path kModels = fs::path(CVTOOL_BINARY_DIR) / "test-models-segment";

}  // namespace

TEST_CASE("segment with the default selfie model writes a palette PNG of {0,1}, overlay and cut-out") {
  REQUIRE(fs::exists(fs::path(CVTOOL_SOURCE_DIR) / "models" / "selfie-segmentation.pt"));  // scripts/fetch-models.sh
  auto dir = scratch("selfie");
  auto r = run("segment " + kAstronaut + " -o " + dir.string() + " --jsonl --alpha --threads 2");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto records = jsonl(r.out);
  REQUIRE(records.size() == 1);
  const auto& rec = records[0];
  CHECK(rec["source"] == kAstronaut);
  CHECK(rec["mask"] == (dir / "astronaut.png").string());
  REQUIRE(rec["classes"].size() == 2);
  CHECK(rec["classes"][0]["label"] == "background");
  CHECK(rec["classes"][1]["label"] == "person");
  CHECK(rec["classes"][1]["class_id"] == 1);
  const long long area0 = rec["classes"][0]["area"], area1 = rec["classes"][1]["area"];
  CHECK(area0 + area1 == 512 * 512);
  CHECK(rec["classes"][1]["fraction"].get<double>() == Approx(area1 / (512.0 * 512.0)));

  // OpenCV expands palettes even with IMREAD_UNCHANGED: the grey palette makes every
  // channel the class id.
  cv::Mat unchanged = cv::imread((dir / "astronaut.png").string(), cv::IMREAD_UNCHANGED);
  REQUIRE(unchanged.type() == CV_8UC3);
  REQUIRE(unchanged.size() == cv::Size(512, 512));
  cv::Mat ch[3];
  cv::split(unchanged, ch);
  CHECK(cv::countNonZero(ch[0] != ch[1]) == 0);
  CHECK(cv::countNonZero(ch[0] != ch[2]) == 0);
  cv::Mat mask = cv::imread((dir / "astronaut.png").string(), cv::IMREAD_GRAYSCALE);
  CHECK(cv::countNonZero(mask != ch[0]) == 0);
  double lo, hi;
  cv::minMaxLoc(mask, &lo, &hi);
  CHECK(lo == 0);
  CHECK(hi == 1);
  CHECK(cv::countNonZero(mask) == area1);
  // A real indexed PNG: colour type 3 in IHDR, and a PLTE chunk.
  std::ifstream in(dir / "astronaut.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  CHECK(int(bytes[25]) == 3);
  CHECK(bytes.find("PLTE") != std::string::npos);

  cv::Mat overlay = cv::imread((dir / "astronaut_overlay.jpg").string(), cv::IMREAD_UNCHANGED);
  CHECK(overlay.size() == cv::Size(512, 512));
  CHECK(overlay.type() == CV_8UC3);
  cv::Mat alpha = cv::imread((dir / "astronaut_alpha.png").string(), cv::IMREAD_UNCHANGED);
  REQUIRE(alpha.type() == CV_8UC4);
  CHECK(alpha.size() == cv::Size(512, 512));
  // No temporary files left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 3);
}

TEST_CASE("segment with output.mask_colours writes the config palette into the PNG") {
  auto cfg = (kModels / "segment-colour_logits.json").string();
  auto blocks = (kModels / "blocks.png").string();
  auto dir = scratch("colours");
  auto r = run("segment -c " + cfg + " " + blocks + " -o " + dir.string() + " --no-overlay --set output.mask_colours=true");
  REQUIRE(r.exit_code == 0);
  cv::Mat colour = cv::imread((dir / "blocks.png").string(), cv::IMREAD_COLOR);
  REQUIRE(colour.size() == cv::Size(101, 67));
  CHECK(colour.at<cv::Vec3b>(30, 5) == cv::Vec3b(0, 0, 0));     // red band: class 0, VOC black
  CHECK(colour.at<cv::Vec3b>(5, 50) == cv::Vec3b(0, 0, 128));   // green band: class 1, VOC (128,0,0) as BGR
  CHECK(colour.at<cv::Vec3b>(30, 90) == cv::Vec3b(0, 128, 0));  // blue band: class 2, VOC (0,128,0) as BGR
  CHECK(!fs::exists(dir / "blocks_overlay.jpg"));
}

TEST_CASE("segment without -o prints a summary, and JSONL gives mask null") {
  auto cfg = (kModels / "segment-colour_logits.json").string();
  auto blocks = (kModels / "blocks.png").string();
  auto r = run("segment -c " + cfg + " " + blocks);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("blocks.png: red ") != std::string::npos);
  auto j = run("segment -c " + cfg + " " + blocks + " --jsonl");
  REQUIRE(j.exit_code == 0);
  auto records = jsonl(j.out);
  REQUIRE(records.size() == 1);
  CHECK(records[0]["mask"].is_null());
  CHECK(records[0]["width"] == 101);
  CHECK(records[0]["height"] == 67);
  REQUIRE(records[0]["classes"].size() == 3);
  CHECK(records[0]["classes"][2]["label"] == "blue");
}

TEST_CASE("segment: a bad input fails alone with exit 1, a bad config exits 2") {
  auto cfg = (kModels / "segment-colour_logits.json").string();
  auto blocks = (kModels / "blocks.png").string();
  auto dir = scratch("mixed");
  auto r = run("segment -c " + cfg + " " + blocks + " /no/such/image.png -o " + dir.string() + " --jsonl");
  CHECK(r.exit_code == 1);
  auto records = jsonl(r.out);
  REQUIRE(records.size() == 2);
  CHECK(records[0]["mask"] == (dir / "blocks.png").string());
  CHECK(records[1].contains("error"));
  CHECK(fs::exists(dir / "blocks.png"));
  CHECK(fs::exists(dir / "blocks_overlay.jpg"));

  auto bad = run("segment -c " + cfg + " --set post.threshold=x " + blocks);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("post.threshold") != std::string::npos);
  auto missing = run("segment -c " + cfg + " --set model.path=/no/model.pt " + blocks);
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("/no/model.pt") != std::string::npos);
}
