// Image decoding through the source layer: header sniffing, truncation checks and
// decode_image on the bytes as a file (the size limit is lowered so the fuzzer does
// not spend its time on legal 100-megapixel images).
#include <cstdint>

#include "cvtool/core/error.hpp"
#include "cvtool/core/source.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)cvtool::sniff_image_size(bytes);
  (void)cvtool::find_truncation(bytes);
  std::string path = cvtool::fuzz::write_scratch(data, size, ".img");
  cvtool::DecodeLimits limits;
  limits.max_pixels = 4'000'000;
  try {
    cv::Mat image = cvtool::decode_image(path, limits);
    if (image.empty() || image.type() != CV_8UC3) __builtin_trap();  // the contract: 8-bit BGR or an Error
  } catch (const cvtool::Error&) {
  }
  return 0;
}
