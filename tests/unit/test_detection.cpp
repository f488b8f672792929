#include <catch2/catch.hpp>

#include "cvtool/detect/annotate.hpp"
#include "cvtool/detect/detection.hpp"

using namespace cvtool;

namespace {
Detection det(int cls, float score, float x1, float y1, float x2, float y2) {
  Detection d;
  d.class_id = cls;
  d.score = score;
  d.box = {x1, y1, x2, y2};
  return d;
}
}  // namespace

TEST_CASE("IoU of boxes") {
  CHECK(box_iou({0, 0, 10, 10}, {0, 0, 10, 10}) == 1.0f);
  CHECK(box_iou({0, 0, 10, 10}, {5, 0, 15, 10}) == Approx(50.0 / 150.0));
  CHECK(box_iou({0, 0, 10, 10}, {10, 0, 20, 10}) == 0.0f);
  CHECK(box_iou({0, 0, 0, 10}, {0, 0, 0, 10}) == 0.0f);
}

TEST_CASE("NMS keeps the best box of each overlapping group, per class unless agnostic") {
  std::vector<Detection> dets = {det(0, 0.6f, 0, 0, 10, 10), det(0, 0.9f, 1, 0, 11, 10), det(1, 0.8f, 0, 0, 10, 10),
                                 det(0, 0.5f, 50, 50, 60, 60)};
  CHECK(nms(dets, 0.5f, true) == std::vector<std::size_t>{1, 2, 3});
  CHECK(nms(dets, 0.5f, false) == std::vector<std::size_t>{1, 3});
  CHECK(nms(dets, 0.9f, true) == std::vector<std::size_t>{1, 2, 0, 3});  // IoU 0.818 < 0.9
}

TEST_CASE("YOLO txt is normalised centre/size, one line per box") {
  std::vector<Detection> dets = {det(3, 0.5f, 10, 20, 30, 60)};
  CHECK(yolo_txt(dets, {100, 200}, false) == "3 0.200000 0.200000 0.200000 0.200000\n");
  CHECK(yolo_txt(dets, {100, 200}, true) == "3 0.200000 0.200000 0.200000 0.200000 0.50000\n");
  CHECK(yolo_txt({}, {100, 200}, false).empty());
}

TEST_CASE("COCO results use x,y,w,h and numeric image ids from numeric stems") {
  nlohmann::json results = nlohmann::json::array();
  append_coco_results(results, coco_image_id("/data/000000000139.jpg", nullptr), {det(1, 0.25f, 10, 20, 30, 60)});
  REQUIRE(results.size() == 1);
  CHECK(results[0]["image_id"] == 139);
  CHECK(results[0]["category_id"] == 1);
  CHECK(results[0]["bbox"] == nlohmann::json::array({10.0, 20.0, 20.0, 40.0}));
  CHECK(results[0]["score"] == 0.25);
  CHECK(coco_image_id("x/cat.png", nullptr) == "cat");
  CHECK(coco_image_id("x/cat.png", {{"cat.png", 7}}) == 7);
}
