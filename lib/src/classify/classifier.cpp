#include "cvtool/classify/classifier.hpp"

#include <algorithm>
#include <numeric>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"
#include "cvtool/core/geometry.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/tensor.hpp"
#include "cvtool/detect/annotate.hpp"
#include "cvtool/detect/detector.hpp"

namespace cvtool {

nlohmann::json to_json(const ClassScore& c) {
  return {{"label", c.label}, {"class_id", c.class_id}, {"score", c.score}};
}

struct Classifier::Impl {
  std::unique_ptr<Model> model;
  Normalization norm;
  cv::Size input_size;
  std::string resize;
  double pad_value = 0;
  std::vector<std::string> labels;
  bool multi_label = false;
  std::string activation;  // softmax, sigmoid, none
  int top_k = 5;
  std::vector<float> thresholds;
  int num_classes = 0;

  torch::Tensor scores(const std::vector<cv::Mat>& images) {
    std::vector<cv::Mat> resized;
    resized.reserve(images.size());
    for (const auto& img : images) resized.push_back(classifier_input(img, input_size, resize, pad_value));
    torch::Tensor x = images_to_tensor(resized, norm).to(model->device());
    auto outs = output_tensors(model->forward(x), model->path().string());
    torch::Tensor logits = outs.at(0);
    if (logits.dim() != 2 || logits.size(0) != x.size(0))
      throw Error(ErrorKind::Model, model->path().string() + ": expected output N x classes, got " + describe_shape(logits));
    logits = logits.to(torch::kCPU, torch::kFloat32);
    if (activation == "softmax") return torch::softmax(logits, 1);
    if (activation == "sigmoid") return torch::sigmoid(logits);
    return logits;
  }
};

Classifier::Classifier(const nlohmann::json& config) : impl_(std::make_unique<Impl>()) {
  Impl& c = *impl_;
  const auto& m = config["model"];
  const auto& post = config["post"];
  c.norm = normalization_from_config(m);
  c.input_size = cv::Size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>());
  c.resize = m["resize"].get<std::string>();
  c.pad_value = m["pad_value"].get<double>();
  if (!m["labels"].is_null()) c.labels = read_labels(m["labels"].get<std::string>());
  c.multi_label = post["multi_label"].get<bool>();
  c.activation = post["activation"].is_null() ? (c.multi_label ? "sigmoid" : "softmax") : post["activation"].get<std::string>();
  c.top_k = post["top_k"].get<int>();

  ModelOptions options;
  options.device = config["runtime"]["device"].get<std::string>();
  if (!m["sha256"].is_null()) options.sha256 = m["sha256"].get<std::string>();
  c.model = std::make_unique<Model>(m["path"].get<std::string>(), options);

  // One blank image tells the class count, and fails a model that is no classifier early.
  cv::Mat blank(c.input_size, CV_8UC3, cv::Scalar::all(0));
  c.num_classes = int(c.scores({blank}).size(1));
  if (c.labels.empty()) {
    for (int i = 0; i < c.num_classes; ++i) c.labels.push_back(std::to_string(i));
  } else if (int(c.labels.size()) != c.num_classes) {
    throw Error(ErrorKind::Model, m["path"].get<std::string>() + ": the model gives " + std::to_string(c.num_classes) +
                                      " classes but model.labels lists " + std::to_string(c.labels.size()));
  }

  c.thresholds.assign(std::size_t(c.num_classes), post["threshold"].get<float>());
  const auto& per_class = post["thresholds"];
  if (per_class.is_array()) {
    if (int(per_class.size()) != c.num_classes)
      throw Error(ErrorKind::Config, "post.thresholds: " + std::to_string(per_class.size()) + " values for " +
                                         std::to_string(c.num_classes) + " classes");
    for (int i = 0; i < c.num_classes; ++i) c.thresholds[std::size_t(i)] = per_class[std::size_t(i)].get<float>();
  } else if (per_class.is_object()) {
    for (const auto& [name, value] : per_class.items()) {
      auto pos = std::find(c.labels.begin(), c.labels.end(), name);
      if (pos == c.labels.end()) throw Error(ErrorKind::Config, "post.thresholds." + name + ": no such class in model.labels");
      if (!value.is_number()) throw Error(ErrorKind::Config, "post.thresholds." + name + ": expected number");
      c.thresholds[std::size_t(pos - c.labels.begin())] = value.get<float>();
    }
  }
}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;

std::vector<Classification> Classifier::classify(const std::vector<cv::Mat>& images_bgr) {
  std::vector<Classification> out;
  if (images_bgr.empty()) return out;
  torch::Tensor s = impl_->scores(images_bgr).contiguous();
  for (int64_t i = 0; i < s.size(0); ++i) {
    const float* p = s[i].data_ptr<float>();
    std::vector<float> scores(p, p + s.size(1));
    out.push_back(rank_scores(scores, impl_->labels, impl_->multi_label, impl_->top_k, impl_->thresholds));
  }
  return out;
}

Classification Classifier::rank(const std::vector<float>& scores) const {
  return rank_scores(scores, impl_->labels, impl_->multi_label, impl_->top_k, impl_->thresholds);
}

const std::vector<std::string>& Classifier::labels() const { return impl_->labels; }
bool Classifier::multi_label() const { return impl_->multi_label; }
int Classifier::num_classes() const { return impl_->num_classes; }

Classification rank_scores(const std::vector<float>& scores, const std::vector<std::string>& labels, bool multi_label,
                           int top_k, const std::vector<float>& thresholds) {
  Classification r;
  r.scores = scores;
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: equal scores keep class-id order, so results are reproducible.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[std::size_t(a)] > scores[std::size_t(b)]; });
  for (int id : order) {
    auto i = std::size_t(id);
    if (multi_label) {
      if (scores[i] < thresholds.at(i)) continue;
    } else if (int(r.classes.size()) >= top_k) {
      break;
    }
    r.classes.push_back({id, i < labels.size() ? labels[i] : std::to_string(id), scores[i]});
  }
  return r;
}

cv::Mat classifier_input(const cv::Mat& image, cv::Size size, const std::string& resize, double pad_value) {
  if (image.size() == size) return image;
  if (resize == "center_crop") {
    double s = std::max(double(size.width) / image.cols, double(size.height) / image.rows);
    cv::Mat scaled;
    cv::resize(image, scaled, cv::Size(std::max(size.width, int(std::lround(image.cols * s))),
                                       std::max(size.height, int(std::lround(image.rows * s)))),
               0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::Rect roi((scaled.cols - size.width) / 2, (scaled.rows - size.height) / 2, size.width, size.height);
    return scaled(roi).clone();
  }
  ResizeMap map = make_resize_map(image.size(), size, parse_resize_mode(resize));
  return apply_resize(image, map, cv::Scalar::all(pad_value));
}

cv::Mat draw_classification(const cv::Mat& image, const Classification& result) {
  cv::Mat out = image.clone();
  double scale = std::max(0.4, std::min(out.cols, out.rows) / 500.0);
  int thickness = std::max(1, int(scale * 2));
  int y = 0;
  for (const auto& c : result.classes) {
    char text[160];
    std::snprintf(text, sizeof text, "%s %.2f", c.label.c_str(), c.score);
    int base = 0;
    cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base);
    cv::rectangle(out, cv::Rect(0, y, ts.width + 8, ts.height + base + 8), class_colour(c.class_id), cv::FILLED);
    cv::putText(out, text, cv::Point(4, y + ts.height + 4), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(255, 255, 255),
                thickness, cv::LINE_AA);
    y += ts.height + base + 8;
    if (y >= out.rows) break;
  }
  return out;
}

}  // namespace cvtool
