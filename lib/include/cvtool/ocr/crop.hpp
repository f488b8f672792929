#pragma once
// Cutting a text line out of the image for the recogniser.
#include <opencv2/core.hpp>

#include "cvtool/ocr/text_line.hpp"

namespace cvtool {

// Perspective-warps the quad to an upright rectangle (cubic, replicated border) and
// turns it 90 degrees counter-clockwise when it is at least 1.5 times taller than
// wide, since vertical crops are usually rotated horizontal lines.
cv::Mat crop_text_region(const cv::Mat& image, const Quad& quad);

}  // namespace cvtool
