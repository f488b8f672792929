// `cvtool index build|add|remove|info` and `cvtool search`: a cosine k-NN index over
// the vectors `cvtool embed -o` wrote, searched with query images or vectors.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include "commands.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/embed/approx_index.hpp"
#include "cvtool/embed/vector_index.hpp"
#include "embed_inputs.hpp"

namespace cvtool::cli {

namespace fs = std::filesystem;

namespace {

struct IndexOptions {
  std::string dir;
  std::vector<std::string> sources;  // embedding folders or .npy files
  std::string output;
  std::vector<std::string> remove_ids;
  std::string remove_ids_file;
  std::string approx;  // "", "hnsw", "ivf"
  bool quiet = false;
};

void add_sets(VectorIndex& index, const std::vector<std::string>& sources) {
  for (const auto& s : sources) {
    EmbeddingSet set = load_embedding_set(s);
    if (index.dim() == 0) index = VectorIndex(set.dim);
    if (set.dim != index.dim())
      throw Error(ErrorKind::Input, s + ": " + std::to_string(set.dim) + "-d vectors, the index holds " +
                                        std::to_string(index.dim()) + "-d ones");
    if (index.embed_config.is_null()) index.embed_config = set.config;
    index.add(set.ids, set.rows.data(), set.ids.size());
    spdlog::info("{}: {} vectors added", s, set.ids.size());
  }
}

// The approximate index lives next to the exact one and is rebuilt whenever rows change.
void refresh_approx(const VectorIndex& index, const fs::path& dir, const std::string& wanted) {
  std::string kind = wanted.empty() ? approx_kind(dir) : wanted;
  if (kind.empty()) return;
  ApproxOptions o;
  o.kind = kind;
  build_approx_index(index, dir, o);
  spdlog::info("approximate {} index rebuilt over {} vectors", kind, index.size());
}

int run_index_build(IndexOptions& o) {
  if (o.output.empty()) throw Error(ErrorKind::Usage, "index build: -o DIR is required");
  VectorIndex index;
  add_sets(index, o.sources);
  index.save(o.output);
  refresh_approx(index, o.output, o.approx);
  std::printf("%s: %zu vectors of %d dimensions\n", o.output.c_str(), index.size(), index.dim());
  return kExitOk;
}

int run_index_add(IndexOptions& o) {
  VectorIndex index = VectorIndex::load(o.dir);
  const std::size_t before = index.size();
  add_sets(index, o.sources);
  index.save(o.dir);
  refresh_approx(index, o.dir, o.approx);
  std::printf("%s: %zu vectors (%+lld)\n", o.dir.c_str(), index.size(), (long long)index.size() - (long long)before);
  return kExitOk;
}

int run_index_remove(IndexOptions& o) {
  std::set<std::string> ids(o.remove_ids.begin(), o.remove_ids.end());
  if (!o.remove_ids_file.empty()) {
    std::ifstream in(o.remove_ids_file);
    if (!in) throw Error(ErrorKind::Usage, o.remove_ids_file + ": cannot open");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) ids.insert(line);
  }
  if (ids.empty()) throw Error(ErrorKind::Usage, "index remove: give --id ID (repeatable) or --ids-file FILE");
  VectorIndex index = VectorIndex::load(o.dir);
  std::size_t removed = index.remove(ids);
  index.save(o.dir);
  refresh_approx(index, o.dir, "");
  std::printf("%s: removed %zu of %zu ids asked; %zu vectors left\n", o.dir.c_str(), removed, ids.size(), index.size());
  return removed == ids.size() ? kExitOk : kExitSomeFailed;
}

int run_index_info(IndexOptions& o) {
  VectorIndex index = VectorIndex::load(o.dir);
  std::string kind = approx_kind(o.dir);
  Json info = {{"index", o.dir}, {"count", index.size()}, {"dim", index.dim()}, {"metric", "cosine"},
               {"approximate", kind.empty() ? Json(nullptr) : Json(kind)}, {"faiss_available", approx_available()}};
  if (!index.embed_config.is_null()) info["model"] = index.embed_config["model"]["path"];
  std::cout << info.dump(2) << std::endl;
  return kExitOk;
}

struct SearchOptions {
  CommonOptions common;
  std::string index;
  int k = 10;
  bool vectors = false;
  bool approx = false;
  int ef_search = 0, nprobe = 0;
};

int run_search(SearchOptions& opts) {
  setup_logging(opts.common);
  VectorIndex index = VectorIndex::load(opts.index);
  RunReport report;
  JsonlWriter jsonl(std::cout);
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  EmbeddingSet queries;
  if (opts.vectors) {
    if (opts.common.inputs.empty()) throw Error(ErrorKind::Usage, "search --vectors: give embedding folders or .npy files");
    queries.dim = index.dim();
    for (const auto& s : opts.common.inputs) {
      EmbeddingSet set = load_embedding_set(s);
      if (set.dim != index.dim()) throw Error(ErrorKind::Input, s + ": dimension " + std::to_string(set.dim) + " does not match the index");
      queries.ids.insert(queries.ids.end(), set.ids.begin(), set.ids.end());
      queries.rows.insert(queries.rows.end(), set.rows.begin(), set.rows.end());
      for (std::size_t i = 0; i < set.ids.size(); ++i) report.success();
    }
  } else {
    Json config;
    if (opts.common.config.empty() && !index.embed_config.is_null()) {
      // Embed queries exactly as the indexed vectors were.
      config = index.embed_config;
      for (const auto& s : opts.common.sets) apply_override(config, s);
      for (const auto& s : opts.common.flag_overrides) apply_override(config, s);
      validate_json(config, task_schema("embed"));
      configure_threads(config["runtime"]["threads"].get<int>());
    } else {
      config = load_embed_config(opts.common, "embed-centernet.json");
    }
    auto items = collect_inputs(opts.common);
    Embedder embedder(config);
    if (embedder.dim() != index.dim())
      throw Error(ErrorKind::Config, "the embed config gives " + std::to_string(embedder.dim()) + "-d vectors, the index holds " +
                                         std::to_string(index.dim()) + "-d ones");
    queries = embed_items(items, config, opts.common, embedder, report);
  }
  std::vector<std::vector<SearchHit>> hits;
  if (opts.approx) {
    ApproxOptions o;
    o.kind = approx_kind(opts.index);
    if (o.kind.empty()) throw Error(ErrorKind::Usage, opts.index + ": has no approximate index (index build --approx hnsw|ivf)");
    if (opts.ef_search > 0) o.ef_search = opts.ef_search;
    if (opts.nprobe > 0) o.nprobe = opts.nprobe;
    hits = search_approx_index(index, opts.index, queries.rows.data(), queries.ids.size(), opts.k, o);
  } else {
    hits = index.search(queries.rows.data(), queries.ids.size(), opts.k);
  }
  std::optional<OutputNamer> namer;
  if (!opts.common.output_dir.empty()) namer.emplace(opts.common.output_dir);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    if (namer) {
      // The query first, then its neighbours with their scores.
      std::vector<std::string> ids{queries.ids[i]}, captions{"query " + fs::path(queries.ids[i]).filename().string()};
      for (const auto& h : hits[i]) {
        char score[16];
        std::snprintf(score, sizeof score, "%.3f ", h.score);
        ids.push_back(h.id);
        captions.push_back(score + fs::path(h.id).filename().string());
      }
      write_image_atomic(namer->path_for(queries.ids[i], ".search.jpg"), sources_sheet(ids, captions));
    }
    if (opts.common.jsonl) {
      Json list = Json::array();
      for (const auto& h : hits[i]) list.push_back({{"id", h.id}, {"score", h.score}, {"row", h.row}});
      jsonl.write({{"source", queries.ids[i]}, {"neighbors", list}});
    } else {
      std::printf("%s\n", queries.ids[i].c_str());
      for (std::size_t j = 0; j < hits[i].size(); ++j)
        std::printf("  %2zu. %.4f  %s\n", j + 1, hits[i][j].score, hits[i][j].id.c_str());
    }
  }
  return report.finish("queries");
}

}  // namespace

