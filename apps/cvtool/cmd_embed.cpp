// `cvtool embed`: image embeddings to an .npy matrix plus an ids file (-o DIR) and/or
// one JSON record per input (--jsonl).
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "embed_inputs.hpp"

namespace cvtool::cli {

namespace {

struct EmbedOptions {
  CommonOptions common;
  bool flip = false;
  bool face = false;
  std::string pool;
};

int run_embed(EmbedOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (opts.flip) o.push_back("post.flip_tta=true");
  if (!opts.pool.empty()) o.push_back("post.pool=" + opts.pool);
  Json config = load_embed_config(opts.common, opts.face ? "embed-face.json" : "embed-centernet.json");
  auto items = collect_inputs(opts.common);
  Embedder embedder(config);
  spdlog::debug("embedding with {} ({} dimensions)", config["model"]["path"].get<std::string>(), embedder.dim());

  RunReport report;
  JsonlWriter jsonl(std::cout);
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  const bool to_dir = !opts.common.output_dir.empty();
  const std::string npy_name = config["output"]["npy"].get<std::string>();
  const auto npy_path = std::filesystem::path(opts.common.output_dir) / npy_name;
  auto on_row = [&](const Frame& frame, const std::vector<float>& v, std::size_t row) {
    if (opts.common.jsonl) {
      Json record = {{"source", frame.source}};
      if (frame.index >= 0) record["frame"] = frame.index;
      record["dim"] = v.size();
      if (to_dir) {
        record["file"] = npy_path.string();
        record["row"] = row;
      }
      record["embedding"] = v;
      jsonl.write(record);
    } else if (!to_dir) {
      double norm = 0;
      for (float x : v) norm += double(x) * x;
      std::printf("%s: %zu dimensions, |v| = %.3f, first values %.4f %.4f %.4f\n", frame_id(frame).c_str(), v.size(),
                  std::sqrt(norm), v.size() > 0 ? v[0] : 0.f, v.size() > 1 ? v[1] : 0.f, v.size() > 2 ? v[2] : 0.f);
    }
  };
  EmbeddingSet set = embed_items(items, config, opts.common, embedder, report, on_row);
  if (to_dir) {
    save_embedding_set(opts.common.output_dir, set, npy_name, config["output"]["ids"].get<std::string>());
    spdlog::info("{} x {} embeddings in {}", set.ids.size(), set.dim, npy_path.string());
  }
  return report.finish("images");
}

}  // namespace

Command register_embed(CLI::App& app) {
  auto opts = std::make_shared<EmbedOptions>();
  CLI::App* cmd = app.add_subcommand("embed", "Image embeddings (feature vectors) to .npy, ids and JSONL");
  add_common_options(cmd, opts->common);
  cmd->add_flag("--flip", opts->flip, "Test-time augmentation: average with the mirrored image (post.flip_tta)");
  cmd->add_flag("--face", opts->face, "Use the bundled face config (BlazeFace crop + FaceRes) instead of the general one");
  cmd->add_option("--pool", opts->pool, "Pooling of a feature map: avg, max or flatten (post.pool)")
      ->check(CLI::IsMember({"avg", "max", "flatten"}));
  cmd->footer(
      "\nOutput with -o DIR: embeddings.npy (N x D float32, numpy.load reads it), ids.txt (row -> source), embed.json.\n"
      "\nExamples:\n"
      "  cvtool embed /usr/share/doc/opencv-doc/examples/data/ -o vecs/\n"
      "  cvtool embed photos/ --face -o faces/ --jsonl > faces.jsonl\n"
      "  cvtool embed img.jpg -c my-resnet.json --set model.output=1 --set post.pool=max\n");
  return {cmd, [opts] { return run_embed(*opts); }};
}

}  // namespace cvtool::cli
