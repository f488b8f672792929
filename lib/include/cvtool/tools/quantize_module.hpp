#pragma once
// Post-training quantization of a TorchScript module, in C++ only: LibTorch's own
// graph-mode passes (InsertObservers -> calibration -> InsertQuantDeQuant -> Finalize,
// the passes Python's quantize_jit drives) with observers defined here in TorchScript,
// plus float16 weight storage. Includes LibTorch (modules and tensors cross).
#include <string>
#include <vector>

#include <torch/script.h>

namespace cvtool {

enum class QuantMode { Dynamic, Static, Float16 };
QuantMode parse_quant_mode(const std::string& name);  // "dynamic" | "static" | "fp16"
std::string to_string(QuantMode mode);

struct QuantizeModuleOptions {
  QuantMode mode = QuantMode::Dynamic;
  std::string engine = "onednn";  // quantized kernels: "onednn" or "qnnpack" (Debian's build has no FBGEMM)
  bool per_channel = true;        // int8 weights: per output channel (else per tensor)
  // Weight ops that have no int8 route are refused unless this is set; then they stay float.
  bool allow_float_ops = false;
};

// One weight op found in the graph and what became of it.
struct QuantOpInfo {
  std::string op;      // e.g. "conv2d", "linear", "conv_transpose2d"
  std::string where;   // weight shape + source location, for the messages
  bool quantized = false;
  std::string reason;  // why it stays float (empty when quantized)
};

struct QuantizeModuleResult {
  torch::jit::Module module;
  std::vector<QuantOpInfo> ops;
  // Activation quantization parameters the static passes chose, in graph order: each
  // quantize_per_tensor ("quantize") and each int8 op's output ("quantized::conv2d"...).
  struct QParams {
    std::string op;
    double scale = 0;
    long zero_point = 0;
  };
  std::vector<QParams> activation_qparams;
  int quantized_ops() const;
};

// Selects the quantized engine (throws Error(Config) naming the engines built in).
void set_quant_engine(const std::string& engine);

// Freezes `module` (eval mode, conv-bn folding), moves conv/linear weights to module
// attributes so the graph passes see them, and quantizes:
//  - Dynamic: int8 weights for linear layers, activations quantized per batch at run time;
//  - Static: int8 conv + linear with activation ranges observed on `calibration` (each
//    element one input batch), min/max observers as torch.ao's MinMaxObserver;
//  - Float16: every float tensor constant (not scalars) stored as float16, cast back on use.
// Throws Error(Model) that names each weight op without an int8 route (transposed or
// 3-D convolutions, matmul with two activations, ...) unless allow_float_ops; and when
// the mode finds nothing to quantize (e.g. dynamic on a model without linear layers).
QuantizeModuleResult quantize_module(const torch::jit::Module& module, const QuantizeModuleOptions& options,
                                     const std::vector<torch::Tensor>& calibration);

// Quantization parameters exactly as the static observers compute them (torch.ao's
// MinMaxObserver): activations quint8 affine over [min(lo,0), max(hi,0)]; weights
// qint8 symmetric (scale = max|w| / 127.5, zero point 0).
std::pair<double, long> affine_qparams(double lo, double hi);
double symmetric_scale(double max_abs);

}  // namespace cvtool
