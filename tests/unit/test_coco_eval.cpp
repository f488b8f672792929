// COCO box metrics on hand-made ground truth whose AP is known exactly.
#include <catch2/catch.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/detect/coco_eval.hpp"

using namespace cvtool;
using Json = nlohmann::json;

namespace {

// Vectors, not Json: a one-element brace list would make a Json object, not an array.
Json ground_truth(const std::vector<Json>& annotations,
                  const std::vector<Json>& images = {{{"id", 1}, {"file_name", "1.jpg"}},
                                                     {{"id", 2}, {"file_name", "2.jpg"}}}) {
  Json anns = annotations;
  for (std::size_t i = 0; i < anns.size(); ++i) anns[i]["id"] = i + 1;
  return {{"images", Json(images)},
          {"annotations", anns},
          {"categories",
           {{{"id", 1}, {"name", "cat"}},
            {{"id", 2}, {"name", "dog"}},
            {{"id", 3}, {"name", "bird"}}}}};
}

Json ann(int image, int category, double x, double y, double w, double h, int crowd = 0) {
  return {{"image_id", image},
          {"category_id", category},
          {"bbox", {x, y, w, h}},
          {"area", w * h},
          {"iscrowd", crowd}};
}

Json pred(const Json& image, int category, double x, double y, double w, double h, double score) {
  return {{"image_id", image}, {"category_id", category}, {"bbox", {x, y, w, h}}, {"score", score}};
}

const CocoClassResult& cls(const CocoEvalResult& r, int id) {
  for (const auto& c : r.classes)
    if (c.category_id == id) return c;
  FAIL("no class " << id);
  throw;
}

}  // namespace

TEST_CASE("101-point interpolated AP", "[coco]") {
  // One of two boxes found, first: precision 1 up to recall .5 (51 of 101 points).
  CHECK(interpolated_average_precision({true}, 2) == Approx(51.0 / 101.0));
  // A false positive ranked first: precision .5 at every recall up to 1.
  CHECK(interpolated_average_precision({false, true}, 1) == Approx(0.5));
  // TP, FP, TP of 2: precision 1 to recall .5, then 2/3 to recall 1.
  CHECK(interpolated_average_precision({true, false, true}, 2) ==
        Approx((51 * 1.0 + 50 * 2.0 / 3.0) / 101.0));
  CHECK(interpolated_average_precision({}, 3) == 0.0);
  CHECK(interpolated_average_precision({true}, 0) == -1.0);
}

TEST_CASE("Perfect predictions score 1", "[coco]") {
  Json gt = ground_truth(
      {ann(1, 1, 10, 10, 50, 40), ann(1, 2, 100, 100, 30, 30), ann(2, 1, 5, 5, 20, 80)});
  Json dt = {pred(1, 1, 10, 10, 50, 40, 0.9), pred(1, 2, 100, 100, 30, 30, 0.8),
             pred(2, 1, 5, 5, 20, 80, 0.7)};
  auto r = evaluate_coco_detections(gt, dt);
  CHECK(r.map == Approx(1.0));
  CHECK(r.map50 == Approx(1.0));
  CHECK(r.map75 == Approx(1.0));
  CHECK(cls(r, 1).ap == Approx(1.0));
  CHECK(cls(r, 1).ground_truth == 2);
  CHECK(cls(r, 2).ap == Approx(1.0));
  CHECK(cls(r, 3).ap == -1.0);  // no ground truth: not in the mean
  CHECK(r.images == 2);
  CHECK(r.ground_truth == 3);
  CHECK(r.predictions == 3);
}

TEST_CASE("One of two boxes found at a high score", "[coco]") {
  Json gt = ground_truth({ann(1, 1, 10, 10, 50, 40), ann(2, 1, 5, 5, 20, 80)});
  auto r = evaluate_coco_detections(gt, Json::array({pred(1, 1, 10, 10, 50, 40, 0.9)}));
  CHECK(cls(r, 1).ap == Approx(51.0 / 101.0));
  CHECK(r.map == Approx(51.0 / 101.0));
}

TEST_CASE("A false positive ranked first halves AP", "[coco]") {
  Json gt = ground_truth({ann(1, 1, 10, 10, 50, 40)});
  Json dt = {pred(1, 1, 200, 200, 50, 40, 0.95), pred(1, 1, 10, 10, 50, 40, 0.9)};
  CHECK(evaluate_coco_detections(gt, dt).map == Approx(0.5));
  // Ranked last instead, it costs nothing.
  dt[0]["score"] = 0.5;
  CHECK(evaluate_coco_detections(gt, dt).map == Approx(1.0));
}

TEST_CASE("A box of IoU .58 counts at thresholds .50 and .55 only", "[coco]") {
  Json gt = ground_truth({ann(1, 1, 0, 0, 100, 100)});
  auto r = evaluate_coco_detections(
      gt, Json::array({pred(1, 1, 0, 0, 100, 58, 0.9)}));  // IoU 5800 / 10000
  CHECK(r.map50 == Approx(1.0));
  CHECK(r.map75 == Approx(0.0));
  CHECK(r.map == Approx(0.2));
}

