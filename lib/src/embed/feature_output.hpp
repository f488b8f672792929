#pragma once
// Turning a model's raw output into one feature vector per image: pick the output
// that holds the features, then pool its spatial (or token) axes. Internal to embed/.
#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>
#include <ATen/core/ivalue.h>

namespace cvtool {

enum class PoolMode { Avg, Max, Flatten };
PoolMode parse_pool_mode(const std::string& name);

// `selector` is null (the only tensor), an integer (tuple/list index) or a string
// (dict key). Throws Error(Model) describing what the model returned when it does
// not match.
torch::Tensor select_output(const torch::IValue& output, const nlohmann::json& selector, const std::string& model);

// N x D from an N x D, N x C x L / N x L x C or N x C x H x W / N x H x W x C tensor
// (`channels_last` picks the second form). Throws Error(Model) on other ranks.
torch::Tensor pool_features(const torch::Tensor& features, bool channels_last, PoolMode mode, const std::string& model);

}  // namespace cvtool
