#include <algorithm>
#include <functional>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>
#include <set>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/track/appearance.hpp"
#include "cvtool/track/byte_tracker.hpp"
#include "cvtool/track/camera_motion.hpp"
#include "cvtool/track/hungarian.hpp"
#include "cvtool/track/kalman_box_filter.hpp"
#include "cvtool/track/mot_format.hpp"
#include "cvtool/track/mot_metrics.hpp"
#include "cvtool/track/siamese_tracker.hpp"
#include "cvtool/track/single_object_tracker.hpp"

using namespace cvtool;

TEST_CASE("assignment finds the optimum of a hand-checked matrix") {
  Assignment a = solve_assignment({{4, 1, 3}, {2, 0, 5}, {3, 2, 2}}, 100);
  CHECK(a.row_to_col == std::vector<int>{1, 0, 2});  // 1 + 2 + 2 = 5
  CHECK(a.col_to_row == std::vector<int>{1, 0, 2});
}

TEST_CASE("assignment equals brute force on random rectangular matrices") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 200; ++trial) {
    int rows = 1 + trial % 5, cols = 1 + (trial / 5) % 6;
    std::vector<std::vector<double>> cost(rows, std::vector<double>(cols));
    for (auto& r : cost)
      for (double& v : r) v = u(rng);
    const double limit = 0.6;
    // Brute force: every injective partial map rows -> cols, unassigned rows pay `limit`.
    std::function<double(int, std::vector<bool>&)> best = [&](int r, std::vector<bool>& used) -> double {
      if (r == rows) return 0;
      double b = limit + best(r + 1, used);
      for (int c = 0; c < cols; ++c) {
        if (used[c] || cost[r][c] > limit) continue;
        used[c] = true;
        b = std::min(b, cost[r][c] + best(r + 1, used));
        used[c] = false;
      }
      return b;
    };
    std::vector<bool> used(cols, false);
    double expected = best(0, used);
    Assignment a = solve_assignment(cost, limit);
    double got = 0;
    for (int r = 0; r < rows; ++r) got += a.row_to_col[r] >= 0 ? cost[r][a.row_to_col[r]] : limit;
    INFO("trial " << trial);
    CHECK(got == Approx(expected).margin(1e-12));
  }
}

TEST_CASE("assignment never makes a pair above the limit") {
  Assignment a = solve_assignment({{0.1, 0.9}, {0.2, 0.95}}, 0.5);
  CHECK(a.row_to_col == std::vector<int>{0, -1});
  CHECK(a.col_to_row == std::vector<int>{0, -1});
}

TEST_CASE("the Kalman filter learns a constant velocity") {
  KalmanBoxFilter kf({100, 100, 140, 180});
  for (int f = 1; f <= 30; ++f) {
    kf.predict();
    kf.update({100.f + 5 * f, 100, 140.f + 5 * f, 180});
  }
  kf.predict();  // frame 31, unseen
  auto box = kf.box();
  CHECK(box[0] == Approx(255).margin(0.5));
  CHECK(box[2] == Approx(295).margin(0.5));
  CHECK(box[1] == Approx(100).margin(0.5));
  CHECK(kf.mean()(4) == Approx(5).margin(0.1));  // vx
}

namespace {

Detection box_at(float x, float y, float score = 0.9f) {
  Detection d;
  d.score = score;
  d.label = "person";
  d.box = {x, y, x + 40, y + 100};
  return d;
}

}  // namespace

TEST_CASE("two people crossing keep their identities") {
  ByteTracker tracker;
  std::vector<int> left_ids, right_ids;
  for (int f = 0; f < 40; ++f) {
    // One walks right from x=0, the other left from x=390, 10 px a frame, at different heights.
    std::vector<Detection> dets = {box_at(10.f * f, 100), box_at(390.f - 10.f * f, 130)};
    auto tracks = tracker.update(dets);
    if (f == 0) REQUIRE(tracks.size() == 2);
    for (const auto& t : tracks) (t.box[0] < 10.f * f + 20 && t.box[1] < 115 ? left_ids : right_ids).push_back(t.id);
  }
  CHECK(std::all_of(left_ids.begin(), left_ids.end(), [&](int id) { return id == left_ids[0]; }));
  CHECK(std::all_of(right_ids.begin(), right_ids.end(), [&](int id) { return id == right_ids[0]; }));
  CHECK(left_ids[0] != right_ids[0]);
  CHECK(left_ids.size() == 40);
}

