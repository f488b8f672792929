// Instance segmentation families against the Python reference of
// make_segment_test_models.py (fixture segment_models): a hand-set YOLOv8-seg-shaped
// model and a seeded torchvision Mask R-CNN, on real photos; the letterbox map-back at
// the image borders; `cvtool segment` instance outputs scored by `cvtool eval segment`.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "../cli/run_binary.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/segment/rle.hpp"
#include "cvtool/segment/segmenter.hpp"
#include "segment_fixture.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

fs::path model_dir() { return test::segment_model_dir(); }
using test::read_json;
Json load(const std::string& name, std::vector<std::string> overrides = {}) {
  return test::load_segment_config(name, std::move(overrides));
}

// Every instance of every image of expected_<name>.json: same class, score, box and
// the same mask to the pixel (the reference also marks pixels within 1e-3 of the
// threshold, to tell float summation order apart from a pipeline bug should a
// LibTorch change ever move one).
void check_against_reference(const std::string& name) {
  Json expected = read_json(model_dir() / ("expected_" + name + ".json"));
  Segmenter segmenter(load(name));
  REQUIRE(segmenter.has_instances());
  for (const auto& rec : expected["images"]) {
    const std::string source = rec["source"];
    INFO(name << " on " << source);
    cv::Mat image = decode_image(source);
    Segmentation seg = segmenter.segment({image})[0];
    REQUIRE(seg.instance_map);
    REQUIRE(seg.labels.size() == image.size());
    REQUIRE(seg.instances.size() == rec["instances"].size());
    for (std::size_t k = 0; k < seg.instances.size(); ++k) {
      const Instance& got = seg.instances[k];
      const Json& want = rec["instances"][k];
      INFO("instance " << k);
      CHECK(got.class_id == want["class_id"].get<int>());
      CHECK(got.score == Approx(want["score"].get<double>()).epsilon(1e-6));
      for (int i = 0; i < 4; ++i) CHECK(got.box[i] == Approx(want["box"][i].get<double>()).margin(1e-3));
      cv::Mat want_mask = cv::imread(want["mask"].get<std::string>(), cv::IMREAD_UNCHANGED);
      cv::Mat ambiguous = cv::imread(want["ambiguous"].get<std::string>(), cv::IMREAD_UNCHANGED);
      cv::Mat differ = got.full_mask(image.size()) != want_mask;
      INFO(cv::countNonZero(differ) << " pixels differ, " << cv::countNonZero(differ & (ambiguous == 0))
                                    << " of them not within 1e-3 of the threshold");
      CHECK(cv::countNonZero(differ) == 0);
      CHECK(got.area == want["area"].get<std::int64_t>());
    }
    // The instance map: where instances overlap, the better score (lower index) wins.
    for (std::size_t k = seg.instances.size(); k-- > 0;) {
      cv::Mat mine = seg.instances[k].full_mask(image.size());
      cv::Mat owned = seg.labels == int(k + 1);
      CHECK(cv::countNonZero(owned & (mine == 0)) == 0);
      CHECK(cv::countNonZero((mine != 0) & (seg.labels > int(k + 1))) == 0);
    }
  }
}

}  // namespace

TEST_CASE("yolov8_seg (hand-set, letterbox) matches the reference on real photos") {
  check_against_reference("yolo_seg");
}
TEST_CASE("torchvision_maskrcnn (seeded, native size, masks pasted by the model) matches the reference") {
  check_against_reference("maskrcnn");
}
TEST_CASE("torchvision_maskrcnn fed letterboxed maps masks back like the reference") {
  check_against_reference("maskrcnn_letterbox");
}
TEST_CASE("torchvision_maskrcnn with raw 28x28 masks: cvtool's paste equals torchvision's paste_masks_in_image") {
  check_against_reference("maskrcnn_raw");
}

TEST_CASE("yolov8_seg letterbox map-back reaches the image borders exactly") {
  // border.png (160x120) is letterboxed into 160x128 with 4 padding rows above and below.
  // The "frame" instance has the whole input as its box and prototype 0 (redness) as its
  // mask: the red columns 0..39, every row from 0 to 119 included (less two corners).
  // top_k 300: the 160 red and blue cells all outscore the frame (0.9), and the fixture's
  // top_k of 100 (which the parity test exercises) would drop it before NMS.
  Segmenter segmenter(load("yolo_seg", {"post.top_k=300"}));
  cv::Mat image = decode_image((model_dir() / "border.png").string());
  REQUIRE(image.size() == cv::Size(160, 120));
  Segmentation seg = segmenter.segment({image})[0];
  auto frame = std::find_if(seg.instances.begin(), seg.instances.end(),
                            [](const Instance& i) { return i.label == "frame"; });
  REQUIRE(frame != seg.instances.end());
  CHECK(frame->score == Approx(0.9));
  CHECK(frame->box == std::array<float, 4>{0, 0, 160, 120});
  // Worked by hand: source row 0 (input row 4) samples the prototype grid at 0.625 of the
  // way from the padding row to the first red row, so its soft mask is ~0.63 (red at
  // 0.9997, padding at 0.018): kept. The same holds for row 119 and, across the band's
  // right edge, for column 39. Only where both meet, (row 0 or 119, column 39), the red
  // weight is 0.625 * 0.625 = 0.39: dropped. An off-by-one in the letterbox cut would
  // lose or add whole rows.
  cv::Mat want = cv::Mat::zeros(120, 160, CV_8U);
  want(cv::Rect(0, 0, 40, 120)).setTo(1);
  want.at<unsigned char>(0, 39) = 0;
  want.at<unsigned char>(119, 39) = 0;
  CHECK(cv::countNonZero(frame->full_mask(image.size()) != want) == 0);
  CHECK(frame->area == 40 * 120 - 2);
  // Nothing of any instance lies in the padding: masks are image-sized and every blue
  // instance stays in the blue columns.
  for (const auto& inst : seg.instances) {
    cv::Mat m = inst.full_mask(image.size());
    REQUIRE(m.size() == image.size());
    if (inst.label == "blue") CHECK(cv::countNonZero(m(cv::Rect(0, 0, 112, 120))) == 0);
  }
}

