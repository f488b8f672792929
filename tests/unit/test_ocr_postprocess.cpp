// OCR post-processing on hand-made model outputs: DB boxes (with the unclip
// expansion worked out by hand), CTC decoding, reading order, crops and the
// Tesseract-style formats.
#include <catch2/catch.hpp>
#include <opencv2/imgproc.hpp>

#include "cvtool/ocr/crop.hpp"
#include "cvtool/ocr/ctc_decode.hpp"
#include "cvtool/ocr/db_postprocess.hpp"
#include "cvtool/ocr/ocr_formats.hpp"
#include "cvtool/ocr/reading_order.hpp"

using namespace cvtool;

namespace {

void check_quad(const Quad& q, const std::vector<cv::Point2f>& expected) {
  for (int i = 0; i < 4; ++i) {
    INFO("corner " << i << ": " << q[i] << " expected " << expected[i]);
    CHECK(q[i].x == Approx(expected[i].x).margin(1e-4));
    CHECK(q[i].y == Approx(expected[i].y).margin(1e-4));
  }
}

TextLine line_at(const std::string& text, float x, float y, float w = 40, float h = 12) {
  TextLine l;
  l.text = text;
  l.score = 0.9f;
  l.polygon = {cv::Point2f(x, y), {x + w, y}, {x + w, y + h}, {x, y + h}};
  return l;
}

}  // namespace

TEST_CASE("DB post-processing turns a text blob into its unclipped box") {
  // A 40x10 pixel blob at x 20..59, y 20..29. Its contour runs through pixel centres,
  // so the min-area rectangle is 39 x 9 (area 351, perimeter 96). Unclip offset
  // = 351 * 1.5 / 96 = 5.484375 on every side: x 14.515625..64.484375,
  // y 14.515625..34.484375, rounded to 15..64 and 15..34.
  cv::Mat prob = cv::Mat::zeros(60, 100, CV_32F);
  prob(cv::Rect(20, 20, 40, 10)).setTo(0.9);
  auto boxes = db_boxes(prob, prob.size(), DbParams{});
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].score == Approx(0.9));
  check_quad(boxes[0].quad, {{15, 15}, {64, 15}, {64, 34}, {15, 34}});

  SECTION("boxes scale to the original image size") {
    // x * 2: 29.03125 -> 29, 128.96875 -> 129; y * 2: 29.03125 -> 29, 68.96875 -> 69.
    auto scaled = db_boxes(prob, cv::Size(200, 120), DbParams{});
    REQUIRE(scaled.size() == 1);
    check_quad(scaled[0].quad, {{29, 29}, {129, 29}, {129, 69}, {29, 69}});
  }
  SECTION("a larger unclip ratio grows the box by area * ratio / perimeter") {
    DbParams p;
    p.unclip_ratio =
        2.0f;  // offset 7.3125: x 12.6875..66.3125 -> 13..66, y 12.6875..36.3125 -> 13..36
    auto grown = db_boxes(prob, prob.size(), p);
    REQUIRE(grown.size() == 1);
    check_quad(grown[0].quad, {{13, 13}, {66, 13}, {66, 36}, {13, 36}});
  }
}

TEST_CASE("DB post-processing drops weak, tiny and sub-threshold regions") {
  cv::Mat prob = cv::Mat::zeros(60, 100, CV_32F);
  prob(cv::Rect(5, 5, 30, 10)).setTo(0.5);    // text pixels, but mean 0.5 < box threshold 0.6
  prob(cv::Rect(60, 5, 2, 2)).setTo(0.99);    // min-area rect 1 x 1 < min size 3
  prob(cv::Rect(5, 40, 30, 10)).setTo(0.25);  // below the pixel threshold 0.3
  CHECK(db_boxes(prob, prob.size(), DbParams{}).empty());
  DbParams lenient;
  lenient.box_threshold = 0.4f;
  auto boxes = db_boxes(prob, prob.size(), lenient);
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].score == Approx(0.5));
  // Blob x 5..34, y 5..14: rect 29 x 9, offset 261 * 1.5 / 76 = 5.1513: x -0.15..39.15, y
  // -0.15..19.15.
  check_quad(boxes[0].quad, {{0, 0}, {39, 0}, {39, 19}, {0, 19}});
  CHECK(db_boxes(cv::Mat::zeros(32, 32, CV_32F), cv::Size(32, 32), DbParams{}).empty());
}

