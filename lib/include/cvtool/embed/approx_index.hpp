#pragma once
// Approximate cosine k-NN with FAISS (Debian's libfaiss-dev), kept next to the exact
// index as <dir>/approx.faiss and rebuilt from its rows. Optional at build time:
// without FAISS, approx_available() is false and building/searching throws.
#include <filesystem>
#include <string>
#include <vector>

#include "cvtool/embed/vector_index.hpp"

namespace cvtool {

struct ApproxOptions {
  std::string kind = "hnsw";  // "hnsw" (graph) or "ivf" (inverted lists, flat codes)
  int hnsw_m = 32;
  int ef_construction = 80;
  int ef_search = 64;
  int ivf_lists = 0;          // 0: sqrt(n)
  int nprobe = 16;
};

bool approx_available();

// "hnsw", "ivf", or "" when `dir` has no approximate index.
std::string approx_kind(const std::filesystem::path& dir);

void build_approx_index(const VectorIndex& index, const std::filesystem::path& dir, const ApproxOptions& options);

// Same contract as VectorIndex::search, answered by the FAISS index in `dir`.
std::vector<std::vector<SearchHit>> search_approx_index(const VectorIndex& index, const std::filesystem::path& dir,
                                                        const float* queries, std::size_t nq, int k,
                                                        const ApproxOptions& options);

}  // namespace cvtool
