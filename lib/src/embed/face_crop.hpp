#pragma once
// BlazeFace (as converted from @vladmandic/human) finds the most confident face; the
// crop around it is levelled on the eyes and resized for the face embedding model.
// Internal to embed/.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace cvtool {

class Model;

struct FaceCropOptions {
  int detector_size = 256;      // BlazeFace's square input
  float score_threshold = 0.5f;
  float enlarge = 1.4f;         // crop side / detected box's longer side
  bool align = true;            // rotate so that the eyes are level
};

struct FaceFound {
  float score = 0;
  std::array<float, 4> box{};               // x1,y1,x2,y2 in source pixels
  std::array<cv::Point2f, 6> landmarks{};   // eyes, nose, mouth, ears (source pixels)
};

// The BlazeFace anchors for a square input of `size`: 2 per cell on a size/16 grid,
// then 6 per cell on a size/8 grid, as (x, y) centres in input pixels.
std::vector<cv::Point2f> blazeface_anchors(int size);

class FaceCropper {
 public:
  FaceCropper(const std::string& detector_path, const std::string& device, const FaceCropOptions& options);
  ~FaceCropper();

  // The most confident face, or score 0 when none reaches the threshold.
  FaceFound find(const cv::Mat& image_bgr);

  // The `out_size` crop around `face` (rotated when options.align), 8-bit BGR.
  cv::Mat crop(const cv::Mat& image_bgr, const FaceFound& face, cv::Size out_size) const;

 private:
  std::unique_ptr<Model> model_;
  FaceCropOptions options_;
  std::vector<cv::Point2f> anchors_;
};

}  // namespace cvtool
