#pragma once
// A collection of L2-normalised vectors with string ids, searched by cosine
// similarity. Exact search is a chunked matrix product in LibTorch, so millions of
// rows fit in memory without a full score matrix. On disk it is a folder:
// vectors.npy (N x D float32), ids.txt (row -> id) and index.json.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct SearchHit {
  std::int64_t row = -1;
  std::string id;
  float score = 0;  // cosine similarity
};

class VectorIndex {
 public:
  explicit VectorIndex(int dim = 0) : dim_(dim) {}

  // Throws Error(Input) naming the file when the folder is not an index.
  static VectorIndex load(const std::filesystem::path& dir);
  // Writes the three files (each atomically).
  void save(const std::filesystem::path& dir) const;

  int dim() const { return dim_; }
  std::size_t size() const { return ids_.size(); }
  const std::vector<std::string>& ids() const { return ids_; }
  const float* data() const { return data_.data(); }

  // The embed config the vectors came from (saved in index.json), so that a search
  // embeds its query images the same way; null when unknown.
  nlohmann::json embed_config;

  // Appends n rows (row-major n x dim), L2-normalising each. An id already present
  // is replaced (its old row is removed), so adding is idempotent.
  void add(const std::vector<std::string>& ids, const float* vectors, std::size_t n);
  // Removes the rows with these ids; returns how many were found.
  std::size_t remove(const std::set<std::string>& ids);

  // For each of nq queries (row-major nq x dim, normalised here), the k best rows by
  // cosine similarity, best first; ties keep the lower row first.
  std::vector<std::vector<SearchHit>> search(const float* queries, std::size_t nq, int k,
                                             std::size_t chunk_rows = 1 << 18) const;

 private:
  int dim_ = 0;
  std::vector<float> data_;
  std::vector<std::string> ids_;
};

// Divides each row of a row-major n x dim matrix by its L2 norm (zero rows stay zero).
void l2_normalize_rows(float* rows, std::size_t n, int dim);

}  // namespace cvtool
