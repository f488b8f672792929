#include "cvtool/detect/detector.hpp"

#include <chrono>
#include <set>
#include <string>

#include <opencv2/core.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/geometry.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/tensor.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// A TorchScript error's last non-empty line ("RuntimeError: ..."), without the traceback.
std::string last_line(const std::string& text) {
  std::size_t end = text.find_last_not_of(" \n");
  if (end == std::string::npos) return text;
  std::size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

struct Detector::Impl {
  std::unique_ptr<Model> model;
  std::unique_ptr<DetectionFamily> family;
  std::string family_name;
  Normalization norm;
  ResizeMode resize_mode = ResizeMode::Letterbox;
  cv::Size input_size;  // empty: feed each image at its own size
  cv::Scalar pad_value;
  std::vector<std::string> labels;
  DecodeParams decode;
  float nms_iou = 0.45f;
  bool class_agnostic = false;
  int max_detections = 100;
  float min_box_size = 0;
  std::set<int> classes;  // empty: all
  bool flip_horizontal = false;  // pre.flip_horizontal: test-time mirror

  std::vector<std::vector<Detection>> run_group(const std::vector<cv::Mat>& images, DetectTimings* timings);
  void finish(std::vector<Detection>& dets, const ResizeMap& map) const;
};

Detector::Detector(const nlohmann::json& config) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  const auto& m = config["model"];
  const auto& post = config["post"];
  d.family_name = m["family"].get<std::string>();
  auto& table = detection_family_table();
  auto it = table.find(d.family_name);
  if (it == table.end()) throw Error(ErrorKind::Config, "model.family: unknown detection family '" + d.family_name + "'");
  d.family = it->second();
  d.norm = normalization_from_config(m);
  d.resize_mode = parse_resize_mode(m["resize"].get<std::string>());
  if (!m["input_size"].is_null()) d.input_size = cv::Size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>());
  double pad = m["pad_value"].get<double>();
  d.pad_value = cv::Scalar(pad, pad, pad);
  if (!m["labels"].is_null()) d.labels = read_labels(m["labels"].get<std::string>());
  d.decode.score_threshold = post["score_threshold"].get<float>();
  d.decode.top_k = post["top_k"].get<int>();
  d.decode.num_labels = int(d.labels.size());
  d.nms_iou = post["nms_iou"].get<float>();
  d.class_agnostic = post["class_agnostic"].get<bool>();
  d.max_detections = post["max_detections"].get<int>();
  d.min_box_size = post["min_box_size"].get<float>();
  if (config.contains("pre")) d.flip_horizontal = config["pre"]["flip_horizontal"].get<bool>();
  for (const auto& c : post["classes"]) {
    if (c.is_number_integer()) {
      d.classes.insert(c.get<int>());
      continue;
    }
    std::string name = c.get<std::string>();
    auto pos = std::find(d.labels.begin(), d.labels.end(), name);
    if (pos == d.labels.end()) throw Error(ErrorKind::Config, "post.classes: no class named '" + name + "' in model.labels");
    d.classes.insert(int(pos - d.labels.begin()));
  }

  ModelOptions options;
  options.device = config["runtime"]["device"].get<std::string>();
  if (!m["sha256"].is_null()) options.sha256 = m["sha256"].get<std::string>();
  d.model = std::make_unique<Model>(m["path"].get<std::string>(), options);

  // Check the outputs once on a blank image: a model that does not fit its family
  // fails here, before any input is read. Doubles as warm-up.
  int warmup = std::max(1, config["runtime"]["warmup"].get<int>());
  cv::Size probe = d.input_size.empty() ? cv::Size(320, 320) : d.input_size;
  torch::Tensor blank = images_to_tensor({cv::Mat(probe, CV_8UC3, cv::Scalar(114, 114, 114))}, d.norm);
  for (int i = 0; i < warmup; ++i) {
    torch::IValue out;
    try {
      out = d.model->forward(d.family->make_inputs(blank.to(d.model->device())));
    } catch (const Error&) {
      throw;  // Model::forward's own: a call that does not fit the model's signature
    } catch (const std::exception& e) {
      // The interpreter's runtime error inside the graph: mostly a graph traced for one
      // input size (the zoo's CenterNet: 512x512 only).
      throw Error(ErrorKind::Config, m["path"].get<std::string>() + ": the model does not run on a " +
                                         std::to_string(probe.width) + "x" + std::to_string(probe.height) +
                                         " input (model.input_size, --imgsz): " + last_line(e.what()));
    }
    if (i == 0) d.family->check_output(out, 1, probe, d.decode, m["path"].get<std::string>());
  }
}