Command register_index(CLI::App& app) {
  auto opts = std::make_shared<IndexOptions>();
  CLI::App* cmd = app.add_subcommand("index", "Build and edit a cosine k-NN index over embeddings");
  cmd->require_subcommand(1);
  auto* build = cmd->add_subcommand("build", "New index from 'cvtool embed -o' folders (or .npy files)");
  build->add_option("sources", opts->sources, "Embedding folders or .npy files")->required();
  build->add_option("-o,--output", opts->output, "Index folder to write")->required();
  build->add_option("--approx", opts->approx, "Also build an approximate FAISS index: hnsw or ivf")
      ->check(CLI::IsMember({"hnsw", "ivf"}));
  auto* add = cmd->add_subcommand("add", "Add embeddings to an index (an id already there is replaced)");
  add->add_option("index", opts->dir, "Index folder")->required();
  add->add_option("sources", opts->sources, "Embedding folders or .npy files")->required();
  auto* remove = cmd->add_subcommand("remove", "Remove vectors by id (the source path as in ids.txt)");
  remove->add_option("index", opts->dir, "Index folder")->required();
  remove->add_option("--id", opts->remove_ids, "Id to remove (repeatable)");
  remove->add_option("--ids-file", opts->remove_ids_file, "File with one id per line");
  auto* info = cmd->add_subcommand("info", "Count, dimension and model of an index (JSON)");
  info->add_option("index", opts->dir, "Index folder")->required();
  cmd->footer(
      "\nExamples:\n"
      "  cvtool embed photos/ -o vecs/ && cvtool index build vecs/ -o index/\n"
      "  cvtool index add index/ more-vecs/\n"
      "  cvtool index remove index/ --id photos/old.jpg\n");
  return {cmd, [opts, build, add, remove, info]() -> int {
            if (build->parsed()) return run_index_build(*opts);
            if (add->parsed()) return run_index_add(*opts);
            if (remove->parsed()) return run_index_remove(*opts);
            if (info->parsed()) return run_index_info(*opts);
            return kExitUsage;
          }};
}

