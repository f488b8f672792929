#include "family.hpp"

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"

namespace cvtool {

const std::map<std::string, FamilyFactory>& detection_family_table() {
  static const std::map<std::string, FamilyFactory> table = {
      {"centernet", &make_centernet_family},
      {"yolov8", &make_yolov8_family},
      {"yolov5", &make_yolov5_family},
      {"torchvision_detection", &make_torchvision_detection_family},
  };
  return table;
}

std::vector<std::string> detection_families() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : detection_family_table()) names.push_back(name);
  return names;
}

torch::Tensor single_output(const torch::IValue& output, const std::string& family, const std::string& model) {
  auto tensors = output_tensors(output, model);
  if (tensors.size() != 1)
    throw Error(ErrorKind::Model, model + ": family " + family + " expects one output tensor, found " +
                                      std::to_string(tensors.size()));
  return tensors[0];
}

}  // namespace cvtool
