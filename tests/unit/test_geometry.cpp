#include <catch2/catch.hpp>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/geometry.hpp"

using namespace cvtool;

TEST_CASE("letterbox of a wide image scales to the width and centres vertically") {
  ResizeMap m = make_resize_map({1000, 500}, {512, 512}, ResizeMode::Letterbox);
  CHECK(m.scale_x == Approx(0.512));
  CHECK(m.scale_y == Approx(0.512));
  CHECK(m.offset_x == 0);
  CHECK(m.offset_y == 128);
  auto p = m.to_target({1000, 500});
  CHECK(p.x == Approx(512));
  CHECK(p.y == Approx(384));
}

TEST_CASE("letterbox box mapping round-trips to the pixel") {
  for (cv::Size src : {cv::Size(640, 480), cv::Size(333, 777), cv::Size(1920, 1080), cv::Size(17, 3)}) {
    ResizeMap m = make_resize_map(src, {512, 384}, ResizeMode::Letterbox);
    std::array<float, 4> box = {float(src.width) * 0.1f, float(src.height) * 0.2f, float(src.width) * 0.7f,
                                float(src.height) * 0.9f};
    auto a = m.to_target({box[0], box[1]});
    auto b = m.to_target({box[2], box[3]});
    auto back = m.box_to_source({float(a.x), float(a.y), float(b.x), float(b.y)});
    for (int i = 0; i < 4; ++i) CHECK(back[i] == Approx(box[i]).margin(1e-3));
  }
}

TEST_CASE("box mapping clips to the source image") {
  ResizeMap m = make_resize_map({100, 50}, {200, 200}, ResizeMode::Letterbox);  // content y 50..150
  auto box = m.box_to_source({-10, 20, 250, 180});
  CHECK(box == std::array<float, 4>{0, 0, 100, 50});
}

TEST_CASE("stretch scales each axis on its own") {
  ResizeMap m = make_resize_map({100, 50}, {200, 200}, ResizeMode::Stretch);
  CHECK(m.scale_x == 2);
  CHECK(m.scale_y == 4);
  CHECK(m.box_to_source({20, 40, 100, 200}) == std::array<float, 4>{10, 10, 50, 50});
}

TEST_CASE("apply_resize puts the content where the map says and pads the rest") {
  cv::Mat img(50, 100, CV_8UC3, cv::Scalar(10, 20, 30));
  ResizeMap m = make_resize_map(img.size(), {200, 200}, ResizeMode::Letterbox);
  cv::Mat out = apply_resize(img, m, cv::Scalar(114, 114, 114));
  REQUIRE(out.size() == cv::Size(200, 200));
  CHECK(out.at<cv::Vec3b>(49, 100) == cv::Vec3b(114, 114, 114));   // last pad row above
  CHECK(out.at<cv::Vec3b>(50, 100) == cv::Vec3b(10, 20, 30));      // first content row
  CHECK(out.at<cv::Vec3b>(149, 199) == cv::Vec3b(10, 20, 30));     // last content row, right edge
  CHECK(out.at<cv::Vec3b>(150, 0) == cv::Vec3b(114, 114, 114));    // first pad row below
}
