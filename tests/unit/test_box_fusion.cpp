// Weighted Box Fusion and classifier score averaging against hand-computed answers.
#include <catch2/catch.hpp>

#include "cvtool/classify/ensemble.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/detect/box_fusion.hpp"

using namespace cvtool;

namespace {

Detection det(int cls, float score, float x1, float y1, float x2, float y2) {
  Detection d;
  d.class_id = cls;
  d.label = "c" + std::to_string(cls);
  d.score = score;
  d.box = {x1, y1, x2, y2};
  return d;
}

void check_box(const Detection& d, double x1, double y1, double x2, double y2) {
  CHECK(d.box[0] == Approx(x1).margin(1e-5));
  CHECK(d.box[1] == Approx(y1).margin(1e-5));
  CHECK(d.box[2] == Approx(x2).margin(1e-5));
  CHECK(d.box[3] == Approx(y2).margin(1e-5));
}

}  // namespace

TEST_CASE("WBF of two models: the overlapping pair is averaged by score, a lone box has its score halved") {
  // A: [0,0,10,10] 0.9 and [50,50,60,60] 0.8; B: [1,0,11,10] 0.6. IoU of the pair = 90/110 > 0.55.
  std::vector<std::vector<Detection>> in = {{det(0, 0.9f, 0, 0, 10, 10), det(0, 0.8f, 50, 50, 60, 60)},
                                            {det(0, 0.6f, 1, 0, 11, 10)}};
  auto out = weighted_box_fusion(in, {});
  REQUIRE(out.size() == 2);
  // x1 = (0.9*0 + 0.6*1)/1.5 = 0.4, x2 = (0.9*10 + 0.6*11)/1.5 = 10.4; score = (0.9+0.6)/2 * 2/2.
  check_box(out[0], 0.4, 0, 10.4, 10);
  CHECK(out[0].score == Approx(0.75f));
  CHECK(out[0].class_id == 0);
  CHECK(out[0].label == "c0");
  // Seen by one of two models: 0.8 * 1/2.
  check_box(out[1], 50, 50, 60, 60);
  CHECK(out[1].score == Approx(0.4f));
}

TEST_CASE("WBF: boxes of different classes never fuse, however much they overlap") {
  std::vector<std::vector<Detection>> in = {{det(0, 0.8f, 0, 0, 10, 10)}, {det(1, 0.6f, 0, 0, 10, 10)}};
  auto out = weighted_box_fusion(in, {});
  REQUIRE(out.size() == 2);
  CHECK(out[0].class_id == 0);
  CHECK(out[0].score == Approx(0.4f));
  CHECK(out[1].class_id == 1);
  CHECK(out[1].score == Approx(0.3f));
  check_box(out[1], 0, 0, 10, 10);
}

TEST_CASE("WBF: IoU must exceed the threshold, and it is measured against the cluster's fused box") {
  // IoU([0,0,10,10],[5,0,15,10]) = 1/3: apart at 0.55, together at 0.3.
  std::vector<std::vector<Detection>> in = {{det(0, 0.5f, 0, 0, 10, 10)}, {det(0, 0.5f, 5, 0, 15, 10)}};
  CHECK(weighted_box_fusion(in, {}).size() == 2);
  BoxFusionParams p;
  p.iou_threshold = 0.3f;
  auto out = weighted_box_fusion(in, p);
  REQUIRE(out.size() == 1);
  check_box(out[0], 2.5, 0, 12.5, 10);
  CHECK(out[0].score == Approx(0.5f));
  // Three models: C [6,0,16,10] has IoU 4/16 = 0.25 < 0.3 with A's founding box
  // [0,0,10,10] but IoU 6.5/13.5 = 0.48 with the fused [2.5,0,12.5,10]: it joins.
  in.push_back({det(0, 0.5f, 6, 0, 16, 10)});
  out = weighted_box_fusion(in, p);
  REQUIRE(out.size() == 1);
  check_box(out[0], 11.0 / 3, 0, 11.0 / 3 + 10, 10);  // (0+5+6)/3
  CHECK(out[0].score == Approx(0.5f));
}

TEST_CASE("WBF with model weights 2,1,1: weights multiply scores and every conf_type") {
  // A (w 2) [0,0,10,10] 0.9 -> 1.8; B (w 1) [2,0,12,10] 0.6; C (w 1) [0,0,10,10] 0.3.
  // A,B: IoU 80/120; fused x = [1.2/2.4, 25.2/2.4] = [0.5, 10.5]; C: IoU 95/105 -> joins.
  // Final x1 = (0 + 1.2 + 0)/2.7, x2 = (18 + 7.2 + 3)/2.7.
  std::vector<std::vector<Detection>> in = {{det(0, 0.9f, 0, 0, 10, 10)}, {det(0, 0.6f, 2, 0, 12, 10)},
                                            {det(0, 0.3f, 0, 0, 10, 10), det(0, 0.8f, 40, 40, 50, 50)}};
  BoxFusionParams p;
  p.weights = {2, 1, 1};
  auto out = weighted_box_fusion(in, p);
  REQUIRE(out.size() == 2);
  check_box(out[0], 1.2 / 2.7, 0, 28.2 / 2.7, 10);
  CHECK(out[0].score == Approx(0.9 * 3 / 4));  // mean(1.8, 0.6, 0.3) * min(3,3) / (2+1+1)
  check_box(out[1], 40, 40, 50, 50);
  CHECK(out[1].score == Approx(0.8 / 4));  // 0.8 * min(1,3) / 4
  p.conf_type = FusionConfType::Max;
  out = weighted_box_fusion(in, p);
  CHECK(out[0].score == Approx(1.8 / 2));
  CHECK(out[1].score == Approx(0.8 / 2));
  // The weights reorder: B's 0.6 alone (w 1) against A's 0.45 (w 2, 0.9 after weighting).
  std::vector<std::vector<Detection>> two = {{det(0, 0.45f, 0, 0, 10, 10)}, {det(0, 0.6f, 100, 0, 110, 10)}};
  p = {};
  p.weights = {2, 1};
  out = weighted_box_fusion(two, p);
  REQUIRE(out.size() == 2);
  CHECK(out[0].box[0] == 0.0f);
  CHECK(out[0].score == Approx(0.9 / 3));
  CHECK(out[1].score == Approx(0.6 / 3));
}

