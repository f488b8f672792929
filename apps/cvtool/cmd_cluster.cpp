// `cvtool dedup` (near-duplicate groups) and `cvtool cluster` (k-means++ with a fixed
// seed) over embeddings, with a contact sheet per group or cluster.
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>

#include "commands.hpp"
#include "cvtool/core/npy.hpp"
#include "cvtool/embed/cluster.hpp"
#include "cvtool/embed/vector_index.hpp"
#include "embed_inputs.hpp"

namespace cvtool::cli {

namespace fs = std::filesystem;

namespace {

// Vectors from embedding folders/.npy files (--vectors) or by embedding the inputs.
EmbeddingSet gather(CommonOptions& common, bool vectors, RunReport& report) {
  if (vectors) {
    if (common.inputs.empty()) throw Error(ErrorKind::Usage, "--vectors: give embedding folders or .npy files");
    EmbeddingSet all;
    for (const auto& s : common.inputs) {
      EmbeddingSet set = load_embedding_set(s);
      if (all.dim == 0) all.dim = set.dim;
      if (set.dim != all.dim) throw Error(ErrorKind::Input, s + ": dimension differs from the first set");
      all.ids.insert(all.ids.end(), set.ids.begin(), set.ids.end());
      all.rows.insert(all.rows.end(), set.rows.begin(), set.rows.end());
      if (all.config.is_null()) all.config = set.config;
    }
    for (std::size_t i = 0; i < all.ids.size(); ++i) report.success();
    return all;
  }
  Json config = load_embed_config(common, "embed-centernet.json");
  auto items = collect_inputs(common);
  Embedder embedder(config);
  return embed_items(items, config, common, embedder, report);
}

struct DedupOptions {
  CommonOptions common;
  double threshold = 0.95;
  bool vectors = false;
};

int run_dedup(DedupOptions& opts) {
  setup_logging(opts.common);
  RunReport report;
  JsonlWriter jsonl(std::cout);
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  EmbeddingSet set = gather(opts.common, opts.vectors, report);
  l2_normalize_rows(set.rows.data(), set.ids.size(), set.dim);
  auto groups = near_duplicate_groups(set.rows.data(), set.ids.size(), set.dim, float(opts.threshold));
  Json all = Json::array();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    Json members = Json::array();
    for (auto row : groups[g]) members.push_back(set.ids[row]);
    Json record = {{"group", g}, {"size", groups[g].size()}, {"members", members}};
    all.push_back(record);
    if (opts.common.jsonl) {
      jsonl.write(record);
    } else {
      std::printf("group %zu (%zu images)\n", g, groups[g].size());
      for (auto row : groups[g]) std::printf("  %s\n", set.ids[row].c_str());
    }
    if (!opts.common.output_dir.empty()) {
      std::vector<std::string> ids;
      for (auto row : groups[g]) ids.push_back(set.ids[row]);
      char name[32];
      std::snprintf(name, sizeof name, "group_%03zu.jpg", g);
      write_image_atomic(fs::path(opts.common.output_dir) / name, sources_sheet(ids));
    }
  }
  if (!opts.common.output_dir.empty())
    write_file_atomic(fs::path(opts.common.output_dir) / "groups.json",
                      Json({{"threshold", opts.threshold}, {"count", set.ids.size()}, {"groups", all}}).dump(2) + "\n");
  spdlog::info("{} near-duplicate group(s) among {} images at cosine >= {}", groups.size(), set.ids.size(), opts.threshold);
  return report.finish("images");
}

struct ClusterOptions {
  CommonOptions common;
  int k = 8;
  std::uint64_t seed = 0;
  int max_iter = 100;
  bool images = false;
};

int run_cluster(ClusterOptions& opts) {
  setup_logging(opts.common);
  RunReport report;
  JsonlWriter jsonl(std::cout);
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  EmbeddingSet set = gather(opts.common, !opts.images, report);
  l2_normalize_rows(set.rows.data(), set.ids.size(), set.dim);
  KMeansOptions ko;
  ko.k = opts.k;
  ko.seed = opts.seed;
  ko.max_iterations = opts.max_iter;
  KMeansResult r = kmeans(set.rows.data(), set.ids.size(), set.dim, ko);
  std::map<int, std::vector<std::string>> members;
  for (std::size_t i = 0; i < set.ids.size(); ++i) members[r.labels[i]].push_back(set.ids[i]);
  for (std::size_t i = 0; i < set.ids.size(); ++i) {
    if (opts.common.jsonl) jsonl.write({{"source", set.ids[i]}, {"cluster", r.labels[i]}});
  }
  if (!opts.common.jsonl) {
    for (const auto& [c, ids] : members) {
      std::printf("cluster %d (%zu)\n", c, ids.size());
      for (const auto& id : ids) std::printf("  %s\n", id.c_str());
    }
  }
  if (!opts.common.output_dir.empty()) {
    fs::path dir = opts.common.output_dir;
    Json clusters = Json::array();
    for (const auto& [c, ids] : members) {
      char name[32];
      std::snprintf(name, sizeof name, "cluster_%02d.jpg", c);
      write_image_atomic(dir / name, sources_sheet(ids));
      clusters.push_back({{"cluster", c}, {"size", ids.size()}, {"sheet", name}, {"members", ids}});
    }
    write_npy(dir / "centroids.npy", r.centroids.data(), {opts.k, set.dim});
    write_file_atomic(dir / "clusters.json", Json({{"k", opts.k}, {"seed", opts.seed}, {"iterations", r.iterations},
                                                   {"inertia", r.inertia}, {"clusters", clusters}})
                                                     .dump(2) + "\n");
    spdlog::info("clusters, contact sheets and centroids in {}", dir.string());
  }
  spdlog::info("k-means: k = {}, seed {}, {} iterations, inertia {:.4f}", opts.k, opts.seed, r.iterations, r.inertia);
  return report.finish("vectors");
}

}  // namespace