TEST_CASE("A duplicate detection is a false positive; a missed class scores 0 and counts",
          "[coco]") {
  Json gt = ground_truth({ann(1, 1, 0, 0, 100, 100), ann(1, 2, 200, 200, 50, 50)});
  Json dt = {pred(1, 1, 0, 0, 100, 100, 0.9), pred(1, 1, 1, 1, 100, 100, 0.8)};
  auto r = evaluate_coco_detections(gt, dt);
  CHECK(cls(r, 1).ap == Approx(1.0));  // the duplicate ranks after the only true positive
  CHECK(cls(r, 2).ap == 0.0);
  CHECK(r.map == Approx(0.5));
}

TEST_CASE("Greedy matching takes the best-IoU box still free", "[coco]") {
  // Two overlapping ground truth boxes; the best detection matches the one it overlaps
  // most, the second detection the other one.
  Json gt = ground_truth({ann(1, 1, 0, 0, 100, 100), ann(1, 1, 20, 0, 100, 100)});
  Json dt = {pred(1, 1, 18, 0, 100, 100, 0.9), pred(1, 1, 2, 0, 100, 100, 0.8)};
  auto r = evaluate_coco_detections(gt, dt);
  CHECK(r.map50 == Approx(1.0));
  CHECK(cls(r, 1).ap == Approx(1.0));  // IoU 0.96 for both pairs
}

TEST_CASE("Detections inside crowd regions are ignored, not false positives", "[coco]") {
  Json gt = ground_truth({ann(1, 1, 0, 0, 50, 50), ann(1, 1, 100, 100, 200, 200, 1)});
  Json dt = {pred(1, 1, 120, 120, 40, 40, 0.95), pred(1, 1, 0, 0, 50, 50, 0.9)};
  auto r = evaluate_coco_detections(gt, dt);
  CHECK(cls(r, 1).ground_truth == 1);  // crowd boxes are not counted
  CHECK(r.map == Approx(1.0));
  // Without the crowd flag the first detection is a false positive on a missed box.
  gt["annotations"][1]["iscrowd"] = 0;
  CHECK(evaluate_coco_detections(gt, dt).map50 == Approx(0.5 * 51.0 / 101.0));
}

TEST_CASE("At most 100 detections per image and class are ranked", "[coco]") {
  Json gt = ground_truth({ann(1, 1, 0, 0, 10, 10)});
  Json dt = Json::array();
  for (int i = 0; i < 100; ++i) dt.push_back(pred(1, 1, 500 + i, 500, 10, 10, 0.9));
  dt.push_back(pred(1, 1, 0, 0, 10, 10, 0.1));  // the 101st by score
  CHECK(evaluate_coco_detections(gt, dt).map == 0.0);
  CocoEvalOptions more;
  more.max_detections = 101;
  CHECK(evaluate_coco_detections(gt, dt, more).map ==
        Approx(1.0 / 101.0));  // precision 1/101 at every recall
}

TEST_CASE("cvtool detect's predictions: class indices via labels, image ids from file stems",
          "[coco]") {
  Json gt = ground_truth(
      {ann(1, 2, 10, 10, 50, 40), ann(2, 3, 5, 5, 20, 80)},
      {{{"id", 1}, {"file_name", "images/kitchen.jpg"}}, {{"id", 2}, {"file_name", "garden.png"}}});
  // `cvtool detect -o` writes category_id = index into its labels and image_id = the stem.
  Json dt = {pred("kitchen", 0, 10, 10, 50, 40, 0.9), pred("garden", 1, 5, 5, 20, 80, 0.8),
             pred("elsewhere", 0, 5, 5, 20, 80, 0.8), pred(2, 7, 5, 5, 20, 80, 0.8)};
  CocoEvalOptions options;
  options.labels = {"dog", "bird"};
  auto r = evaluate_coco_detections(gt, dt, options);
  CHECK(cls(r, 2).ap == Approx(1.0));
  CHECK(cls(r, 3).ap == Approx(1.0));
  CHECK(r.unmatched_image_predictions == 1);
  CHECK(r.unknown_class_predictions == 1);
  CHECK(r.map == Approx(1.0));
}

TEST_CASE("Malformed documents name the entry", "[coco]") {
  Json gt = ground_truth({ann(1, 1, 0, 0, 10, 10)});
  gt["annotations"][0].erase("bbox");
  CHECK_THROWS_WITH(evaluate_coco_detections(gt, Json::array()),
                    Catch::Contains("annotations[0].bbox"));
  gt = ground_truth({ann(9, 1, 0, 0, 10, 10)});
  CHECK_THROWS_WITH(evaluate_coco_detections(gt, Json::array()),
                    Catch::Contains("image_id 9 is not in images"));
  gt = ground_truth({ann(1, 1, 0, 0, 10, 10)});
  CHECK_THROWS_WITH(
      evaluate_coco_detections(
          gt, Json::array({{{"image_id", 1}, {"category_id", 1}, {"bbox", {0, 0, 1, 1}}}})),
      Catch::Contains("predictions[0]"));
  CHECK_THROWS_AS(evaluate_coco_detections(Json::object(), Json::array()), Error);
  // Found by fuzzing: a numeric category name escaped as a json type_error.
  gt = ground_truth({ann(1, 1, 0, 0, 10, 10)});
  gt["categories"][1]["name"] = 400;
  CHECK_THROWS_WITH(evaluate_coco_detections(gt, Json::array()),
                    "ground truth: categories[1].name: expected a string");
}
