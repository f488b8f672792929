#include "cvtool/detect/box_fusion.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "cvtool/core/error.hpp"

namespace cvtool {

FusionConfType parse_fusion_conf_type(const std::string& name) {
  if (name == "avg") return FusionConfType::Avg;
  if (name == "max") return FusionConfType::Max;
  if (name == "box_and_model_avg") return FusionConfType::BoxAndModelAvg;
  if (name == "absent_model_aware_avg") return FusionConfType::AbsentModelAwareAvg;
  throw Error(ErrorKind::Config, "ensemble.conf_type: unknown '" + name +
                                     "' (avg, max, box_and_model_avg, absent_model_aware_avg)");
}

std::string fusion_conf_type_name(FusionConfType type) {
  switch (type) {
    case FusionConfType::Avg: return "avg";
    case FusionConfType::Max: return "max";
    case FusionConfType::BoxAndModelAvg: return "box_and_model_avg";
    case FusionConfType::AbsentModelAwareAvg: return "absent_model_aware_avg";
  }
  return "avg";
}

namespace {

struct Member {
  const Detection* det;
  double score;  // score * model weight
  std::size_t model;
};

struct Cluster {
  std::vector<Member> members;
  Detection fused;  // box = score-weighted mean; score set at the end
};

// Accumulates in double: the fusion of identical boxes then gives back the very same
// float coordinates (s*x is exact in double, so sum/sum rounds to x).
void refit(Cluster& c) {
  double sum = 0, acc[4] = {0, 0, 0, 0};
  for (const auto& m : c.members) {
    sum += m.score;
    for (int k = 0; k < 4; ++k) acc[k] += m.score * double(m.det->box[std::size_t(k)]);
  }
  if (sum <= 0) {  // all scores 0 (skip threshold 0): plain mean
    sum = double(c.members.size());
    for (int k = 0; k < 4; ++k) {
      acc[k] = 0;
      for (const auto& m : c.members) acc[k] += double(m.det->box[std::size_t(k)]);
    }
  }
  for (int k = 0; k < 4; ++k) c.fused.box[std::size_t(k)] = float(acc[k] / sum);
}

double fused_score(const Cluster& c, const std::vector<double>& w, FusionConfType type) {
  double total_w = 0, max_w = 0;
  for (double x : w) total_w += x, max_w = std::max(max_w, x);
  double sum = 0, best = 0, box_w = 0;
  std::set<std::size_t> models;
  for (const auto& m : c.members) {
    sum += m.score;
    best = std::max(best, m.score);
    box_w += w[m.model];
    models.insert(m.model);
  }
  const double n = double(c.members.size());
  switch (type) {
    case FusionConfType::Avg: return sum / n * std::min(n, double(w.size())) / total_w;
    case FusionConfType::Max: return best / max_w;
    case FusionConfType::BoxAndModelAvg: {
      double model_w = 0;
      for (std::size_t t : models) model_w += w[t];
      return sum / box_w * model_w / total_w;
    }
    case FusionConfType::AbsentModelAwareAvg: {
      double absent_w = 0;
      for (std::size_t t = 0; t < w.size(); ++t)
        if (!models.count(t)) absent_w += w[t];
      return sum / (box_w + absent_w);
    }
  }
  return 0;
}

}  // namespace

std::vector<Detection> weighted_box_fusion(const std::vector<std::vector<Detection>>& per_model,
                                           const BoxFusionParams& params) {
  std::vector<double> w(per_model.size(), 1.0);
  if (!params.weights.empty()) {
    if (params.weights.size() != per_model.size())
      throw Error(ErrorKind::Config, "ensemble weights: " + std::to_string(params.weights.size()) + " values for " +
                                         std::to_string(per_model.size()) + " models");
    for (std::size_t t = 0; t < w.size(); ++t) {
      if (!(params.weights[t] > 0)) throw Error(ErrorKind::Config, "ensemble weights: each must be > 0");
      w[t] = params.weights[t];
    }
  }
  // Per class, in class-id order; within a class, boxes by weighted score (stable:
  // ties keep model order, then each model's own order).
  std::map<int, std::vector<Member>> by_class;
  for (std::size_t t = 0; t < per_model.size(); ++t)
    for (const auto& d : per_model[t])
      if (d.score >= params.skip_box_threshold) by_class[d.class_id].push_back({&d, double(d.score) * w[t], t});

  std::vector<Detection> out;
  for (auto& [cls, members] : by_class) {
    std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.score > b.score; });
    std::vector<Cluster> clusters;
    for (const auto& m : members) {
      // The cluster whose current fused box overlaps most, if above the threshold.
      std::size_t best = clusters.size();
      float best_iou = params.iou_threshold;
      for (std::size_t k = 0; k < clusters.size(); ++k) {
        float iou = box_iou(clusters[k].fused.box, m.det->box);
        if (iou > best_iou) best_iou = iou, best = k;
      }
      if (best == clusters.size()) {
        clusters.push_back({{}, *m.det});
      }
      clusters[best].members.push_back(m);
      refit(clusters[best]);
    }
    for (auto& c : clusters) {
      c.fused.score = float(fused_score(c, w, params.conf_type));
      out.push_back(std::move(c.fused));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
  return out;
}

}  // namespace cvtool
