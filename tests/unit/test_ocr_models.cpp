// The OCR pipeline with the real PP-OCRv4 models on rendered text. Fails when the
// converted models are not there (scripts/fetch-models.sh makes them);
// CVTOOL_OCR_MODEL_DIR points elsewhere for development.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/config.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/ocr/ocr_engine.hpp"
#include "test_helpers.hpp"

using namespace cvtool;
namespace fs = std::filesystem;

namespace {

fs::path model_dir() {
  const char* env = std::getenv("CVTOOL_OCR_MODEL_DIR");
  return env && *env ? fs::path(env) : fs::path(CVTOOL_SOURCE_DIR) / "models";
}

// One engine for all tests: loading three models costs about a second.
OcrEngine* engine(bool cls = false) {
  const fs::path dir = model_dir();
  for (const char* f : {"ppocrv4-det.pt", "ppocrv4-rec.pt", "ppocr-cls.pt", "ppocr_keys_v1.txt"}) {
    if (!fs::exists(dir / f)) {
      // Set-up fetches the models; a missing one is a broken set-up, not a reason to skip.
      FAIL((dir / f).string() << " is missing (run scripts/fetch-models.sh)");
    }
  }
  static std::unique_ptr<OcrEngine> plain, with_cls;
  auto& slot = cls ? with_cls : plain;
  if (!slot) {
    ConfigSources sources;
    sources.file = fs::path(CVTOOL_SOURCE_DIR) / "configs" / "ocr-ppocrv4.json";
    sources.overrides = {"det.model=" + (dir / "ppocrv4-det.pt").string(),
                         "rec.model=" + (dir / "ppocrv4-rec.pt").string(),
                         "cls.model=" + (dir / "ppocr-cls.pt").string(),
                         "rec.dictionary=" + (dir / "ppocr_keys_v1.txt").string(),
                         std::string("cls.enabled=") + (cls ? "true" : "false")};
    slot = std::make_unique<OcrEngine>(load_config(sources, task_schema("ocr")));
  }
  return slot.get();
}

// Black Hershey text on white, `scale` sized, one string per row.
cv::Mat render(const std::vector<std::string>& rows, double scale = 1.2, cv::Size size = {640, 0}) {
  const int row_h = int(50 * scale);
  cv::Mat image(size.height ? size.height : row_h * int(rows.size()) + 40, size.width, CV_8UC3,
                cv::Scalar::all(255));
  for (std::size_t i = 0; i < rows.size(); ++i)
    cv::putText(image, rows[i], cv::Point(30, 20 + row_h * int(i + 1) - int(12 * scale)),
                cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar::all(0), 2, cv::LINE_AA);
  return image;
}

}  // namespace

TEST_CASE("PP-OCRv4 reads a rendered line exactly") {
  OcrEngine* e = engine();
  if (!e) return;
  OcrResult r = e->run(render({"Hello World 2026"}));
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0].text == "Hello World 2026");
  CHECK(r.lines[0].score > 0.9f);
  CHECK(r.text == "Hello World 2026");
  // The box holds the text: it starts near x 30 and lies inside the image.
  CHECK(r.lines[0].polygon[0].x == Approx(30).margin(8));
  CHECK(r.lines[0].polygon[2].x < 640);
}

TEST_CASE("PP-OCRv4 reads rows in order and joins them with newlines") {
  OcrEngine* e = engine();
  if (!e) return;
  OcrResult r = e->run(render({"The quick brown fox", "jumps over 13 lazy dogs", "cvtool ocr"}));
  CHECK(r.text == "The quick brown fox\njumps over 13 lazy dogs\ncvtool ocr");
}

