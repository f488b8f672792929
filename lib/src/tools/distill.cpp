// Knowledge distillation on top of the trainer's hooks: the teacher runs on the very
// batch the student sees (after augmentation), converted to the teacher's input format.
#include "cvtool/tools/distill.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/forward_timing.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/train/dataset.hpp"
#include "cvtool/tools/distill_loss.hpp"

namespace cvtool {

namespace fs = std::filesystem;

torch::Tensor distillation_loss(const torch::Tensor& s, const torch::Tensor& t, const torch::Tensor& y, double T,
                                double alpha) {
  if (s.sizes() != t.sizes())
    throw Error(ErrorKind::Model, "distill: student logits " + describe_shape(s) + " but teacher logits " + describe_shape(t));
  torch::Tensor log_ps = torch::log_softmax(s / T, 1);
  torch::Tensor log_pt = torch::log_softmax(t.detach() / T, 1);
  torch::Tensor kl = (log_pt.exp() * (log_pt - log_ps)).sum(1);
  torch::Tensor ce = -torch::log_softmax(s, 1).gather(1, y.reshape({-1, 1}).to(torch::kLong)).squeeze(1);
  return alpha * T * T * kl + (1 - alpha) * ce;
}

torch::Tensor InputAdapter::operator()(const torch::Tensor& x) const {
  auto per_channel = [](const std::array<double, 3>& v) { return torch::tensor({v[0], v[1], v[2]}, torch::kFloat).reshape({1, 3, 1, 1}); };
  // Back to 0..255 pixels in the student's colour order.
  torch::Tensor p = (x * per_channel(student.std) + per_channel(student.mean)) / student.scale;
  if (student.rgb != teacher.rgb) p = p.flip({1});
  if (teacher_width > 0 && teacher_height > 0 && (p.size(2) != teacher_height || p.size(3) != teacher_width))
    p = torch::upsample_bilinear2d(p, {teacher_height, teacher_width}, false);
  torch::Tensor out = (p * teacher.scale - per_channel(teacher.mean)) / per_channel(teacher.std);
  if (teacher.layout == Layout::NHWC) out = out.permute({0, 2, 3, 1}).contiguous();
  return out;
}

Teacher::Teacher(const nlohmann::json& c, const Normalization& student_norm, const std::vector<std::string>& classes)
    : path_(c["model"]["path"].get<std::string>()) {
  try {
    module_ = torch::jit::load(path_);
  } catch (const c10::Error&) {
    throw Error(ErrorKind::Model, path_ + ": not a loadable TorchScript model (teacher)");
  }
  module_.eval();
  module_ = torch::jit::freeze(module_);
  adapter_.student = student_norm;
  adapter_.teacher = normalization_from_config(c["model"]);
  adapter_.teacher_width = c["model"]["input_size"][0].get<int>();
  adapter_.teacher_height = c["model"]["input_size"][1].get<int>();
  std::vector<std::string> labels;
  if (c["model"]["labels"].is_string()) {
    std::ifstream in(c["model"]["labels"].get<std::string>());
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) labels.push_back(line);
  }
  for (size_t i = 0; i < classes.size(); ++i) {
    if (labels.empty()) {
      order_.push_back(static_cast<int64_t>(i));  // no labels file: same order assumed
      continue;
    }
    auto it = std::find(labels.begin(), labels.end(), classes[i]);
    if (it == labels.end())
      throw Error(ErrorKind::Config, "distill: the student's class \"" + classes[i] + "\" is not among the teacher's labels (" +
                                         c["model"]["labels"].get<std::string>() + ")");
    order_.push_back(it - labels.begin());
  }
}

torch::Tensor Teacher::logits(const torch::Tensor& inputs) {
  torch::NoGradGuard no_grad;
  auto outs = output_tensors(module_.forward({adapter_(inputs)}), path_);
  torch::Tensor t = outs.at(0).to(torch::kFloat);
  if (t.dim() != 2) throw Error(ErrorKind::Model, path_ + ": teacher output is " + describe_shape(t) + ", expected N x classes");
  int64_t need = *std::max_element(order_.begin(), order_.end()) + 1;
  if (t.size(1) < need)
    throw Error(ErrorKind::Model, path_ + ": teacher has " + std::to_string(t.size(1)) + " outputs, the student " +
                                      std::to_string(order_.size()) + " classes");
  return t.index_select(1, torch::tensor(order_, torch::kLong));
}

