#include "family.hpp"

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/segment/segmenter.hpp"

namespace cvtool {

const std::map<std::string, SegmentationFamilyFactory>& segmentation_family_table() {
  // "selfie" is the probability family under the name users look for.
  static const std::map<std::string, SegmentationFamilyFactory> table = {
      {"selfie", &make_probability_family},
      {"probability", &make_probability_family},
      {"logits", &make_logits_family},
      {"torchvision_segmentation", &make_torchvision_segmentation_family},
      {"torchvision_maskrcnn", &make_torchvision_maskrcnn_family},
      {"yolov8_seg", &make_yolov8_seg_family},
  };
  return table;
}

std::vector<std::string> segmentation_families() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : segmentation_family_table()) names.push_back(name);
  return names;
}

ScoreMaps SegmentationFamily::decode(const torch::IValue&, int64_t, const std::string&) {
  throw Error(ErrorKind::Internal, "an instance segmentation family has no per-pixel class scores");
}

std::vector<std::vector<InstanceCandidate>> SegmentationFamily::decode_instances(const torch::IValue&, int64_t, cv::Size,
                                                                                const InstanceParams&,
                                                                                const std::string&) {
  throw Error(ErrorKind::Internal, "a semantic segmentation family has no instances");
}

ScoreMaps scores_from_logits(const torch::Tensor& t, int64_t batch, const std::string& family, const std::string& model) {
  if (t.dim() != 4 || t.size(0) != batch || t.size(1) < 1 || t.size(1) > 256)
    throw Error(ErrorKind::Model, model + ": family " + family + " expects N x C x H x W scores with N=" +
                                      std::to_string(batch) + " and 1 <= C <= 256, found " + describe_shape(t));
  ScoreMaps s;
  torch::Tensor f = t.to(torch::kCPU, torch::kFloat32);
  if (t.size(1) == 1) {
    s.maps = torch::sigmoid(f).contiguous();
    s.probability = true;
  } else {
    s.maps = f.contiguous();
  }
  return s;
}

}  // namespace cvtool
