#pragma once
// What a run of detect/segment/ocr/track left behind, read back for a report: the
// JSONL records (--jsonl, saved into the run folder), the artifacts written with -o,
// and a `bench --jsonl` record for per-stage timing. Plain data, no LibTorch.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct RunItem {
  std::string source;
  std::string task;                     // detect, ocr, segment, track ("" for a failure only)
  std::vector<nlohmann::json> records;  // one per image, one per processed frame of a video
  std::string error;                    // set when this input failed
  std::filesystem::path artifact;       // annotated image or video written by -o, if found
  bool video() const;
};

struct RunSummary {
  std::filesystem::path dir;
  std::vector<std::string> tasks;  // in order of first appearance
  std::vector<RunItem> items;      // inputs in the order the run saw them
  // task -> label -> count: detections (detect), distinct track ids (track), images the
  // class covers (segment), text lines (ocr).
  std::map<std::string, std::map<std::string, long long>> counts;
  std::vector<std::pair<std::string, double>> stage_ms;  // per image, from a bench record
  nlohmann::json bench;                                  // that record, or null
  std::size_t failed() const;
};

// What `counts` counts for a task ("detections", "tracks", "images", "lines").
std::string count_unit(const std::string& task);

// Reads every *.jsonl in `dir` (and the `extra` files), in name order, and finds each
// input's artifacts there. Throws Error(Input) when there is nothing to report.
RunSummary read_run(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& extra = {});

}  // namespace cvtool