TEST_CASE("detector input sizes follow PaddleOCR's DetResizeForTest") {
  CHECK(db_input_size({548, 342}, 960, true) ==
        cv::Size(544, 352));  // 17.1 -> 17, 10.7 -> 11 blocks of 32
  CHECK(db_input_size({80, 48}, 960, true) == cv::Size(64, 64));  // 2.5 and 1.5 round to the even 2
  CHECK(db_input_size({2000, 1000}, 960, true) == cv::Size(960, 480));
  CHECK(db_input_size({1, 1}, 960, true) == cv::Size(32, 32));
  CHECK(db_input_size({400, 200}, 960, false) == cv::Size(1920, 960));
}

TEST_CASE("unclip grows a rotated rectangle exactly") {
  // 40 x 10: area 400, perimeter 100, ratio 1.5 -> offset 6 on every side.
  cv::RotatedRect grown = unclip_rect(cv::RotatedRect({50, 50}, {40, 10}, 30), 1.5f);
  CHECK(grown.size.width == Approx(52));
  CHECK(grown.size.height == Approx(22));
  CHECK(grown.angle == Approx(30));
  CHECK(grown.center == cv::Point2f(50, 50));
}

TEST_CASE("a rotated blob gives a rotated quad, clockwise from top-left") {
  cv::Mat prob = cv::Mat::zeros(200, 200, CV_32F);
  cv::Point2f c[4];
  cv::RotatedRect({100, 100}, {120, 20}, 20).points(c);
  std::vector<cv::Point> pts(c, c + 4);
  cv::fillConvexPoly(prob, pts, cv::Scalar(0.95));
  auto boxes = db_boxes(prob, prob.size(), DbParams{});
  REQUIRE(boxes.size() == 1);
  const Quad& q = boxes[0].quad;
  // Top-left has the smallest x+y, and the top edge rises at about 20 degrees.
  CHECK(q[0].x + q[0].y < q[1].x + q[1].y);
  CHECK(q[0].x + q[0].y < q[3].x + q[3].y);
  double angle = std::atan2(q[1].y - q[0].y, q[1].x - q[0].x) * 180 / CV_PI;
  CHECK(angle == Approx(20).margin(1.5));
  CHECK(cv::norm(q[1] - q[0]) > 120);
}

TEST_CASE("box score is the mean inside the quad") {
  cv::Mat prob = cv::Mat::zeros(10, 10, CV_32F);
  prob(cv::Rect(2, 2, 2, 2)).setTo(1.0);
  CHECK(box_score_fast(prob, {cv::Point2f(2, 2), {5, 2}, {5, 3}, {2, 3}}) == Approx(0.5));
}

TEST_CASE("corners are ordered clockwise from the top-left") {
  Quad shuffled = {cv::Point2f(64, 34), {15, 15}, {15, 34}, {64, 15}};
  check_quad(order_points_clockwise(shuffled), {{15, 15}, {64, 15}, {64, 34}, {15, 34}});
  float side = 0;
  check_quad(mini_box({{64, 34}, {15, 15}, {15, 34}, {64, 15}}, &side),
             {{15, 15}, {64, 15}, {64, 34}, {15, 34}});
  CHECK(side == Approx(19));
}

TEST_CASE("greedy CTC decoding collapses repeats and drops blanks") {
  const std::vector<std::string> charset = {"a", "b", "c", " "};  // classes: blank, a, b, c, space
  // argmax per step: a a _ a b ' ' _ c -> "aab c"
  const int best[8] = {1, 1, 0, 1, 2, 4, 0, 3};
  const float p[8] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.9f, 0.99f, 0.7f};
  std::vector<float> probs(8 * 5, 0.f);
  for (int t = 0; t < 8; ++t) {
    for (int c = 0; c < 5; ++c) probs[t * 5 + c] = (1 - p[t]) / 4;
    probs[t * 5 + best[t]] = p[t];
  }
  DecodedText d = ctc_greedy_decode(probs.data(), 8, 5, charset);
  CHECK(d.text == "aab c");
  CHECK(d.score == Approx((0.9 + 0.6 + 0.5 + 0.9 + 0.7) / 5));  // repeats and blanks do not count

  std::vector<float> blanks(3 * 5, 0.f);
  for (int t = 0; t < 3; ++t) blanks[t * 5] = 1.f;
  DecodedText empty = ctc_greedy_decode(blanks.data(), 3, 5, charset);
  CHECK(empty.text.empty());
  CHECK(empty.score == 0.f);
}

