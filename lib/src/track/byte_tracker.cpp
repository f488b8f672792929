#include "cvtool/track/byte_tracker.hpp"

#include <algorithm>

#include "cvtool/core/error.hpp"
#include "cvtool/track/hungarian.hpp"

namespace cvtool {

struct ByteTracker::State {
  Track track;
  KalmanBoxFilter filter;
  bool confirmed = false;
  int last_frame = 0;
  std::vector<float> gallery;  // appearance: EMA of the embeddings of its matches
  State(const Detection& d, int id, int frame) : filter(d.box) {
    track.id = id;
    track.class_id = d.class_id;
    track.label = d.label;
    track.score = d.score;
    track.box = d.box;
    track.start_frame = frame;
    track.hits = 1;
    last_frame = frame;
  }
  void match(const Detection& d, int frame) {
    filter.update(d.box);
    track.box = filter.box();
    track.score = d.score;
    track.class_id = d.class_id;
    track.label = d.label;
    ++track.hits;
    last_frame = frame;
  }
};

ByteTracker::ByteTracker(TrackerParams params) : params_(params) {}
ByteTracker::~ByteTracker() = default;

namespace {

using StatePtr = std::unique_ptr<ByteTracker::State>;

// Matches tracks[ti] to dets[di] by IoU >= min_iou, fused with appearance when
// `embeddings` (one per detection) is given; returns the (track, detection) pairs.
std::vector<std::pair<std::size_t, std::size_t>> associate(const std::vector<ByteTracker::State*>& tracks,
                                                           const std::vector<const Detection*>& dets, float min_iou,
                                                           const std::vector<const std::vector<float>*>* embeddings = nullptr,
                                                           const AppearanceParams* appearance = nullptr) {
  std::vector<std::vector<double>> cost(tracks.size(), std::vector<double>(dets.size()));
  for (std::size_t t = 0; t < tracks.size(); ++t) {
    auto predicted = tracks[t]->filter.box();
    for (std::size_t d = 0; d < dets.size(); ++d) {
      float iou = box_iou(predicted, dets[d]->box);
      cost[t][d] = embeddings ? fused_cost(iou, min_iou, tracks[t]->gallery, *(*embeddings)[d], *appearance)
                              : 1.0 - iou;
    }
  }
  // The price of leaving a pair unmatched: the dearest cost the gates let through.
  double max_cost = 1.0 - min_iou;
  if (embeddings)
    max_cost = std::max(max_cost, appearance->iou_weight * (1.0 - min_iou) +
                                      (1.0 - appearance->iou_weight) * appearance->max_cosine_distance);
  Assignment a = solve_assignment(cost, max_cost);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t t = 0; t < tracks.size(); ++t)
    if (a.row_to_col[t] >= 0) pairs.emplace_back(t, std::size_t(a.row_to_col[t]));
  return pairs;
}

}  // namespace

void ByteTracker::apply_camera_motion(const cv::Matx23d& warp) {
  for (auto& s : tracked_) s->filter.apply_warp(warp);
  for (auto& s : lost_) s->filter.apply_warp(warp);
}

