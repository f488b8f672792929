#pragma once
// COCO run-length encoded masks, as pycocotools stores them: runs over the pixels in
// column-major order (down each column, then the next column), alternating
// background and foreground, starting with background. No LibTorch.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct CocoRle {
  int height = 0, width = 0;
  std::vector<std::uint32_t> counts;
};

// `mask`: CV_8UC1, any non-zero pixel is foreground.
CocoRle rle_encode(const cv::Mat& mask);
// CV_8UC1, 1 on foreground.
cv::Mat rle_decode(const CocoRle& rle);

// pycocotools' compressed counts string (rleToString: 5 bits per character plus a
// continuation bit, ASCII 48..111, counts after the second stored as differences).
std::string rle_to_string(const CocoRle& rle);
// Throws Error(Config) when `counts` is not a valid compressed string for h x w.
CocoRle rle_from_string(const std::string& counts, int height, int width);

// A polygon list [[x1, y1, x2, y2, ...], ...] rasterised as pycocotools' rleFrPoly
// does (5x supersampled boundary, pixel centres), the polygons merged by union.
CocoRle rle_from_polygons(const std::vector<std::vector<double>>& polygons, int height, int width);

std::uint64_t rle_area(const CocoRle& rle);
// Foreground pixels both masks share; both must have the same size.
std::uint64_t rle_intersection(const CocoRle& a, const CocoRle& b);

// {"size": [h, w], "counts": "<compressed string>"}: a COCO results `segmentation`.
nlohmann::json rle_to_json(const CocoRle& rle);
// A COCO `segmentation`: compressed RLE, uncompressed RLE (counts a list) or
// polygons, on an image of height x width. Throws Error(Config) naming `at`.
CocoRle rle_from_json(const nlohmann::json& segmentation, int height, int width, const std::string& at);

}  // namespace cvtool
