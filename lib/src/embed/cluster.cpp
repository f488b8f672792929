#include "cvtool/embed/cluster.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace {

// Uniform in [0, 1) from the raw 64-bit stream: the same on every standard library.
double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * (1.0 / 9007199254740992.0); }

torch::Tensor as_tensor(const float* rows, std::size_t n, int dim) {
  return torch::from_blob(const_cast<float*>(rows), {int64_t(n), dim}, torch::kFloat32);
}

// Squared distances of every row to every centre, n x k.
torch::Tensor squared_distances(const torch::Tensor& x, const torch::Tensor& x_sq, const torch::Tensor& c) {
  return (x_sq.unsqueeze(1) - 2 * torch::matmul(x, c.t()) + c.pow(2).sum(1).unsqueeze(0)).clamp_min(0);
}

}  // namespace

std::vector<std::size_t> kmeans_plus_plus(const float* rows, std::size_t n, int dim, int k, std::uint64_t seed) {
  c10::InferenceMode guard;
  std::mt19937_64 rng(seed);
  torch::Tensor x = as_tensor(rows, n, dim);
  std::vector<std::size_t> picked;
  picked.push_back(std::size_t(uniform01(rng) * double(n)) % n);
  torch::Tensor nearest = (x - x[int64_t(picked[0])]).pow(2).sum(1).to(torch::kFloat64).contiguous();
  while (int(picked.size()) < k) {
    const double* d = nearest.data_ptr<double>();
    double total = std::accumulate(d, d + n, 0.0);
    std::size_t choice = 0;
    if (total <= 0) {
      // Every row sits on a centre already: take the first row not picked.
      while (std::find(picked.begin(), picked.end(), choice) != picked.end()) ++choice;
    } else {
      double u = uniform01(rng) * total, run = 0;
      choice = n - 1;
      for (std::size_t i = 0; i < n; ++i) {
        run += d[i];
        if (run > u && d[i] > 0) {
          choice = i;
          break;
        }
      }
    }
    picked.push_back(choice);
    nearest = torch::minimum(nearest, (x - x[int64_t(choice)]).pow(2).sum(1).to(torch::kFloat64)).contiguous();
  }
  return picked;
}

KMeansResult kmeans(const float* rows, std::size_t n, int dim, const KMeansOptions& o) {
  if (o.k < 1 || std::size_t(o.k) > n)
    throw Error(ErrorKind::Usage, "k-means: k = " + std::to_string(o.k) + " needs between 1 and " + std::to_string(n) + " clusters");
  c10::InferenceMode guard;
  torch::Tensor x = as_tensor(rows, n, dim);
  torch::Tensor x_sq = x.pow(2).sum(1);
  auto seeds = kmeans_plus_plus(rows, n, dim, o.k, o.seed);
  std::vector<int64_t> seed_rows(seeds.begin(), seeds.end());
  torch::Tensor c = x.index_select(0, torch::tensor(seed_rows, torch::kInt64)).clone();
  KMeansResult r;
  torch::Tensor labels;
  double previous = std::numeric_limits<double>::infinity();
  for (r.iterations = 1; r.iterations <= o.max_iterations; ++r.iterations) {
    auto [dist, lab] = squared_distances(x, x_sq, c).min(1);
    labels = lab;
    r.inertia = dist.sum().item<double>();
    // Lloyd update; an emptied cluster keeps its centre.
    torch::Tensor sums = torch::zeros({o.k, dim}, torch::kFloat32).index_add_(0, labels, x);
    torch::Tensor counts = torch::zeros({o.k}, torch::kFloat32).index_add_(0, labels, torch::ones({int64_t(n)}));
    torch::Tensor filled = counts > 0;
    c = torch::where(filled.unsqueeze(1), sums / counts.clamp_min(1).unsqueeze(1), c);
    if (previous - r.inertia <= o.tolerance * std::max(previous, 1e-30) && r.iterations > 1) break;
    previous = r.inertia;
  }
  r.iterations = std::min(r.iterations, o.max_iterations);
  // Final assignment against the final centres.
  auto [dist, lab] = squared_distances(x, x_sq, c).min(1);
  r.inertia = dist.sum().item<double>();
  lab = lab.contiguous();
  r.labels.assign(lab.data_ptr<int64_t>(), lab.data_ptr<int64_t>() + n);
  c = c.contiguous();
  r.centroids.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return r;
}

std::vector<std::vector<std::size_t>> near_duplicate_groups(const float* rows, std::size_t n, int dim, float threshold,
                                                            std::size_t chunk_rows) {
  c10::InferenceMode guard;
  std::vector<std::size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  torch::Tensor x = as_tensor(rows, n, dim);
  for (std::size_t start = 0; start < n; start += chunk_rows) {
    const std::size_t stop = std::min(n, start + chunk_rows);
    // Only pairs (i, j) with j > i: the upper triangle of this band.
    torch::Tensor s = torch::matmul(x.slice(0, int64_t(start), int64_t(stop)), x.slice(0, int64_t(start)).t());
    torch::Tensor pairs = torch::nonzero(s >= threshold).contiguous();
    const int64_t* p = pairs.data_ptr<int64_t>();
    for (int64_t i = 0; i < pairs.size(0); ++i) {
      std::size_t a = start + std::size_t(p[2 * i]), b = start + std::size_t(p[2 * i + 1]);
      if (b <= a) continue;
      std::size_t ra = find(a), rb = find(b);
      if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
    }
  }
  std::vector<std::vector<std::size_t>> by_root(n);
  for (std::size_t i = 0; i < n; ++i) by_root[find(i)].push_back(i);
  std::vector<std::vector<std::size_t>> groups;
  for (auto& g : by_root)
    if (g.size() >= 2) groups.push_back(std::move(g));
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
  return groups;
}

}  // namespace cvtool
