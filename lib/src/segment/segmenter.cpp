#include "cvtool/segment/segmenter.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/geometry.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/tensor.hpp"
#include "cvtool/detect/detector.hpp"
#include "cvtool/segment/map_back.hpp"
#include "family.hpp"

namespace cvtool {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// "fit": PaddleOCR's DB resize. The longer side is limited to max_side (never
// enlarged), then each side is rounded to the nearest multiple (half up), at least one
// multiple. The image is stretched to that size, so the aspect ratio moves by at most
// half a multiple per side.
cv::Size fit_size(cv::Size source, int max_side, int multiple) {
  int longer = std::max(source.width, source.height);
  double ratio = longer > max_side ? double(max_side) / longer : 1.0;
  auto round_to = [&](int side) {
    return std::max(multiple, multiple * int(std::floor(side * ratio / multiple + 0.5)));
  };
  return {round_to(source.width), round_to(source.height)};
}

std::vector<std::string> labels_from(const nlohmann::json& labels) {
  if (labels.is_null()) return {};
  if (labels.is_string()) return read_labels(labels.get<std::string>());
  return labels.get<std::vector<std::string>>();
}

}  // namespace

struct Segmenter::Impl {
  std::unique_ptr<Model> model;
  std::unique_ptr<SegmentationFamily> family;
  std::string model_path;
  Normalization norm;
  std::string resize = "letterbox";
  cv::Size input_size;  // empty: per-image size (native or fit)
  int max_side = 960, size_multiple = 32;
  cv::Scalar pad_value;
  std::vector<std::string> labels;
  std::vector<PaletteColour> palette;
  bool probability = false;
  float threshold = 0.5f;
  InstanceParams instance_params;

  bool instances() const { return family->instances(); }

  cv::Size target_for(cv::Size source) const {
    if (resize == "fit") return fit_size(source, max_side, size_multiple);
    return input_size.empty() ? source : input_size;
  }
  std::vector<Segmentation> run_group(const std::vector<cv::Mat>& images, SegmentTimings* timings);
  Segmentation finish(const torch::Tensor& maps, const ResizeMap& map) const;
  Segmentation finish_instances(const std::vector<InstanceCandidate>& candidates, const ResizeMap& map) const;
  std::string label_of(int class_id) const {
    return class_id >= 0 && class_id < int(labels.size()) ? labels[class_id] : "class_" + std::to_string(class_id);
  }
};