TEST_CASE("WBF conf_types differ when one model gives two boxes of a cluster") {
  // Model A alone: [0,0,10,10] 0.8 and [0,0,10,11] 0.6 (IoU 100/110); model B: nothing.
  std::vector<std::vector<Detection>> in = {{det(0, 0.8f, 0, 0, 10, 10), det(0, 0.6f, 0, 0, 10, 11)}, {}};
  BoxFusionParams p;
  CHECK(weighted_box_fusion(in, p)[0].score == Approx(0.7));  // mean 0.7 * min(2,2)/2
  check_box(weighted_box_fusion(in, p)[0], 0, 0, 10, (0.8 * 10 + 0.6 * 11) / 1.4);
  p.conf_type = FusionConfType::Max;
  CHECK(weighted_box_fusion(in, p)[0].score == Approx(0.8));
  p.conf_type = FusionConfType::BoxAndModelAvg;
  CHECK(weighted_box_fusion(in, p)[0].score == Approx(1.4 / 2 * 1 / 2));
  p.conf_type = FusionConfType::AbsentModelAwareAvg;
  CHECK(weighted_box_fusion(in, p)[0].score == Approx(1.4 / 3));
  CHECK(parse_fusion_conf_type("box_and_model_avg") == FusionConfType::BoxAndModelAvg);
  CHECK(fusion_conf_type_name(FusionConfType::AbsentModelAwareAvg) == "absent_model_aware_avg");
  CHECK_THROWS_AS(parse_fusion_conf_type("mean"), Error);
}

TEST_CASE("WBF of identical sets gives them back bit for bit, the skip threshold, bad weights") {
  std::vector<Detection> a = {det(3, 0.7310586f, 12.345678f, 7.1f, 99.99f, 45.5f), det(3, 0.33333334f, 200.1f, 3, 260.7f, 80.25f),
                              det(5, 0.51f, 12.345678f, 7.1f, 99.99f, 45.5f)};
  auto out = weighted_box_fusion({a, a}, {});
  REQUIRE(out.size() == 3);
  CHECK(out[0].box == a[0].box);
  CHECK(out[0].score == a[0].score);
  CHECK(out[1].box == a[2].box);
  CHECK(out[1].score == a[2].score);
  CHECK(out[2].box == a[1].box);
  CHECK(out[2].score == a[1].score);

  BoxFusionParams p;
  p.skip_box_threshold = 0.5f;
  out = weighted_box_fusion({a, {}}, p);
  REQUIRE(out.size() == 2);  // the 0.333 box is left out
  CHECK(out[0].score == Approx(0.7310586f / 2));
  CHECK(weighted_box_fusion({}, {}).empty());
  p = {};
  p.weights = {1};
  CHECK_THROWS_AS(weighted_box_fusion({a, a}, p), Error);
  p.weights = {1, 0};
  CHECK_THROWS_AS(weighted_box_fusion({a, a}, p), Error);
}

TEST_CASE("Classifier ensembles: weighted mean of scores, one label set") {
  auto avg = average_scores({{0.2f, 0.8f}, {0.6f, 0.4f}}, {});
  CHECK(avg[0] == Approx(0.4));
  CHECK(avg[1] == Approx(0.6));
  avg = average_scores({{0.2f, 0.8f}, {0.6f, 0.4f}}, {3, 1});
  CHECK(avg[0] == Approx((3 * 0.2 + 0.6) / 4));
  CHECK(avg[1] == Approx((3 * 0.8 + 0.4) / 4));
  CHECK_THROWS_AS(average_scores({{0.2f, 0.8f}, {1.0f}}, {}), Error);
  CHECK_THROWS_AS(average_scores({{0.2f, 0.8f}, {0.6f, 0.4f}}, {1}), Error);
  CHECK_NOTHROW(check_same_labels({"a", "b"}, "x.json", {"a", "b"}, "y.json"));
  try {
    check_same_labels({"a", "b"}, "x.json", {"a", "c"}, "y.json");
    FAIL("different labels accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "ensemble: x.json and y.json have different label sets (class 1 is 'b' vs 'c')");
  }
}
