#include "cvtool/embed/approx_index.hpp"

#include <cmath>
#include <fstream>
#include <memory>

#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"

#ifdef CVTOOL_HAVE_FAISS
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>
#endif

namespace cvtool {

namespace fs = std::filesystem;

namespace {

const char* kFile = "approx.faiss";
const char* kKindFile = "approx.kind";

#ifdef CVTOOL_HAVE_FAISS
std::vector<std::vector<SearchHit>> to_hits(const VectorIndex& index, const std::vector<float>& d,
                                            const std::vector<faiss::Index::idx_t>& l, std::size_t nq, int k) {
  std::vector<std::vector<SearchHit>> hits(nq);
  for (std::size_t i = 0; i < nq; ++i)
    for (int j = 0; j < k; ++j) {
      faiss::Index::idx_t row = l[i * k + j];
      if (row < 0 || std::size_t(row) >= index.size()) continue;  // fewer than k found
      hits[i].push_back({row, index.ids()[std::size_t(row)], d[i * k + j]});
    }
  return hits;
}
#endif

}  // namespace

bool approx_available() {
#ifdef CVTOOL_HAVE_FAISS
  return true;
#else
  return false;
#endif
}

std::string approx_kind(const fs::path& dir) {
  std::ifstream in(dir / kKindFile);
  std::string kind;
  if (in) in >> kind;
  std::error_code ec;
  return fs::exists(dir / kFile, ec) ? kind : "";
}

void build_approx_index(const VectorIndex& index, const fs::path& dir, const ApproxOptions& o) {
#ifdef CVTOOL_HAVE_FAISS
  const faiss::Index::idx_t n = faiss::Index::idx_t(index.size());
  std::unique_ptr<faiss::Index> ann;
  std::unique_ptr<faiss::IndexFlatIP> quantizer;
  if (o.kind == "hnsw") {
    auto h = std::make_unique<faiss::IndexHNSWFlat>(index.dim(), o.hnsw_m, faiss::METRIC_INNER_PRODUCT);
    h->hnsw.efConstruction = o.ef_construction;
    h->hnsw.efSearch = o.ef_search;
    ann = std::move(h);
  } else if (o.kind == "ivf") {
    int lists = o.ivf_lists > 0 ? o.ivf_lists : std::max(1, int(std::sqrt(double(n))));
    lists = int(std::min<faiss::Index::idx_t>(lists, std::max<faiss::Index::idx_t>(1, n)));
    quantizer = std::make_unique<faiss::IndexFlatIP>(index.dim());
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), index.dim(), lists, faiss::METRIC_INNER_PRODUCT);
    ivf->own_fields = true;
    quantizer.release();
    // Training on a sample is standard: 100 points per list is plenty for k-means.
    faiss::Index::idx_t train = std::min<faiss::Index::idx_t>(n, faiss::Index::idx_t(lists) * 100);
    // An evenly strided sample, not the first rows: an index built folder by folder is ordered.
    std::vector<float> sample(std::size_t(train) * std::size_t(index.dim()));
    for (faiss::Index::idx_t i = 0; i < train; ++i)
      std::copy_n(index.data() + std::size_t(i * n / train) * std::size_t(index.dim()), index.dim(),
                  sample.begin() + std::size_t(i) * std::size_t(index.dim()));
    ivf->train(train, sample.data());
    ivf->nprobe = o.nprobe;
    ann = std::move(ivf);
  } else {
    throw Error(ErrorKind::Usage, "approximate index kind '" + o.kind + "': expected hnsw or ivf");
  }
  ann->add(n, index.data());
  fs::path tmp = dir / (std::string(kFile) + ".tmp");
  faiss::write_index(ann.get(), tmp.string().c_str());
  fs::rename(tmp, dir / kFile);
  write_file_atomic(dir / kKindFile, o.kind + "\n");
#else
  (void)index;
  (void)dir;
  (void)o;
  throw Error(ErrorKind::Usage, "this cvtool was built without FAISS (install libfaiss-dev and rebuild) for approximate indexes");
#endif
}

std::vector<std::vector<SearchHit>> search_approx_index(const VectorIndex& index, const fs::path& dir,
                                                        const float* queries, std::size_t nq, int k,
                                                        const ApproxOptions& o) {
#ifdef CVTOOL_HAVE_FAISS
  std::unique_ptr<faiss::Index> ann(faiss::read_index((dir / kFile).string().c_str()));
  if (ann->ntotal != faiss::Index::idx_t(index.size()))
    throw Error(ErrorKind::Input, (dir / kFile).string() + ": holds " + std::to_string(ann->ntotal) +
                                      " vectors, the index " + std::to_string(index.size()) + "; rebuild it");
  if (auto* h = dynamic_cast<faiss::IndexHNSW*>(ann.get())) h->hnsw.efSearch = std::max(o.ef_search, k);
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(ann.get())) ivf->nprobe = o.nprobe;
  std::vector<float> q(queries, queries + nq * std::size_t(index.dim()));
  l2_normalize_rows(q.data(), nq, index.dim());
  std::vector<float> d(nq * std::size_t(k));
  std::vector<faiss::Index::idx_t> l(nq * std::size_t(k));
  ann->search(faiss::Index::idx_t(nq), q.data(), k, d.data(), l.data());
  return to_hits(index, d, l, nq, k);
#else
  (void)index;
  (void)dir;
  (void)queries;
  (void)nq;
  (void)k;
  (void)o;
  throw Error(ErrorKind::Usage, "this cvtool was built without FAISS (install libfaiss-dev and rebuild)");
#endif
}

}  // namespace cvtool