std::vector<Track> ByteTracker::update(const std::vector<Detection>& detections,
                                       const std::vector<std::vector<float>>& embeddings) {
  ++frame_;
  const bool use_appearance = !embeddings.empty();
  if (use_appearance && embeddings.size() != detections.size())
    throw Error(ErrorKind::Internal, "tracker: " + std::to_string(embeddings.size()) + " embeddings for " +
                                         std::to_string(detections.size()) + " detections");
  static const std::vector<float> kNone;
  std::vector<const Detection*> high, low;
  std::vector<const std::vector<float>*> high_embedding;
  for (std::size_t i = 0; i < detections.size(); ++i) {
    const auto& d = detections[i];
    if (d.score >= params_.high_threshold) {
      high.push_back(&d);
      high_embedding.push_back(use_appearance ? &embeddings[i] : &kNone);
    } else if (d.score > params_.low_threshold) {
      low.push_back(&d);
    }
  }
  for (auto& s : tracked_) s->filter.predict();
  for (auto& s : lost_) s->filter.predict();

  // Pass 1: confirmed and lost tracks against high-score detections.
  std::vector<State*> pool;
  std::vector<State*> unconfirmed;
  for (auto& s : tracked_) (s->confirmed ? pool : unconfirmed).push_back(s.get());
  for (auto& s : lost_) pool.push_back(s.get());
  std::vector<bool> matched_track(pool.size(), false), used_high(high.size(), false);
  // Appearance only here: low-score boxes are often occluded, their embeddings unreliable.
  for (auto [t, d] : associate(pool, high, params_.match_iou, use_appearance ? &high_embedding : nullptr,
                               &params_.appearance)) {
    pool[t]->match(*high[d], frame_);
    update_gallery(pool[t]->gallery, *high_embedding[d], params_.appearance.ema);
    matched_track[t] = used_high[d] = true;
  }
  // Pass 2: tracks still unmatched (that were tracked last frame, not lost) against low-score ones.
  std::vector<State*> rest;
  for (std::size_t t = 0; t < pool.size(); ++t)
    if (!matched_track[t] && pool[t]->last_frame == frame_ - 1) rest.push_back(pool[t]);
  for (auto [t, d] : associate(rest, low, params_.second_match_iou)) rest[t]->match(*low[d], frame_);
  // Pass 3: new tracks awaiting confirmation against the remaining high-score detections.
  std::vector<const Detection*> remaining;
  std::vector<const std::vector<float>*> remaining_embedding;
  for (std::size_t d = 0; d < high.size(); ++d)
    if (!used_high[d]) remaining.push_back(high[d]), remaining_embedding.push_back(high_embedding[d]);
  std::vector<bool> used_remaining(remaining.size(), false);
  for (auto [t, d] : associate(unconfirmed, remaining, params_.unconfirmed_match_iou)) {
    unconfirmed[t]->match(*remaining[d], frame_);
    update_gallery(unconfirmed[t]->gallery, *remaining_embedding[d], params_.appearance.ema);
    used_remaining[d] = true;
  }

  // Lifecycle: confirm, lose, drop, and start new tracks.
  std::vector<StatePtr> all;
  for (auto& s : tracked_) all.push_back(std::move(s));
  for (auto& s : lost_) all.push_back(std::move(s));
  tracked_.clear();
  lost_.clear();
  for (auto& s : all) {
    if (s->last_frame == frame_) {
      if (s->track.hits >= params_.min_hits) s->confirmed = true;
      tracked_.push_back(std::move(s));
    } else if (!s->confirmed) {
      continue;  // a new track that missed its second frame was noise
    } else if (frame_ - s->last_frame <= params_.track_buffer) {
      lost_.push_back(std::move(s));
    }
  }
  for (std::size_t d = 0; d < remaining.size(); ++d) {
    if (used_remaining[d] || remaining[d]->score < params_.new_track_threshold) continue;
    auto s = std::make_unique<State>(*remaining[d], next_id_++, frame_);
    s->gallery = *remaining_embedding[d];
    // On the first frame there is nothing to confirm against: start confirmed, as ByteTrack does.
    s->confirmed = frame_ == 1 || params_.min_hits <= 1;
    tracked_.push_back(std::move(s));
  }

  std::vector<Track> out;
  for (auto& s : tracked_) {
    if (!s->confirmed) continue;
    auto& b = s->track.box;
    if ((b[2] - b[0]) * (b[3] - b[1]) < params_.min_box_area) continue;
    out.push_back(s->track);
  }
  std::sort(out.begin(), out.end(), [](const Track& a, const Track& b) { return a.id < b.id; });
  return out;
}

}  // namespace cvtool
