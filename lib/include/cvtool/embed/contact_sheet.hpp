#pragma once
// A grid of thumbnails with captions: one picture that shows what a cluster or a
// duplicate group holds.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace cvtool {

struct ContactSheetOptions {
  int thumb = 160;  // each cell is thumb x thumb (image letterboxed in it)
  int columns = 6;
  int max_images = 48;
};

// 8-bit BGR; an empty Mat in `images` draws a grey cell (an unreadable source).
cv::Mat contact_sheet(const std::vector<cv::Mat>& images, const std::vector<std::string>& captions,
                      const ContactSheetOptions& options = {});

}  // namespace cvtool
