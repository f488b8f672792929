#pragma once
// `cvtool train classify` as a library call: datasets, model (small CNN from scratch or
// a TorchScript backbone with a new head), optimisation, early stopping, checkpoints,
// metrics, data-parallel ranks, and the export of one standalone TorchScript classifier
// plus its classify config. No LibTorch in this header; see trainer_hooks.hpp for the
// tensor-level extension points (custom losses, batch transforms).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct TrainRun {
  std::string output_dir;        // run folder: checkpoints, metrics, the exported model
  bool resume = false;           // continue from output_dir/last.pt
  std::string progress = "auto";  // progress bar per epoch: auto (a terminal), on, off
  // Written into the exported classify config: paths are relative to it.
  std::string export_name = "model.pt";
};

struct EpochMetrics {
  int epoch = 0;
  double lr = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0;
  double seconds = 0;
  nlohmann::json to_json() const;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  int best_epoch = 0;
  double best_val_loss = 0;
  bool stopped_early = false;
  double seconds = 0;                // wall time of the run
  nlohmann::json final_metrics;      // per-class P/R/F1 + confusion of the best model on val
  std::string model_path, config_path;  // the exported classifier and its classify config
  std::vector<std::string> classes;
};

// Trains per a validated "train" config (see configs/schema/train.schema.json). With
// WORLD_SIZE > 1 in the environment, runs as one data-parallel rank; rank 0 writes.
TrainResult train_classifier(const nlohmann::json& config, const TrainRun& run);

}  // namespace cvtool