Segmenter::Segmenter(const nlohmann::json& config) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  const auto& m = config["model"];
  const std::string family_name = m["family"].get<std::string>();
  const auto& table = segmentation_family_table();
  auto it = table.find(family_name);
  if (it == table.end()) throw Error(ErrorKind::Config, "model.family: unknown segmentation family '" + family_name + "'");
  d.family = it->second();
  d.model_path = m["path"].get<std::string>();
  d.norm = normalization_from_config(m);
  d.resize = m["resize"].get<std::string>();
  if (!m["input_size"].is_null()) d.input_size = cv::Size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>());
  d.max_side = m["max_side"].get<int>();
  d.size_multiple = m["size_multiple"].get<int>();
  double pad = m["pad_value"].get<double>();
  d.pad_value = cv::Scalar(pad, pad, pad);
  d.labels = labels_from(m["labels"]);
  const auto& post = config["post"];
  d.threshold = post["threshold"].get<float>();
  d.instance_params.score_threshold = post["score_threshold"].get<float>();
  d.instance_params.nms_iou = post["nms_iou"].get<float>();
  d.instance_params.top_k = post["top_k"].get<int>();
  d.instance_params.max_instances = post["max_instances"].get<int>();
  d.instance_params.class_agnostic = post["class_agnostic"].get<bool>();

  ModelOptions options;
  options.device = config["runtime"]["device"].get<std::string>();
  if (!m["sha256"].is_null()) options.sha256 = m["sha256"].get<std::string>();
  d.model = std::make_unique<Model>(d.model_path, options);

  // Check the outputs once on a grey image: a model that does not fit its family fails
  // here, before any input is read. Doubles as warm-up.
  int warmup = std::max(1, config["runtime"]["warmup"].get<int>());
  cv::Size probe = d.resize == "fit" ? cv::Size(d.size_multiple * std::max(1, 320 / d.size_multiple),
                                                d.size_multiple * std::max(1, 320 / d.size_multiple))
                   : d.input_size.empty() ? cv::Size(320, 320)
                                          : d.input_size;
  torch::Tensor blank = images_to_tensor({cv::Mat(probe, CV_8UC3, cv::Scalar(114, 114, 114))}, d.norm);
  if (d.instances()) {
    // Class ids index model.labels (torchvision: COCO's 91 ids, 0 background); they
    // are checked against the head when the family can tell (yolov8_seg).
    d.instance_params.num_labels = int(d.labels.size());
    for (int i = 0; i < warmup; ++i)
      d.family->decode_instances(d.model->forward(d.family->make_inputs(blank)), 1, probe, d.instance_params,
                                 d.model_path);
    // Overlays colour instances, not classes: index i gets VOC colour i.
    d.palette = voc_palette(256);
    return;
  }
  int64_t classes = 0;
  for (int i = 0; i < warmup; ++i) {
    ScoreMaps s = d.family->decode(d.model->forward(d.family->make_inputs(blank)), 1, d.model_path);
    d.probability = s.probability;
    classes = s.maps.size(1);
  }
  const int64_t label_count = d.probability ? 2 : classes;
  if (d.labels.empty()) {
    if (d.probability) d.labels = {"background", "foreground"};
    for (int64_t c = int64_t(d.labels.size()); c < label_count; ++c) d.labels.push_back("class_" + std::to_string(c));
  } else if (int64_t(d.labels.size()) != label_count) {
    throw Error(ErrorKind::Config, "model.labels: " + std::to_string(d.labels.size()) + " names, but " + d.model_path +
                                       " gives " + std::to_string(label_count) + " classes" +
                                       (d.probability ? " (background, foreground)" : ""));
  }
  if (m["palette"].is_null()) {
    d.palette = voc_palette(int(std::max<int64_t>(label_count, 2)));
  } else {
    for (const auto& c : m["palette"])
      d.palette.push_back({c[0].get<unsigned char>(), c[1].get<unsigned char>(), c[2].get<unsigned char>()});
    if (int64_t(d.palette.size()) < label_count)
      throw Error(ErrorKind::Config, "model.palette: " + std::to_string(d.palette.size()) + " colours for " +
                                         std::to_string(label_count) + " classes");
  }
}

Segmenter::~Segmenter() = default;
Segmenter::Segmenter(Segmenter&&) noexcept = default;

const std::vector<std::string>& Segmenter::labels() const { return impl_->labels; }
const std::vector<PaletteColour>& Segmenter::palette() const { return impl_->palette; }
bool Segmenter::has_probability() const { return impl_->probability; }
bool Segmenter::has_instances() const { return impl_->instances(); }

Segmentation Segmenter::Impl::finish_instances(const std::vector<InstanceCandidate>& candidates,
                                               const ResizeMap& map) const {
  Segmentation seg;
  const cv::Size size = map.source_size;
  for (const auto& c : candidates) {
    cv::Mat soft(int(c.soft.size(0)), int(c.soft.size(1)), CV_32F, c.soft.data_ptr<float>());
    cv::Mat binary = map_to_source(soft, map) > threshold;  // 255 where true
    Instance inst;
    inst.class_id = c.class_id;
    inst.label = label_of(c.class_id);
    inst.score = c.score;
    inst.box = map.box_to_source(c.box);
    if (c.crop_to_box) {
      // Pixel x is inside when x1 <= x < x2 (Ultralytics' crop_mask on pixel indices).
      auto first_inside = [](float v, int hi) { return std::clamp(int(std::ceil(double(v))), 0, hi); };
      int x1 = first_inside(inst.box[0], size.width), x2 = first_inside(inst.box[2], size.width);
      int y1 = first_inside(inst.box[1], size.height), y2 = first_inside(inst.box[3], size.height);
      inst.roi = cv::Rect(x1, y1, std::max(0, x2 - x1), std::max(0, y2 - y1));
    } else {
      inst.roi = cv::boundingRect(binary);
    }
    if (!inst.roi.empty()) inst.mask = binary(inst.roi) / 255;
    inst.area = inst.mask.empty() ? 0 : cv::countNonZero(inst.mask);
    seg.instances.push_back(std::move(inst));
  }
  seg.labels = instance_index_map(seg.instances, size);
  seg.instance_map = true;
  return seg;
}

