#include "cvtool/ocr/ocr_metrics.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <unordered_map>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Simple case folding of the scripts a Latin/Greek/Cyrillic OCR model emits; CJK has no case.
char32_t fold_case(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 0x20;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;  // À..Þ except ×
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;  // Greek capitals
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;                // Cyrillic А..Я
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;                // Cyrillic Ѐ..Џ
  if (c >= 0xFF21 && c <= 0xFF3A) return c + 0x20;              // fullwidth A..Z
  return c;
}

// Single-row dynamic programme: O(len(b)) memory so a long page does not allocate n*m.
template <typename Seq>
std::size_t edit_distance(const Seq& a, const Seq& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string file_name(const std::string& path) {
  auto slash = path.find_last_of("/\\");
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string text_of(const nlohmann::json& record) {
  auto it = record.find("text");
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void add(OcrTextScore& total, const OcrTextScore& s) {
  total.char_edits += s.char_edits;
  total.gt_chars += s.gt_chars;
  total.word_edits += s.word_edits;
  total.gt_words += s.gt_words;
  total.words_found += s.words_found;
}

double rate(std::size_t num, std::size_t den) {
  return den == 0 ? -1.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

std::u32string decode_utf8(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char b = s[i];
    int extra = 0;
    char32_t cp = 0, min = 0;
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      extra = 1, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      extra = 2, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      extra = 3, cp = b & 0x07, min = 0x10000;
    } else {
      out.push_back(kReplacement);  // stray continuation or invalid lead byte
      ++i;
      continue;
    }
    std::size_t j = 1;
    for (; j <= static_cast<std::size_t>(extra) && i + j < n && (s[i + j] & 0xC0) == 0x80; ++j)
      cp = (cp << 6) | (s[i + j] & 0x3F);
    if (j <= static_cast<std::size_t>(extra)) {  // truncated sequence: skip what was read
      out.push_back(kReplacement);
      i += j;
      continue;
    }
    bool valid = cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    out.push_back(valid ? cp : kReplacement);
    i += j;
  }
  return out;
}

std::u32string normalize_ocr_text(const std::string& text, const OcrNormalization& norm) {
  std::u32string out;
  bool pending_space = false;
  for (char32_t c : decode_utf8(text)) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(norm.ignore_case ? fold_case(c) : c);
  }
  return out;
}

std::size_t levenshtein(const std::u32string& a, const std::u32string& b) {
  return edit_distance(a, b);
}

std::size_t levenshtein(const std::vector<std::u32string>& a,
                        const std::vector<std::u32string>& b) {
  return edit_distance(a, b);
}

std::vector<std::u32string> split_words(const std::u32string& normalized) {
  std::vector<std::u32string> words;
  std::u32string word;
  for (char32_t c : normalized) {
    if (is_space(c)) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

OcrTextScore score_ocr_text(const std::string& prediction, const std::string& ground_truth,
                            const OcrNormalization& norm) {
  std::u32string pred = normalize_ocr_text(prediction, norm);
  std::u32string gt = normalize_ocr_text(ground_truth, norm);
  std::vector<std::u32string> pred_words = split_words(pred), gt_words = split_words(gt);

  OcrTextScore s;
  s.char_edits = levenshtein(pred, gt);
  s.gt_chars = gt.size();
  s.word_edits = levenshtein(pred_words, gt_words);
  s.gt_words = gt_words.size();
  // Recall ignores order: a line read in another order still finds its words.
  std::map<std::u32string, std::size_t> available;
  for (const auto& w : pred_words) ++available[w];
  for (const auto& w : gt_words) {
    auto it = available.find(w);
    if (it != available.end() && it->second > 0) {
      --it->second;
      ++s.words_found;
    }
  }
  return s;
}

OcrEvalResult evaluate_ocr(const std::vector<nlohmann::json>& ground_truth,
                           const std::vector<nlohmann::json>& predictions,
                           const OcrNormalization& norm) {
  std::unordered_map<std::string, std::size_t> by_source;
  std::unordered_map<std::string, std::size_t> by_name;  // npos: name not unique
  constexpr std::size_t kAmbiguous = static_cast<std::size_t>(-1);
  for (std::size_t i = 0; i < ground_truth.size(); ++i) {
    const auto& g = ground_truth[i];
    if (!g.is_object() || !g.contains("source") || !g["source"].is_string())
      throw Error(ErrorKind::Input, "ground truth record " + std::to_string(i + 1) +
                                        ": needs a string \"source\"");
    std::string source = g["source"].get<std::string>();
    if (!by_source.emplace(source, i).second)
      throw Error(ErrorKind::Input, "ground truth lists " + source + " twice");
    auto [it, inserted] = by_name.emplace(file_name(source), i);
    if (!inserted) it->second = kAmbiguous;
  }

  // A prediction's first record for an image counts; a later duplicate is ignored.
  std::vector<const nlohmann::json*> matched(ground_truth.size(), nullptr);
  OcrEvalResult result;
  for (const auto& p : predictions) {
    if (!p.is_object() || !p.contains("source") || !p["source"].is_string()) {
      ++result.unmatched_predictions;
      continue;
    }
    std::string source = p["source"].get<std::string>();
    std::size_t index = kAmbiguous;
    if (auto it = by_source.find(source); it != by_source.end()) {
      index = it->second;
    } else if (auto jt = by_name.find(file_name(source)); jt != by_name.end()) {
      index = jt->second;
    }
    if (index == kAmbiguous) {
      ++result.unmatched_predictions;
      continue;
    }
    if (!matched[index]) matched[index] = &p;
  }

  for (std::size_t i = 0; i < ground_truth.size(); ++i) {
    OcrImageResult image;
    image.source = ground_truth[i]["source"].get<std::string>();
    image.predicted = matched[i] != nullptr;
    image.score = score_ocr_text(matched[i] ? text_of(*matched[i]) : std::string(),
                                 text_of(ground_truth[i]), norm);
    add(result.total, image.score);
    result.images.push_back(std::move(image));
  }
  result.cer = rate(result.total.char_edits, result.total.gt_chars);
  result.wer = rate(result.total.word_edits, result.total.gt_words);
  result.word_recall = rate(result.total.words_found, result.total.gt_words);
  return result;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::Usage, what + " " + path + ": cannot open");
  std::vector<nlohmann::json> records;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::Config,
                  what + " " + path + ":" + std::to_string(number) + ": malformed JSON: " + e.what());
    }
  }
  return records;
}

}  // namespace cvtool
