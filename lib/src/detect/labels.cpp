#include <fstream>

#include "cvtool/core/error.hpp"
#include "cvtool/detect/detector.hpp"

namespace cvtool {

std::vector<std::string> read_labels(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::Config, path + ": cannot open labels file");
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) labels.push_back(line);
  }
  if (labels.empty()) throw Error(ErrorKind::Config, path + ": labels file is empty");
  return labels;
}

}  // namespace cvtool
