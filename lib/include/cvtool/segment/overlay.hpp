#pragma once
// Images made from a segmentation: colour overlays and alpha cut-outs.
#include <vector>

#include <opencv2/core.hpp>

#include "cvtool/core/png_palette.hpp"
#include "cvtool/segment/segmentation.hpp"

namespace cvtool {

// A copy of `image` (BGR) with every pixel of class > 0 blended with its palette
// colour at `opacity`; class 0 is background and stays as it was.
cv::Mat draw_overlay(const cv::Mat& image, const cv::Mat& labels, const std::vector<PaletteColour>& palette,
                     double opacity = 0.5);

// BGRA cut-out: the image with the soft mask (CV_32F, 0..1) as alpha, or, for a
// label map without a soft mask, alpha 255 on every class > 0. `feather` (pixels,
// Gaussian sigma) softens the edge of the alpha; 0 keeps it as the model gave it.
cv::Mat alpha_cutout(const cv::Mat& image, const Segmentation& seg, double feather = 0);

}  // namespace cvtool
