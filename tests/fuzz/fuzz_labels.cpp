// Label files (detect) and OCR dictionaries: one entry per line, any bytes.
#include <cstdint>

#include "cvtool/core/error.hpp"
#include "cvtool/detect/detector.hpp"
#include "cvtool/ocr/ctc_decode.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string path = cvtool::fuzz::write_scratch(data, size, ".txt");
  try {
    (void)cvtool::read_labels(path);
  } catch (const cvtool::Error&) {
  }
  for (bool with_space : {false, true}) {
    try {
      auto charset = cvtool::read_ocr_charset(path, with_space);
      if (with_space && (charset.empty() || charset.back() != " ")) __builtin_trap();
    } catch (const cvtool::Error&) {
    }
  }
  return 0;
}
