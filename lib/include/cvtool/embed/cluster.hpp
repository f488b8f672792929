#pragma once
// Grouping vectors: k-means (k-means++ seeding, fixed seed, so runs repeat exactly)
// and near-duplicate groups (cosine similarity above a threshold, linked
// transitively). Inputs are row-major n x dim float matrices.
#include <cstdint>
#include <vector>

namespace cvtool {

struct KMeansOptions {
  int k = 8;
  std::uint64_t seed = 0;
  int max_iterations = 100;
  double tolerance = 1e-6;  // stop when the inertia improves by less than this fraction
};

struct KMeansResult {
  std::vector<int> labels;        // cluster of each row
  std::vector<float> centroids;   // k x dim
  int iterations = 0;
  double inertia = 0;             // sum of squared distances to the assigned centroid
};

// Throws Error(Usage) when k < 1 or k > n.
KMeansResult kmeans(const float* rows, std::size_t n, int dim, const KMeansOptions& options);

// The rows k-means++ picks as initial centres (exposed for tests).
std::vector<std::size_t> kmeans_plus_plus(const float* rows, std::size_t n, int dim, int k, std::uint64_t seed);

// Groups of at least two rows whose cosine similarity (rows assumed L2-normalised)
// is >= threshold, joined transitively; each group sorted, groups ordered by their
// first row.
std::vector<std::vector<std::size_t>> near_duplicate_groups(const float* rows, std::size_t n, int dim,
                                                            float threshold, std::size_t chunk_rows = 4096);

}  // namespace cvtool
