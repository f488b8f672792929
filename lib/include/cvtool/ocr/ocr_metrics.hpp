#pragma once
// Text recognition metrics against a transcription: character error rate (CER), word
// error rate (WER) and word recall. Texts are compared as Unicode code points (a CJK
// character is one character, not three UTF-8 bytes) after whitespace is collapsed, so
// line breaks and the reading order's joins do not count as errors. Torch-free.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct OcrNormalization {
  bool ignore_case = false;  // ASCII and Latin-1/Greek/Cyrillic simple case folding
};

// UTF-8 to code points; an invalid byte becomes U+FFFD so a broken prediction still scores.
std::u32string decode_utf8(const std::string& text);

// Runs of whitespace (spaces, tabs, newlines, U+3000 ...) become one space; the ends are trimmed.
std::u32string normalize_ocr_text(const std::string& text, const OcrNormalization& norm = {});

// Edit distance (insertions, deletions, substitutions all cost 1).
std::size_t levenshtein(const std::u32string& a, const std::u32string& b);
std::size_t levenshtein(const std::vector<std::u32string>& a, const std::vector<std::u32string>& b);

std::vector<std::u32string> split_words(const std::u32string& normalized);

// One image's counts; rates are total edits / total ground truth units over a set.
struct OcrTextScore {
  std::size_t char_edits = 0, gt_chars = 0;
  std::size_t word_edits = 0, gt_words = 0;
  std::size_t words_found = 0;  // ground truth words (as a multiset) present in the prediction
};

OcrTextScore score_ocr_text(const std::string& prediction, const std::string& ground_truth,
                            const OcrNormalization& norm = {});

struct OcrImageResult {
  std::string source;
  bool predicted = false;  // false: no prediction record, scored as an empty prediction
  OcrTextScore score;
};

struct OcrEvalResult {
  std::vector<OcrImageResult> images;
  OcrTextScore total;
  double cer = 0, wer = 0, word_recall = 0;  // -1 when there is no ground truth character/word
  std::size_t unmatched_predictions = 0;       // prediction records with no ground truth image
};

// gt records {source, text}; pred records {source, text} as `cvtool ocr --jsonl` writes them.
// Records match by source, and by file name when the paths differ (a unique name only).
OcrEvalResult evaluate_ocr(const std::vector<nlohmann::json>& ground_truth,
                           const std::vector<nlohmann::json>& predictions,
                           const OcrNormalization& norm = {});

// Reads a JSON Lines file (blank lines skipped); throws cvtool::Error on a malformed line.
std::vector<nlohmann::json> read_jsonl(const std::string& path, const std::string& what);

}  // namespace cvtool
