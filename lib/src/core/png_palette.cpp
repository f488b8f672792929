#include "cvtool/core/png_palette.hpp"

#include <zlib.h>

#include <cstdint>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(char((v >> 24) & 0xff));
  out.push_back(char((v >> 16) & 0xff));
  out.push_back(char((v >> 8) & 0xff));
  out.push_back(char(v & 0xff));
}

// length, type, data, CRC over type + data.
void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, std::uint32_t(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()));
  put_u32(out, std::uint32_t(crc));
}

std::string deflate_bytes(const std::string& raw) {
  uLongf bound = compressBound(uLong(raw.size()));
  std::string out(bound, '\0');
  // Level 6 is zlib's default: label maps are long runs, so higher levels buy little.
  int rc = compress2(reinterpret_cast<Bytef*>(&out[0]), &bound, reinterpret_cast<const Bytef*>(raw.data()),
                     uLong(raw.size()), 6);
  if (rc != Z_OK) throw Error(ErrorKind::Output, "PNG: zlib compress failed (" + std::to_string(rc) + ")");
  out.resize(bound);
  return out;
}

}  // namespace

std::string encode_palette_png(const cv::Mat& indices, const std::vector<PaletteColour>& palette) {
  if (indices.empty() || indices.type() != CV_8UC1)
    throw Error(ErrorKind::Internal, "encode_palette_png: expected a non-empty 8-bit single-channel image");
  if (palette.empty() || palette.size() > 256)
    throw Error(ErrorKind::Internal, "encode_palette_png: palette needs 1..256 colours, got " +
                                         std::to_string(palette.size()));
  double max_index = 0;
  cv::minMaxLoc(indices, nullptr, &max_index);
  if (int(max_index) >= int(palette.size()))
    throw Error(ErrorKind::Internal, "encode_palette_png: index " + std::to_string(int(max_index)) +
                                         " has no palette entry (" + std::to_string(palette.size()) + " colours)");

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, std::uint32_t(indices.cols));
  put_u32(ihdr, std::uint32_t(indices.rows));
  ihdr += std::string("\x08\x03\x00\x00\x00", 5);  // depth 8, colour type 3, deflate, filter 0, no interlace
  put_chunk(png, "IHDR", ihdr);

  std::string plte;
  for (const auto& c : palette) {
    plte.push_back(char(c.r));
    plte.push_back(char(c.g));
    plte.push_back(char(c.b));
  }
  put_chunk(png, "PLTE", plte);

  // Filter type 0 (none) on every row: indices are categorical, so the predictive
  // filters do not help and deflate already collapses the runs.
  const std::size_t row_bytes = std::size_t(indices.cols);
  std::string raw;
  raw.reserve((row_bytes + 1) * std::size_t(indices.rows));
  for (int y = 0; y < indices.rows; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(indices.ptr<unsigned char>(y)), row_bytes);
  }
  put_chunk(png, "IDAT", deflate_bytes(raw));
  put_chunk(png, "IEND", std::string());
  return png;
}

std::vector<PaletteColour> voc_palette(int count) {
  std::vector<PaletteColour> palette;
  for (int i = 0; i < count; ++i) {
    int r = 0, g = 0, b = 0, c = i;
    for (int j = 0; j < 8; ++j, c >>= 3) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    palette.push_back({(unsigned char)r, (unsigned char)g, (unsigned char)b});
  }
  return palette;
}

std::vector<PaletteColour> grey_palette(int count) {
  std::vector<PaletteColour> palette;
  for (int i = 0; i < count; ++i) palette.push_back({(unsigned char)i, (unsigned char)i, (unsigned char)i});
  return palette;
}

}  // namespace cvtool
