#include "cvtool/track/mot_metrics.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "cvtool/detect/detection.hpp"
#include "cvtool/track/hungarian.hpp"

namespace cvtool {

namespace {

struct GtHistory {
  int frames = 0, matched = 0;
  bool was_matched = false, ever_matched = false;
  int last_pred = -1;
};

void clear_mot(const std::map<int, std::vector<MotRow>>& gt_frames, const std::map<int, std::vector<MotRow>>& pred_frames,
               double thr, MotMetrics& m) {
  std::map<int, GtHistory> history;
  std::set<int> frames;
  for (const auto& [f, rows] : gt_frames) frames.insert(f);
  for (const auto& [f, rows] : pred_frames) frames.insert(f);
  m.num_frames = int(frames.size());
  double iou_sum = 0;
  static const std::vector<MotRow> none;
  for (int f : frames) {
    const auto& g = gt_frames.count(f) ? gt_frames.at(f) : none;
    const auto& p = pred_frames.count(f) ? pred_frames.at(f) : none;
    std::vector<int> g_to_p(g.size(), -1);
    std::vector<bool> p_used(p.size(), false);
    // Correspondences from earlier frames are kept while they still overlap enough.
    for (std::size_t i = 0; i < g.size(); ++i) {
      int prev = history[g[i].id].last_pred;
      if (prev < 0) continue;
      for (std::size_t j = 0; j < p.size(); ++j) {
        if (!p_used[j] && p[j].id == prev && box_iou(g[i].box, p[j].box) >= thr) {
          g_to_p[i] = int(j);
          p_used[j] = true;
          break;
        }
      }
    }
    std::vector<std::size_t> gi, pj;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g_to_p[i] < 0) gi.push_back(i);
    for (std::size_t j = 0; j < p.size(); ++j)
      if (!p_used[j]) pj.push_back(j);
    std::vector<std::vector<double>> cost(gi.size(), std::vector<double>(pj.size()));
    for (std::size_t a = 0; a < gi.size(); ++a)
      for (std::size_t b = 0; b < pj.size(); ++b) cost[a][b] = 1.0 - box_iou(g[gi[a]].box, p[pj[b]].box);
    Assignment as = solve_assignment(cost, 1.0 - thr + 1e-12);
    for (std::size_t a = 0; a < gi.size(); ++a) {
      if (as.row_to_col[a] < 0) continue;
      int j = int(pj[std::size_t(as.row_to_col[a])]);
      g_to_p[gi[a]] = j;
      GtHistory& h = history[g[gi[a]].id];
      if (h.last_pred >= 0 && h.last_pred != p[j].id) ++m.id_switches;
    }
    for (std::size_t i = 0; i < g.size(); ++i) {
      GtHistory& h = history[g[i].id];
      ++h.frames;
      bool matched = g_to_p[i] >= 0;
      if (matched) {
        ++m.matches;
        ++h.matched;
        iou_sum += box_iou(g[i].box, p[std::size_t(g_to_p[i])].box);
        if (h.ever_matched && !h.was_matched) ++m.fragmentations;
        h.ever_matched = true;
        h.last_pred = p[std::size_t(g_to_p[i])].id;
      }
      h.was_matched = matched;
    }
    int matched_here = int(std::count_if(g_to_p.begin(), g_to_p.end(), [](int j) { return j >= 0; }));
    m.misses += int(g.size()) - matched_here;
    m.false_positives += int(p.size()) - matched_here;
  }
  m.gt_tracks = int(history.size());
  for (const auto& [id, h] : history) {
    double ratio = h.frames ? double(h.matched) / h.frames : 0;
    if (ratio >= 0.8) ++m.mostly_tracked;
    else if (ratio < 0.2) ++m.mostly_lost;
    else ++m.partially_tracked;
  }
  m.mota = m.num_gt ? 1.0 - double(m.misses + m.false_positives + m.id_switches) / m.num_gt : 0;
  m.motp = m.matches ? iou_sum / m.matches : 0;
}

void identity_metrics(const std::map<int, std::vector<MotRow>>& gt_frames,
                      const std::map<int, std::vector<MotRow>>& pred_frames, double thr, MotMetrics& m) {
  std::map<int, int> gt_index, pred_index;
  for (const auto& [f, rows] : gt_frames)
    for (const auto& r : rows) gt_index.emplace(r.id, int(gt_index.size()));
  for (const auto& [f, rows] : pred_frames)
    for (const auto& r : rows) pred_index.emplace(r.id, int(pred_index.size()));
  // overlap[g][p]: frames in which trajectory g and trajectory p match (IoU >= thr).
  std::vector<std::vector<double>> overlap(gt_index.size(), std::vector<double>(pred_index.size(), 0));
  for (const auto& [f, g] : gt_frames) {
    auto it = pred_frames.find(f);
    if (it == pred_frames.end()) continue;
    for (const auto& a : g)
      for (const auto& b : it->second)
        if (box_iou(a.box, b.box) >= thr) overlap[gt_index[a.id]][pred_index[b.id]] += 1;
  }
  // Maximise the matched frames over one-to-one trajectory pairs. Each pair also pays a
  // tiny epsilon so that pairs with no overlap are never made; the epsilons of all pairs
  // together stay below one frame, so they cannot change the optimum.
  double top = 0;
  for (const auto& row : overlap)
    for (double v : row) top = std::max(top, v);
  double eps = 0.5 / double(std::min(gt_index.size(), pred_index.size()) + 1);
  std::vector<std::vector<double>> cost = overlap;
  for (auto& row : cost)
    for (double& v : row) v = top + 1 - v + eps;
  Assignment as = solve_assignment(cost, top + 1);
  double idtp = 0;
  for (std::size_t g = 0; g < overlap.size(); ++g)
    if (as.row_to_col[g] >= 0) idtp += overlap[g][std::size_t(as.row_to_col[g])];
  m.idtp = int(idtp);
  m.idfn = m.num_gt - m.idtp;
  m.idfp = m.num_pred - m.idtp;
  m.idf1 = (m.num_gt + m.num_pred) ? 2.0 * m.idtp / (m.num_gt + m.num_pred) : 0;
  m.idp = m.num_pred ? double(m.idtp) / m.num_pred : 0;
  m.idr = m.num_gt ? double(m.idtp) / m.num_gt : 0;
}

}  // namespace

MotMetrics evaluate_mot(const std::vector<MotRow>& gt, const std::vector<MotRow>& pred, double iou_threshold) {
  MotMetrics m;
  m.num_gt = int(gt.size());
  m.num_pred = int(pred.size());
  auto gt_frames = rows_by_frame(gt);
  auto pred_frames = rows_by_frame(pred);
  clear_mot(gt_frames, pred_frames, iou_threshold, m);
  identity_metrics(gt_frames, pred_frames, iou_threshold, m);
  return m;
}

nlohmann::json to_json(const MotMetrics& m) {
  return {{"frames", m.num_frames},       {"gt_boxes", m.num_gt},
          {"pred_boxes", m.num_pred},     {"matches", m.matches},
          {"false_positives", m.false_positives}, {"misses", m.misses},
          {"id_switches", m.id_switches}, {"fragmentations", m.fragmentations},
          {"gt_tracks", m.gt_tracks},     {"mostly_tracked", m.mostly_tracked},
          {"partially_tracked", m.partially_tracked}, {"mostly_lost", m.mostly_lost},
          {"mota", m.mota},               {"motp_iou", m.motp},
          {"idf1", m.idf1},               {"idp", m.idp},
          {"idr", m.idr},                 {"idtp", m.idtp}};
}

}  // namespace cvtool