Command register_dedup(CLI::App& app) {
  auto opts = std::make_shared<DedupOptions>();
  CLI::App* cmd = app.add_subcommand("dedup", "Groups of near-duplicate images (cosine similarity of embeddings)");
  add_common_options(cmd, opts->common);
  cmd->add_option("--threshold", opts->threshold, "Cosine similarity at or above which two images are duplicates")
      ->check(CLI::Range(-1.0, 1.0));
  cmd->add_flag("--vectors", opts->vectors, "Inputs are embedding folders/.npy files, not images");
  cmd->footer(
      "\nWith -o DIR: groups.json and a contact sheet group_NNN.jpg per group.\n"
      "\nExamples:\n"
      "  cvtool dedup photos/ --threshold 0.95\n"
      "  cvtool dedup vecs/ --vectors --threshold 0.9 -o dups/\n"
      "  cvtool dedup photos/ --jsonl > groups.jsonl\n");
  return {cmd, [opts] { return run_dedup(*opts); }};
}

Command register_cluster(CLI::App& app) {
  auto opts = std::make_shared<ClusterOptions>();
  CLI::App* cmd = app.add_subcommand("cluster", "k-means++ clusters of embeddings, with a contact sheet per cluster");
  add_common_options(cmd, opts->common);
  cmd->add_option("-k", opts->k, "Number of clusters")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed, "Seed of the k-means++ initialisation (same seed, same clusters)");
  cmd->add_option("--max-iter", opts->max_iter, "Lloyd iterations at most")->check(CLI::PositiveNumber);
  cmd->add_flag("--images", opts->images, "Inputs are images to embed first (default: embedding folders/.npy files)");
  cmd->footer(
      "\nWith -o DIR: clusters.json, centroids.npy and a contact sheet cluster_NN.jpg per cluster.\n"
      "\nExamples:\n"
      "  cvtool cluster vecs/ -k 5 -o clusters/\n"
      "  cvtool cluster vecs/ -k 8 --seed 7 --jsonl\n"
      "  cvtool cluster photos/ --images -k 4 -o clusters/\n");
  return {cmd, [opts] { return run_cluster(*opts); }};
}

}  // namespace cvtool::cli
