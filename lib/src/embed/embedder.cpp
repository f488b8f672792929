#include "cvtool/embed/embedder.hpp"

#include <filesystem>
#include <sstream>
#include <torch/script.h>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"
#include "cvtool/core/geometry.hpp"
#include "cvtool/core/hash.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/tensor.hpp"
#include "face_crop.hpp"
#include "feature_output.hpp"

namespace cvtool {

namespace fs = std::filesystem;

struct Embedder::Impl {
  torch::jit::Module module;  // the whole model, or the configured submodule of it
  torch::Device device{torch::kCPU};
  std::string model_name;
  nlohmann::json output_selector;
  bool features_channels_last = false;
  PoolMode pool = PoolMode::Avg;
  bool normalize = true;
  bool flip_tta = false;
  Normalization norm;
  ResizeMode resize_mode = ResizeMode::Stretch;
  cv::Size input_size;
  cv::Scalar pad_value;
  std::unique_ptr<FaceCropper> faces;
  int dim = 0;

  torch::Tensor run(const std::vector<cv::Mat>& images);
};

namespace {

torch::jit::Module load_module(const nlohmann::json& m, const torch::Device& device) {
  const fs::path path = m["path"].get<std::string>();
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(ErrorKind::Model, path.string() + ": model file not found (run scripts/fetch-models.sh?)");
  if (!m["sha256"].is_null()) {
    std::string actual = sha256_file(path);
    if (actual != m["sha256"].get<std::string>())
      throw Error(ErrorKind::Model, path.string() + ": sha256 is " + actual + ", config expects " + m["sha256"].get<std::string>());
  }
  torch::jit::Module module;
  try {
    module = torch::jit::load(path.string(), device);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(ErrorKind::Model, path.string() + ": not a loadable TorchScript model: " + what.substr(0, 200));
  }
  module.eval();
  if (m["submodule"].is_null()) return module;
  // TorchScript keeps child modules as attributes: walk the dotted name.
  std::stringstream names(m["submodule"].get<std::string>());
  std::string name, walked;
  while (std::getline(names, name, '.')) {
    walked += (walked.empty() ? "" : ".") + name;
    if (!module.hasattr(name) || !module.attr(name).isModule()) {
      std::string children;
      for (const auto& c : module.named_children()) children += (children.empty() ? "" : ", ") + c.name;
      throw Error(ErrorKind::Model, path.string() + ": model.submodule '" + walked + "' not found; children here: " +
                                        (children.empty() ? "none" : children));
    }
    module = module.attr(name).toModule();
  }
  if (!module.find_method("forward"))
    throw Error(ErrorKind::Model, path.string() + ": submodule '" + walked + "' has no forward method");
  return module;
}

}  // namespace

Embedder::Embedder(const nlohmann::json& config) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  const auto& m = config["model"];
  const auto& post = config["post"];
  const auto& face = config["face"];
  d.model_name = m["path"].get<std::string>();
  d.device = parse_device(config["runtime"]["device"].get<std::string>());
  d.output_selector = m["output"];
  d.features_channels_last = m["feature_layout"] == "nhwc";
  d.pool = parse_pool_mode(post["pool"].get<std::string>());
  d.normalize = post["normalize"].get<bool>();
  d.flip_tta = post["flip_tta"].get<bool>();
  d.norm = normalization_from_config(m);
  d.resize_mode = parse_resize_mode(m["resize"].get<std::string>());
  d.input_size = cv::Size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>());
  const double pad = m["pad_value"].get<double>();
  d.pad_value = cv::Scalar(pad, pad, pad);
  if (face["enabled"].get<bool>()) {
    if (face["detector"].is_null()) throw Error(ErrorKind::Config, "face.detector: required when face.enabled is true");
    FaceCropOptions fo;
    fo.detector_size = face["detector_size"].get<int>();
    if (fo.detector_size % 16 != 0) throw Error(ErrorKind::Config, "face.detector_size: must be a multiple of 16");
    fo.score_threshold = face["score_threshold"].get<float>();
    fo.enlarge = face["enlarge"].get<float>();
    fo.align = face["align"].get<bool>();
    d.faces = std::make_unique<FaceCropper>(face["detector"].get<std::string>(), config["runtime"]["device"].get<std::string>(), fo);
  }
  d.module = load_module(m, d.device);

  // One blank image tells the feature length and checks the configured output: a
  // model that gives no usable features fails here, before any input is read.
  int warmup = std::max(1, config["runtime"]["warmup"].get<int>());
  cv::Mat blank(d.input_size, CV_8UC3, cv::Scalar(114, 114, 114));
  for (int i = 0; i < warmup; ++i) d.dim = int(d.run({blank}).size(1));
  if (d.faces) d.faces->find(blank);  // checks the detector's outputs
  if (d.dim <= 0) throw Error(ErrorKind::Model, d.model_name + ": the feature output is empty");
}

Embedder::~Embedder() = default;
Embedder::Embedder(Embedder&&) noexcept = default;

int Embedder::dim() const { return impl_->dim; }

// Images already cropped (faces) or whole: resize, forward, pool, flip-average, normalise.
torch::Tensor Embedder::Impl::run(const std::vector<cv::Mat>& images) {
  std::vector<cv::Mat> resized;
  for (const auto& image : images) {
    if (image.empty() || image.type() != CV_8UC3)
      throw Error(ErrorKind::Input, "embed: expected a non-empty 8-bit BGR image");
    resized.push_back(apply_resize(image, make_resize_map(image.size(), input_size, resize_mode), pad_value));
  }
  torch::Tensor batch = images_to_tensor(resized, norm).to(device);
  const int64_t n = batch.size(0);
  if (flip_tta) batch = torch::cat({batch, batch.flip({norm.layout == Layout::NHWC ? 2 : 3})}, 0);
  torch::Tensor features;
  {
    c10::InferenceMode guard;
    torch::IValue out;
    try {
      out = module.forward({batch});
    } catch (const c10::Error& e) {
      std::string what = e.what_without_backtrace();
      throw Error(ErrorKind::Model, model_name + ": forward failed: " + what.substr(0, 300));
    }
    features = pool_features(select_output(out, output_selector, model_name), features_channels_last, pool, model_name);
    if (features.size(0) != batch.size(0))
      throw Error(ErrorKind::Model, model_name + ": feature output has " + std::to_string(features.size(0)) +
                                        " rows for a batch of " + std::to_string(batch.size(0)));
    if (flip_tta) features = (features.slice(0, 0, n) + features.slice(0, n, 2 * n)) / 2;
    if (normalize) features = features / features.norm(2, 1, true).clamp_min(1e-12);
    features = features.to(torch::kCPU).contiguous().clone();
  }
  return features;
}

std::vector<std::vector<float>> Embedder::embed(const std::vector<cv::Mat>& images) {
  if (images.empty()) return {};
  Impl& d = *impl_;
  std::vector<cv::Mat> inputs;
  if (d.faces) {
    for (const auto& image : images) {
      if (image.empty()) throw Error(ErrorKind::Input, "embed: empty image");
      FaceFound face = d.faces->find(image);
      if (face.score <= 0) throw Error(ErrorKind::Input, "no face found (face.score_threshold)");
      inputs.push_back(d.faces->crop(image, face, d.input_size));
    }
  } else {
    inputs = images;
  }
  torch::Tensor features = d.run(inputs);
  std::vector<std::vector<float>> out(size_t(features.size(0)));
  const float* p = features.data_ptr<float>();
  const int64_t dim = features.size(1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i].assign(p + i * dim, p + (i + 1) * dim);
  return out;
}

}  // namespace cvtool