TEST_CASE("a track survives an occlusion shorter than the buffer and a low-score stretch") {
  TrackerParams p;
  p.track_buffer = 10;
  ByteTracker tracker(p);
  int id = -1;
  for (int f = 0; f < 30; ++f) {
    std::vector<Detection> dets;
    if (f < 10 || f >= 16) dets.push_back(box_at(5.f * f, 50, f >= 20 && f < 25 ? 0.3f : 0.9f));  // gone 10..15
    auto tracks = tracker.update(dets);
    if (f < 10 || f >= 16) {
      REQUIRE(tracks.size() == 1);
      if (id < 0) id = tracks[0].id;
      CHECK(tracks[0].id == id);
    } else {
      CHECK(tracks.empty());
    }
  }
}

TEST_CASE("a one-frame false positive never becomes a track") {
  ByteTracker tracker;
  tracker.update({box_at(0, 0)});
  auto tracks = tracker.update({box_at(0, 0), box_at(300, 300)});  // new box, seen once
  REQUIRE(tracks.size() == 1);
  CHECK(tracker.update({box_at(0, 0)}).size() == 1);
}

TEST_CASE("MOT files parse, and malformed rows are errors naming file and line") {
  auto rows = parse_mot("1,3,10,20,30,40,0.9,-1,-1,-1\n\n2,-1,0,0,5,5\n", "gt.txt");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == 3);
  CHECK(rows[0].box == std::array<float, 4>{10, 20, 40, 60});
  CHECK(rows[1].score == 1.0f);
  CHECK(mot_line(rows[0]) == "1,3,10.00,20.00,30.00,40.00,0.9000,-1,-1,-1\n");
  CHECK_THROWS_WITH(parse_mot("1,1,x,0,1,1\n", "gt.txt"), "gt.txt:1: not a number: 'x'");
  CHECK_THROWS_WITH(parse_mot("1,1,0,0\n", "p.txt"), "p.txt:1: expected frame,id,x,y,w,h[,score,...], got 4 fields");
  CHECK_THROWS_WITH(parse_mot("0,1,0,0,1,1\n", "p.txt"), "p.txt:1: frame must be a whole number >= 1");
  CHECK_THROWS_WITH(parse_mot("1,1.5,0,0,1,1\n", "p.txt"), "p.txt:1: id must be a whole number");
  // Found by fuzzing: a 70-digit id was converted to int (undefined behaviour).
  CHECK_THROWS_WITH(parse_mot("1,1,0,0,1,1\n1,6666666666666666666666666666666666666666666666666666666666666666666666662,50,60,10,10\n", "p.txt"),
                    "p.txt:2: value out of range");
  CHECK_THROWS_WITH(parse_mot("1,1,0,0,1e300,1\n", "p.txt"), "p.txt:1: value out of range");
}

namespace {
MotRow row(int frame, int id, float x) { return {frame, id, {x, 0, x + 10, 10}, 1}; }
}  // namespace

TEST_CASE("MOT metrics on hand-made sequences") {
  std::vector<MotRow> gt = {row(1, 1, 0), row(2, 1, 0), row(3, 1, 0), row(4, 1, 0)};
  SECTION("perfect") {
    MotMetrics m = evaluate_mot(gt, gt);
    CHECK(m.mota == 1.0);
    CHECK(m.idf1 == 1.0);
    CHECK(m.id_switches == 0);
    CHECK(m.mostly_tracked == 1);
  }
  SECTION("an identity switch halfway") {
    MotMetrics m = evaluate_mot(gt, {row(1, 7, 0), row(2, 7, 0), row(3, 8, 0), row(4, 8, 0)});
    CHECK(m.matches == 4);
    CHECK(m.id_switches == 1);
    CHECK(m.mota == 0.75);
    CHECK(m.idtp == 2);
    CHECK(m.idf1 == 0.5);
  }
  SECTION("a missed frame fragments the track") {
    MotMetrics m = evaluate_mot(gt, {row(1, 7, 0), row(3, 7, 0), row(4, 7, 0)});
    CHECK(m.misses == 1);
    CHECK(m.fragmentations == 1);
    CHECK(m.mota == 0.75);
    CHECK(m.idf1 == Approx(6.0 / 7.0));
  }
  SECTION("a false positive and a box that overlaps too little") {
    // IoU of boxes shifted by 4 px: 6*10 / (140) = 0.43 < 0.5: a miss and a false positive.
    MotMetrics m = evaluate_mot(gt, {row(1, 7, 0), row(1, 9, 500), row(2, 7, 4), row(3, 7, 0), row(4, 7, 0)});
    CHECK(m.matches == 3);
    CHECK(m.false_positives == 2);
    CHECK(m.misses == 1);
    CHECK(m.mota == Approx(1.0 - 3.0 / 4.0));
  }
}

