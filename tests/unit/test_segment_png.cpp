// The palette PNG writer: a real indexed PNG (colour type 3 with PLTE) that decoders
// read back as the indices (unchanged) or as the palette colours (colour).
#include <catch2/catch.hpp>
#include <cstdint>
#include <opencv2/imgcodecs.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/png_palette.hpp"

using namespace cvtool;

namespace {

// Bitwise CRC-32 (PNG's, ISO 3309), written out so the test does not trust zlib.
std::uint32_t crc32_of(const char* data, std::size_t n) {
  std::uint32_t crc = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= (unsigned char)data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return std::uint32_t((unsigned char)s[at]) << 24 | std::uint32_t((unsigned char)s[at + 1]) << 16 |
         std::uint32_t((unsigned char)s[at + 2]) << 8 | std::uint32_t((unsigned char)s[at + 3]);
}

cv::Mat decode(const std::string& png, int flags) {
  return cv::imdecode(std::vector<unsigned char>(png.begin(), png.end()), flags);
}

}  // namespace

TEST_CASE("palette PNG: chunks, header fields and CRCs") {
  cv::Mat idx(5, 7, CV_8U, cv::Scalar(0));
  idx.at<unsigned char>(2, 3) = 2;
  std::string png = encode_palette_png(idx, {{0, 0, 0}, {255, 0, 0}, {10, 20, 30}});
  REQUIRE(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  std::vector<std::string> types;
  std::size_t at = 8;
  while (at + 12 <= png.size()) {
    std::uint32_t len = be32(png, at);
    std::string type = png.substr(at + 4, 4);
    types.push_back(type);
    CHECK(be32(png, at + 8 + len) == crc32_of(png.data() + at + 4, len + 4));
    if (type == "IHDR") {
      CHECK(be32(png, at + 8) == 7);
      CHECK(be32(png, at + 12) == 5);
      CHECK(int(png[at + 16]) == 8);  // bit depth
      CHECK(int(png[at + 17]) == 3);  // indexed colour
    }
    if (type == "PLTE") CHECK(len == 9);
    at += 12 + len;
  }
  CHECK(at == png.size());
  CHECK(types == std::vector<std::string>{"IHDR", "PLTE", "IDAT", "IEND"});
}

TEST_CASE("palette PNG reads back as indices and as palette colours") {
  cv::Mat idx(67, 101, CV_8U);
  for (int y = 0; y < idx.rows; ++y)
    for (int x = 0; x < idx.cols; ++x) idx.at<unsigned char>(y, x) = (unsigned char)((x / 10 + y / 7) % 21);
  auto palette = voc_palette(21);
  std::string png = encode_palette_png(idx, palette);
  // OpenCV expands the palette even with IMREAD_UNCHANGED.
  cv::Mat colour = decode(png, cv::IMREAD_UNCHANGED);
  REQUIRE(colour.type() == CV_8UC3);
  for (int y = 0; y < idx.rows; y += 5)
    for (int x = 0; x < idx.cols; x += 3) {
      const auto& c = palette[idx.at<unsigned char>(y, x)];
      CHECK(colour.at<cv::Vec3b>(y, x) == cv::Vec3b(c.b, c.g, c.r));
    }
}

TEST_CASE("with the grey palette every decoder sees the indices") {
  cv::Mat idx(33, 17, CV_8U);
  cv::randu(idx, 0, 256);
  std::string png = encode_palette_png(idx, grey_palette());
  cv::Mat grey = decode(png, cv::IMREAD_GRAYSCALE);
  REQUIRE(grey.type() == CV_8UC1);
  CHECK(cv::countNonZero(grey != idx) == 0);
  cv::Mat unchanged = decode(png, cv::IMREAD_UNCHANGED);
  cv::Mat ch[3];
  cv::split(unchanged, ch);
  for (const auto& c : ch) CHECK(cv::countNonZero(c != idx) == 0);
}

TEST_CASE("VOC palette starts black, dark red, dark green, dark yellow") {
  auto p = voc_palette(5);
  CHECK(p[0] == PaletteColour{0, 0, 0});
  CHECK(p[1] == PaletteColour{128, 0, 0});
  CHECK(p[2] == PaletteColour{0, 128, 0});
  CHECK(p[3] == PaletteColour{128, 128, 0});
  CHECK(p[4] == PaletteColour{0, 0, 128});
  CHECK(voc_palette().size() == 256);
}

TEST_CASE("palette PNG refuses indices without a colour") {
  cv::Mat idx(2, 2, CV_8U, cv::Scalar(3));
  CHECK_THROWS_AS(encode_palette_png(idx, {{0, 0, 0}, {1, 1, 1}}), Error);
  CHECK_THROWS_AS(encode_palette_png(cv::Mat(2, 2, CV_8UC3), {{0, 0, 0}}), Error);
}
