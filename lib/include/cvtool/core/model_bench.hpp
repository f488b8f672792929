#pragma once
// Timing one TorchScript model on a fixed input, apart from any task (the number the
// side-by-side benchmark compares with ONNX Runtime), and the FLOP count stored next to
// a model. No LibTorch in this header.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cvtool {

struct ModelBenchOptions {
  std::filesystem::path path;
  std::vector<long long> shape;  // input shape, batch first
  std::string device = "cpu";
  bool freeze = true, optimize_for_inference = false, channels_last = false, graph_optimize = false;
  int warmup = 2, runs = 10;
};

struct ModelBenchResult {
  double load_ms = 0;        // read + check + prepare (freeze, ...)
  double first_call_ms = 0;  // the first forward (JIT profiling run, allocator growth)
  std::vector<double> call_ms;  // each timed forward after warm-up
};

ModelBenchResult bench_model(const ModelBenchOptions& options);

// GFLOP of one forward at `shape`, from "<model without .pt>.flops.json" (written by
// scripts/bench/onnx_export.py): the stored count at its reference input, scaled by
// batch and by image area (conv nets scale with pixels). nullopt when there is no file.
std::optional<double> model_gflop(const std::filesystem::path& model, const std::vector<long long>& shape);

// Nearest-rank percentile of an unsorted sample.
double percentile(std::vector<double> values, double p);

// Peak resident set size of this process (VmHWM), in MiB.
double peak_rss_mib();

}  // namespace cvtool
