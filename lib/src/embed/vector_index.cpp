#include "cvtool/embed/vector_index.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "cvtool/core/error.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/core/sink.hpp"

namespace cvtool {

namespace fs = std::filesystem;

void l2_normalize_rows(float* rows, std::size_t n, int dim) {
  for (std::size_t i = 0; i < n; ++i) {
    float* r = rows + i * std::size_t(dim);
    double s = 0;
    for (int j = 0; j < dim; ++j) s += double(r[j]) * r[j];
    if (s <= 0) continue;
    const float inv = float(1.0 / std::sqrt(s));
    for (int j = 0; j < dim; ++j) r[j] *= inv;
  }
}

VectorIndex VectorIndex::load(const fs::path& dir) {
  const fs::path meta_path = dir / "index.json", npy_path = dir / "vectors.npy", ids_path = dir / "ids.txt";
  std::ifstream meta_in(meta_path);
  if (!meta_in) throw Error(ErrorKind::Input, meta_path.string() + ": not found (is " + dir.string() + " an index folder?)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(meta_in);
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::Input, meta_path.string() + ": malformed JSON");
  }
  VectorIndex index(meta.value("dim", 0));
  NpyArray a = read_npy(npy_path);
  if (a.shape.size() != 2 || a.shape[1] != index.dim_)
    throw Error(ErrorKind::Input, npy_path.string() + ": expected an N x " + std::to_string(index.dim_) + " matrix");
  std::ifstream ids_in(ids_path);
  if (!ids_in) throw Error(ErrorKind::Input, ids_path.string() + ": not found");
  for (std::string line; std::getline(ids_in, line);) index.ids_.push_back(line);
  if (std::int64_t(index.ids_.size()) != a.shape[0])
    throw Error(ErrorKind::Input, ids_path.string() + ": " + std::to_string(index.ids_.size()) + " ids for " +
                                      std::to_string(a.shape[0]) + " vectors");
  index.data_ = std::move(a.data);
  if (meta.contains("embed_config")) index.embed_config = meta["embed_config"];
  return index;
}

void VectorIndex::save(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  write_npy(dir / "vectors.npy", data_.data(), {std::int64_t(ids_.size()), dim_});
  std::string ids;
  for (const auto& id : ids_) ids += id + "\n";
  write_file_atomic(dir / "ids.txt", ids);
  nlohmann::json meta = {{"format", "cvtool-vector-index"}, {"version", 1}, {"metric", "cosine"},
                         {"dim", dim_}, {"count", ids_.size()},
                         {"embed_config", embed_config}};
  write_file_atomic(dir / "index.json", meta.dump(2) + "\n");
}

void VectorIndex::add(const std::vector<std::string>& ids, const float* vectors, std::size_t n) {
  if (ids.size() != n) throw Error(ErrorKind::Internal, "VectorIndex::add: ids and rows differ in number");
  for (const auto& id : ids)
    if (id.find('\n') != std::string::npos) throw Error(ErrorKind::Input, "index id contains a newline: " + id);
  std::set<std::string> incoming(ids.begin(), ids.end());
  remove(incoming);
  const std::size_t old = data_.size();
  data_.insert(data_.end(), vectors, vectors + n * std::size_t(dim_));
  l2_normalize_rows(data_.data() + old, n, dim_);
  ids_.insert(ids_.end(), ids.begin(), ids.end());
}

std::size_t VectorIndex::remove(const std::set<std::string>& ids) {
  if (ids.empty()) return 0;
  std::size_t out = 0, removed = 0;
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    if (ids.count(ids_[i])) {
      ++removed;
      continue;
    }
    if (out != i) {
      ids_[out] = std::move(ids_[i]);
      std::copy_n(data_.begin() + i * dim_, dim_, data_.begin() + out * dim_);
    }
    ++out;
  }
  ids_.resize(out);
  data_.resize(out * std::size_t(dim_));
  return removed;
}

std::vector<std::vector<SearchHit>> VectorIndex::search(const float* queries, std::size_t nq, int k,
                                                        std::size_t chunk_rows) const {
  std::vector<std::vector<SearchHit>> hits(nq);
  if (nq == 0 || ids_.empty() || k <= 0) return hits;
  c10::InferenceMode guard;
  std::vector<float> qcopy(queries, queries + nq * std::size_t(dim_));
  l2_normalize_rows(qcopy.data(), nq, dim_);
  torch::Tensor q = torch::from_blob(qcopy.data(), {int64_t(nq), dim_}, torch::kFloat32);
  torch::Tensor all = torch::from_blob(const_cast<float*>(data_.data()), {int64_t(ids_.size()), dim_}, torch::kFloat32);
  const int64_t kk = std::min<int64_t>(k, int64_t(ids_.size()));
  // Keep the score block near 256 MB however many queries come at once.
  chunk_rows = std::min<std::size_t>(chunk_rows, std::max<std::size_t>(1024, (std::size_t(1) << 26) / nq));
  torch::Tensor best_scores, best_rows;
  // Chunks bound the score matrix to nq x chunk_rows; each chunk's top-k merges
  // into the running top-k.
  for (int64_t start = 0; start < int64_t(ids_.size()); start += int64_t(chunk_rows)) {
    const int64_t stop = std::min<int64_t>(start + int64_t(chunk_rows), int64_t(ids_.size()));
    torch::Tensor scores = torch::matmul(q, all.slice(0, start, stop).t());
    auto [s, r] = scores.topk(std::min<int64_t>(kk, stop - start), 1, true, true);
    r = r + start;
    if (!best_scores.defined()) {
      best_scores = s;
      best_rows = r;
    } else {
      torch::Tensor cs = torch::cat({best_scores, s}, 1), cr = torch::cat({best_rows, r}, 1);
      auto [ms, mi] = cs.topk(std::min<int64_t>(kk, cs.size(1)), 1, true, true);
      best_scores = ms;
      best_rows = cr.gather(1, mi);
    }
  }
  best_scores = best_scores.contiguous();
  best_rows = best_rows.contiguous();
  const float* sp = best_scores.data_ptr<float>();
  const int64_t* rp = best_rows.data_ptr<int64_t>();
  const int64_t width = best_scores.size(1);
  for (std::size_t i = 0; i < nq; ++i) {
    std::vector<SearchHit> row;
    for (int64_t j = 0; j < width; ++j) {
      SearchHit h;
      h.row = rp[i * width + j];
      h.score = sp[i * width + j];
      h.id = ids_[std::size_t(h.row)];
      row.push_back(h);
    }
    // topk does not promise an order among equal scores: make ties deterministic.
    std::stable_sort(row.begin(), row.end(), [](const SearchHit& a, const SearchHit& b) {
      return a.score > b.score || (a.score == b.score && a.row < b.row);
    });
    hits[i] = std::move(row);
  }
  return hits;
}

}  // namespace cvtool