TEST_CASE("the template tracker reports losing an object and recovering it elsewhere") {
  // A textured 30x30 patch on a noise-free grey background: visible in frames 0-4, gone in
  // 5-7, then back at the far side of the frame.
  cv::Mat patch(30, 30, CV_8UC3);
  cv::randu(patch, 0, 255);
  auto frame_with = [&](int x, int y) {
    cv::Mat f(240, 320, CV_8UC3, cv::Scalar(128, 128, 128));
    if (x >= 0) patch.copyTo(f(cv::Rect(x, y, 30, 30)));
    return f;
  };
  auto tracker = make_single_object_tracker("template");
  tracker->init(frame_with(20, 20), {20, 20, 30, 30});
  std::vector<std::string> states;
  cv::Rect2d last;
  for (int f = 1; f < 11; ++f) {
    cv::Mat frame = f < 5 ? frame_with(20 + 3 * f, 20) : f < 8 ? frame_with(-1, 0) : frame_with(250, 180);
    auto r = tracker->update(frame);
    states.push_back(to_string(r.state));
    last = r.box;
  }
  CHECK(states == std::vector<std::string>{"tracking", "tracking", "tracking", "tracking", "lost", "lost", "lost",
                                           "recovered", "tracking", "tracking"});
  CHECK(last == cv::Rect2d(250, 180, 30, 30));
  CHECK_THROWS_WITH(parse_box("1,2,x,4"), "--init 1,2,x,4: expected x,y,w,h in pixels");
  CHECK_THROWS_WITH(make_single_object_tracker("boosting"), "--method boosting: expected kcf, csrt, mil, template, meanshift, camshift or flow");
}

// --- camera-motion compensation ---------------------------------------------------

