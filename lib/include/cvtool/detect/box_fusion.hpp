#pragma once
// Weighted Box Fusion (Solovyev, Wang, Gabruseva 2019, arXiv:1910.13302): merges the
// detections of several models of one image into one list. Unlike NMS, which keeps
// one box of an overlapping group, WBF averages the group's boxes weighted by score,
// and lowers the score of boxes that only some of the models found. Plain data, no
// LibTorch.
#include <string>
#include <vector>

#include "cvtool/detect/detection.hpp"

namespace cvtool {

// How a cluster's fused score is formed (the names of the reference implementation,
// ZFTurbo/Weighted-Boxes-Fusion). With T models, weights w_t (sum W), a cluster of n
// boxes with weighted scores s_i = score_i * w_model(i):
//   avg                     mean(s_i) * min(n, T) / W          (the paper's rule; default)
//   max                     max(s_i) / max(w)
//   box_and_model_avg       sum(s_i) / sum(w of the cluster's boxes) * sum(w of its distinct models) / W
//   absent_model_aware_avg  sum(s_i) / (sum(w of the cluster's boxes) + sum(w of models absent from it))
enum class FusionConfType { Avg, Max, BoxAndModelAvg, AbsentModelAwareAvg };

// "avg", "max", "box_and_model_avg", "absent_model_aware_avg"; throws Error(Config) otherwise.
FusionConfType parse_fusion_conf_type(const std::string& name);
std::string fusion_conf_type_name(FusionConfType type);

struct BoxFusionParams {
  float iou_threshold = 0.55f;       // a box joins a cluster when IoU with its fused box is > this
  float skip_box_threshold = 0.0f;   // member boxes scoring below this (before weighting) are dropped
  FusionConfType conf_type = FusionConfType::Avg;
  std::vector<float> weights;        // one per model, > 0; empty: all 1
};

// Fuses per-model detection lists of one image. Boxes of different class_id never
// fuse. A fused box is the score-weighted mean of its cluster's boxes; it keeps the
// class and label of the cluster. Sorted by fused score, best first (ties: the order in
// which the clusters were founded). Throws Error(Config) when weights do not match the
// number of models or are not positive.
std::vector<Detection> weighted_box_fusion(const std::vector<std::vector<Detection>>& per_model,
                                           const BoxFusionParams& params);

}  // namespace cvtool
