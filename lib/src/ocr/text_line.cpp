#include "cvtool/ocr/text_line.hpp"

#include <cmath>

namespace cvtool {

nlohmann::json to_json(const TextLine& line) {
  nlohmann::json polygon = nlohmann::json::array();
  for (const auto& p : line.polygon) polygon.push_back({std::lround(p.x), std::lround(p.y)});
  return {{"text", line.text},
          {"score", std::round(line.score * 10000.0) / 10000.0},
          {"polygon", polygon}};
}

}  // namespace cvtool
