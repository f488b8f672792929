// Mapping model-resolution maps back to the source image, and class areas.
#include <catch2/catch.hpp>

#include "cvtool/core/geometry.hpp"
#include "cvtool/segment/map_back.hpp"
#include "cvtool/segment/segmentation.hpp"

using namespace cvtool;

namespace {

// A model map whose letterbox padding holds `pad` and whose valid region holds f(x, y)
// in valid-region coordinates.
template <class F>
cv::Mat planted(const ResizeMap& map, float pad, F f) {
  cv::Mat m(map.target_size, CV_32F, cv::Scalar(pad));
  cv::Rect r = valid_region(map);
  for (int y = 0; y < r.height; ++y)
    for (int x = 0; x < r.width; ++x) m.at<float>(r.y + y, r.x + x) = f(x, y);
  return m;
}

}  // namespace

TEST_CASE("valid region is exactly what apply_resize wrote, for odd sizes") {
  for (cv::Size src : {cv::Size(37, 23), cv::Size(23, 37), cv::Size(101, 67), cv::Size(1, 99), cv::Size(513, 511)}) {
    for (cv::Size target : {cv::Size(64, 64), cv::Size(96, 64), cv::Size(33, 65)}) {
      ResizeMap map = make_resize_map(src, target, ResizeMode::Letterbox);
      cv::Mat white(src, CV_8UC3, cv::Scalar::all(255));
      cv::Mat in = apply_resize(white, map, cv::Scalar::all(0));
      cv::Rect r = valid_region(map);
      INFO(src << " -> " << target << ": region " << r);
      CHECK(cv::countNonZero(in(r).reshape(1)) == r.area() * 3);        // all content
      CHECK(cv::countNonZero(in.reshape(1)) == r.area() * 3);           // nothing outside
    }
  }
}

TEST_CASE("a map at scale 1 comes back pixel for pixel, padding cut off") {
  // 31x17 in a 31x33 letterbox: no resampling, content at rows 8..24.
  ResizeMap map = make_resize_map({31, 17}, {31, 33}, ResizeMode::Letterbox);
  REQUIRE(valid_region(map) == cv::Rect(0, 8, 31, 17));
  cv::Mat model = planted(map, -1.f, [](int x, int y) { return float(y * 1000 + x); });
  cv::Mat back = map_to_source(model, map);
  REQUIRE(back.size() == cv::Size(31, 17));
  for (int y = 0; y < 17; ++y)
    for (int x = 0; x < 31; ++x) REQUIRE(back.at<float>(y, x) == float(y * 1000 + x));
}

TEST_CASE("padding never leaks into the mapped-back border (odd sizes, up and down)") {
  for (cv::Size src : {cv::Size(37, 23), cv::Size(23, 37), cv::Size(63, 39), cv::Size(1001, 333), cv::Size(7, 5)}) {
    for (auto mode : {ResizeMode::Letterbox, ResizeMode::Stretch}) {
      ResizeMap map = make_resize_map(src, {64, 48}, mode);
      cv::Mat back = map_to_source(planted(map, -100.f, [](int, int) { return 7.f; }), map);
      INFO(src << (mode == ResizeMode::Letterbox ? " letterbox" : " stretch"));
      REQUIRE(back.size() == src);
      double lo, hi;
      cv::minMaxLoc(back, &lo, &hi);
      // Bilinear weights sum to 1 only up to float rounding; a leak of -100 would be huge.
      CHECK(lo == Approx(7).margin(1e-5));
      CHECK(hi == Approx(7).margin(1e-5));
    }
  }
}

TEST_CASE("border rows and columns take the border values of the valid region") {
  // 63x39 into 21x21: scale exactly 1/3, content 21x13 at row 4.
  ResizeMap map = make_resize_map({63, 39}, {21, 21}, ResizeMode::Letterbox);
  REQUIRE(valid_region(map) == cv::Rect(0, 4, 21, 13));
  cv::Mat rows = map_to_source(planted(map, -100.f, [](int, int y) { return float(y); }), map);
  cv::Mat cols = map_to_source(planted(map, -100.f, [](int x, int) { return float(x); }), map);
  for (int x = 0; x < 63; ++x) {
    CHECK(rows.at<float>(0, x) == 0);
    CHECK(rows.at<float>(38, x) == Approx(12).margin(1e-5));
  }
  for (int y = 0; y < 39; ++y) {
    CHECK(cols.at<float>(y, 0) == 0);
    CHECK(cols.at<float>(y, 62) == Approx(20).margin(1e-5));
  }
  // Pixel centres line up: source row 3k+1 sits on model row k exactly.
  for (int k = 0; k < 13; ++k) CHECK(rows.at<float>(3 * k + 1, 5) == Approx(k).margin(1e-5));
}

TEST_CASE("a strided output (half the input grid) maps back through the input grid") {
  ResizeMap map = make_resize_map({50, 30}, {64, 64}, ResizeMode::Letterbox);  // content 64x38 at row 13
  cv::Mat half(32, 32, CV_32F, cv::Scalar(3.5f));
  cv::Mat back = map_to_source(half, map);
  REQUIRE(back.size() == cv::Size(50, 30));
  cv::Mat off = cv::abs(back - 3.5f) > 1e-5f;
  CHECK(cv::countNonZero(off) == 0);
}

TEST_CASE("class areas count pixels per class and name them") {
  cv::Mat labels(10, 10, CV_8U, cv::Scalar(0));
  labels(cv::Rect(0, 0, 5, 4)).setTo(1);
  labels.at<unsigned char>(9, 9) = 7;
  auto areas = class_areas(labels, {"background", "person"});
  REQUIRE(areas.size() == 3);
  CHECK(areas[0].label == "background");
  CHECK(areas[0].area == 79);
  CHECK(areas[1].label == "person");
  CHECK(areas[1].area == 20);
  CHECK(areas[1].fraction == Approx(0.2));
  CHECK(areas[2].label == "class_7");
  CHECK(areas[2].class_id == 7);
  CHECK(to_json(areas[1]) == nlohmann::json{{"label", "person"}, {"class_id", 1}, {"area", 20}, {"fraction", 0.2}});
}
