#include "cvtool/ocr/ctc_decode.hpp"

#include <fstream>

#include "cvtool/core/error.hpp"

namespace cvtool {

DecodedText ctc_greedy_decode(const float* probs, int steps, int classes,
                              const std::vector<std::string>& charset) {
  DecodedText out;
  double sum = 0;
  int kept = 0, previous = -1;
  for (int t = 0; t < steps; ++t) {
    const float* row = probs + std::size_t(t) * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    if (best != 0 && best != previous && best - 1 < int(charset.size())) {
      out.text += charset[best - 1];
      sum += row[best];
      ++kept;
    }
    previous = best;
  }
  out.score = kept ? float(sum / kept) : 0.f;
  return out;
}

std::vector<std::string> read_ocr_charset(const std::string& path, bool with_space) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Model, path + ": cannot open the OCR dictionary");
  std::vector<std::string> charset;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    charset.push_back(line);
  }
  if (charset.empty()) throw Error(ErrorKind::Model, path + ": the OCR dictionary is empty");
  if (with_space) charset.push_back(" ");
  return charset;
}

}  // namespace cvtool
