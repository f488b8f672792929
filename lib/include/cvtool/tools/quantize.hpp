#pragma once
// `cvtool quantize` as a library call: quantize a TorchScript model per a validated
// "quantize" config, save it, then measure the float and quantized files side by side
// (size on disk, batch-1 latency, accuracy / agreement on evaluation images). No
// LibTorch here; tools/quantize_module.hpp has the tensor-level API.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cvtool {

struct QuantizeJob {
  std::vector<std::string> calibration_images;  // static mode: representative inputs
  std::vector<std::string> eval_images;         // accuracy needs <label>/<image> folders
  std::string output_path;                      // the quantized TorchScript file
};

// One model measured: the float original or the quantized file.
struct QuantizeRow {
  std::string variant;        // "float32", "int8 static", "int8 dynamic", "fp16 weights"
  std::string path;
  long long size_bytes = 0;
  double latency_ms = 0;      // median batch-1 forward
  int eval_images = 0;
  double accuracy = -1;       // top-1 vs folder labels; -1 when the images carry none
  double top1_agreement = 1;  // fraction with the same arg-max as the float model
  double max_abs_diff = 0;    // largest |output - float output| over the eval set
  double mean_cosine = 1;     // cosine similarity of flattened outputs, averaged
  nlohmann::json to_json() const;
};

struct QuantizeReport {
  std::string mode, engine;
  int quantized_ops = 0, weight_ops = 0;
  std::vector<std::string> float_ops;  // "conv_transpose2d (weight [..]): why"
  int activation_qparams = 0;  // activation scale/zero-point pairs chosen by calibration
  int calibration_images = 0;
  std::vector<QuantizeRow> rows;  // float first, then quantized
};

// Throws Error(Model) with the refusal when an op cannot be quantized (see
// quantize_module), Error(Usage) when static mode gets no calibration images.
QuantizeReport run_quantize(const nlohmann::json& config, const QuantizeJob& job);

// The side-by-side table as Markdown (what the CLI prints and docs/quantize.md shows).
std::string format_quantize_table(const QuantizeReport& report);

}  // namespace cvtool
