#pragma once
// Colour-histogram trackers (OpenCV meanShift / CamShift): the hue (or hue-saturation)
// histogram of the first box is back-projected onto each frame, and the window climbs
// to the nearest mode of that probability image. The object is lost when the mean
// back-projection inside the window falls below `lost_below` times its value in the
// first box (the colour is gone), and is looked for over the whole frame (the window
// of the last size with the most back-projection mass) until the ratio is back above
// `found_above`.
#include <memory>

#include "cvtool/track/single_object_tracker.hpp"

namespace cvtool {

struct MeanShiftParams {
  bool camshift = false;      // CamShift: the window also adapts its size (box = its bounding rect)
  bool use_saturation = false;  // hue-saturation histogram instead of hue alone
  int hue_bins = 16;
  int saturation_bins = 8;
  int min_saturation = 60;    // pixels greyer than this (HSV 0-255) carry no hue: masked out
  int min_value = 32;         // nor do dark ones
  int max_iterations = 10;    // of meanShift/CamShift per frame
  double epsilon = 1;         // stop when the window moves less than this (pixels)
  double lost_below = 0.3;    // mean back-projection in the window / that of the first box
  double found_above = 0.5;
};

std::unique_ptr<SingleObjectTracker> make_meanshift_tracker(const MeanShiftParams& params);

}  // namespace cvtool
