#pragma once
// `cvtool distill` as a library call: train a student classifier (the trainer of
// `cvtool train classify`) on a blend of a teacher's soft targets and the hard labels,
// then score teacher and student side by side. No LibTorch here; see distill_loss.hpp.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cvtool/train/trainer.hpp"

namespace cvtool {

struct DistillOptions {
  double temperature = 4.0;  // T: softens both distributions
  double alpha = 0.9;        // weight of the soft (teacher) term; 0 = plain cross-entropy
};

// configs/schema/distill.schema.json: the train schema plus a "distill" section
// {teacher, temperature, alpha}, with task "distill" (a test keeps the two in step).
nlohmann::json distill_schema();

// Trains per `train_config` (a validated train config) against the teacher of
// `teacher_config` (a validated classify config). Throws Error(Config) when the
// teacher's labels do not cover the student's classes.
TrainResult run_distill(const nlohmann::json& train_config, const nlohmann::json& teacher_config,
                        const DistillOptions& options, const TrainRun& run);

// A classifier measured on a labelled ImageFolder.
struct ClassifierScore {
  std::string name, path;
  long long size_bytes = 0;
  long long parameters = 0;
  double accuracy = 0;    // top-1 on the test images
  double latency_ms = 0;  // median batch-1 forward (model only)
  int images = 0;
  nlohmann::json to_json() const;
};

// Top-1 accuracy of the classify config's model on `test_dir` (<class>/<image>),
// its file size, parameter count and batch-1 latency (`runs` timed forwards).
ClassifierScore score_classifier(const std::string& name, const nlohmann::json& classify_config,
                                 const std::string& test_dir, int runs);

std::string format_distill_table(const std::vector<ClassifierScore>& rows);

}  // namespace cvtool
