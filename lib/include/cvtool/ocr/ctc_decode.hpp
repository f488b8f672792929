#pragma once
// Greedy CTC decoding of a recogniser's per-timestep class probabilities.
#include <string>
#include <vector>

namespace cvtool {

struct DecodedText {
  std::string text;
  float score = 0;  // mean max-probability of the kept characters; 0 when none
};

// `probs` is T x C row-major (softmax output). Class 0 is the CTC blank; class i
// (i >= 1) is charset[i - 1]. Takes the argmax per step, collapses repeats and
// drops blanks.
DecodedText ctc_greedy_decode(const float* probs, int steps, int classes,
                              const std::vector<std::string>& charset);

// Reads a PaddleOCR dictionary (one character per line) and appends " " when
// `with_space` (PaddleOCR's use_space_char). Throws Error(Model) when unreadable/empty.
std::vector<std::string> read_ocr_charset(const std::string& path, bool with_space);

}  // namespace cvtool
