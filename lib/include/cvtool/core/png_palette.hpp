#pragma once
// Indexed-colour (palette) PNG encoding. OpenCV only writes grey or RGB PNGs; label
// maps are smaller and directly viewable as 8-bit indexed PNGs with a PLTE chunk,
// and every reader that ignores the palette still sees the class indices.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace cvtool {

struct PaletteColour {
  unsigned char r = 0, g = 0, b = 0;
  bool operator==(const PaletteColour& o) const { return r == o.r && g == o.g && b == o.b; }
};

// Encodes a CV_8UC1 image of palette indices as a PNG (colour type 3, bit depth 8)
// with `palette` as its PLTE chunk. The palette must have 1..256 entries and cover
// every index in the image (PNG forbids out-of-range indices): Error(Internal)
// otherwise. The bytes are a complete file, ready for write_file_atomic.
std::string encode_palette_png(const cv::Mat& indices, const std::vector<PaletteColour>& palette);

// The PASCAL VOC colour map (class 0 black, 1 dark red, 2 dark green, ...): distinct,
// familiar colours for up to 256 classes.
std::vector<PaletteColour> voc_palette(int count = 256);

// Index i -> grey (i, i, i). Decoders that expand palettes (OpenCV's imread does, even
// with IMREAD_UNCHANGED) then still give the index as the pixel value.
std::vector<PaletteColour> grey_palette(int count = 256);

}  // namespace cvtool
