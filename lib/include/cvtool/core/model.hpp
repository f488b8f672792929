#pragma once
// A TorchScript model ready for inference. Includes LibTorch: only code that passes
// tensors should include this header.
#include <filesystem>
#include <string>
#include <vector>

#include <torch/script.h>

namespace cvtool {

struct ModelOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:1"
  std::string sha256;          // when set, the file must match before it is loaded
  // Inference optimisations, each measured on the zoo (docs/benchmarks.md); the
  // defaults are what helped there. Outputs stay equal to tolerance (tests/unit/test_model_opt.cpp).
  bool freeze = true;                   // torch::jit::freeze a module that is not frozen yet
  bool optimize_for_inference = false;  // oneDNN fusions: slower on the zoo's models
  bool channels_last = false;           // feed 4-D inputs in NHWC memory order
  // The graph executor's profiling and re-optimisation of the forward graph. Off: the
  // zoo's models are frozen (already optimised), and on it only cost first calls
  // (CenterNet's first forward 770 -> 490 ms, MoveNet 384 -> 155), with equal steady speed.
  bool graph_optimize = false;
};

class Model {
 public:
  // Loads the file, puts it in eval mode on the device. Throws Error(Model) naming
  // the path when the file is missing, not TorchScript, or fails its checksum.
  Model(const std::filesystem::path& path, const ModelOptions& options);

  // Runs forward under inference mode.
  torch::IValue forward(std::vector<torch::IValue> inputs);
  torch::IValue forward(const torch::Tensor& input);

  const torch::Device& device() const { return device_; }
  double load_ms() const { return load_ms_; }  // reading, checking and preparing the file
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  torch::Device device_;
  torch::jit::Module module_;
  bool channels_last_ = false;
  bool graph_optimize_ = false;
  double load_ms_ = 0;
};

// "cpu" or "cuda[:i]"; Error(Config) when CUDA is asked for but not built in.
torch::Device parse_device(const std::string& name);


// Collects a model output into a flat list of tensors (a tensor, or a tuple/list of
// tensors), or throws Error(Model) describing what was found.
std::vector<torch::Tensor> output_tensors(const torch::IValue& output, const std::string& model);

std::string describe_shape(const torch::Tensor& t);

}  // namespace cvtool
