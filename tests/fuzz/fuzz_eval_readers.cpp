// The readers `cvtool eval` feeds untrusted files to: MOT text, JSON Lines, and COCO
// ground truth + results documents. Input: a JSON document {"gt": ..., "dt": ...} is
// evaluated as COCO; the same bytes are also read as MOT text and as JSONL.
#include <cstdint>

#include "cvtool/core/error.hpp"
#include "cvtool/detect/coco_eval.hpp"
#include "cvtool/ocr/ocr_metrics.hpp"
#include "cvtool/track/mot_format.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto rows = cvtool::parse_mot(text, "fuzz.txt");
    (void)cvtool::rows_by_frame(rows);
    for (const auto& r : rows) (void)cvtool::mot_line(r);
  } catch (const cvtool::Error&) {
  }
  std::string path = cvtool::fuzz::write_scratch(data, size, ".jsonl");
  try {
    (void)cvtool::read_jsonl(path, "fuzz");
  } catch (const cvtool::Error&) {
  }
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("gt") && doc.contains("dt")) {
    try {
      (void)cvtool::evaluate_coco_detections(doc["gt"], doc["dt"]);
    } catch (const cvtool::Error&) {
    }
  }
  return 0;
}