namespace {

// A blurred random texture: plenty of corners, no repeating pattern.
cv::Mat texture(int w, int h, unsigned seed) {
  cv::Mat t(h, w, CV_8UC3);
  cv::theRNG().state = seed;
  cv::randu(t, 0, 255);
  cv::GaussianBlur(t, t, cv::Size(0, 0), 2.0);
  return t;
}

cv::Mat shifted(const cv::Mat& image, double dx, double dy) {
  cv::Mat out;
  cv::warpAffine(image, out, cv::Matx23d(1, 0, dx, 0, 1, dy), image.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  return out;
}

}  // namespace

TEST_CASE("camera motion: a pan is measured at full resolution, moving objects are outliers") {
  cv::Mat scene = texture(1280, 720, 3);
  cv::Mat patch = texture(120, 120, 4);
  CameraMotionEstimator cmc;  // downscales 1280 -> 640
  cv::Mat first = scene.clone();
  patch.copyTo(first(cv::Rect(300, 300, 120, 120)));
  CHECK(is_identity(cmc.estimate(first)));  // nothing to compare with yet
  // The camera pans by (-9, +4) pixels while the patch (an object) moves 30 px to the right.
  cv::Mat second = shifted(scene, -9, 4);
  patch.copyTo(second(cv::Rect(330, 300, 120, 120)));
  cv::Matx23d m = cmc.estimate(second);
  CHECK(m(0, 2) == Approx(-9).margin(0.3));
  CHECK(m(1, 2) == Approx(4).margin(0.3));
  CHECK(m(0, 0) == Approx(1).margin(0.005));
  CHECK(m(0, 1) == Approx(0).margin(0.005));
  CHECK(cmc.inliers() >= 100);
  // A frame of another size starts over.
  CHECK(is_identity(cmc.estimate(texture(320, 240, 5))));
}

TEST_CASE("a camera warp moves the Kalman state: centre by the warp, velocity by its linear part") {
  KalmanBoxFilter kf({100, 100, 140, 180});
  for (int f = 1; f <= 30; ++f) {
    kf.predict();
    kf.update({100.f + 5 * f, 100, 140.f + 5 * f, 180});
  }
  auto before = kf.box();
  kf.apply_warp({1, 0, 10, 0, 1, -4});
  auto after = kf.box();
  CHECK(after[0] == Approx(before[0] + 10).margin(1e-3));
  CHECK(after[3] == Approx(before[3] - 4).margin(1e-3));
  CHECK(kf.mean()(4) == Approx(5).margin(0.1));  // translation leaves velocity alone
  kf.apply_warp({2, 0, 0, 0, 2, 0});              // zoom in x2 about the origin
  auto zoomed = kf.box();
  CHECK(zoomed[0] == Approx(2 * after[0]).margin(1e-3));
  CHECK(zoomed[3] == Approx(2 * after[3]).margin(1e-3));
  CHECK(kf.mean()(4) == Approx(10).margin(0.2));
}

TEST_CASE("camera-motion compensation keeps identities through a sudden pan") {
  // Three people stand still; from frame 10 to 14 the camera pans 25 px a frame, so in
  // the image they jump left: predicted and measured boxes overlap too little (IoU 0.09).
  auto run = [](bool compensate) {
    ByteTracker tracker;
    std::vector<std::set<int>> ids(3);
    double camera = 0;
    for (int f = 0; f < 25; ++f) {
      double step = f >= 10 && f < 15 ? 25 : 0;
      camera += step;
      if (compensate && step != 0) tracker.apply_camera_motion({1, 0, -step, 0, 1, 0});
      std::vector<Detection> dets;
      for (int i = 0; i < 3; ++i) dets.push_back(box_at(float(100 + 200 * i - camera), 100));
      for (const auto& t : tracker.update(dets))
        for (int i = 0; i < 3; ++i)
          if (std::abs(t.box[0] - dets[std::size_t(i)].box[0]) < 5) ids[std::size_t(i)].insert(t.id);
    }
    return ids;
  };
  for (const auto& person : run(true)) CHECK(person.size() == 1);
  for (const auto& person : run(false)) CHECK(person.size() == 2);  // a new identity after the pan
}

// --- appearance ---------------------------------------------------------------------

TEST_CASE("appearance: cosine distances, gallery updates and the fused, gated cost") {
  CHECK(cosine_distance({1, 0}, {0, 1}) == Approx(1));
  CHECK(cosine_distance({0.6f, 0.8f}, {0.6f, 0.8f}) == Approx(0).margin(1e-6));
  CHECK(cosine_distance({1, 0}, {-1, 0}) == Approx(2));
  CHECK(cosine_distance({}, {1, 0}) == 1);
  std::vector<float> gallery;
  update_gallery(gallery, {0, 1}, 0.9f);
  CHECK(gallery == std::vector<float>{0, 1});  // the first embedding is taken as is
  gallery = {1, 0};
  update_gallery(gallery, {0, 1}, 0.5f);
  CHECK(gallery[0] == Approx(std::sqrt(0.5)));
  CHECK(gallery[1] == Approx(std::sqrt(0.5)));
  AppearanceParams p;  // lambda 0.5, gate 0.25
  CHECK(fused_cost(0.5f, 0.2f, {1, 0}, {1, 0}, p) == Approx(0.25));
  CHECK(fused_cost(0.5f, 0.2f, {0.6f, 0.8f}, {0.8f, 0.6f}, p) == Approx(0.5 * 0.5 + 0.5 * 0.04));
  CHECK(fused_cost(0.1f, 0.2f, {1, 0}, {1, 0}, p) == kGatedCost);  // too far apart
  CHECK(fused_cost(0.9f, 0.2f, {1, 0}, {0, 1}, p) == kGatedCost);  // too different
  CHECK(fused_cost(0.5f, 0.2f, {}, {1, 0}, p) == Approx(0.5));     // no gallery yet: IoU alone
}

TEST_CASE("colour embeddings tell a red-over-blue box from a blue-over-red one, wherever it is") {
  cv::Mat frame(200, 300, CV_8UC3, cv::Scalar(128, 128, 128));
  auto person = [&](int x, cv::Scalar top, cv::Scalar bottom) {
    frame(cv::Rect(x, 20, 40, 50)) = top;
    frame(cv::Rect(x, 70, 40, 50)) = bottom;
  };
  const cv::Scalar red(0, 0, 220), blue(220, 0, 0);
  person(10, red, blue);
  person(100, blue, red);
  person(200, red, blue);
  auto e = colour_embeddings(frame, {{10, 20, 50, 120}, {100, 20, 140, 120}, {200, 20, 240, 120}, {500, 0, 600, 50}});
  REQUIRE(e.size() == 4);
  CHECK(cosine_distance(e[0], e[2]) == Approx(0).margin(1e-6));
  CHECK(cosine_distance(e[0], e[1]) == Approx(1).margin(1e-6));
  CHECK(std::all_of(e[3].begin(), e[3].end(), [](float v) { return v == 0; }));  // outside the frame
}

TEST_CASE("two people who meet and turn back: IoU alone swaps them, appearance keeps them") {
  // A walks right from x=100 and B left from x=260, 10 px a frame at the same height; at
  // frame 8 they stand on the same spot and then both walk back the way they came. A
  // constant-velocity prediction carries each track through the other person.
  auto run = [](bool with_appearance) {
    ByteTracker tracker;
    std::set<int> a_ids, b_ids;
    for (int f = 0; f < 20; ++f) {
      float offset = 10.f * float(f <= 8 ? f : 16 - f);
      std::vector<Detection> dets = {box_at(100 + offset, 100), box_at(260 - offset, 100)};
      std::vector<std::vector<float>> embeddings;
      if (with_appearance) embeddings = {{1, 0}, {0, 1}};
      auto tracks = tracker.update(dets, embeddings);
      if (f >= 6 && f <= 10) continue;  // overlapping: which box is whose is ambiguous
      for (const auto& t : tracks) (std::abs(t.box[0] - dets[0].box[0]) < 8 ? a_ids : b_ids).insert(t.id);
    }
    return std::make_pair(a_ids, b_ids);
  };
  auto [a_iou, b_iou] = run(false);
  CHECK(a_iou == std::set<int>{1, 2});  // swapped
  CHECK(b_iou == std::set<int>{1, 2});
  auto [a, b] = run(true);
  CHECK(a == std::set<int>{1});
  CHECK(b == std::set<int>{2});
}

TEST_CASE("update() refuses embeddings that do not match the detections") {
  ByteTracker tracker;
  CHECK_THROWS_AS(tracker.update({box_at(0, 0)}, {{1, 0}, {0, 1}}), Error);
}

TEST_CASE("the siamese tracker follows a patch, loses it while hidden and recovers it") {
  // Needs the zoo model (scripts/fetch-models.sh centernet-stride8): fails without it.
  SiameseParams p;
  p.model = CVTOOL_SOURCE_DIR "/models/centernet-stride8.pt";
  auto tracker = make_siamese_tracker(p);
  cv::Mat background = texture(320, 240, 11);
  cv::Mat patch(40, 40, CV_8UC3);
  for (int y = 0; y < 40; ++y)  // a red and yellow checkerboard: nothing like the background
    for (int x = 0; x < 40; ++x)
      patch.at<cv::Vec3b>(y, x) = ((x / 10 + y / 10) % 2) ? cv::Vec3b(0, 0, 230) : cv::Vec3b(0, 230, 230);
  auto frame_with = [&](int x, int y) {
    cv::Mat f = background.clone();
    if (x >= 0) patch.copyTo(f(cv::Rect(x, y, 40, 40)));
    return f;
  };
  tracker->init(frame_with(100, 100), {100, 100, 40, 40});
  std::vector<std::string> states;
  cv::Rect2d last;
  for (int f = 1; f < 11; ++f) {
    cv::Mat frame = f < 5 ? frame_with(100 + 4 * f, 100 + 2 * f) : f < 8 ? frame_with(-1, 0) : frame_with(140, 110);
    auto r = tracker->update(frame);
    states.push_back(to_string(r.state));
    last = r.box;
  }
  CHECK(states == std::vector<std::string>{"tracking", "tracking", "tracking", "tracking", "lost", "lost", "lost",
                                           "recovered", "tracking", "tracking"});
  CHECK((last & cv::Rect2d(140, 110, 40, 40)).area() / (last | cv::Rect2d(140, 110, 40, 40)).area() > 0.7);
}
