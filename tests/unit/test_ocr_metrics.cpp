// OCR text metrics: exact edit counts on hand-checked strings.
#include <catch2/catch.hpp>

#include "cvtool/ocr/ocr_metrics.hpp"

using cvtool::OcrNormalization;
using nlohmann::json;

TEST_CASE("ocr metrics: UTF-8 decodes to one code point per character", "[ocr_metrics]") {
  CHECK(cvtool::decode_utf8("abc").size() == 3);
  CHECK(cvtool::decode_utf8("\xe4\xb8\xad\xe6\x96\x87") == U"\u4e2d\u6587");  // 中文: 6 bytes
  CHECK(cvtool::decode_utf8("caf\xc3\xa9") == U"caf\u00e9");
  CHECK(cvtool::decode_utf8("\xf0\x9f\x98\x80") == U"\U0001F600");
  // A stray continuation byte, an overlong '/' and a truncated sequence are U+FFFD each.
  CHECK(cvtool::decode_utf8("a\x80" "b") == U"a\uFFFDb");
  CHECK(cvtool::decode_utf8("\xc0\xaf") == U"\uFFFD");
  CHECK(cvtool::decode_utf8("x\xe4\xb8") == U"x\uFFFD");
}

TEST_CASE("ocr metrics: whitespace collapses, case folds on request", "[ocr_metrics]") {
  CHECK(cvtool::normalize_ocr_text("  Hello \n\n\tWorld  ") == U"Hello World");
  CHECK(cvtool::normalize_ocr_text("a\u3000b") == U"a b");
  OcrNormalization fold;
  fold.ignore_case = true;
  CHECK(cvtool::normalize_ocr_text("ÉCOLE Straße", fold) == U"école straße");
  CHECK(cvtool::split_words(U"one two  three").size() == 3);
  CHECK(cvtool::split_words(U"").empty());
}

TEST_CASE("ocr metrics: Levenshtein on characters and words", "[ocr_metrics]") {
  CHECK(cvtool::levenshtein(U"kitten", U"sitting") == 3);
  CHECK(cvtool::levenshtein(U"sitting", U"kitten") == 3);
  CHECK(cvtool::levenshtein(U"", U"abc") == 3);
  CHECK(cvtool::levenshtein(U"flaw", U"lawn") == 2);
  CHECK(cvtool::levenshtein(std::vector<std::u32string>{U"a", U"b", U"c"},
                            std::vector<std::u32string>{U"a", U"c"}) == 1);
}

TEST_CASE("ocr metrics: kitten read as sitting is 3 edits over 6 characters", "[ocr_metrics]") {
  auto s = cvtool::score_ocr_text("sitting", "kitten");
  CHECK(s.char_edits == 3);
  CHECK(s.gt_chars == 6);
  CHECK(s.word_edits == 1);
  CHECK(s.gt_words == 1);
  CHECK(s.words_found == 0);
}

TEST_CASE("ocr metrics: a missing word", "[ocr_metrics]") {
  // "the quick brown fox" (19 chars, 4 words) read without "brown ": 6 deletions.
  auto s = cvtool::score_ocr_text("the quick\nfox", "the quick brown fox");
  CHECK(s.char_edits == 6);
  CHECK(s.gt_chars == 19);
  CHECK(s.word_edits == 1);
  CHECK(s.gt_words == 4);
  CHECK(s.words_found == 3);
}

TEST_CASE("ocr metrics: word recall is a multiset and ignores order", "[ocr_metrics]") {
  auto s = cvtool::score_ocr_text("to be", "to be or not to be");
  CHECK(s.words_found == 2);  // one "to", one "be": each predicted word counts once
  CHECK(s.gt_words == 6);
  auto swapped = cvtool::score_ocr_text("WORLD HELLO", "HELLO WORLD");
  CHECK(swapped.words_found == 2);
  CHECK(swapped.word_edits == 2);
}

TEST_CASE("ocr metrics: Chinese characters count one each", "[ocr_metrics]") {
  // 中文识别 (4 characters, 12 bytes) read as 中又识别: one substitution.
  auto s = cvtool::score_ocr_text("\xe4\xb8\xad\xe5\x8f\x88\xe8\xaf\x86\xe5\x88\xab",
                                  "\xe4\xb8\xad\xe6\x96\x87\xe8\xaf\x86\xe5\x88\xab");
  CHECK(s.char_edits == 1);
  CHECK(s.gt_chars == 4);
}

TEST_CASE("ocr metrics: --ignore-case", "[ocr_metrics]") {
  CHECK(cvtool::score_ocr_text("Hello", "HELLO").char_edits == 4);
  OcrNormalization fold;
  fold.ignore_case = true;
  CHECK(cvtool::score_ocr_text("Hello", "HELLO", fold).char_edits == 0);
}

TEST_CASE("ocr metrics: empty prediction has CER 1 and recall 0", "[ocr_metrics]") {
  auto r = cvtool::evaluate_ocr({json{{"source", "a.png"}, {"text", "two words"}}},
                                {json{{"source", "a.png"}, {"text", ""}, {"lines", json::array()}}});
  CHECK(r.cer == 1.0);
  CHECK(r.wer == 1.0);
  CHECK(r.word_recall == 0.0);
  CHECK(r.images.at(0).predicted);
}

TEST_CASE("ocr metrics: totals sum over images, matching by source then file name",
          "[ocr_metrics]") {
  std::vector<json> gt = {json{{"source", "data/kitten.png"}, {"text", "kitten"}},
                          json{{"source", "data/fox.png"}, {"text", "the quick brown fox"}},
                          json{{"source", "data/none.png"}, {"text", "abcd"}}};
  std::vector<json> pred = {json{{"source", "/elsewhere/kitten.png"}, {"text", "sitting"}},
                            json{{"source", "data/fox.png"}, {"text", "the quick fox"}},
                            json{{"source", "other.png"}, {"text", "x"}}};
  auto r = cvtool::evaluate_ocr(gt, pred);
  // Characters: 3 + 6 + 4 (none.png unpredicted) over 6 + 19 + 4.
  CHECK(r.total.char_edits == 13);
  CHECK(r.total.gt_chars == 29);
  CHECK(r.cer == Approx(13.0 / 29.0));
  // Words: 1 + 1 + 1 edits over 1 + 4 + 1; found 0 + 3 + 0.
  CHECK(r.wer == Approx(3.0 / 6.0));
  CHECK(r.word_recall == Approx(3.0 / 6.0));
  CHECK(r.unmatched_predictions == 1);
  CHECK_FALSE(r.images.at(2).predicted);
}

TEST_CASE("ocr metrics: an ambiguous file name does not match", "[ocr_metrics]") {
  std::vector<json> gt = {json{{"source", "a/x.png"}, {"text", "one"}},
                          json{{"source", "b/x.png"}, {"text", "two"}}};
  auto r = cvtool::evaluate_ocr(gt, {json{{"source", "c/x.png"}, {"text", "one"}}});
  CHECK(r.unmatched_predictions == 1);
  CHECK(r.cer == 1.0);
}