TEST_CASE("reading order: top to bottom, left to right within a row") {
  std::vector<TextLine> lines = {line_at("A", 100, 50), line_at("B", 10, 55), line_at("C", 10, 100),
                                 line_at("D", 200, 48)};
  sort_reading_order(lines, 10);
  std::string order;
  for (const auto& l : lines) order += l.text;
  CHECK(order == "BADC");
  CHECK(join_lines(lines, 10) == "B A D\nC");
  CHECK(join_lines({}, 10).empty());
}

TEST_CASE("crops are upright, and tall crops are turned") {
  cv::Mat image(60, 100, CV_8UC3);
  cv::randu(image, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::Mat crop = crop_text_region(image, {cv::Point2f(10, 10), {50, 10}, {50, 20}, {10, 20}});
  REQUIRE(crop.size() == cv::Size(40, 10));
  CHECK(cv::norm(crop, image(cv::Rect(10, 10, 40, 10)), cv::NORM_INF) == 0);
  cv::Mat tall = crop_text_region(image, {cv::Point2f(10, 10), {20, 10}, {20, 40}, {10, 40}});
  CHECK(tall.size() == cv::Size(30, 10));
}

TEST_CASE("TSV and hOCR follow Tesseract's layout") {
  OcrResult r;
  r.lines.push_back(line_at("Hello World", 10, 20, 110, 20));
  r.lines[0].score = 0.75f;
  r.lines.push_back(line_at("a<b", 10, 50, 30, 10));
  r.lines[1].score = 0.5f;
  r.text = "Hello World\na<b";
  // 11 characters over 110 px: "Hello" x 10..60, "World" (after 6 characters) x 70..120.
  auto words = split_words(r.lines[0]);
  REQUIRE(words.size() == 2);
  CHECK(words[0].box == cv::Rect(10, 20, 50, 20));
  CHECK(words[1].box == cv::Rect(70, 20, 50, 20));

  std::string tsv = ocr_tsv(r, cv::Size(200, 100));
  CHECK(tsv ==
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_"
        "num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t200\t100\t-1\t\n"
        "2\t1\t1\t0\t0\t0\t10\t20\t110\t40\t-1\t\n"
        "3\t1\t1\t1\t0\t0\t10\t20\t110\t40\t-1\t\n"
        "4\t1\t1\t1\t1\t0\t10\t20\t110\t20\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t20\t50\t20\t75.000000\tHello\n"
        "5\t1\t1\t1\t1\t2\t70\t20\t50\t20\t75.000000\tWorld\n"
        "4\t1\t1\t1\t2\t0\t10\t50\t30\t10\t-1\t\n"
        "5\t1\t1\t1\t2\t1\t10\t50\t30\t10\t50.000000\ta<b\n");

  std::string hocr = ocr_hocr(r, cv::Size(200, 100), "scan&1.png");
  CHECK(hocr.find("<div class='ocr_page' id='page_1' title='image \"scan&amp;1.png\"; bbox 0 0 200 "
                  "100; ppageno 0'>") != std::string::npos);
  CHECK(hocr.find("<span class='ocr_line' id='line_1_1' title='bbox 10 20 120 40; baseline 0 0; "
                  "x_size 20'>") != std::string::npos);
  CHECK(hocr.find("<span class='ocrx_word' id='word_1_2' title='bbox 70 20 120 40; x_wconf "
                  "75'>World</span>") != std::string::npos);
  CHECK(hocr.find(">a&lt;b</span>") != std::string::npos);

  OcrResult empty;
  CHECK(ocr_tsv(empty, cv::Size(5, 5)) ==
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_"
        "num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t5\t5\t-1\t\n");
}
