#pragma once
// What OCR returns: recognised lines with their quadrilaterals, in reading order.
#include <array>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace cvtool {

// Four corners clockwise from the top-left, in source image pixels.
using Quad = std::array<cv::Point2f, 4>;

struct TextLine {
  std::string text;  // UTF-8
  float score = 0;   // mean probability of the kept characters
  Quad polygon;
};

struct OcrResult {
  std::vector<TextLine> lines;  // reading order
  std::string text;             // lines joined: a space within a row, "\n" between rows
};

// {text, score, polygon: [[x,y] x4]}
nlohmann::json to_json(const TextLine& line);

}  // namespace cvtool
