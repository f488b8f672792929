#pragma once
// DB (Differentiable Binarization) text-detection post-processing: probability map
// to text quadrilaterals, as PaddleOCR's DBPostProcess does it (quad boxes, "fast"
// box score) followed by its filter_tag_det_res.
#include <opencv2/core.hpp>
#include <vector>

#include "cvtool/ocr/text_line.hpp"

namespace cvtool {

struct DbParams {
  float threshold = 0.3f;      // pixel probability that counts as text
  float box_threshold = 0.6f;  // mean probability inside a box to keep it
  float unclip_ratio = 1.5f;   // expansion: offset = area * ratio / perimeter
  int max_candidates = 1000;   // contours looked at, in findContours order
  float min_size = 3;          // shorter side of a box, in map pixels
};

struct DetectedBox {
  Quad quad;    // clockwise from top-left, integer-valued, in destination pixels
  float score;  // mean map probability inside the unexpanded box
};

// The detector input size for an image, as PaddleOCR's DetResizeForTest: scaled so
// the longer side is at most `limit_side_len` (limit_max) or the shorter side at
// least that, then each side rounded (halves to even) to a multiple of 32, >= 32.
cv::Size db_input_size(cv::Size image, int limit_side_len, bool limit_max);

// `prob` is the CV_32F map the model produced for an image resized to prob.size();
// boxes come out scaled to `dest` (the original image size).
std::vector<DetectedBox> db_boxes(const cv::Mat& prob, cv::Size dest, const DbParams& params);

// The min-area rectangle of `points` as four corners: top-left, top-right,
// bottom-right, bottom-left (PaddleOCR's get_mini_boxes order), and its shorter side.
Quad mini_box(const std::vector<cv::Point2f>& points, float* shorter_side = nullptr);

// Offsets a rectangle outwards by area * ratio / perimeter. For a rectangle the
// rounded offset polygon's min-area rectangle is the rectangle grown by the offset
// on every side, so this is exact (no polygon clipper needed).
cv::RotatedRect unclip_rect(const cv::RotatedRect& rect, float ratio);

// Mean of `prob` over the filled quad (pixels whose centres it covers).
float box_score_fast(const cv::Mat& prob, const Quad& quad);

// Corners re-ordered clockwise from the one with the smallest x+y.
Quad order_points_clockwise(const Quad& quad);

}  // namespace cvtool
