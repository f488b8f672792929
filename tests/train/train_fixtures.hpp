#pragma once
// Small synthetic image sets drawn on the fly: three visually distinct classes with
// seeded jitter, so tiny training runs converge in a few epochs.
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace cvtool::test {

inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(CVTOOL_BINARY_DIR) / "test-scratch" / "train" / name;
  std::filesystem::remove_all(dir);
  return dir;
}

// root/a_red_square, root/b_green_disc, root/c_blue_bar with `counts` images each.
inline std::filesystem::path make_shapes_dataset(const std::filesystem::path& root, const std::vector<int>& counts, int size) {
  const char* names[] = {"a_red_square", "b_green_disc", "c_blue_bar"};
  std::mt19937 rng(1234);
  for (int c = 0; c < 3; ++c) {
    std::filesystem::create_directories(root / names[c]);
    for (int i = 0; i < counts[std::size_t(c)]; ++i) {
      cv::Mat img(size, size, CV_8UC3, cv::Scalar::all(40 + int(rng() % 40)));
      int cx = size / 2 + int(rng() % 5) - 2, cy = size / 2 + int(rng() % 5) - 2, r = size / 4 + int(rng() % 3);
      if (c == 0) cv::rectangle(img, cv::Rect(cx - r, cy - r, 2 * r, 2 * r), cv::Scalar(30, 30, 220), cv::FILLED);
      if (c == 1) cv::circle(img, cv::Point(cx, cy), r, cv::Scalar(30, 200, 30), cv::FILLED);
      if (c == 2) cv::rectangle(img, cv::Rect(2, cy - 2, size - 4, 5), cv::Scalar(220, 60, 30), cv::FILLED);
      cv::imwrite((root / names[c] / (std::to_string(i) + ".png")).string(), img);
    }
  }
  return root;
}

}  // namespace cvtool::test