TrainHooks distillation_hooks(std::shared_ptr<Teacher> teacher, double temperature, double alpha) {
  TrainHooks hooks;
  hooks.loss = [teacher, temperature, alpha](torch::jit::Module&, const torch::Tensor& inputs, const torch::Tensor& targets,
                                             const torch::Tensor& logits) {
    return distillation_loss(logits, teacher->logits(inputs), targets, temperature, alpha);
  };
  return hooks;
}

nlohmann::json distill_schema() { return task_schema("distill"); }

TrainResult run_distill(const nlohmann::json& train_config, const nlohmann::json& teacher_config,
                        const DistillOptions& options, const TrainRun& run) {
  nlohmann::json config = train_config;
  config["task"] = "train";
  config.erase("distill");
  if (config["data"]["train"].is_null()) throw Error(ErrorKind::Config, "data.train: no training data given (--data)");
  if (config["data"]["multi_label"].get<bool>()) throw Error(ErrorKind::Config, "distill: multi-label students are not supported");
  std::vector<std::string> classes;
  if (!config["data"]["classes"].is_null()) classes = config["data"]["classes"].get<std::vector<std::string>>();
  classes = load_dataset(config["data"]["train"].get<std::string>(), false, classes).classes;
  Normalization student = normalization_from_config(
      {{"color", config["model"]["color"]}, {"scale", config["model"]["scale"]}, {"mean", config["model"]["mean"]},
       {"std", config["model"]["std"]}, {"layout", "nchw"}});
  auto teacher = std::make_shared<Teacher>(teacher_config, student, classes);
  spdlog::info("distill: teacher {} at T = {}, alpha = {}", teacher_config["model"]["path"].get<std::string>(),
               options.temperature, options.alpha);
  return train_classifier(config, run, distillation_hooks(teacher, options.temperature, options.alpha));
}

nlohmann::json ClassifierScore::to_json() const {
  return {{"name", name},         {"path", path},         {"size_bytes", size_bytes}, {"parameters", parameters},
          {"accuracy", accuracy}, {"latency_ms", latency_ms}, {"images", images}};
}

ClassifierScore score_classifier(const std::string& name, const nlohmann::json& c, const std::string& test_dir, int runs) {
  ClassifierScore r;
  r.name = name;
  r.path = c["model"]["path"].get<std::string>();
  r.size_bytes = static_cast<long long>(fs::file_size(r.path));
  {
    auto m = torch::jit::load(r.path);
    for (const auto& p : m.parameters()) r.parameters += p.numel();
    if (r.parameters == 0)  // frozen: weights are graph constants
      for (auto* n : m.get_method("forward").graph()->nodes())
        if (n->kind() == c10::prim::Constant && n->output()->type()->kind() == c10::TypeKind::TensorType)
          r.parameters += torch::jit::toIValue(n->output())->toTensor().numel();
  }
  Classifier classifier(c);
  Dataset test = load_dataset(test_dir, false, classifier.labels());
  int correct = 0;
  std::vector<cv::Mat> first;
  for (const auto& item : test.items) {
    cv::Mat img = decode_image(item.path);
    if (first.empty()) first.push_back(img);
    auto out = classifier.classify({img});
    correct += !out[0].classes.empty() && out[0].classes[0].class_id == item.labels.at(0);
  }
  r.images = static_cast<int>(test.items.size());
  r.accuracy = r.images ? double(correct) / r.images : 0;
  // Latency of the model alone, as `cvtool quantize` measures it.
  Model model(r.path, {});
  cv::Mat resized = classifier_input(first.at(0), cv::Size(c["model"]["input_size"][0], c["model"]["input_size"][1]),
                                     c["model"]["resize"], c["model"]["pad_value"]);
  torch::Tensor x = images_to_tensor({resized}, normalization_from_config(c["model"]));
  r.latency_ms = median_forward_ms(model, x, 20, runs);
  return r;
}

std::string format_distill_table(const std::vector<ClassifierScore>& rows) {
  std::ostringstream s;
  s << "| model | test accuracy | parameters | size (KB) | latency (ms, batch 1) |\n|---|---:|---:|---:|---:|\n";
  char buf[256];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "| %s | %.2f%% (%d images) | %lld | %.1f | %.3f |\n", r.name.c_str(), 100 * r.accuracy,
                  r.images, r.parameters, r.size_bytes / 1024.0, r.latency_ms);
    s << buf;
  }
  return s.str();
}

}  // namespace cvtool
