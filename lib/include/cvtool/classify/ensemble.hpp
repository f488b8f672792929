#pragma once
// Classifier ensembles: the members' class scores (softmax or sigmoid) averaged,
// optionally weighted, then ranked with the first member's post settings (top-k or
// thresholds). Members must share one label set. No LibTorch here.
#include <string>
#include <vector>

#include "cvtool/classify/classifier.hpp"

namespace cvtool {

// Weighted mean per class: sum_t w_t * p_t[c] / sum_t w_t. `weights` empty: all 1.
// Throws Error(Config) when the vectors differ in length, weights do not match the
// number of models, or a weight is not > 0.
std::vector<float> average_scores(const std::vector<std::vector<float>>& per_model, const std::vector<float>& weights);

// Throws Error(Config) naming both members when their label lists differ.
void check_same_labels(const std::vector<std::string>& a, const std::string& name_a, const std::vector<std::string>& b,
                       const std::string& name_b);

class ClassifierEnsemble {
 public:
  // `names` (e.g. config paths) label the members in errors; one per member.
  ClassifierEnsemble(std::vector<Classifier> members, std::vector<std::string> names, std::vector<float> weights = {});

  std::vector<Classification> classify(const std::vector<cv::Mat>& images_bgr);
  const std::vector<std::string>& labels() const { return members_.front().labels(); }
  std::size_t size() const { return members_.size(); }

 private:
  std::vector<Classifier> members_;
  std::vector<std::string> names_;
  std::vector<float> weights_;
};

}  // namespace cvtool
