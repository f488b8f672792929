// Scripted torchvision detectors (Faster R-CNN, RetinaNet, SSD, FCOS): forward takes a
// list of 3xHxW RGB images in 0..1 and returns a list of dicts {boxes, labels, scores}
// (or, when scripted, a tuple (losses, detections)). The model resizes internally and
// returns boxes in the pixels of the image it was given.
//
// Those models call torchvision's own operators (torchvision::nms, roi_align), which
// live in torchvision's C++ library, not in LibTorch: it is loaded on first use.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

bool torchvision_ops_registered() {
  return c10::Dispatcher::singleton().findSchema({"torchvision::nms", ""}).has_value();
}

// $CVTOOL_TORCHVISION_OPS, else a C++ install of torchvision (libtorchvision.so), else
// the operator library of Python's torchvision (loaded by torch.ops.load_library
// there; it needs no Python).
std::vector<std::string> torchvision_ops_candidates() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("CVTOOL_TORCHVISION_OPS")) paths.push_back(env);
  paths.push_back("libtorchvision.so");
  for (const char* dir : {"/usr/lib/python3/dist-packages/torchvision", "/usr/local/lib/python3/dist-packages/torchvision"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("_C.", 0) == 0 && entry.path().extension() == ".so") paths.push_back(entry.path().string());
    }
  }
  return paths;
}

void ensure_torchvision_ops() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (torchvision_ops_registered()) return;
    for (const auto& path : torchvision_ops_candidates())
      if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) && torchvision_ops_registered()) return;
  });
  if (!torchvision_ops_registered())
    throw Error(ErrorKind::Model,
                "family torchvision_detection needs torchvision's operators (torchvision::nms): install "
                "python3-torchvision or set CVTOOL_TORCHVISION_OPS to torchvision's _C.so / libtorchvision.so");
}

c10::List<torch::IValue> detections_list(const torch::IValue& output, const std::string& model) {
  torch::IValue list = output;
  if (output.isTuple()) {
    auto& elements = output.toTupleRef().elements();
    if (elements.size() != 2)
      throw Error(ErrorKind::Model, model + ": family torchvision_detection expects (losses, detections), found a tuple of " +
                                        std::to_string(elements.size()));
    list = elements[1];
  }
  if (!list.isList())
    throw Error(ErrorKind::Model, model + ": family torchvision_detection expects a list of dicts, found " + list.tagKind());
  return list.toList();
}

torch::Tensor dict_tensor(const torch::IValue& entry, const char* key, const std::string& model) {
  if (!entry.isGenericDict())
    throw Error(ErrorKind::Model, model + ": family torchvision_detection expects dicts, found " + entry.tagKind());
  auto dict = entry.toGenericDict();
  if (!dict.contains(key))
    throw Error(ErrorKind::Model, model + ": family torchvision_detection: result dict has no '" + key + "'");
  return dict.at(key).toTensor().to(torch::kCPU);
}

class TorchvisionDetection : public DetectionFamily {
 public:
  TorchvisionDetection() { ensure_torchvision_ops(); }

  std::vector<torch::IValue> make_inputs(const torch::Tensor& batch) override {
    c10::List<torch::Tensor> images;
    for (const auto& image : batch.unbind(0)) images.push_back(image);
    return {images};
  }

  void check_output(const torch::IValue& output, int64_t batch, cv::Size, const DecodeParams&,
                    const std::string& model) override {
    auto list = detections_list(output, model);
    if (int64_t(list.size()) != batch)
      throw Error(ErrorKind::Model, model + ": family torchvision_detection: " + std::to_string(list.size()) +
                                        " results for " + std::to_string(batch) + " images");
    for (std::size_t i = 0; i < list.size(); ++i) {
      torch::Tensor boxes = dict_tensor(list.get(i), "boxes", model);
      if (boxes.dim() != 2 || boxes.size(1) != 4)
        throw Error(ErrorKind::Model, model + ": family torchvision_detection expects boxes Kx4, found " + describe_shape(boxes));
      dict_tensor(list.get(i), "labels", model);
      dict_tensor(list.get(i), "scores", model);
    }
  }

  std::vector<std::vector<Detection>> decode(const torch::IValue& output, int64_t batch, cv::Size,
                                             const DecodeParams& params) override {
    auto list = detections_list(output, "torchvision_detection");
    std::vector<std::vector<Detection>> out(batch);
    for (int64_t n = 0; n < batch; ++n) {
      torch::Tensor boxes = dict_tensor(list.get(n), "boxes", "").to(torch::kFloat32).contiguous();
      torch::Tensor labels = dict_tensor(list.get(n), "labels", "").to(torch::kInt64).contiguous();
      torch::Tensor scores = dict_tensor(list.get(n), "scores", "").to(torch::kFloat32).contiguous();
      auto b = boxes.accessor<float, 2>();
      auto l = labels.accessor<int64_t, 1>();
      auto s = scores.accessor<float, 1>();
      for (int64_t i = 0; i < boxes.size(0); ++i) {
        if (s[i] < params.score_threshold) continue;
        Detection d;
        d.class_id = int(l[i]);
        d.score = s[i];
        d.box = {b[i][0], b[i][1], b[i][2], b[i][3]};
        out[n].push_back(d);
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<DetectionFamily> make_torchvision_detection_family() {
  return std::make_unique<TorchvisionDetection>();
}

}  // namespace cvtool
