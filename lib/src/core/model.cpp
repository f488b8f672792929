#include "cvtool/core/model.hpp"

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>

#include <chrono>

#include "cvtool/core/error.hpp"
#include "cvtool/core/hash.hpp"

namespace cvtool {

namespace fs = std::filesystem;

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error(ErrorKind::Config, "device '" + name + "': this LibTorch build has no CUDA support or no GPU is visible");
    int index = 0;
    if (name.size() > 5 && name[4] == ':') index = std::stoi(name.substr(5));
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error(ErrorKind::Config, "device '" + name + "': expected cpu or cuda[:i]");
}

namespace {

// A frozen module keeps its weights as graph constants: no parameters or buffers left.
bool is_frozen(const torch::jit::Module& m) {
  return m.parameters().size() == 0 && m.buffers().size() == 0;
}

}  // namespace

Model::Model(const fs::path& path, const ModelOptions& options) : path_(path), device_(parse_device(options.device)) {
  auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(ErrorKind::Model, path.string() + ": model file not found (run scripts/fetch-models.sh?)");
  if (!options.sha256.empty()) {
    std::string actual = sha256_file(path);
    if (actual != options.sha256)
      throw Error(ErrorKind::Model, path.string() + ": sha256 is " + actual + ", config expects " + options.sha256);
  }
  try {
    module_ = torch::jit::load(path.string(), device_);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(ErrorKind::Model, path.string() + ": not a loadable TorchScript model: " + what.substr(0, 200));
  }
  module_.eval();
  // The zoo's converters freeze already; user models often come unfrozen.
  if (options.freeze && !is_frozen(module_)) module_ = torch::jit::freeze(module_);
  if (options.optimize_for_inference) module_ = torch::jit::optimize_for_inference(module_);
  channels_last_ = options.channels_last;
  graph_optimize_ = options.graph_optimize;
  load_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

torch::IValue Model::forward(std::vector<torch::IValue> inputs) {
  c10::InferenceMode guard;
  // Per call, not process-wide: training and the tools keep the executor's defaults.
  torch::jit::GraphOptimizerEnabledGuard optimize(graph_optimize_);
  if (channels_last_)
    for (auto& v : inputs)
      if (v.isTensor() && v.toTensor().dim() == 4) v = v.toTensor().contiguous(torch::MemoryFormat::ChannelsLast);
  try {
    return module_.forward(std::move(inputs));
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(ErrorKind::Model, path_.string() + ": forward failed: " + what.substr(0, 300));
  }
}

torch::IValue Model::forward(const torch::Tensor& input) {
  return forward(std::vector<torch::IValue>{input.to(device_)});
}

std::string describe_shape(const torch::Tensor& t) {
  std::string s;
  for (auto d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

std::vector<torch::Tensor> output_tensors(const torch::IValue& output, const std::string& model) {
  std::vector<torch::Tensor> out;
  if (output.isTensor()) {
    out.push_back(output.toTensor());
  } else if (output.isTuple()) {
    for (const auto& v : output.toTupleRef().elements()) {
      if (!v.isTensor()) throw Error(ErrorKind::Model, model + ": output tuple holds a " + v.tagKind() + ", expected tensors");
      out.push_back(v.toTensor());
    }
  } else if (output.isTensorList()) {
    for (const auto& t : output.toTensorVector()) out.push_back(t);
  } else if (output.isList()) {
    for (const auto& v : output.toListRef()) {
      if (!v.isTensor()) throw Error(ErrorKind::Model, model + ": output list holds a " + v.tagKind() + ", expected tensors");
      out.push_back(v.toTensor());
    }
  } else {
    throw Error(ErrorKind::Model, model + ": output is a " + output.tagKind() + ", expected a tensor or a tuple of tensors");
  }
  return out;
}

}  // namespace cvtool
