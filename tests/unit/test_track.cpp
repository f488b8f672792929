#include <algorithm>
#include <functional>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>

#include "cvtool/core/error.hpp"
#include "cvtool/track/byte_tracker.hpp"
#include "cvtool/track/hungarian.hpp"
#include "cvtool/track/kalman_box_filter.hpp"
#include "cvtool/track/mot_format.hpp"
#include "cvtool/track/mot_metrics.hpp"
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
  CHECK_THROWS_WITH(make_single_object_tracker("boosting"), "--method boosting: expected kcf, csrt, mil or template");
}
