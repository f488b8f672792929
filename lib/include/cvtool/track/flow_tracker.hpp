#pragma once
// Single-object tracking by sparse optical flow (Median-Flow style): corners are seeded
// inside the box every frame, followed with Lucas-Kanade, filtered by forward-backward
// error and by the normalised correlation of the patches around each point before and
// after (so points on an object that vanished are dropped), and the box moves by the
// median translation and scales by the median pairwise-distance ratio. Lost when fewer
// than `min_points` survive; while lost the first frame's patch (at the current size)
// is searched near the last box, and the object is recovered at a correlation of
// `found_above` or more.
#include <memory>

#include "cvtool/track/flow_sparse.hpp"
#include "cvtool/track/single_object_tracker.hpp"

namespace cvtool {

struct FlowTrackerParams {
  LkParams lk{100, 0.01, 3, 15, 3, 1.0};
  int min_points = 5;
  int patch = 11;             // side of the patches compared around each point
  double min_patch_ncc = 0.5;
  double found_above = 0.7;   // template correlation that ends a loss
};

std::unique_ptr<SingleObjectTracker> make_flow_tracker(const FlowTrackerParams& params);

}  // namespace cvtool
