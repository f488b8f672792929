#include "cvtool/tools/tool_eval.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cvtool/core/error.hpp"
#include "cvtool/core/tensor.hpp"

namespace cvtool {

std::vector<std::string> spread_sample(const std::vector<std::string>& paths, int cap) {
  if (static_cast<int>(paths.size()) <= cap) return paths;
  std::vector<std::string> out;
  for (int i = 0; i < cap; ++i) out.push_back(paths[static_cast<size_t>(double(i) * paths.size() / cap)]);
  return out;
}

std::vector<std::string> read_model_labels(const nlohmann::json& model) {
  std::vector<std::string> labels;
  if (!model["labels"].is_string()) return labels;
  std::ifstream in(model["labels"].get<std::string>());
  if (!in) throw Error(ErrorKind::Config, "model.labels: cannot read " + model["labels"].get<std::string>());
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) labels.push_back(line);
  return labels;
}

int image_folder_label(const std::string& path, const std::vector<std::string>& labels) {
  std::string dir = std::filesystem::path(path).parent_path().filename().string();
  auto it = std::find(labels.begin(), labels.end(), dir);
  if (it != labels.end()) return static_cast<int>(it - labels.begin());
  if (labels.empty() && !dir.empty() && dir.size() < 9 && std::all_of(dir.begin(), dir.end(), ::isdigit))
    return std::stoi(dir);
  return -1;
}

torch::Tensor model_output(Model& model, const torch::Tensor& x, int index) {
  auto outs = output_tensors(model.forward(x), model.path().string());
  if (index >= static_cast<int>(outs.size()))
    throw Error(ErrorKind::Config, "model.output: " + std::to_string(index) + " but the model has " +
                                       std::to_string(outs.size()) + " outputs");
  return outs[index].to(torch::kFloat).reshape({x.size(0), -1});
}

std::string format_fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

}  // namespace cvtool
