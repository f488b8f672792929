#include "cvtool/ocr/reading_order.hpp"

#include <algorithm>
#include <cmath>

namespace cvtool {

void sort_reading_order(std::vector<TextLine>& lines, float y_tolerance) {
  std::stable_sort(lines.begin(), lines.end(), [](const TextLine& a, const TextLine& b) {
    const auto &p = a.polygon[0], &q = b.polygon[0];
    return p.y != q.y ? p.y < q.y : p.x < q.x;
  });
  // Insertion pass as in PaddleOCR's sorted_boxes: a box only moves left past
  // neighbours on (nearly) the same row.
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    for (std::size_t j = i + 1; j > 0; --j) {
      const auto &cur = lines[j].polygon[0], &prev = lines[j - 1].polygon[0];
      if (std::abs(cur.y - prev.y) < y_tolerance && cur.x < prev.x)
        std::swap(lines[j], lines[j - 1]);
      else
        break;
    }
  }
}

std::string join_lines(const std::vector<TextLine>& lines, float y_tolerance) {
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      const auto &cur = lines[i].polygon[0], &prev = lines[i - 1].polygon[0];
      bool same_row = std::abs(cur.y - prev.y) < y_tolerance && cur.x >= prev.x;
      text += same_row ? " " : "\n";
    }
    text += lines[i].text;
  }
  return text;
}

}  // namespace cvtool
