// Segmentation scoring with hand-made ground truth whose answers are known exactly:
// COCO RLE, label-map IoU, COCO mask AP.
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/png_palette.hpp"
#include "cvtool/segment/rle.hpp"
#include "cvtool/segment/segment_eval.hpp"
#include "test_helpers.hpp"

using namespace cvtool;
using Json = nlohmann::json;

TEST_CASE("RLE runs are column-major and start with background") {
  cv::Mat m = cv::Mat::zeros(3, 4, CV_8U);
  m.at<unsigned char>(1, 0) = 1;  // column 0, row 1
  m.at<unsigned char>(2, 0) = 1;
  m.at<unsigned char>(0, 1) = 7;  // any non-zero is foreground
  CocoRle rle = rle_encode(m);
  CHECK(rle.height == 3);
  CHECK(rle.width == 4);
  CHECK(rle.counts == std::vector<std::uint32_t>{1, 3, 8});
  CHECK(rle_area(rle) == 3);
  cv::Mat back = rle_decode(rle);
  CHECK(cv::countNonZero(back != (m != 0) / 255) == 0);
  CHECK(rle_encode(cv::Mat::ones(2, 2, CV_8U)).counts == std::vector<std::uint32_t>{0, 4});
}

TEST_CASE("RLE compressed strings are pycocotools' (worked by hand from rleToString)") {
  CocoRle rle{10, 4, {9}};
  CHECK(rle_to_string({3, 3, {9}}) == "9");
  CHECK(rle_to_string({3, 3, {0, 9}}) == "09");
  CHECK(rle_to_string({1, 100, {100}}) == "T3");  // 100 = 4 + 3*32: continuation bit on the first
  // From the fourth count on, differences to the count two before: 3 - 20 = -17.
  CHECK(rle_to_string({2, 19, {10, 20, 5, 3}}) == ":d05_O");
  for (const auto& r : {CocoRle{2, 19, {10, 20, 5, 3}}, CocoRle{7, 9, {0, 3, 50, 2, 4, 3, 1}}, rle}) {
    CocoRle back = rle_from_string(rle_to_string(r), r.height, r.width);
    CHECK(back.counts == r.counts);
  }
  CHECK_THROWS_AS(rle_from_string("a{", 2, 2), Error);
}

TEST_CASE("RLE intersection walks the runs of both masks") {
  cv::Mat a = cv::Mat::zeros(5, 6, CV_8U), b = cv::Mat::zeros(5, 6, CV_8U);
  a(cv::Rect(1, 1, 3, 3)).setTo(1);  // 9 pixels
  b(cv::Rect(2, 0, 4, 2)).setTo(1);  // 8 pixels, 2 shared: (2,1), (3,1)
  CHECK(rle_intersection(rle_encode(a), rle_encode(b)) == 2);
  CHECK(rle_intersection(rle_encode(a), rle_encode(a)) == 9);
  CHECK(rle_intersection(rle_encode(a), rle_encode(cv::Mat::zeros(5, 6, CV_8U))) == 0);
}

TEST_CASE("polygons rasterise on pixel centres as pycocotools does") {
  // A 3x3 square with corners on integer coordinates covers pixels 1..3 in both axes
  // (pycocotools gives 9 pixels for it, not 16 and not 4).
  CocoRle square = rle_from_polygons({{1, 1, 4, 1, 4, 4, 1, 4}}, 6, 6);
  cv::Mat m = rle_decode(square);
  CHECK(rle_area(square) == 9);
  CHECK(cv::countNonZero(m(cv::Rect(1, 1, 3, 3))) == 9);
  // Two polygons: their union.
  CocoRle two = rle_from_polygons({{1, 1, 4, 1, 4, 4, 1, 4}, {0, 0, 2, 0, 2, 2, 0, 2}}, 6, 6);
  CHECK(rle_area(two) == 9 + 4 - 1);
}

TEST_CASE("label-map IoU sums intersections and unions over images and skips the ignore index") {
  // Image 1 (2x4): gt 0 0 1 1 / 0 255 1 1 ; pred 0 1 1 1 / 0 0 1 2
  cv::Mat gt1 = (cv::Mat_<unsigned char>(2, 4) << 0, 0, 1, 1, 0, 255, 1, 1);
  cv::Mat pr1 = (cv::Mat_<unsigned char>(2, 4) << 0, 1, 1, 1, 0, 0, 1, 2);
  // Image 2 (1x3): gt 2 2 0 ; pred 2 0 0
  cv::Mat gt2 = (cv::Mat_<unsigned char>(1, 3) << 2, 2, 0);
  cv::Mat pr2 = (cv::Mat_<unsigned char>(1, 3) << 2, 0, 0);
  LabelMapScorer scorer(255);
  scorer.add(gt1, pr1, "one");
  scorer.add(gt2, pr2, "two");
  LabelMapEvalResult r = scorer.result({"bg", "a", "b"});
  REQUIRE(r.classes.size() == 3);
  // class 0: gt 4 px (3 + 1), pred 4 px (2 + 2), shared 3 -> 3/5
  CHECK(r.classes[0].intersection == 3);
  CHECK(r.classes[0].union_pixels == 5);
  CHECK(r.classes[0].iou == Approx(3.0 / 5));
  // class 1: gt 4, pred 4 (the ignored pixel's prediction does not count), shared 3 -> 3/5
  CHECK(r.classes[1].iou == Approx(3.0 / 5));
  // class 2: gt 2, pred 2, shared 1 -> 1/3
  CHECK(r.classes[2].iou == Approx(1.0 / 3));
  CHECK(r.classes[2].name == "b");
  CHECK(r.mean_iou == Approx((0.6 + 0.6 + 1.0 / 3) / 3));
  CHECK(r.pixels == 10);
  CHECK(r.pixel_accuracy == Approx(7.0 / 10));
  CHECK(r.images == 2);
  CHECK_THROWS_AS(scorer.add(gt1, pr2, "sizes"), Error);
}

