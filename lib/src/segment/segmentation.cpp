#include "cvtool/segment/segmentation.hpp"

#include <array>
#include <cmath>

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

cv::Mat Instance::full_mask(cv::Size image_size) const {
  cv::Mat out = cv::Mat::zeros(image_size, CV_8U);
  if (!mask.empty()) mask.copyTo(out(roi));
  return out;
}

nlohmann::json to_json(const Instance& i) {
  auto round2 = [](float v) { return std::round(double(v) * 100.0) / 100.0; };
  return {{"label", i.label},
          {"class_id", i.class_id},
          {"score", std::round(double(i.score) * 10000.0) / 10000.0},
          {"box", {round2(i.box[0]), round2(i.box[1]), round2(i.box[2]), round2(i.box[3])}},
          {"area", i.area}};
}

cv::Mat instance_index_map(const std::vector<Instance>& instances, cv::Size image_size) {
  if (instances.size() > 255) throw Error(ErrorKind::Internal, "instance_index_map: more than 255 instances");
  cv::Mat map = cv::Mat::zeros(image_size, CV_8U);
  for (std::size_t k = instances.size(); k-- > 0;) {
    const Instance& inst = instances[k];
    if (inst.mask.empty()) continue;
    map(inst.roi).setTo(cv::Scalar(double(k + 1)), inst.mask);
  }
  return map;
}

}  // namespace cvtool
