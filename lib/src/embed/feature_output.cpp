#include "feature_output.hpp"

#include <torch/torch.h>

#include "cvtool/core/error.hpp"
#include "cvtool/core/model.hpp"

namespace cvtool {

PoolMode parse_pool_mode(const std::string& name) {
  if (name == "avg") return PoolMode::Avg;
  if (name == "max") return PoolMode::Max;
  if (name == "flatten") return PoolMode::Flatten;
  throw Error(ErrorKind::Config, "post.pool '" + name + "': expected avg, max or flatten");
}

namespace {

std::string describe(const torch::IValue& v) {
  if (v.isTensor()) return "tensor " + describe_shape(v.toTensor());
  if (v.isTuple() || v.isList()) {
    std::vector<torch::IValue> items;
    if (v.isTuple()) items = v.toTupleRef().elements().vec();
    else for (const auto& x : v.toListRef()) items.push_back(x);
    std::string s = v.isTuple() ? "tuple (" : "list [";
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + std::to_string(i) + ": " + describe(items[i]);
    return s + (v.isTuple() ? ")" : "]");
  }
  if (v.isGenericDict()) {
    std::string s = "dict {";
    bool first = true;
    for (const auto& e : v.toGenericDict()) {
      s += (first ? "" : ", ") + (e.key().isString() ? e.key().toStringRef() : std::string("?")) + ": " + describe(e.value());
      first = false;
    }
    return s + "}";
  }
  return v.tagKind();
}

std::vector<torch::IValue> sequence(const torch::IValue& v) {
  if (v.isTuple()) return v.toTupleRef().elements().vec();
  std::vector<torch::IValue> items;
  for (const auto& x : v.toListRef()) items.push_back(x);
  return items;
}

}  // namespace

torch::Tensor select_output(const torch::IValue& output, const nlohmann::json& selector, const std::string& model) {
  auto fail = [&](const std::string& why) {
    return Error(ErrorKind::Model, model + ": " + why + "; the model returned " + describe(output));
  };
  torch::IValue picked;
  if (selector.is_null()) {
    if (output.isTensor()) return output.toTensor();
    if ((output.isTuple() || output.isList()) && sequence(output).size() == 1) picked = sequence(output)[0];
    else throw fail("model.output is not set and the output is not a single tensor (set it to an index or key)");
  } else if (selector.is_number_integer()) {
    if (!output.isTuple() && !output.isList()) throw fail("model.output is an index but the output is not a tuple or list");
    auto items = sequence(output);
    int64_t i = selector.get<int64_t>();
    if (i < 0 || i >= int64_t(items.size())) throw fail("model.output index " + std::to_string(i) + " is out of range");
    picked = items[i];
  } else {
    std::string key = selector.get<std::string>();
    if (!output.isGenericDict()) throw fail("model.output is a key ('" + key + "') but the output is not a dict");
    bool found = false;
    for (const auto& e : output.toGenericDict()) {
      if (e.key().isString() && e.key().toStringRef() == key) {
        picked = e.value();
        found = true;
      }
    }
    if (!found) throw fail("no output named '" + key + "'");
  }
  if (!picked.isTensor()) throw fail("the selected output is not a tensor");
  return picked.toTensor();
}

torch::Tensor pool_features(const torch::Tensor& f, bool channels_last, PoolMode mode, const std::string& model) {
  const int64_t n = f.size(0);
  if (f.dim() == 2) return f.to(torch::kFloat32);
  if (f.dim() != 3 && f.dim() != 4)
    throw Error(ErrorKind::Model, model + ": feature output is " + describe_shape(f) +
                                      ", expected N x D, N x C x L or N x C x H x W (or channels-last)");
  if (mode == PoolMode::Flatten) return f.reshape({n, -1}).to(torch::kFloat32);
  std::vector<int64_t> axes;
  if (f.dim() == 3) axes = {channels_last ? 1 : 2};
  else axes = channels_last ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{2, 3};
  torch::Tensor x = f.to(torch::kFloat32);
  return mode == PoolMode::Avg ? x.mean(axes) : x.amax(axes);
}

}  // namespace cvtool
