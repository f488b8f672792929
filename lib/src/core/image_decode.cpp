// Decoding still images defensively: the header is checked before any pixel is
// decoded, so truncated files and decompression bombs fail with a clear reason.
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"

namespace cvtool {

namespace {

std::uint32_t be16(const std::string& b, std::size_t i) {
  return (std::uint8_t(b[i]) << 8) | std::uint8_t(b[i + 1]);
}
std::uint32_t be32(const std::string& b, std::size_t i) { return (be16(b, i) << 16) | be16(b, i + 2); }
std::uint32_t le16(const std::string& b, std::size_t i) {
  return std::uint8_t(b[i]) | (std::uint8_t(b[i + 1]) << 8);
}
std::uint32_t le24(const std::string& b, std::size_t i) { return le16(b, i) | (std::uint8_t(b[i + 2]) << 16); }
std::int32_t le32s(const std::string& b, std::size_t i) {
  return std::int32_t(le16(b, i) | (le16(b, i + 2) << 16));
}

bool starts_with(const std::string& b, const char* magic, std::size_t n) {
  return b.size() >= n && b.compare(0, n, magic, n) == 0;
}

bool is_jpeg(const std::string& b) { return b.size() >= 3 && b.compare(0, 3, "\xFF\xD8\xFF", 3) == 0; }
bool is_png(const std::string& b) { return starts_with(b, "\x89PNG\r\n\x1A\n", 8); }

bool is_sof_marker(std::uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}
bool is_standalone_marker(std::uint8_t m) { return m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7); }

// Walks JPEG segments; returns the SOF size and whether an EOI marker ends the data.
struct JpegScan {
  std::optional<cv::Size> size;
  bool complete = false;
};

JpegScan scan_jpeg(const std::string& b) {
  JpegScan scan;
  std::size_t i = 2;
  while (i + 1 < b.size()) {
    if (std::uint8_t(b[i]) != 0xFF) return scan;  // lost sync: treat as damaged
    std::uint8_t marker = std::uint8_t(b[i + 1]);
    if (marker == 0xFF) { ++i; continue; }  // fill byte
    if (marker == 0xD9) { scan.complete = true; return scan; }
    if (is_standalone_marker(marker)) { i += 2; continue; }
    if (i + 3 >= b.size()) return scan;
    std::size_t length = be16(b, i + 2);
    if (is_sof_marker(marker) && i + 8 < b.size()) {
      scan.size = cv::Size(int(be16(b, i + 7)), int(be16(b, i + 5)));
    }
    i += 2 + length;
    if (marker == 0xDA) {
      // Entropy-coded data: 0xFF is escaped as FF00, and FFD0-FFD7 are restart markers.
      while (i + 1 < b.size()) {
        if (std::uint8_t(b[i]) == 0xFF) {
          std::uint8_t next = std::uint8_t(b[i + 1]);
          if (next != 0x00 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7)) break;
        }
        ++i;
      }
    }
  }
  return scan;
}

struct PngScan {
  std::optional<cv::Size> size;
  bool complete = false;
};

PngScan scan_png(const std::string& b) {
  PngScan scan;
  if (b.size() >= 24) scan.size = cv::Size(int(be32(b, 16)), int(be32(b, 20)));
  std::size_t i = 8;
  while (i + 8 <= b.size()) {
    std::uint64_t length = be32(b, i);
    std::string type = b.substr(i + 4, 4);
    std::uint64_t next = i + 12 + length;
    if (next > b.size()) return scan;
    if (type == "IEND") { scan.complete = true; return scan; }
    i = next;
  }
  return scan;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Input, path.string() + ": cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Input, path.string() + ": read error");
  return buffer.str();
}

}  // namespace

std::optional<cv::Size> sniff_image_size(const std::string& b) {
  if (is_jpeg(b)) return scan_jpeg(b).size;
  if (is_png(b)) return scan_png(b).size;
  if (starts_with(b, "BM", 2) && b.size() >= 26) return cv::Size(std::abs(le32s(b, 18)), std::abs(le32s(b, 22)));
  if ((starts_with(b, "GIF87a", 6) || starts_with(b, "GIF89a", 6)) && b.size() >= 10)
    return cv::Size(int(le16(b, 6)), int(le16(b, 8)));
  if (starts_with(b, "RIFF", 4) && b.size() >= 30 && b.compare(8, 4, "WEBP") == 0) {
    std::string chunk = b.substr(12, 4);
    if (chunk == "VP8X") return cv::Size(int(le24(b, 24)) + 1, int(le24(b, 27)) + 1);
    if (chunk == "VP8L" && b.size() >= 25) {
      std::uint32_t bits = std::uint32_t(le16(b, 21)) | (std::uint32_t(le16(b, 23)) << 16);
      return cv::Size(int(bits & 0x3FFF) + 1, int((bits >> 14) & 0x3FFF) + 1);
    }
    if (chunk == "VP8 ") return cv::Size(int(le16(b, 26) & 0x3FFF), int(le16(b, 28) & 0x3FFF));
  }
  return std::nullopt;
}

std::string find_truncation(const std::string& b) {
  if (is_jpeg(b) && !scan_jpeg(b).complete) return "JPEG data ends before its end-of-image marker (truncated file)";
  if (is_png(b) && !scan_png(b).complete) return "PNG data ends before its IEND chunk (truncated file)";
  return "";
}

cv::Mat decode_image(const std::filesystem::path& path, const DecodeLimits& limits) {
  const std::string where = path.string() + ": ";
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorKind::Input, where + "is a directory");
  std::string bytes = read_file(path);
  if (bytes.empty()) throw Error(ErrorKind::Input, where + "empty file");
  auto size = sniff_image_size(bytes);
  if (size) {
    if (size->width <= 0 || size->height <= 0)
      throw Error(ErrorKind::Input, where + "header gives an invalid size " + std::to_string(size->width) + "x" +
                                        std::to_string(size->height));
    std::int64_t pixels = std::int64_t(size->width) * size->height;
    if (pixels > limits.max_pixels)
      throw Error(ErrorKind::Input, where + "image is " + std::to_string(size->width) + "x" +
                                        std::to_string(size->height) + " (" + std::to_string(pixels) +
                                        " pixels), over the limit of " + std::to_string(limits.max_pixels));
  }
  std::string truncation = find_truncation(bytes);
  if (!truncation.empty()) throw Error(ErrorKind::Input, where + truncation);
  cv::Mat image;
  try {
    cv::Mat raw(1, int(bytes.size()), CV_8UC1, bytes.data());
    image = cv::imdecode(raw, cv::IMREAD_COLOR);  // 8-bit BGR, EXIF orientation applied
  } catch (const cv::Exception& e) {
    throw Error(ErrorKind::Input, where + "cannot decode image: " + e.msg);
  }
  if (image.empty()) throw Error(ErrorKind::Input, where + "not a decodable image");
  if (std::int64_t(image.cols) * image.rows > limits.max_pixels)
    throw Error(ErrorKind::Input, where + "image is " + std::to_string(image.cols) + "x" + std::to_string(image.rows) +
                                      ", over the limit of " + std::to_string(limits.max_pixels) + " pixels");
  return image;
}

}  // namespace cvtool
