#include "cvtool/segment/segmentation.hpp"

#include <array>

#include "cvtool/core/error.hpp"

namespace cvtool {

std::vector<ClassArea> class_areas(const cv::Mat& labels, const std::vector<std::string>& names) {
  if (labels.type() != CV_8UC1) throw Error(ErrorKind::Internal, "class_areas: expected a CV_8UC1 label map");
  std::array<std::int64_t, 256> counts{};
  for (int y = 0; y < labels.rows; ++y) {
    const unsigned char* row = labels.ptr<unsigned char>(y);
    for (int x = 0; x < labels.cols; ++x) ++counts[row[x]];
  }
  const double total = double(labels.total());
  std::vector<ClassArea> out;
  for (int c = 0; c < 256; ++c) {
    if (!counts[c]) continue;
    ClassArea a;
    a.class_id = c;
    a.label = c < int(names.size()) ? names[c] : "class_" + std::to_string(c);
    a.area = counts[c];
    a.fraction = total > 0 ? double(counts[c]) / total : 0;
    out.push_back(a);
  }
  return out;
}

nlohmann::json to_json(const ClassArea& a) {
  return {{"label", a.label}, {"class_id", a.class_id}, {"area", a.area}, {"fraction", a.fraction}};
}

}  // namespace cvtool