// `maps` is C x H x W for one image.
Segmentation Segmenter::Impl::finish(const torch::Tensor& maps, const ResizeMap& map) const {
  const int channels = int(maps.size(0)), h = int(maps.size(1)), w = int(maps.size(2));
  auto channel = [&](int c) { return cv::Mat(h, w, CV_32F, maps[c].data_ptr<float>()); };
  Segmentation seg;
  if (probability) {
    seg.probability = map_to_source(channel(0), map);
    cv::Mat above = seg.probability > threshold;  // 255 where true
    seg.labels = above / 255;
  } else {
    // Scores are resized one class at a time and folded into a running argmax (first
    // class wins a tie, as torch.argmax): memory stays at two maps whatever C is.
    cv::Mat best = map_to_source(channel(0), map);
    seg.labels = cv::Mat::zeros(best.size(), CV_8U);
    for (int c = 1; c < channels; ++c) {
      cv::Mat score = map_to_source(channel(c), map);
      for (int y = 0; y < best.rows; ++y) {
        float* b = best.ptr<float>(y);
        const float* s = score.ptr<float>(y);
        unsigned char* l = seg.labels.ptr<unsigned char>(y);
        for (int x = 0; x < best.cols; ++x) {
          if (s[x] > b[x]) {
            b[x] = s[x];
            l[x] = (unsigned char)c;
          }
        }
      }
    }
  }
  seg.classes = class_areas(seg.labels, labels);
  return seg;
}

std::vector<Segmentation> Segmenter::Impl::run_group(const std::vector<cv::Mat>& images, SegmentTimings* timings) {
  auto t0 = Clock::now();
  std::vector<cv::Mat> resized;
  std::vector<ResizeMap> maps;
  const cv::Size target = target_for(images[0].size());
  const ResizeMode mode = resize == "letterbox" ? ResizeMode::Letterbox : ResizeMode::Stretch;
  for (const auto& image : images) {
    maps.push_back(make_resize_map(image.size(), target, mode));
    resized.push_back(apply_resize(image, maps.back(), pad_value));
  }
  torch::Tensor batch = images_to_tensor(resized, norm);
  auto t1 = Clock::now();
  torch::IValue output = model->forward(family->make_inputs(batch));
  auto t2 = Clock::now();
  std::vector<Segmentation> out;
  if (instances()) {
    auto found = family->decode_instances(output, int64_t(images.size()), target, instance_params, model_path);
    for (std::size_t i = 0; i < images.size(); ++i) out.push_back(finish_instances(found[i], maps[i]));
  } else {
    ScoreMaps scores = family->decode(output, int64_t(images.size()), model_path);
    for (std::size_t i = 0; i < images.size(); ++i) out.push_back(finish(scores.maps[int64_t(i)], maps[i]));
  }
  if (timings) {
    timings->preprocess_ms += ms_between(t0, t1);
    timings->model_ms += ms_between(t1, t2);
    timings->postprocess_ms += ms_between(t2, Clock::now());
  }
  return out;
}

std::vector<Segmentation> Segmenter::segment(const std::vector<cv::Mat>& images, SegmentTimings* timings) {
  if (images.empty()) return {};
  if (!impl_->input_size.empty() && impl_->resize != "fit") return impl_->run_group(images, timings);
  // Per-image input sizes: one image per model call.
  std::vector<Segmentation> out;
  for (const auto& image : images) out.push_back(std::move(impl_->run_group({image}, timings)[0]));
  return out;
}

}  // namespace cvtool
