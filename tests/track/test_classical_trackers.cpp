// Trackers without a network (meanshift, camshift, sparse-flow Median-Flow) and the
// optical-flow pieces (forward-backward filter, robust box update, Farnebäck, .flo,
// colour wheel) on synthetic frames whose answers are known.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <opencv2/imgproc.hpp>

#include "cvtool/track/flow_dense.hpp"
#include "cvtool/track/flow_sparse.hpp"
#include "cvtool/track/flow_tracker.hpp"
#include "cvtool/track/meanshift_tracker.hpp"

using namespace cvtool;

namespace {

constexpr int kW = 320, kH = 240, kSide = 40;
const cv::Point kStart(40, 60), kStep(4, 2);  // the patch moves (4, 2) px a frame

// Grey background: plain (128) or a blurred-noise texture without colour.
cv::Mat background(bool textured) {
  cv::Mat grey(kH, kW, CV_8U, cv::Scalar(128));
  if (textured) {
    cv::RNG rng(7);
    rng.fill(grey, cv::RNG::UNIFORM, 0, 256);
    cv::GaussianBlur(grey, grey, cv::Size(5, 5), 0);
  }
  cv::Mat bgr;
  cv::cvtColor(grey, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

// A saturated red-orange patch with texture in its green channel (corners for the flow).
cv::Mat patch() {
  cv::Mat tex(kSide, kSide, CV_8U);
  cv::RNG rng(11);
  rng.fill(tex, cv::RNG::UNIFORM, 0, 121);
  cv::GaussianBlur(tex, tex, cv::Size(3, 3), 0);
  cv::Mat parts[3] = {cv::Mat(kSide, kSide, CV_8U, cv::Scalar(20)), tex, cv::Mat(kSide, kSide, CV_8U, cv::Scalar(200))};
  cv::Mat p;
  cv::merge(parts, 3, p);
  return p;
}

cv::Point truth(int t) { return kStart + t * kStep; }

cv::Mat frame(int t, bool textured, bool visible = true) {
  cv::Mat f = background(textured);
  if (visible) patch().copyTo(f(cv::Rect(truth(t), cv::Size(kSide, kSide))));
  return f;
}

std::unique_ptr<SingleObjectTracker> make(const std::string& method) {
  if (method == "flow") return make_flow_tracker(FlowTrackerParams{});
  MeanShiftParams p;
  p.camshift = method == "camshift";
  return make_meanshift_tracker(p);
}

cv::Point2d centre(const cv::Rect2d& b) { return {b.x + b.width / 2, b.y + b.height / 2}; }

}  // namespace

TEST_CASE("meanshift, camshift and flow follow a patch moving (4, 2) px a frame") {
  // Bounds on the centre error per axis, from how each method settles:
  // meanshift moves its integer window to the centroid of what it covers, which for an
  // equal box offset by d lies d/2 away, so the offset halves each iteration (4 -> 2);
  // it stops once a step is under epsilon (1 px), leaving up to 2 px (measured: 2.0).
  // CamShift does the same and also refits the window to the blob's moments, which
  // re-centres it: the same bound holds (measured: 0.5). Flow: every point's LK stops
  // within 0.01 px, the median of ~30 of them moves the box, 19 steps: 0.25 px
  // (measured: 0.004).
  const std::map<std::string, double> bound = {{"meanshift", 2.0}, {"camshift", 2.0}, {"flow", 0.25}};
  for (bool textured : {false, true}) {
    for (const auto& [method, n] : bound) {
      INFO(method << (textured ? " on texture" : " on plain grey"));
      auto tracker = make(method);
      tracker->init(frame(0, textured), cv::Rect2d(kStart.x, kStart.y, kSide, kSide));
      double worst = 0;
      for (int t = 1; t < 20; ++t) {
        auto r = tracker->update(frame(t, textured));
        INFO("frame " << t);
        REQUIRE(r.state == TrackState::Tracking);
        cv::Point2d c = centre(r.box);
        cv::Point2d want = cv::Point2d(truth(t)) + cv::Point2d(kSide / 2.0, kSide / 2.0);
        worst = std::max({worst, std::abs(c.x - want.x), std::abs(c.y - want.y)});
      }
      CHECK(worst <= n);
    }
  }
}

TEST_CASE("a patch that disappears for three frames is lost, then recovered where it returns") {
  for (const std::string method : {"meanshift", "camshift", "flow"}) {
    INFO(method);
    auto tracker = make(method);
    tracker->init(frame(0, true), cv::Rect2d(kStart.x, kStart.y, kSide, kSide));
    std::string states;
    for (int t = 1; t < 20; ++t) {
      auto r = tracker->update(frame(t, true, t < 12 || t > 14));
      states += to_string(r.state)[0];
      if (r.state == TrackState::Recovered) {
        cv::Point2d c = centre(r.box);
        cv::Point2d want = cv::Point2d(truth(t)) + cv::Point2d(kSide / 2.0, kSide / 2.0);
        CHECK(std::abs(c.x - want.x) <= 2);
        CHECK(std::abs(c.y - want.y) <= 2);
      }
    }
    // tracking x11, lost x3 (frames 12-14), recovered at 15, tracking after
    CHECK(states == "tttttttttttlllrtttt");
  }
}

TEST_CASE("the forward-backward filter drops the point that does not come back") {
  std::vector<cv::Point2f> points = {{10, 10}, {20, 20}, {30, 30}, {40, 40}};
  std::vector<cv::Point2f> back = {{10.2f, 10}, {20, 19.5f}, {33, 34}, {40, 40}};
  std::vector<unsigned char> ok = {1, 1, 1, 0};
  std::vector<float> errors;
  auto keep = forward_backward_keep(points, back, ok, 1.0, &errors);
  CHECK(keep == std::vector<unsigned char>{1, 1, 0, 0});
  CHECK(errors[0] == Approx(0.2).margin(1e-5));
  CHECK(errors[2] == Approx(5.0));
  CHECK(std::isinf(errors[3]));  // LK failed: no error to speak of
}

TEST_CASE("Lucas-Kanade forward-backward on a known shift keeps textured points, drops a flat one") {
  cv::Mat a = background(true), b = cv::Mat(a.size(), a.type(), cv::Scalar(128, 128, 128));
  a(cv::Rect(0, 0, kW - 3, kH - 1)).copyTo(b(cv::Rect(3, 1, kW - 3, kH - 1)));  // content moves (+3, +1)
  cv::Mat ga, gb;
  cv::cvtColor(a, ga, cv::COLOR_BGR2GRAY);
  cv::cvtColor(b, gb, cv::COLOR_BGR2GRAY);
  // A flat square in both frames, but in the second the texture moved over its border.
  ga(cv::Rect(200, 100, 60, 60)).setTo(128);
  gb(cv::Rect(203, 101, 60, 60)).setTo(128);
  LkParams p;
  auto points = seed_features(ga, cv::Rect(20, 20, 120, 120), p);
  REQUIRE(points.size() > 20);
  points.push_back({230, 130});  // middle of the flat square: nothing to lock onto
  LkStep s = lk_forward_backward(ga, gb, points, p);
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    INFO(i);
    CHECK(s.keep[i]);
    CHECK(s.to[i].x - s.from[i].x == Approx(3).margin(0.05));
    CHECK(s.to[i].y - s.from[i].y == Approx(1).margin(0.05));
  }
  CHECK_FALSE(s.keep.back());
}

TEST_CASE("robust box update: median translation and pairwise scale, a wild point ignored") {
  cv::Rect2d box(100, 100, 40, 20);  // centre (120, 110)
  // Corners and centre, scaled 1.5 about the centre and moved (+5, -3): the median
  // displacement of a symmetric set is the centre's, and every distance ratio is 1.5.
  std::vector<cv::Point2f> from = {{100, 100}, {140, 100}, {100, 120}, {140, 120}, {120, 110}};
  std::vector<cv::Point2f> to;
  for (const auto& p : from) to.push_back({120 + 1.5f * (p.x - 120) + 5, 110 + 1.5f * (p.y - 110) - 3});
  auto moved = robust_box_update(box, from, to);
  REQUIRE(moved);
  CHECK(moved->x == Approx(125 - 30));
  CHECK(moved->y == Approx(107 - 15));
  CHECK(moved->width == Approx(60));
  CHECK(moved->height == Approx(30));
  // Pure translation with one point gone wild: the 5 pairs through it are a minority
  // of the 15, so the scale stays 1, and the median displacement is the true one.
  from.push_back({110, 105});
  to.clear();
  for (const auto& p : from) to.push_back({p.x + 5, p.y - 3});
  to.back() = {300, 10};
  moved = robust_box_update(box, from, to);
  REQUIRE(moved);
  CHECK(moved->x == Approx(105));
  CHECK(moved->y == Approx(97));
  CHECK(moved->width == Approx(40));
  CHECK(moved->height == Approx(20));
  CHECK_FALSE(robust_box_update(box, {}, {}));
}

TEST_CASE("Farnebäck on a known translation gives its mean vector") {
  cv::Mat grey(kH, kW, CV_8U);
  cv::RNG rng(3);
  rng.fill(grey, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(grey, grey, cv::Size(0, 0), 2);
  cv::Mat moved(grey.size(), grey.type(), cv::Scalar(128));
  grey(cv::Rect(0, 0, kW - 2, kH - 1)).copyTo(moved(cv::Rect(2, 1, kW - 2, kH - 1)));  // (+2, +1)
  cv::Mat flow = dense_flow(grey, moved, FarnebackParams{});
  REQUIRE(flow.type() == CV_32FC2);
  REQUIRE(flow.size() == grey.size());
  cv::Vec2d mean = mean_flow(flow, 16);
  CHECK(mean[0] == Approx(2).margin(0.05));
  CHECK(mean[1] == Approx(1).margin(0.05));
}

TEST_CASE(".flo bytes: PIEH, width, height, then u, v interleaved; read back equal") {
  cv::Mat flow(2, 3, CV_32FC2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) flow.at<cv::Vec2f>(y, x) = {x + 0.5f, -float(y) - 0.25f};
  std::string bytes = flo_bytes(flow);
  REQUIRE(bytes.size() == 12 + 6 * 8);
  CHECK(bytes.substr(0, 4) == "PIEH");
  CHECK(bytes.substr(4, 8) == std::string("\x03\x00\x00\x00\x02\x00\x00\x00", 8));
  // u = 0.5 (0x3f000000), v = -0.25 (0xbe800000), then u = 1.5 (0x3fc00000)
  CHECK(bytes.substr(12, 12) == std::string("\x00\x00\x00\x3f\x00\x00\x80\xbe\x00\x00\xc0\x3f", 12));
  auto path = std::filesystem::path(CVTOOL_BINARY_DIR) / "test-scratch" / "classical" / "t.flo";
  std::filesystem::create_directories(path.parent_path());
  write_flo(path, flow);
  cv::Mat back = read_flo(path);
  CHECK(cv::norm(back, flow, cv::NORM_INF) == 0);
}

TEST_CASE("flow colour wheel: right is red, left is cyan, no motion is black") {
  cv::Mat flow(1, 3, CV_32FC2);
  flow.at<cv::Vec2f>(0, 0) = {2, 0};
  flow.at<cv::Vec2f>(0, 1) = {-2, 0};
  flow.at<cv::Vec2f>(0, 2) = {0, 0};
  cv::Mat c = flow_to_colour(flow, 2);
  CHECK(c.at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 255));
  CHECK(c.at<cv::Vec3b>(0, 1) == cv::Vec3b(255, 255, 0));
  CHECK(c.at<cv::Vec3b>(0, 2) == cv::Vec3b(0, 0, 0));
  // Half the scale's magnitude: half brightness.
  CHECK(flow_to_colour(flow, 4).at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 0, 128));
}