Command register_search(CLI::App& app) {
  auto opts = std::make_shared<SearchOptions>();
  CLI::App* cmd = app.add_subcommand("search", "Find the k most similar indexed images (cosine)");
  add_common_options(cmd, opts->common);
  cmd->add_option("--index", opts->index, "Index folder (cvtool index build)")->required();
  cmd->add_option("-k", opts->k, "Neighbours per query")->check(CLI::PositiveNumber);
  cmd->add_flag("--vectors", opts->vectors, "Inputs are embedding folders/.npy files, not images");
  cmd->add_flag("--approx", opts->approx, "Use the index's approximate FAISS index instead of exact search");
  cmd->add_option("--ef-search", opts->ef_search, "HNSW search breadth (with --approx)")->check(CLI::PositiveNumber);
  cmd->add_option("--nprobe", opts->nprobe, "IVF lists visited (with --approx)")->check(CLI::PositiveNumber);
  cmd->footer(
      "\nQuery images are embedded with the config the index was built from (or -c).\n"
      "\nExamples:\n"
      "  cvtool search query.jpg --index index/ -k 10\n"
      "  cvtool search queries/ --index index/ -k 5 --jsonl > hits.jsonl\n"
      "  cvtool search photo.jpg --index index/ -k 8 -o sheets/   # sheets/photo.search.jpg: query and hits\n"
      "  cvtool search q-vecs/ --vectors --index index/ --approx\n");
  return {cmd, [opts] { return run_search(*opts); }};
}

}  // namespace cvtool::cli