// Regression: ~20 px lines (box height) upscaled to 48 px with linear interpolation, as
// PaddleOCR does, came out as "Thequickbrownfox" (score 0.998); Lanczos keeps the spaces.
TEST_CASE("PP-OCRv4 keeps the spaces between words on small lines") {
  OcrEngine* e = engine();
  if (!e) return;
  const std::vector<std::string> rows = {"The quick brown fox", "jumps over the lazy dog",
                                         "Meeting room on level 3"};
  for (int font : {cv::FONT_HERSHEY_SIMPLEX, cv::FONT_HERSHEY_DUPLEX}) {
    INFO("font " << font);
    cv::Mat image(130, 420, CV_8UC3, cv::Scalar::all(255));
    for (std::size_t i = 0; i < rows.size(); ++i)
      cv::putText(image, rows[i], cv::Point(10, 30 + 30 * int(i)), font, 0.55,
                  cv::Scalar::all(0), 1, cv::LINE_AA);
    OcrResult r = e->run(image);
    REQUIRE(r.lines.size() == 3);
    CHECK(r.lines[0].polygon[3].y - r.lines[0].polygon[0].y < 24);  // really a small line
    CHECK(r.text == "The quick brown fox\njumps over the lazy dog\nMeeting room on level 3");
  }
}

// A 6000x4000 page: detection sees it at 960x640; polygons come back in original pixels
// and the lines are cut from the full-resolution image for recognition.
TEST_CASE("a huge image is downscaled for detection and cropped at full resolution") {
  OcrEngine* e = engine();
  if (!e) return;
  cv::Mat image(4000, 6000, CV_8UC3, cv::Scalar::all(255));
  cv::putText(image, "Full resolution 4096", cv::Point(300, 1200), cv::FONT_HERSHEY_SIMPLEX, 6,
              cv::Scalar::all(0), 14, cv::LINE_AA);
  cv::putText(image, "Second line", cv::Point(3000, 3000), cv::FONT_HERSHEY_SIMPLEX, 5,
              cv::Scalar::all(0), 12, cv::LINE_AA);
  OcrResult r = e->run(image);
  REQUIRE(r.lines.size() == 2);
  CHECK(r.text == "Full resolution 4096\nSecond line");
  // Polygons are in original pixels: the first line starts near x 300, y ~1050..1250.
  CHECK(r.lines[0].polygon[0].x == Approx(300).margin(40));
  CHECK(r.lines[0].polygon[3].y == Approx(1230).margin(60));
}

TEST_CASE("PP-OCRv4 reads two columns of one row left to right") {
  OcrEngine* e = engine();
  if (!e) return;
  cv::Mat image(120, 900, CV_8UC3, cv::Scalar::all(255));
  cv::putText(image, "Total", cv::Point(40, 70), cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar::all(0),
              2, cv::LINE_AA);
  cv::putText(image, "42.50", cv::Point(700, 72), cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar::all(0),
              2, cv::LINE_AA);
  OcrResult r = e->run(image);
  REQUIRE(r.lines.size() == 2);
  CHECK(r.text == "Total 42.50");
}

TEST_CASE("an image without text gives an empty result") {
  OcrEngine* e = engine();
  if (!e) return;
  OcrResult r = e->run(cv::Mat(200, 300, CV_8UC3, cv::Scalar(200, 180, 160)));
  CHECK(r.lines.empty());
  CHECK(r.text.empty());
  CHECK(e->run(cv::Mat(1, 1, CV_8UC3, cv::Scalar::all(0))).lines.empty());
}

TEST_CASE("grayscale, RGBA and 16-bit files read the same after decoding") {
  OcrEngine* e = engine();
  if (!e) return;
  cv::Mat bgr = render({"Gray 16 bit"});
  auto dir = test::scratch_dir("ocr-decode");
  cv::Mat gray, rgba, gray16;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(bgr, rgba, cv::COLOR_BGR2BGRA);
  gray.convertTo(gray16, CV_16U, 257);
  cv::imwrite((dir / "gray.png").string(), gray);
  cv::imwrite((dir / "rgba.png").string(), rgba);
  cv::imwrite((dir / "gray16.png").string(), gray16);
  for (const char* name : {"gray.png", "rgba.png", "gray16.png"}) {
    INFO(name);
    OcrResult r = e->run(decode_image(dir / name));
    CHECK(r.text == "Gray 16 bit");
  }
}

TEST_CASE("the angle classifier turns an upside-down line") {
  OcrEngine* e = engine(true);
  if (!e) return;
  cv::Mat image = render({"Upside down 1984"}), flipped;
  cv::rotate(image, flipped, cv::ROTATE_180);
  CHECK(e->run(flipped).text == "Upside down 1984");
  CHECK(e->run(image).text == "Upside down 1984");
}
