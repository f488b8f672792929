#pragma once
// `cvtool prune` as a library call: prune a TorchScript model per a validated "prune"
// config (configs/schema/prune.schema.json), optionally fine-tune it on a classify
// dataset with the pruning mask fixed (the trainer of `cvtool train classify`), save it,
// then measure the original and pruned files side by side: size on disk (raw and
// zlib-compressed), batch-1 latency, accuracy / agreement on evaluation images, and the
// sparsity of every conv / linear weight. No LibTorch here; see tools/prune_module.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct PruneJob {
  std::vector<std::string> eval_images;  // accuracy needs <label>/<image> folders
  std::string output_path;               // the pruned TorchScript file
  std::string finetune_data;             // ImageFolder root / list for fine-tuning; empty: none
  std::string finetune_dir;              // the trainer's run folder (default: <output>.finetune/)
  std::string progress = "off";          // trainer progress bar
};

// One model measured.
struct PruneRow {
  std::string variant;  // "original", "pruned", "pruned + fine-tuned (N epochs)"
  std::string path;
  long long size_bytes = 0;
  long long compressed_bytes = 0;  // zlib level 9 of the file (gzip -9 is 18 bytes more)
  long long parameters = 0;        // conv + linear weights
  long long nonzero = 0;           // of those, not zero
  double latency_ms = 0;           // median batch-1 forward
  int eval_images = 0;
  double accuracy = -1;            // top-1 vs folder labels; -1 when the images carry none
  double top1_agreement = 1;       // same arg-max as the original
  nlohmann::json to_json() const;
};

struct PruneLayerRow {
  std::string name, op;
  std::vector<int64_t> shape_before, shape_after;
  int64_t weights = 0, zeros = 0;
  int channels_pruned = 0;  // channel method
  nlohmann::json to_json() const;
};

struct PruneReport {
  std::string method, scope;
  double sparsity = 0;
  bool physical = false;  // channels removed, not just zeroed
  bool frozen = false;    // generic route (frozen graph)
  int finetune_epochs = 0;
  double finetune_seconds = 0;
  std::vector<PruneLayerRow> layers;  // of the saved model
  std::vector<PruneRow> rows;         // original, pruned, [pruned + fine-tuned]
};

// Throws Error(Config) for a bad sparsity / method / scope, Error(Model) for a model
// without conv / linear weights, Error(Usage) when fine-tuning is asked of a model that
// is not a cvtool classifier (only those stay trainable after pruning).
PruneReport run_prune(const nlohmann::json& config, const PruneJob& job);

// zlib (level 9) size of a file's bytes: what unstructured zeros save once compressed.
long long compressed_size(const std::string& path);

// The before/after table and the per-layer table, as Markdown.
std::string format_prune_table(const PruneReport& report);
std::string format_prune_layers(const PruneReport& report);

}  // namespace cvtool