TEST_CASE("a YOLOv8-seg model whose class count does not match the labels fails at load") {
  try {
    Segmenter s(load("yolo_seg", {"model.labels=[\"a\",\"b\"]"}));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Model);
    CHECK_THAT(e.what(), Catch::Contains("yolo_seg.pt") && Catch::Contains("C=2"));
  }
  CHECK_THROWS_AS(Segmenter(load("colour_logits", {"model.family=yolov8_seg"})), Error);
}

namespace {

std::vector<Json> jsonl(const std::string& out) {
  std::vector<Json> records;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty()) records.push_back(Json::parse(line));
  return records;
}

}  // namespace

TEST_CASE("segment -o with an instance model: instance map, per-instance PNGs, COCO RLE; eval scores them") {
  auto dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "segment-instances";
  fs::remove_all(dir);
  const std::string border = (model_dir() / "border.png").string();
  auto r = test::run_cvtool("segment -c " + (model_dir() / "segment-yolo_seg.json").string() + " " + border + " -o " +
                                dir.string() + " --jsonl --set output.save_instances=true",
                            "segment-instances");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto records = jsonl(r.out);
  REQUIRE(records.size() == 1);
  const Json& insts = records[0]["instances"];
  REQUIRE(insts.size() > 1);
  CHECK(!records[0].contains("classes"));
  CHECK(insts[0].contains("label"));
  CHECK(insts[0].contains("score"));
  CHECK(insts[0]["box"].size() == 4);

  Json coco = read_json(dir / "predictions.coco.json");
  REQUIRE(coco.size() == insts.size());
  cv::Mat index_map = cv::imread((dir / "border.png").string(), cv::IMREAD_GRAYSCALE);
  REQUIRE(index_map.size() == cv::Size(160, 120));
  for (std::size_t k = 0; k < coco.size(); ++k) {
    INFO("instance " << k);
    CHECK(coco[k]["image_id"] == "border");
    cv::Mat png = cv::imread((dir / ("border_" + std::to_string(k) + ".png")).string(), cv::IMREAD_GRAYSCALE);
    REQUIRE(png.size() == cv::Size(160, 120));
    CocoRle rle = rle_from_json(coco[k]["segmentation"], 120, 160, "predictions");
    CHECK(cv::countNonZero(rle_decode(rle) * 255 != png) == 0);
    CHECK(coco[k]["area"] == insts[k]["area"]);
    CHECK(std::int64_t(rle_area(rle)) == insts[k]["area"].get<std::int64_t>());
    // The instance map holds k + 1 wherever instance k is the best-scoring one.
    CHECK(cv::countNonZero((index_map == int(k + 1)) & (png == 0)) == 0);
  }

  // The same instances as ground truth: every prediction with a non-empty mask matches.
  Json gt = {{"images", {{{"id", 7}, {"file_name", "border.png"}, {"width", 160}, {"height", 120}}}},
             {"categories", {{{"id", 0}, {"name", "red"}}, {{"id", 1}, {"name", "blue"}}, {{"id", 2}, {"name", "frame"}}}},
             {"annotations", Json::array()}};
  Json preds = Json::array();
  for (const auto& p : coco) {
    if (p["area"].get<int>() == 0) continue;
    preds.push_back(p);
    Json a = p;
    a["id"] = gt["annotations"].size() + 1;
    a["image_id"] = 7;
    a["iscrowd"] = 0;
    gt["annotations"].push_back(a);
  }
  std::ofstream(dir / "gt.json") << gt.dump();
  std::ofstream(dir / "pred.json") << preds.dump();
  auto e = test::run_cvtool("eval segment --gt " + (dir / "gt.json").string() + " --pred " + (dir / "pred.json").string() +
                                " --jsonl",
                            "segment-instances-eval");
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  auto summary = jsonl(e.out).back();
  CHECK(summary["summary"] == true);
  CHECK(summary["map"].get<double>() == Approx(1.0));
}
