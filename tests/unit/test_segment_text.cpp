// Text segmentation with the real PP-OCRv4 DB detector (configs/segment-text-ppocrv4.json)
// on rendered text. Skips with a warning when models/ppocrv4-det.pt is missing;
// CVTOOL_OCR_MODEL_DIR points elsewhere for development (as for the OCR tests).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/config.hpp"
#include "cvtool/segment/segmenter.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

TEST_CASE("text segmentation marks the rendered words and nothing else") {
  const char* env = std::getenv("CVTOOL_OCR_MODEL_DIR");
  const fs::path model = (env && *env ? fs::path(env) : fs::path(CVTOOL_SOURCE_DIR) / "models") / "ppocrv4-det.pt";
  if (!fs::exists(model)) {
    FAIL(model.string() << " is missing (run scripts/fetch-models.sh ppocrv4-det)");
  }
  ConfigSources sources;
  sources.file = fs::path(CVTOOL_SOURCE_DIR) / "configs" / "segment-text-ppocrv4.json";
  sources.overrides = {"model.path=" + model.string()};
  Segmenter segmenter(load_config(sources, task_schema("segment")));
  REQUIRE(segmenter.labels() == std::vector<std::string>{"background", "text"});
  // 1203x411: odd sizes, longer side over 960 so the fit resize shrinks and rounds.
  cv::Mat image(411, 1203, CV_8UC3, cv::Scalar::all(255));
  std::vector<cv::Rect> lines;
  int baseline = 0;
  for (auto [words, y] : {std::pair<const char*, int>{"Segment these words", 150}, {"and this line 12345", 330}}) {
    cv::putText(image, words, cv::Point(60, y), cv::FONT_HERSHEY_SIMPLEX, 2.0, cv::Scalar::all(0), 4, cv::LINE_AA);
    cv::Size size = cv::getTextSize(words, cv::FONT_HERSHEY_SIMPLEX, 2.0, 4, &baseline);
    lines.push_back(cv::Rect(60, y - size.height, size.width, size.height + baseline));  // with descenders
  }
  Segmentation seg = segmenter.segment({image})[0];
  REQUIRE(seg.labels.size() == image.size());
  REQUIRE(seg.probability.size() == image.size());
  cv::Mat text = seg.labels == 1;
  cv::Mat outside(image.size(), CV_8U, cv::Scalar(255));
  for (const auto& line : lines) {
    INFO("line " << line);
    // DB marks a shrunk kernel of each text line (OCR grows it back by unclip_ratio):
    // a band through the middle of the line, measured at ~30% of the line's box and
    // ~94% of its width.
    CHECK(cv::countNonZero(text(line)) > line.area() / 5);
    cv::Mat columns;
    cv::reduce(text(line), columns, 0, cv::REDUCE_MAX);
    CHECK(cv::countNonZero(columns) > line.width * 85 / 100);
    // Nothing is text beyond 12 px around the lines.
    outside(cv::Rect(line.x - 12, line.y - 12, line.width + 24, line.height + 24)).setTo(0);
  }
  CHECK(cv::countNonZero(text & outside) == 0);
}
