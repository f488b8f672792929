#pragma once
// SiamFC-style single-object tracker on a CNN backbone from the zoo (the stride-8 early
// layers of CenterNet's MobileNetV3, models/centernet-stride8.pt): features of an
// exemplar around the first box are cross-correlated with those of a search region
// around the last position, at three scales; the response (a cosine similarity, so its
// peak is a confidence in [-1, 1]) is mixed with a cosine window that favours small
// moves. Below `lost_below` the object is lost and the search region grows until a peak
// reaches `found_above` again. LibTorch stays in the .cpp.
#include <memory>
#include <string>

#include "cvtool/track/single_object_tracker.hpp"

namespace cvtool {

struct SiameseParams {
  std::string model;            // TorchScript: NHWC RGB 0-255 in, NHWC features out
  std::string device = "cpu";
  int stride = 8;               // of the backbone's output
  int exemplar_size = 128;      // pixels fed to the backbone
  int search_size = 256;
  double context = 0.5;         // exemplar side sqrt((w + p)(h + p)), p = context * (w + h)
  double window_influence = 0.3;
  double scale_step = 1.04;     // three scales: 1/step, 1, step
  double scale_penalty = 0.97;  // response multiplier of the non-unit scales
  double scale_rate = 0.5;      // how far the size moves toward the chosen scale
  double lost_below = 0.45;
  double found_above = 0.6;
  double lost_search_growth = 2;  // search side multiplier while lost
};

std::unique_ptr<SingleObjectTracker> make_siamese_tracker(const SiameseParams& params);

}  // namespace cvtool
