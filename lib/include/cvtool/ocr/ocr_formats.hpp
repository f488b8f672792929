#pragma once
// OCR results in the formats other tools read (Tesseract's TSV and hOCR) and drawn
// on the image.
#include <opencv2/core.hpp>
#include <string>

#include "cvtool/ocr/text_line.hpp"

namespace cvtool {

// A word of a line with its estimated axis-aligned box: words split on spaces and
// placed along the line in proportion to their character counts.
struct OcrWord {
  std::string text;
  cv::Rect box;
};
std::vector<OcrWord> split_words(const TextLine& line);

// Tesseract TSV: header, then level 1 page, 2 block, 3 paragraph, 4 line, 5 word
// rows; conf -1 on non-word rows and 0..100 on words. One block and paragraph per page.
std::string ocr_tsv(const OcrResult& result, cv::Size image_size);

// hOCR 1.2 XHTML with ocr_page, ocr_carea, ocr_par, ocr_line and ocrx_word elements.
std::string ocr_hocr(const OcrResult& result, cv::Size image_size, const std::string& image_name);

// A copy of the image with each line's polygon and its index.
cv::Mat draw_text_lines(const cv::Mat& image, const OcrResult& result);

}  // namespace cvtool
