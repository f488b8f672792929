#pragma once
// Image classification with any TorchScript classifier: resize + normalize per the
// config, then softmax top-k (single-label) or per-class sigmoid thresholds
// (multi-label). LibTorch stays behind a pimpl.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct ClassScore {
  int class_id = 0;
  std::string label;
  float score = 0;
};

struct Classification {
  // Single-label: the top-k classes by softmax score, best first. Multi-label: every
  // class whose sigmoid score reaches its threshold, best first.
  std::vector<ClassScore> classes;
  std::vector<float> scores;  // all class scores (softmax or sigmoid), by class id
};

nlohmann::json to_json(const ClassScore& c);

class Classifier {
 public:
  // `config` is a validated "classify" config. Throws Error(Model) when the model's
  // output is not N x num_classes (checked once on a blank image).
  explicit Classifier(const nlohmann::json& config);
  ~Classifier();
  Classifier(Classifier&&) noexcept;

  std::vector<Classification> classify(const std::vector<cv::Mat>& images_bgr);
  // Ranks class scores (e.g. an ensemble's average) with this config's post settings.
  Classification rank(const std::vector<float>& scores) const;

  const std::vector<std::string>& labels() const;
  bool multi_label() const;
  int num_classes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Ranks `scores` into a Classification: top-k (multi_label false) or thresholds.
// `thresholds` has one entry per class (multi-label only).
Classification rank_scores(const std::vector<float>& scores, const std::vector<std::string>& labels, bool multi_label,
                           int top_k, const std::vector<float>& thresholds);

// Resizes for a classifier input: "stretch", "letterbox" or "center_crop" (shorter
// side to the input size, then the centre).
cv::Mat classifier_input(const cv::Mat& image_bgr, cv::Size size, const std::string& resize, double pad_value);

// The image with its labels and scores written in the top-left corner.
cv::Mat draw_classification(const cv::Mat& image_bgr, const Classification& result);

}  // namespace cvtool
