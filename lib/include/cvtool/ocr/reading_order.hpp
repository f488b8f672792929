#pragma once
// Reading order of detected text lines and the joined text.
#include <string>
#include <vector>

#include "cvtool/ocr/text_line.hpp"

namespace cvtool {

// Sorts top-to-bottom by the top-left corner, then, as PaddleOCR's sorted_boxes,
// swaps neighbours whose top-left y differ by less than `y_tolerance` pixels so that
// they read left-to-right.
void sort_reading_order(std::vector<TextLine>& lines, float y_tolerance = 10);

// Joins lines already in reading order: a space between consecutive lines of one row
// (top-left y within `y_tolerance`, left to right), "\n" between rows.
std::string join_lines(const std::vector<TextLine>& lines, float y_tolerance = 10);

}  // namespace cvtool
