// Person segmentation with the real MediaPipe selfie model on real photos, against
// regions drawn by hand (by looking at the images). Skips with a warning when
// models/selfie-segmentation.pt is missing (scripts/fetch-models.sh makes it).
#include <catch2/catch.hpp>
#include <filesystem>
#include <iostream>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/config.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/segment/overlay.hpp"
#include "cvtool/segment/segmenter.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

Segmenter* selfie() {
  const fs::path model = fs::path(CVTOOL_SOURCE_DIR) / "models" / "selfie-segmentation.pt";
  if (!fs::exists(model)) {
    // Zoo models are a test requirement: missing is a failure, not a skip.
    FAIL(model.string() << " is missing (run scripts/fetch-models.sh)");
  }
  static std::unique_ptr<Segmenter> s;
  if (!s) {
    ConfigSources sources;
    sources.file = fs::path(CVTOOL_SOURCE_DIR) / "configs" / "segment-selfie.json";
    sources.overrides = {"runtime.threads=2"};
    s = std::make_unique<Segmenter>(load_config(sources, task_schema("segment")));
  }
  return s.get();
}

cv::Mat boxes_mask(cv::Size size, const std::vector<cv::Rect>& boxes) {
  cv::Mat m(size, CV_8U, cv::Scalar(0));
  for (const auto& b : boxes) m(b & cv::Rect(cv::Point(), size)).setTo(1);
  return m;
}

struct Scores {
  double iou;            // person mask vs the hand-drawn person region
  double core_coverage;  // of the boxes that are surely person
  double background;     // person fraction inside the boxes that are surely not person
};

// `ignore`: regions where either answer is right (an object the person holds), left
// out of the IoU.
Scores score(const Segmentation& seg, const std::vector<cv::Rect>& person, const std::vector<cv::Rect>& core,
             const std::vector<cv::Rect>& background, const std::vector<cv::Rect>& ignore = {}) {
  cv::Mat care = boxes_mask(seg.labels.size(), ignore) == 0;
  cv::Mat mask = (seg.labels == 1) & care;
  cv::Mat drawn = (boxes_mask(mask.size(), person) > 0) & care;
  cv::Mat core_m = boxes_mask(mask.size(), core) > 0;
  cv::Mat bg_m = boxes_mask(mask.size(), background) > 0;
  Scores s;
  s.iou = double(cv::countNonZero(mask & drawn)) / cv::countNonZero(mask | drawn);
  s.core_coverage = double(cv::countNonZero(mask & core_m)) / cv::countNonZero(core_m);
  s.background = double(cv::countNonZero(mask & bg_m)) / cv::countNonZero(bg_m);
  std::cerr << "iou " << s.iou << " core " << s.core_coverage << " background " << s.background << "\n";
  return s;
}

}  // namespace

TEST_CASE("selfie: the astronaut is segmented, the grey backdrop is not") {
  Segmenter* s = selfie();
  if (!s) return;
  cv::Mat image = decode_image("/usr/lib/python3/dist-packages/skimage/data/astronaut.png");
  Segmentation seg = s->segment({image})[0];
  REQUIRE(seg.labels.size() == image.size());
  REQUIRE(seg.probability.size() == image.size());
  REQUIRE(seg.probability.type() == CV_32F);
  // Person: head, shoulders, suit. The helmet she holds (lower right) is segmented
  // with her by this model; it is neither person nor backdrop, so it is ignored.
  Scores sc = score(seg, {{150, 15, 150, 175}, {40, 150, 320, 200}, {20, 350, 270, 162}},
                    {{185, 60, 85, 110}, {60, 300, 200, 180}}, {{310, 0, 70, 150}, {440, 0, 72, 60}},
                    {{280, 340, 232, 172}});
  CHECK(sc.iou > 0.75);
  CHECK(sc.core_coverage > 0.97);
  CHECK(sc.background < 0.03);
  REQUIRE(seg.classes.size() == 2);
  CHECK(seg.classes[1].label == "person");
  CHECK(seg.classes[1].fraction > 0.35);
  CHECK(seg.classes[1].fraction < 0.65);
}

TEST_CASE("selfie: the footballer is segmented, the grass is not") {
  Segmenter* s = selfie();
  if (!s) return;
  cv::Mat image = decode_image("/usr/share/doc/opencv-doc/examples/data/messi5.jpg");
  Segmentation seg = s->segment({image})[0];
  REQUIRE(seg.labels.size() == cv::Size(548, 342));
  // Arm, head, torso, other arm, thighs, stretched leg, standing leg.
  Scores sc = score(seg,
                    {{70, 85, 95, 50}, {205, 60, 60, 60}, {158, 110, 147, 135}, {295, 135, 83, 40},
                     {220, 240, 125, 60}, {340, 235, 115, 55}, {230, 280, 80, 55}},
                    {{190, 120, 100, 70}, {210, 70, 45, 35}}, {{0, 290, 200, 52}, {0, 0, 548, 40}});
  // The boxes are a coarse drawing of a stretched body: IoU is bounded by their slack.
  CHECK(sc.iou > 0.45);
  CHECK(sc.core_coverage > 0.9);
  CHECK(sc.background < 0.05);
}

TEST_CASE("selfie: the cameraman is segmented, the sky is not") {
  Segmenter* s = selfie();
  if (!s) return;
  cv::Mat image = decode_image("/usr/lib/python3/dist-packages/skimage/data/camera.png");
  Segmentation seg = s->segment({image})[0];
  Scores sc = score(seg, {{160, 65, 110, 135}, {30, 110, 270, 190}, {0, 200, 160, 312}},
                    {{180, 100, 70, 90}, {20, 250, 120, 200}}, {{300, 0, 212, 100}, {430, 250, 82, 262}});
  CHECK(sc.iou > 0.7);
  CHECK(sc.core_coverage > 0.95);
  CHECK(sc.background < 0.03);
}

TEST_CASE("selfie: alpha cut-out carries the soft mask, overlay leaves background alone") {
  Segmenter* s = selfie();
  if (!s) return;
  cv::Mat image = decode_image("/usr/lib/python3/dist-packages/skimage/data/astronaut.png");
  Segmentation seg = s->segment({image})[0];
  cv::Mat rgba = alpha_cutout(image, seg);
  REQUIRE(rgba.type() == CV_8UC4);
  cv::Mat channels[4];
  cv::split(rgba, channels);
  cv::Mat expected_alpha;
  seg.probability.convertTo(expected_alpha, CV_8U, 255.0);
  CHECK(cv::countNonZero(channels[3] != expected_alpha) == 0);
  CHECK(channels[3].at<unsigned char>(100, 220) > 250);  // face
  CHECK(channels[3].at<unsigned char>(30, 350) < 5);     // backdrop
  cv::Mat overlay = draw_overlay(image, seg.labels, s->palette());
  cv::Mat background = seg.labels == 0;
  cv::Mat diff;
  cv::absdiff(overlay, image, diff);
  cv::Mat diff_grey;
  cv::cvtColor(diff, diff_grey, cv::COLOR_BGR2GRAY);
  CHECK(cv::countNonZero((diff_grey > 0) & (seg.labels == 1)) > cv::countNonZero(seg.labels == 1) * 9 / 10);
  CHECK(cv::countNonZero(diff_grey & background) == 0);
}
