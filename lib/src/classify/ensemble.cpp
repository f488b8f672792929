#include "cvtool/classify/ensemble.hpp"

#include "cvtool/core/error.hpp"

namespace cvtool {

std::vector<float> average_scores(const std::vector<std::vector<float>>& per_model, const std::vector<float>& weights) {
  if (per_model.empty()) return {};
  if (!weights.empty() && weights.size() != per_model.size())
    throw Error(ErrorKind::Config, "ensemble weights: " + std::to_string(weights.size()) + " values for " +
                                       std::to_string(per_model.size()) + " models");
  const std::size_t n = per_model.front().size();
  std::vector<double> acc(n, 0.0);
  double total = 0;
  for (std::size_t t = 0; t < per_model.size(); ++t) {
    double w = weights.empty() ? 1.0 : double(weights[t]);
    if (!(w > 0)) throw Error(ErrorKind::Config, "ensemble weights: each must be > 0");
    if (per_model[t].size() != n)
      throw Error(ErrorKind::Config, "ensemble: member " + std::to_string(t + 1) + " gives " +
                                         std::to_string(per_model[t].size()) + " class scores, member 1 gives " +
                                         std::to_string(n));
    total += w;
    for (std::size_t c = 0; c < n; ++c) acc[c] += w * double(per_model[t][c]);
  }
  std::vector<float> out(n);
  for (std::size_t c = 0; c < n; ++c) out[c] = float(acc[c] / total);
  return out;
}

void check_same_labels(const std::vector<std::string>& a, const std::string& name_a, const std::vector<std::string>& b,
                       const std::string& name_b) {
  if (a == b) return;
  std::string why = a.size() != b.size() ? std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " classes" : "";
  for (std::size_t i = 0; why.empty() && i < a.size(); ++i)
    if (a[i] != b[i]) why = "class " + std::to_string(i) + " is '" + a[i] + "' vs '" + b[i] + "'";
  throw Error(ErrorKind::Config, "ensemble: " + name_a + " and " + name_b + " have different label sets (" + why + ")");
}

ClassifierEnsemble::ClassifierEnsemble(std::vector<Classifier> members, std::vector<std::string> names,
                                       std::vector<float> weights)
    : members_(std::move(members)), names_(std::move(names)), weights_(std::move(weights)) {
  if (members_.empty()) throw Error(ErrorKind::Config, "ensemble: no members");
  if (names_.size() != members_.size()) names_.resize(members_.size(), "member");
  for (std::size_t t = 1; t < members_.size(); ++t) {
    check_same_labels(members_[0].labels(), names_[0], members_[t].labels(), names_[t]);
    if (members_[t].multi_label() != members_[0].multi_label())
      throw Error(ErrorKind::Config, "ensemble: " + names_[0] + " and " + names_[t] +
                                         " differ in post.multi_label (softmax and sigmoid scores do not average)");
  }
  average_scores(std::vector<std::vector<float>>(members_.size()), weights_);  // checks the weights early
}

std::vector<Classification> ClassifierEnsemble::classify(const std::vector<cv::Mat>& images_bgr) {
  if (members_.size() == 1) return members_[0].classify(images_bgr);
  std::vector<std::vector<Classification>> each;
  for (auto& m : members_) each.push_back(m.classify(images_bgr));
  std::vector<Classification> out;
  for (std::size_t i = 0; i < images_bgr.size(); ++i) {
    std::vector<std::vector<float>> scores;
    for (const auto& e : each) scores.push_back(e[i].scores);
    out.push_back(members_[0].rank(average_scores(scores, weights_)));
  }
  return out;
}

}  // namespace cvtool
