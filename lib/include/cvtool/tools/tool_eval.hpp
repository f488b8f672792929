#pragma once
// The evaluation shared by the model tools (quantize, prune): which images, their
// ImageFolder labels, and one output of a model, so the tools' tables are comparable.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cvtool/core/model.hpp"

namespace cvtool {

// Every k-th path, so a cap still spans all classes of a sorted ImageFolder listing.
std::vector<std::string> spread_sample(const std::vector<std::string>& paths, int cap);

// model.labels as a list (empty when the config names no labels file).
std::vector<std::string> read_model_labels(const nlohmann::json& model);

// The class of an ImageFolder image (its parent folder's index in labels, or the
// folder's number when there are no labels), or -1.
int image_folder_label(const std::string& path, const std::vector<std::string>& labels);

// v with `digits` decimals, for the tools' Markdown tables.
std::string format_fixed(double v, int digits);

// Output `index` of the model on x as float, one row per batch item.
torch::Tensor model_output(Model& model, const torch::Tensor& x, int index);

}  // namespace cvtool
