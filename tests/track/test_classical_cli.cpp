// `cvtool flow` and `cvtool track --method meanshift|camshift|flow` end to end on a
// small synthetic video (a coloured patch moving (4, 2) px a frame on grey texture).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <sstream>

#include "../cli/run_binary.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/track/flow_dense.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

fs::path scratch(const std::string& name) {
  fs::path dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// 12 frames, 160x120: the patch (30x30, red-orange with texture) starts at (20, 30).
fs::path make_video(const fs::path& dir) {
  fs::path path = dir / "patch.avi";
  cv::VideoWriter w(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25, cv::Size(160, 120));
  REQUIRE(w.isOpened());
  cv::Mat grey(120, 160, CV_8U), tex(30, 30, CV_8U);
  cv::RNG rng(5);
  rng.fill(grey, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(grey, grey, cv::Size(5, 5), 0);
  rng.fill(tex, cv::RNG::UNIFORM, 0, 121);
  cv::GaussianBlur(tex, tex, cv::Size(3, 3), 0);
  cv::Mat parts[3] = {cv::Mat(30, 30, CV_8U, cv::Scalar(20)), tex, cv::Mat(30, 30, CV_8U, cv::Scalar(200))}, patch, bg;
  cv::merge(parts, 3, patch);
  cv::cvtColor(grey, bg, cv::COLOR_GRAY2BGR);
  for (int t = 0; t < 12; ++t) {
    cv::Mat f = bg.clone();
    patch.copyTo(f(cv::Rect(20 + 4 * t, 30 + 2 * t, 30, 30)));
    w.write(f);
  }
  return path;
}

std::vector<Json> lines(const std::string& text) {
  std::vector<Json> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);)
    if (!l.empty()) out.push_back(Json::parse(l));
  return out;
}

}  // namespace

TEST_CASE("track --method meanshift|camshift|flow follows the patch and writes MOT rows") {
  fs::path dir = scratch("classical_track_cli");
  fs::path video = make_video(dir);
  for (const std::string method : {"meanshift", "camshift", "flow"}) {
    INFO(method);
    auto r = cvtool::test::run_cvtool("track " + video.string() + " --init 20,30,30,30 --method " + method +
                                          " --jsonl -q -o " + (dir / method).string(),
                                      "classical_track_cli");
    REQUIRE(r.exit_code == 0);
    auto records = lines(r.out);
    REQUIRE(records.size() == 12);
    const auto& last = records.back();
    CHECK(last["state"] == "tracking");
    double cx = (last["box"][0].get<double>() + last["box"][2].get<double>()) / 2;
    double cy = (last["box"][1].get<double>() + last["box"][3].get<double>()) / 2;
    CHECK(std::abs(cx - (20 + 44 + 15)) <= 3);  // frame 12: the patch at (64, 52)
    CHECK(std::abs(cy - (30 + 22 + 15)) <= 3);
    CHECK(fs::exists(dir / method / "patch.mot.txt"));
    CHECK(fs::exists(dir / method / "patch.avi"));
  }
}

TEST_CASE("flow writes the colour video, .npy and .flo fields, JSONL and point tracks") {
  fs::path dir = scratch("classical_flow_cli");
  fs::path video = make_video(dir);
  auto r = cvtool::test::run_cvtool("flow " + video.string() + " -o " + (dir / "out").string() +
                                        " --fields npy,flo --sparse --jsonl -q --max-frames 5",
                                    "classical_flow_cli");
  REQUIRE(r.exit_code == 0);
  auto records = lines(r.out);
  REQUIRE(records.size() == 5);
  CHECK_FALSE(records[0].contains("mean_flow"));  // no flow into the first frame
  CHECK(records[0]["points"].size() > 10);
  REQUIRE(records[1].contains("mean_flow"));
  CHECK(records[1]["fields"].size() == 2);
  fs::path out = dir / "out";
  CHECK(fs::exists(out / "patch.flow.avi"));
  CHECK(fs::exists(out / "patch.points.csv"));
  auto npy = cvtool::read_npy(out / "patch_000002.flow.npy");
  CHECK(npy.shape == std::vector<std::int64_t>{120, 160, 2});
  cv::Mat flo = cvtool::read_flo(out / "patch_000002.flo");
  REQUIRE(flo.rows == 120);
  REQUIRE(flo.cols == 160);
  // Same field in both files; on the patch it points (4, 2).
  CHECK(std::memcmp(flo.ptr<float>(), npy.data.data(), npy.data.size() * sizeof(float)) == 0);
  cv::Vec2f on_patch = flo.at<cv::Vec2f>(30 + 2 + 15, 20 + 4 + 15);
  CHECK(on_patch[0] == Approx(4).margin(0.5));
  CHECK(on_patch[1] == Approx(2).margin(0.5));
  CHECK(cvtool::test::run_cvtool("flow " + video.string() + " --fields gif", "classical_flow_cli").exit_code == 2);
}
