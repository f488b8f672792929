// `cvtool quantize`: quantize, save, then measure both files as they would be deployed
// (loaded from disk through Model), so the table compares what users will run.
#include "cvtool/tools/quantize.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cvtool/classify/classifier.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/forward_timing.hpp"
#include "cvtool/core/model.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/core/tensor.hpp"
#include "cvtool/tools/quantize_module.hpp"
#include "cvtool/tools/tool_eval.hpp"

namespace cvtool {

namespace fs = std::filesystem;

nlohmann::json QuantizeRow::to_json() const {
  nlohmann::json j = {{"variant", variant},           {"path", path},
                      {"size_bytes", size_bytes},     {"latency_ms", latency_ms},
                      {"eval_images", eval_images},   {"top1_agreement", top1_agreement},
                      {"max_abs_diff", max_abs_diff}, {"mean_cosine", mean_cosine}};
  j["accuracy"] = accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(accuracy);
  return j;
}

namespace {

struct Preprocess {
  Normalization norm;
  cv::Size size;
  std::string resize;
  double pad = 0;
  torch::Tensor operator()(const std::string& path) const {
    cv::Mat img = decode_image(path);
    return images_to_tensor({classifier_input(img, size, resize, pad)}, norm);
  }
};

}  // namespace

QuantizeReport run_quantize(const nlohmann::json& config, const QuantizeJob& job) {
  const auto& m = config["model"];
  const auto& q = config["quantize"];
  const auto& bench = config["bench"];
  Preprocess pre{normalization_from_config(m),
                 cv::Size(m["input_size"][0].get<int>(), m["input_size"][1].get<int>()), m["resize"], m["pad_value"]};
  const std::string in_path = m["path"];
  const int out_index = m["output"];

  QuantizeModuleOptions opt;
  opt.mode = parse_quant_mode(q["mode"]);
  opt.engine = q["engine"];
  opt.per_channel = q["per_channel"];
  opt.allow_float_ops = q["allow_float"];
  set_quant_engine(opt.engine);

  QuantizeReport report;
  report.mode = to_string(opt.mode);
  report.engine = opt.engine;

  auto eval_paths = spread_sample(job.eval_images, bench["eval_images"].get<int>());
  if (eval_paths.empty()) throw Error(ErrorKind::Usage, "quantize needs evaluation images to measure agreement");
  std::vector<torch::Tensor> calibration;
  if (opt.mode == QuantMode::Static) {
    auto paths = spread_sample(job.calibration_images, q["calibration_images"].get<int>());
    if (paths.empty()) throw Error(ErrorKind::Usage, "quantize --mode static needs calibration images (--calib DIR)");
    for (const auto& p : paths) calibration.push_back(pre(p));
    report.calibration_images = static_cast<int>(calibration.size());
  } else {
    calibration.push_back(pre(eval_paths.front()));  // an example input: ranks for the graph clean-up
  }

  torch::jit::Module original;
  try {
    original = torch::jit::load(in_path);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Model, in_path + ": not a loadable TorchScript model");
  }
  auto result = quantize_module(original, opt, calibration);
  for (const auto& op : result.ops) {
    if (op.op == "constant") continue;
    ++report.weight_ops;
    if (op.quantized) ++report.quantized_ops;
    else report.float_ops.push_back(op.op + " (" + op.where + "): " + op.reason);
  }
  if (opt.mode == QuantMode::Float16) report.quantized_ops = report.weight_ops = static_cast<int>(result.ops.size());
  report.activation_qparams = static_cast<int>(result.activation_qparams.size());
  {
    std::ostringstream bytes;
    result.module.save(bytes);
    write_file_atomic(job.output_path, bytes.str());
  }

  // Measure both as deployed.
  auto labels = read_model_labels(m);
  std::vector<torch::Tensor> inputs;
  std::vector<int> truth;
  for (const auto& p : eval_paths) {
    inputs.push_back(pre(p));
    truth.push_back(image_folder_label(p, labels));
  }
  bool has_truth = std::all_of(truth.begin(), truth.end(), [](int t) { return t >= 0; });
  Model fmodel(in_path, {}), qmodel(job.output_path, {});
  std::string qname = opt.mode == QuantMode::Float16 ? "fp16 weights" : "int8 " + report.mode;
  QuantizeRow frow{"float32", in_path}, qrow{qname, job.output_path};
  frow.size_bytes = static_cast<long long>(fs::file_size(in_path));
  qrow.size_bytes = static_cast<long long>(fs::file_size(job.output_path));
  int f_correct = 0, q_correct = 0, agree = 0;
  double cos_sum = 0, max_diff = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    torch::Tensor a = model_output(fmodel, inputs[i], out_index), b = model_output(qmodel, inputs[i], out_index);
    max_diff = std::max(max_diff, (a - b).abs().max().item<double>());
    cos_sum += torch::cosine_similarity(a, b, 1, 1e-12).item<double>();
    int fa = static_cast<int>(a.argmax(1).item<int64_t>()), qa = static_cast<int>(b.argmax(1).item<int64_t>());
    agree += fa == qa;
    f_correct += fa == truth[i];
    q_correct += qa == truth[i];
  }
  const double n = static_cast<double>(inputs.size());
  frow.eval_images = qrow.eval_images = static_cast<int>(inputs.size());
  if (has_truth) {
    frow.accuracy = f_correct / n;
    qrow.accuracy = q_correct / n;
  }
  qrow.top1_agreement = agree / n;
  qrow.max_abs_diff = max_diff;
  qrow.mean_cosine = cos_sum / n;
  frow.latency_ms = median_forward_ms(fmodel, inputs[0], bench["warmup"], bench["runs"]);
  qrow.latency_ms = median_forward_ms(qmodel, inputs[0], bench["warmup"], bench["runs"]);
  report.rows = {frow, qrow};
  return report;
}

std::string format_quantize_table(const QuantizeReport& r) {
  std::ostringstream s;
  s << "| model | size (KB) | latency (ms, batch 1) | accuracy | top-1 agreement | max |diff| | cosine |\n"
    << "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& row : r.rows)
    s << "| " << row.variant << " | " << format_fixed(row.size_bytes / 1024.0, 1) << " | " << format_fixed(row.latency_ms, 3) << " | "
      << (row.accuracy < 0 ? "n/a" : format_fixed(100 * row.accuracy, 2) + "%") << " | " << format_fixed(100 * row.top1_agreement, 2)
      << "% | " << format_fixed(row.max_abs_diff, 5) << " | " << format_fixed(row.mean_cosine, 5) << " |\n";
  return s.str();
}

}  // namespace cvtool
