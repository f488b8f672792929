#include "cvtool/train/metrics.hpp"

#include <algorithm>
#include <cstdio>

#include <opencv2/imgproc.hpp>

#include "cvtool/core/error.hpp"

namespace cvtool {

ConfusionMatrix::ConfusionMatrix(int n)
    : n_(n), cells_(std::size_t(n) * n, 0), tp_(std::size_t(n), 0), fp_(std::size_t(n), 0), fn_(std::size_t(n), 0) {}

void ConfusionMatrix::add(int truth, int predicted, std::int64_t count) {
  if (truth < 0 || truth >= n_ || predicted < 0 || predicted >= n_) throw Error(ErrorKind::Internal, "confusion: class out of range");
  cells_[std::size_t(truth) * n_ + predicted] += count;
  total_ += count;
  if (truth == predicted) exact_ += count;
}

void ConfusionMatrix::add_multi(const std::vector<int>& truth, const std::vector<int>& predicted) {
  multi_ = true;
  bool exact = true;
  for (int c = 0; c < n_; ++c) {
    bool t = truth[std::size_t(c)] != 0, p = predicted[std::size_t(c)] != 0;
    tp_[std::size_t(c)] += t && p;
    fp_[std::size_t(c)] += !t && p;
    fn_[std::size_t(c)] += t && !p;
    exact = exact && t == p;
  }
  ++total_;
  exact_ += exact;
}

std::vector<ClassMetrics> ConfusionMatrix::per_class() const {
  std::vector<ClassMetrics> out(static_cast<std::size_t>(n_));
  for (int c = 0; c < n_; ++c) {
    ClassMetrics& m = out[std::size_t(c)];
    if (multi_) {
      m.tp = tp_[std::size_t(c)];
      m.fp = fp_[std::size_t(c)];
      m.fn = fn_[std::size_t(c)];
    } else {
      m.tp = at(c, c);
      for (int k = 0; k < n_; ++k) {
        if (k == c) continue;
        m.fp += at(k, c);
        m.fn += at(c, k);
      }
    }
    m.support = m.tp + m.fn;
    m.precision = m.tp + m.fp ? double(m.tp) / double(m.tp + m.fp) : 0.0;
    m.recall = m.support ? double(m.tp) / double(m.support) : 0.0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  }
  return out;
}

double ConfusionMatrix::accuracy() const { return total_ ? double(exact_) / double(total_) : 0.0; }

double ConfusionMatrix::macro_f1() const {
  auto pc = per_class();
  double s = 0;
  int k = 0;
  for (const auto& m : pc)
    if (m.support > 0) {
      s += m.f1;
      ++k;
    }
  return k ? s / k : 0.0;
}

std::vector<std::int64_t> ConfusionMatrix::counts() const {
  std::vector<std::int64_t> v = cells_;
  v.insert(v.end(), tp_.begin(), tp_.end());
  v.insert(v.end(), fp_.begin(), fp_.end());
  v.insert(v.end(), fn_.begin(), fn_.end());
  v.push_back(total_);
  v.push_back(exact_);
  v.push_back(multi_);
  return v;
}

void ConfusionMatrix::set_counts(const std::vector<std::int64_t>& v) {
  std::size_t nn = std::size_t(n_) * n_, n = std::size_t(n_);
  if (v.size() != nn + 3 * n + 3) throw Error(ErrorKind::Internal, "confusion: counts of the wrong size");
  std::copy(v.begin(), v.begin() + long(nn), cells_.begin());
  std::copy(v.begin() + long(nn), v.begin() + long(nn + n), tp_.begin());
  std::copy(v.begin() + long(nn + n), v.begin() + long(nn + 2 * n), fp_.begin());
  std::copy(v.begin() + long(nn + 2 * n), v.begin() + long(nn + 3 * n), fn_.begin());
  total_ = v[nn + 3 * n];
  exact_ = v[nn + 3 * n + 1];
  multi_ = v[nn + 3 * n + 2] != 0;
}

nlohmann::json ConfusionMatrix::to_json(const std::vector<std::string>& labels) const {
  nlohmann::json j;
  j["accuracy"] = accuracy();
  j["macro_f1"] = macro_f1();
  j["total"] = total_;
  j["labels"] = labels;
  auto pc = per_class();
  nlohmann::json per = nlohmann::json::array();
  for (int c = 0; c < n_; ++c) {
    const auto& m = pc[std::size_t(c)];
    per.push_back({{"label", labels[std::size_t(c)]}, {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1},
                   {"support", m.support}, {"tp", m.tp}, {"fp", m.fp}, {"fn", m.fn}});
  }
  j["per_class"] = per;
  if (!multi_) {
    nlohmann::json rows = nlohmann::json::array();
    for (int t = 0; t < n_; ++t) {
      nlohmann::json row = nlohmann::json::array();
      for (int p = 0; p < n_; ++p) row.push_back(at(t, p));
      rows.push_back(row);
    }
    j["confusion"] = rows;  // rows: true class, columns: predicted
  }
  return j;
}

std::string ConfusionMatrix::to_text(const std::vector<std::string>& labels) const {
  std::size_t w = 5;
  for (const auto& l : labels) w = std::max(w, l.size());
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %8s\n", int(w), "class", "precision", "recall", "f1", "support");
  out += buf;
  auto pc = per_class();
  for (int c = 0; c < n_; ++c) {
    const auto& m = pc[std::size_t(c)];
    std::snprintf(buf, sizeof buf, "%-*s %9.3f %9.3f %9.3f %8lld\n", int(w), labels[std::size_t(c)].c_str(), m.precision,
                  m.recall, m.f1, (long long)m.support);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "accuracy %.4f, macro F1 %.4f over %lld images\n", accuracy(), macro_f1(), (long long)total_);
  out += buf;
  if (multi_ || n_ > 30) return out;
  out += "confusion (rows: true, columns: predicted)\n";
  std::snprintf(buf, sizeof buf, "%*s", int(w), "");
  out += buf;
  for (int p = 0; p < n_; ++p) {
    std::snprintf(buf, sizeof buf, " %6.6s", labels[std::size_t(p)].c_str());
    out += buf;
  }
  out += "\n";
  for (int t = 0; t < n_; ++t) {
    std::snprintf(buf, sizeof buf, "%-*s", int(w), labels[std::size_t(t)].c_str());
    out += buf;
    for (int p = 0; p < n_; ++p) {
      std::snprintf(buf, sizeof buf, " %6lld", (long long)at(t, p));
      out += buf;
    }
    out += "\n";
  }
  return out;
}

cv::Mat ConfusionMatrix::render(const std::vector<std::string>& labels) const {
  const int cell = n_ <= 12 ? 48 : n_ <= 30 ? 28 : 12, margin = 110;
  cv::Mat img(margin + cell * n_ + 10, margin + cell * n_ + 10, CV_8UC3, cv::Scalar(255, 255, 255));
  if (multi_) {
    cv::putText(img, "multi-label: see metrics.json", cv::Point(10, 30), cv::FONT_HERSHEY_SIMPLEX, 0.5, cv::Scalar(0, 0, 0));
    return img;
  }
  for (int t = 0; t < n_; ++t) {
    std::int64_t row = 0;
    for (int p = 0; p < n_; ++p) row += at(t, p);
    for (int p = 0; p < n_; ++p) {
      double f = row ? double(at(t, p)) / double(row) : 0.0;
      // White to blue by row share; diagonal cells in the same scale.
      cv::Scalar colour(255, 255 - 200 * f, 255 - 230 * f);
      cv::Rect r(margin + p * cell, margin + t * cell, cell, cell);
      cv::rectangle(img, r, colour, cv::FILLED);
      cv::rectangle(img, r, cv::Scalar(200, 200, 200), 1);
      if (cell >= 28) {
        std::string s = std::to_string(at(t, p));
        cv::putText(img, s, cv::Point(r.x + 3, r.y + cell / 2 + 4), cv::FONT_HERSHEY_SIMPLEX, cell >= 48 ? 0.45 : 0.3,
                    f > 0.5 ? cv::Scalar(255, 255, 255) : cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
      }
    }
    cv::putText(img, labels[std::size_t(t)].substr(0, 12), cv::Point(4, margin + t * cell + cell / 2 + 4),
                cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  }
  for (int p = 0; p < n_; ++p) {
    // Column labels written vertically: draw on a strip, rotate it.
    cv::Mat strip(cell, margin - 10, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(strip, labels[std::size_t(p)].substr(0, 12), cv::Point(2, cell / 2 + 4), cv::FONT_HERSHEY_SIMPLEX, 0.4,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    rotated.copyTo(img(cv::Rect(margin + p * cell, 5, cell, margin - 10)));
  }
  cv::putText(img, "true \\ predicted", cv::Point(4, 20), cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  return img;
}

}  // namespace cvtool
