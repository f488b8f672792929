#pragma once
// Classification metrics at the end of training (and per epoch on validation):
// confusion matrix, per-class precision / recall / F1, printed, as JSON and as a PNG.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cvtool {

struct ClassMetrics {
  std::int64_t tp = 0, fp = 0, fn = 0, support = 0;
  double precision = 0, recall = 0, f1 = 0;
};

// Single-label: rows are the true class, columns the predicted one.
// Multi-label: per-class tp/fp/fn counts only (cells stay empty).
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes = 0);
  void add(int truth, int predicted, std::int64_t count = 1);
  // Multi-label: one image's true and predicted sets as 0/1 per class.
  void add_multi(const std::vector<int>& truth, const std::vector<int>& predicted);

  int num_classes() const { return n_; }
  std::int64_t at(int truth, int predicted) const { return cells_[std::size_t(truth) * n_ + predicted]; }
  std::int64_t total() const { return total_; }
  std::vector<ClassMetrics> per_class() const;
  double accuracy() const;  // single-label: diagonal / total; multi-label: exact-match rate
  double macro_f1() const;

  // Raw counts, for summing across data-parallel ranks.
  std::vector<std::int64_t> counts() const;
  void set_counts(const std::vector<std::int64_t>& counts);

  nlohmann::json to_json(const std::vector<std::string>& labels) const;
  std::string to_text(const std::vector<std::string>& labels) const;
  // A colour-coded grid (rows normalised by their totals) with counts and labels.
  cv::Mat render(const std::vector<std::string>& labels) const;

 private:
  int n_ = 0;
  bool multi_ = false;
  std::vector<std::int64_t> cells_;
  std::vector<std::int64_t> tp_, fp_, fn_;  // multi-label
  std::int64_t total_ = 0, exact_ = 0;
};

}  // namespace cvtool
