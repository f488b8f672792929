#pragma once
// Multi-object tracking metrics: CLEAR MOT (MOTA, MOTP, ID switches, fragmentations,
// mostly tracked/lost) and identity metrics (IDF1, IDP, IDR), with the standard
// IoU >= 0.5 match rule.
#include <nlohmann/json.hpp>
#include <vector>

#include "cvtool/track/mot_format.hpp"

namespace cvtool {

struct MotMetrics {
  int num_frames = 0;
  int num_gt = 0, num_pred = 0;  // boxes
  int matches = 0, false_positives = 0, misses = 0;
  int id_switches = 0, fragmentations = 0;
  int gt_tracks = 0, mostly_tracked = 0, partially_tracked = 0, mostly_lost = 0;
  double mota = 0, motp = 0;  // motp: mean IoU of matched pairs
  int idtp = 0, idfp = 0, idfn = 0;
  double idf1 = 0, idp = 0, idr = 0;
};

MotMetrics evaluate_mot(const std::vector<MotRow>& gt, const std::vector<MotRow>& pred, double iou_threshold = 0.5);

nlohmann::json to_json(const MotMetrics& m);

}  // namespace cvtool