TEST_CASE("label maps are read as indices from palette PNGs, and folders match by name") {
  auto dir = test::scratch_dir("segment-eval-folders");
  cv::Mat gt = (cv::Mat_<unsigned char>(2, 3) << 0, 1, 2, 2, 1, 255);
  cv::Mat pred = (cv::Mat_<unsigned char>(2, 3) << 0, 1, 1, 2, 1, 0);
  // Ground truth as a colour palette PNG (as PASCAL VOC ships it), prediction as grey.
  test::write_bytes(dir / "gt" / "img.png", encode_palette_png(gt, voc_palette(256)));
  std::filesystem::create_directories(dir / "pred");
  cv::imwrite((dir / "pred" / "img.png").string(), pred);
  CHECK(cv::countNonZero(read_label_map((dir / "gt" / "img.png").string()) != gt) == 0);
  LabelMapEvalResult r = evaluate_label_map_folders((dir / "gt").string(), (dir / "pred").string(), 255);
  REQUIRE(r.classes.size() == 3);
  CHECK(r.classes[0].iou == Approx(1.0));
  CHECK(r.classes[1].iou == Approx(2.0 / 3));
  CHECK(r.classes[2].iou == Approx(1.0 / 2));
  test::write_bytes(dir / "gt" / "other.png", encode_palette_png(gt, voc_palette(256)));
  CHECK_THROWS_WITH(evaluate_label_map_folders((dir / "gt").string(), (dir / "pred").string(), 255),
                    Catch::Contains("other.png"));
}

namespace {

Json rle_of(const cv::Rect& r, int h, int w) {
  cv::Mat m = cv::Mat::zeros(h, w, CV_8U);
  m(r).setTo(1);
  return rle_to_json(rle_encode(m));
}

}  // namespace

TEST_CASE("mask AP: one exact mask and one at IoU 5/8 give a known mAP") {
  // Image 1: gt g1 = 4x4 block, prediction p1 the same (IoU 1, score .9).
  // Image 2: gt g2 = 8 pixels (2x4), prediction p2 = 5 of them (IoU 5/8 = .625, score .8).
  // IoU thresholds .50 .55 .60 match both: AP 1. From .65 on p2 is a false positive
  // after p1: recall .5 at precision 1, so the 51 recall points 0..0.5 score 1: AP 51/101.
  Json gt = {{"images", {{{"id", 1}, {"file_name", "a.png"}, {"width", 10}, {"height", 8}},
                         {{"id", 2}, {"file_name", "b.png"}, {"width", 10}, {"height", 8}}}},
             {"categories", {{{"id", 3}, {"name", "thing"}}}},
             {"annotations",
              {{{"id", 1}, {"image_id", 1}, {"category_id", 3}, {"iscrowd", 0}, {"bbox", {1, 1, 4, 4}},
                {"segmentation", rle_of({1, 1, 4, 4}, 8, 10)}},
               {{"id", 2}, {"image_id", 2}, {"category_id", 3}, {"iscrowd", 0}, {"bbox", {0, 0, 4, 2}},
                {"segmentation", rle_of({0, 0, 4, 2}, 8, 10)}}}}};
  cv::Mat p2 = cv::Mat::zeros(8, 10, CV_8U);
  p2(cv::Rect(0, 0, 4, 1)).setTo(1);
  p2.at<unsigned char>(1, 0) = 1;
  Json preds = {{{"image_id", 1}, {"category_id", 3}, {"score", 0.9}, {"segmentation", rle_of({1, 1, 4, 4}, 8, 10)}},
                {{"image_id", "b"}, {"category_id", 3}, {"score", 0.8}, {"segmentation", rle_to_json(rle_encode(p2))}}};
  CocoEvalResult r = evaluate_coco_masks(gt, preds);
  const double ap_low = 51.0 / 101;
  CHECK(r.map == Approx((3 * 1.0 + 7 * ap_low) / 10));
  CHECK(r.map50 == Approx(1.0));
  CHECK(r.map75 == Approx(ap_low));
  CHECK(r.predictions == 2);
  // Boxes of the same data tell another story: evaluate_coco_detections is unchanged.
  CHECK(evaluate_coco_detections(gt, Json::array()).map == Approx(0.0));

  // Polygons in the ground truth are rasterised; a missing image size is named.
  gt["annotations"][0]["segmentation"] = Json::array({{1, 1, 5, 1, 5, 5, 1, 5}});
  CHECK(evaluate_coco_masks(gt, preds).map50 == Approx(1.0));
  gt["images"][0].erase("height");
  CHECK_THROWS_WITH(evaluate_coco_masks(gt, preds), Catch::Contains("annotations[0]") && Catch::Contains("height"));
}
