#include "cvtool/train/pretext_transform.hpp"

#include <torch/torch.h>

#include "cvtool/core/error.hpp"
#include "cvtool/train/augment.hpp"

namespace cvtool {

std::vector<std::int64_t> draw_pretext_labels(const std::vector<std::uint64_t>& seeds, int num_classes) {
  std::vector<std::int64_t> labels;
  labels.reserve(seeds.size());
  for (std::uint64_t s : seeds) labels.push_back(std::int64_t(mix_seed(s, 0x1ABE1ull) % std::uint64_t(num_classes)));
  return labels;
}

torch::Tensor rotate_quarters(const torch::Tensor& x, const std::vector<std::int64_t>& labels) {
  if (x.dim() != 4 || x.size(2) != x.size(3) || std::size_t(x.size(0)) != labels.size())
    throw Error(ErrorKind::Internal, "rotate_quarters: expected N x C x S x S and N labels");
  std::vector<torch::Tensor> out;
  out.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) out.push_back(torch::rot90(x[std::int64_t(i)], labels[i], {1, 2}));
  return torch::stack(out);
}

torch::Tensor jigsaw_shuffle(const torch::Tensor& x, int grid, const std::vector<std::vector<int>>& permutations,
                             const std::vector<std::int64_t>& labels) {
  if (x.dim() != 4 || grid < 1 || x.size(2) % grid || x.size(3) % grid || std::size_t(x.size(0)) != labels.size())
    throw Error(ErrorKind::Internal, "jigsaw_shuffle: expected N x C x H x W divisible by the grid and N labels");
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), g = grid;
  const std::int64_t ph = h / g, pw = w / g;
  // N x C x H x W -> N x (g*g) x C x ph x pw, patches row-major.
  torch::Tensor patches = x.reshape({n, c, g, ph, g, pw}).permute({0, 2, 4, 1, 3, 5}).reshape({n, g * g, c, ph, pw});
  std::vector<std::int64_t> idx;
  idx.reserve(std::size_t(n * g * g));
  for (auto l : labels)
    for (int s : permutations.at(std::size_t(l))) idx.push_back(s);
  torch::Tensor source = torch::tensor(idx, torch::kLong).reshape({n, g * g});
  torch::Tensor rows = torch::arange(n, torch::kLong).unsqueeze(1).expand({n, g * g});
  torch::Tensor moved = patches.index({rows, source});  // moved[i][p] = patches[i][source[i][p]]
  return moved.reshape({n, g, g, c, ph, pw}).permute({0, 3, 1, 4, 2, 5}).reshape({n, c, h, w});
}

std::pair<torch::Tensor, torch::Tensor> apply_pretext(const PretextTask& task, const torch::Tensor& x,
                                                      const std::vector<std::uint64_t>& seeds) {
  std::vector<std::int64_t> labels = draw_pretext_labels(seeds, task.num_classes());
  torch::Tensor moved = task.kind == PretextKind::Rotation ? rotate_quarters(x, labels)
                                                            : jigsaw_shuffle(x, task.grid, task.permutations, labels);
  return {moved, torch::tensor(labels, torch::kLong)};
}

}  // namespace cvtool
