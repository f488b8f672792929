#pragma once
// Appearance for association, DeepSORT style, as pure functions over plain vectors so
// that they are tested without a model: a per-track gallery (exponential moving
// average of L2-normalised embeddings), cosine distances, and the fused cost
//   lambda * (1 - IoU) + (1 - lambda) * cosine distance,
// with gates: a pair too far apart in either IoU or appearance is never matched.
#include <array>
#include <vector>

#include <opencv2/core.hpp>

namespace cvtool {

struct AppearanceParams {
  float iou_weight = 0.5f;            // lambda
  float max_cosine_distance = 0.25f;  // gate on appearance
  float ema = 0.9f;                   // gallery <- ema * gallery + (1 - ema) * new, renormalised
};

// Cost of a pair that a gate forbids: above any max_cost given to solve_assignment.
constexpr double kGatedCost = 1e6;

// 1 - a.b for L2-normalised vectors, clamped to [0, 2]; 1 when either is empty.
float cosine_distance(const std::vector<float>& a, const std::vector<float>& b);

// Scales to unit length (a zero vector stays zero).
void l2_normalize(std::vector<float>& v);

// Folds a new embedding into a track's gallery (the first one is taken as is).
void update_gallery(std::vector<float>& gallery, const std::vector<float>& embedding, float ema);

// Fused cost of one pair; kGatedCost when IoU < min_iou or the cosine distance is over
// the gate. Without appearance on either side, the pair costs 1 - IoU (IoU gate only).
double fused_cost(float iou, float min_iou, const std::vector<float>& track_gallery,
                  const std::vector<float>& detection_embedding, const AppearanceParams& params);

// Colour appearance without a model: a hue-saturation histogram of the upper and of the
// lower half of each box (clothes), L2-normalised. Boxes are x1,y1,x2,y2 in `frame`.
std::vector<std::vector<float>> colour_embeddings(const cv::Mat& frame, const std::vector<std::array<float, 4>>& boxes);

}  // namespace cvtool
