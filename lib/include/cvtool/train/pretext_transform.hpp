#pragma once
// The pretext tasks' batch transforms (see pretext.hpp): labels drawn from per-sample
// seeds, and images rotated or patch-shuffled to match. Exact (pure index moves, no
// interpolation), so a test can check pixels. Includes LibTorch (tensors cross).
#include <cstdint>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "cvtool/train/pretext.hpp"

namespace cvtool {

// Label of each sample: a function of its seed only, in [0, num_classes).
std::vector<std::int64_t> draw_pretext_labels(const std::vector<std::uint64_t>& seeds, int num_classes);

// x: N x C x H x W with H == W. Sample i turned by labels[i] quarter turns
// counter-clockwise (torch.rot90 over H, W; cv::ROTATE_90_COUNTERCLOCKWISE for k = 1).
torch::Tensor rotate_quarters(const torch::Tensor& x, const std::vector<std::int64_t>& labels);

// x: N x C x H x W with H and W divisible by `grid`. Output patch p (row-major) of
// sample i is input patch permutations[labels[i]][p].
torch::Tensor jigsaw_shuffle(const torch::Tensor& x, int grid, const std::vector<std::vector<int>>& permutations,
                             const std::vector<std::int64_t>& labels);

// The trainer's batch transform (TrainHooks::transform_batch): transformed inputs and
// their labels (int64, N).
std::pair<torch::Tensor, torch::Tensor> apply_pretext(const PretextTask& task, const torch::Tensor& x,
                                                      const std::vector<std::uint64_t>& seeds);

}  // namespace cvtool
