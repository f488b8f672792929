// Line plots (robustness and training curves): a dot lands on the pixel its data
// coordinates map to, in its series' colour; resumed runs plot each epoch once.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "cvtool/core/error.hpp"
#include "cvtool/core/line_plot.hpp"
#include "cvtool/train/curves.hpp"

namespace fs = std::filesystem;
using namespace cvtool;

namespace {

// The plot area is the image less 70 px left, 220 right, 50 top, 60 bottom.
cv::Point to_pixel(cv::Size size, double x, double y, const PlotAxes& a) {
  const int w = size.width - 70 - 220, h = size.height - 50 - 60;
  return {70 + int(std::lround(w * (x - a.x_min) / (a.x_max - a.x_min))),
          50 + h - int(std::lround(h * (y - a.y_min) / (a.y_max - a.y_min)))};
}

const cv::Vec3b kFirst(180, 119, 31), kSecond(14, 127, 255);  // series colours, BGR

}  // namespace

TEST_CASE("line plot: each dot at its data coordinates in its series' colour") {
  PlotAxes axes;
  axes.x_max = 4;
  axes.y_max = 2;
  const cv::Size size(960, 560);
  cv::Mat img = draw_line_plot({{"a", {{1, 0.5}, {3, 1.5}}}, {"b", {{2, 1.0}}}}, axes, size);
  REQUIRE(img.size() == size);
  CHECK(img.at<cv::Vec3b>(to_pixel(size, 1, 0.5, axes)) == kFirst);
  CHECK(img.at<cv::Vec3b>(to_pixel(size, 3, 1.5, axes)) == kFirst);
  // b's dot sits on a's line and is drawn after it.
  CHECK(img.at<cv::Vec3b>(to_pixel(size, 2, 1.0, axes)) == kSecond);
  CHECK(img.at<cv::Vec3b>(to_pixel(size, 2, 0.25, axes)) == cv::Vec3b(255, 255, 255));  // nothing drawn there
  // Values above the axis are clamped to its top edge.
  cv::Mat clamped = draw_line_plot({{"a", {{2, 5.0}}}}, axes, size);
  CHECK(clamped.at<cv::Vec3b>(to_pixel(size, 2, 2.0, axes)) == kFirst);
}

TEST_CASE("training curves: loss and accuracy per epoch, the last record of a resumed epoch wins") {
  fs::path dir = fs::path(CVTOOL_BINARY_DIR) / "test-scratch" / "curves";
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "metrics.jsonl");
    out << R"({"epoch":1,"train_loss":2.0,"val_loss":1.0,"train_accuracy":0.5,"val_accuracy":0.25})" << "\n"
        << R"({"epoch":2,"train_loss":9.9,"val_loss":9.9,"train_accuracy":0.0,"val_accuracy":0.0})" << "\n"
        << R"({"epoch":2,"train_loss":1.0,"val_loss":0.5,"train_accuracy":0.75,"val_accuracy":1.0})" << "\n";
  }
  cv::Mat img = render_training_curves(dir / "metrics.jsonl");
  REQUIRE(img.size() == cv::Size(1440, 480));
  const cv::Size half(720, 480);
  PlotAxes loss;  // x 0..2 (epochs), y 0..2.1 (top loss 2.0 plus 5%)
  loss.x_max = 2;
  loss.y_max = 2.1;
  CHECK(img.at<cv::Vec3b>(to_pixel(half, 1, 2.0, loss)) == kFirst);   // train loss, epoch 1
  CHECK(img.at<cv::Vec3b>(to_pixel(half, 2, 0.5, loss)) == kSecond);  // val loss, epoch 2 (not 9.9)
  PlotAxes acc;
  acc.x_max = 2;
  cv::Mat right = img(cv::Rect(720, 0, 720, 480));
  CHECK(right.at<cv::Vec3b>(to_pixel(half, 2, 0.75, acc)) == kFirst);  // train accuracy, epoch 2
  CHECK(right.at<cv::Vec3b>(to_pixel(half, 1, 0.25, acc)) == kSecond);

  { std::ofstream(dir / "bad.jsonl") << "{\"loss\": 1}\n"; }
  CHECK_THROWS_WITH(render_training_curves(dir / "bad.jsonl"), (dir / "bad.jsonl").string() + ":1: not an epoch record");
}
