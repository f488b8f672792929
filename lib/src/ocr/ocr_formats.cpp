#include "cvtool/ocr/ocr_formats.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace cvtool {

namespace {

std::size_t utf8_length(const std::string& s) {
  return std::size_t(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

cv::Rect bounds(const Quad& q) {
  float x0 = q[0].x, x1 = q[0].x, y0 = q[0].y, y1 = q[0].y;
  for (const auto& p : q)
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  return cv::Rect(cv::Point(int(std::lround(x0)), int(std::lround(y0))),
                  cv::Point(int(std::lround(x1)), int(std::lround(y1))));
}

// Tab and newline would break TSV rows; the recogniser never emits them, a config's
// dictionary might.
std::string tsv_field(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return s;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string bbox_title(const cv::Rect& r) {
  return "bbox " + std::to_string(r.x) + " " + std::to_string(r.y) + " " +
         std::to_string(r.x + r.width) + " " + std::to_string(r.y + r.height);
}

std::string tsv_row(int level, int block, int par, int line, int word, const cv::Rect& r,
                    const std::string& conf, const std::string& text) {
  return std::to_string(level) + "\t1\t" + std::to_string(block) + "\t" + std::to_string(par) +
         "\t" + std::to_string(line) + "\t" + std::to_string(word) + "\t" + std::to_string(r.x) +
         "\t" + std::to_string(r.y) + "\t" + std::to_string(r.width) + "\t" +
         std::to_string(r.height) + "\t" + conf + "\t" + text + "\n";
}

std::string conf_text(float score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", std::clamp(score, 0.f, 1.f) * 100.0);
  return buf;
}

cv::Rect union_of_lines(const OcrResult& result) {
  cv::Rect all;
  for (std::size_t i = 0; i < result.lines.size(); ++i)
    all = i ? (all | bounds(result.lines[i].polygon)) : bounds(result.lines[i].polygon);
  return all;
}

}  // namespace

std::vector<OcrWord> split_words(const TextLine& line) {
  std::vector<OcrWord> words;
  const cv::Rect box = bounds(line.polygon);
  const std::size_t total = utf8_length(line.text);
  if (total == 0) return words;
  std::size_t chars_before = 0, start = 0;
  while (start <= line.text.size()) {
    std::size_t end = line.text.find(' ', start);
    if (end == std::string::npos) end = line.text.size();
    std::string word = line.text.substr(start, end - start);
    std::size_t n = utf8_length(word);
    if (n > 0) {
      int x0 = box.x + int(std::lround(box.width * double(chars_before) / total));
      int x1 = box.x + int(std::lround(box.width * double(chars_before + n) / total));
      words.push_back({word, cv::Rect(x0, box.y, std::max(1, x1 - x0), box.height)});
    }
    chars_before += n + 1;  // the space
    start = end + 1;
  }
  return words;
}

std::string ocr_tsv(const OcrResult& result, cv::Size image_size) {
  std::string out =
      "level\tpage_num\tblock_num\tpar_num\tline_num\tword_"
      "num\tleft\ttop\twidth\theight\tconf\ttext\n";
  out += tsv_row(1, 0, 0, 0, 0, cv::Rect(0, 0, image_size.width, image_size.height), "-1", "");
  if (result.lines.empty()) return out;
  cv::Rect all = union_of_lines(result);
  out += tsv_row(2, 1, 0, 0, 0, all, "-1", "");
  out += tsv_row(3, 1, 1, 0, 0, all, "-1", "");
  for (std::size_t i = 0; i < result.lines.size(); ++i) {
    const TextLine& line = result.lines[i];
    int line_num = int(i) + 1;
    out += tsv_row(4, 1, 1, line_num, 0, bounds(line.polygon), "-1", "");
    auto words = split_words(line);
    for (std::size_t w = 0; w < words.size(); ++w)
      out += tsv_row(5, 1, 1, line_num, int(w) + 1, words[w].box, conf_text(line.score),
                     tsv_field(words[w].text));
  }
  return out;
}

std::string ocr_hocr(const OcrResult& result, cv::Size image_size, const std::string& image_name) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
      "    \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
      "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
      " <head>\n"
      "  <title>" +
      xml_escape(image_name) +
      "</title>\n"
      "  <meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
      "  <meta name=\"ocr-system\" content=\"cvtool (PP-OCR)\"/>\n"
      "  <meta name=\"ocr-capabilities\" content=\"ocr_page ocr_carea ocr_par ocr_line "
      "ocrx_word\"/>\n"
      " </head>\n"
      " <body>\n";
  // hOCR titles quote the image name with double quotes inside a single-quoted attribute.
  out += "  <div class='ocr_page' id='page_1' title='image \"" + xml_escape(image_name) + "\"; " +
         bbox_title(cv::Rect(0, 0, image_size.width, image_size.height)) + "; ppageno 0'>\n";
  if (!result.lines.empty()) {
    cv::Rect all = union_of_lines(result);
    out += "   <div class='ocr_carea' id='block_1_1' title='" + bbox_title(all) + "'>\n";
    out += "    <p class='ocr_par' id='par_1_1' title='" + bbox_title(all) + "'>\n";
    int word_id = 0;
    for (std::size_t i = 0; i < result.lines.size(); ++i) {
      const TextLine& line = result.lines[i];
      cv::Rect b = bounds(line.polygon);
      out += "     <span class='ocr_line' id='line_1_" + std::to_string(i + 1) + "' title='" +
             bbox_title(b) + "; baseline 0 0; x_size " + std::to_string(b.height) + "'>";
      auto words = split_words(line);
      for (std::size_t w = 0; w < words.size(); ++w) {
        out += w ? " " : "";
        out += "<span class='ocrx_word' id='word_1_" + std::to_string(++word_id) + "' title='" +
               bbox_title(words[w].box) + "; x_wconf " +
               std::to_string(int(std::lround(std::clamp(line.score, 0.f, 1.f) * 100))) + "'>" +
               xml_escape(words[w].text) + "</span>";
      }
      out += "</span>\n";
    }
    out += "    </p>\n   </div>\n";
  }
  out += "  </div>\n </body>\n</html>\n";
  return out;
}

cv::Mat draw_text_lines(const cv::Mat& image, const OcrResult& result) {
  cv::Mat out = image.clone();
  int side = std::max(image.cols, image.rows);
  int thickness = std::max(1, int(std::lround(side / 500.0)));
  double font_scale = std::max(0.4, side / 1600.0);
  for (std::size_t i = 0; i < result.lines.size(); ++i) {
    std::vector<cv::Point> pts;
    for (const auto& p : result.lines[i].polygon)
      pts.emplace_back(int(std::lround(p.x)), int(std::lround(p.y)));
    cv::polylines(out, std::vector<std::vector<cv::Point>>{pts}, true, cv::Scalar(0, 200, 0),
                  thickness, cv::LINE_AA);
    // Hershey fonts have no CJK glyphs: the line number links the drawing to the text output.
    cv::putText(out, std::to_string(i + 1), pts[0] + cv::Point(0, -3), cv::FONT_HERSHEY_SIMPLEX,
                font_scale, cv::Scalar(0, 0, 255), thickness, cv::LINE_AA);
  }
  return out;
}

}  // namespace cvtool