Detector::~Detector() = default;
Detector::Detector(Detector&&) noexcept = default;

const std::vector<std::string>& Detector::labels() const { return impl_->labels; }

void Detector::Impl::finish(std::vector<Detection>& dets, const ResizeMap& map) const {
  std::vector<Detection> kept;
  for (auto& det : dets) {
    if (!classes.empty() && !classes.count(det.class_id)) continue;
    det.box = map.box_to_source(det.box);
    if (det.box[2] - det.box[0] < std::max(min_box_size, 1e-3f) || det.box[3] - det.box[1] < std::max(min_box_size, 1e-3f))
      continue;
    det.label = det.class_id >= 0 && det.class_id < int(labels.size()) ? labels[det.class_id]
                                                                        : "class_" + std::to_string(det.class_id);
    kept.push_back(det);
  }
  std::vector<Detection> out;
  for (std::size_t i : nms(kept, nms_iou, !class_agnostic)) {
    if (int(out.size()) >= max_detections) break;
    out.push_back(kept[i]);
  }
  dets = std::move(out);
}

std::vector<std::vector<Detection>> Detector::Impl::run_group(const std::vector<cv::Mat>& images,
                                                              DetectTimings* timings) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<cv::Mat> resized;
  std::vector<ResizeMap> maps;
  cv::Size target = input_size.empty() ? images[0].size() : input_size;
  for (const auto& image : images) {
    maps.push_back(make_resize_map(image.size(), target, resize_mode));
    if (flip_horizontal) {
      cv::Mat mirrored;
      cv::flip(image, mirrored, 1);
      resized.push_back(apply_resize(mirrored, maps.back(), pad_value));
    } else {
      resized.push_back(apply_resize(image, maps.back(), pad_value));
    }
  }
  torch::Tensor batch = images_to_tensor(resized, norm);
  auto t1 = std::chrono::steady_clock::now();
  torch::IValue out = model->forward(family->make_inputs(batch.to(model->device())));
  auto t2 = std::chrono::steady_clock::now();
  auto dets = family->decode(out, int64_t(images.size()), target, decode);
  for (std::size_t i = 0; i < dets.size(); ++i) {
    finish(dets[i], maps[i]);
    // Pixel column c of the mirror is column W-1-c of the image: continuous x maps to W-x.
    if (flip_horizontal)
      for (auto& det : dets[i]) {
        float w = float(images[i].cols), x1 = det.box[0];
        det.box[0] = w - det.box[2];
        det.box[2] = w - x1;
      }
  }
  if (timings) {
    timings->preprocess_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    timings->model_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    timings->postprocess_ms += elapsed_ms(t2);
  }
  return dets;
}

std::vector<std::vector<Detection>> Detector::detect(const std::vector<cv::Mat>& images, DetectTimings* timings) {
  if (images.empty()) return {};
  if (!impl_->input_size.empty()) return impl_->run_group(images, timings);
  // Native-size models take one image at a time: sizes differ.
  std::vector<std::vector<Detection>> out;
  for (const auto& image : images) out.push_back(impl_->run_group({image}, timings)[0]);
  return out;
}

}  // namespace cvtool
