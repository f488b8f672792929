// `cvtool quantize`: post-training quantization of a TorchScript model, then the float
// and quantized files measured side by side (size, latency, accuracy/agreement).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/tools/quantize.hpp"

namespace cvtool::cli {

namespace {

struct QuantizeOptions {
  CommonOptions common;
  std::string model, mode, engine, output;
  std::vector<std::string> calib;
  bool allow_float = false, per_tensor = false;
  int runs = 0;
};

int run_quantize_cmd(QuantizeOptions& q) {
  setup_logging(q.common);
  auto& o = q.common.flag_overrides;
  if (!q.model.empty()) o.push_back("model.path=" + Json(q.model).dump());
  if (!q.mode.empty()) o.push_back("quantize.mode=" + Json(q.mode).dump());
  if (!q.engine.empty()) o.push_back("quantize.engine=" + Json(q.engine).dump());
  if (q.allow_float) o.push_back("quantize.allow_float=true");
  if (q.per_tensor) o.push_back("quantize.per_channel=false");
  if (q.runs > 0) o.push_back("bench.runs=" + std::to_string(q.runs));
  Json config = load_task_config("quantize", "quantize-digits.json", q.common);
  if (q.output.empty()) throw Error(ErrorKind::Usage, "quantize needs -o OUT.pt for the quantized model");
  configure_threads(config["runtime"]["threads"].get<int>());

  QuantizeJob job;
  job.output_path = q.output;
  if (std::filesystem::is_directory(job.output_path)) {
    std::filesystem::path in = config["model"]["path"].get<std::string>();
    job.output_path = (std::filesystem::path(q.output) / (in.stem().string() + "." + config["quantize"]["mode"].get<std::string>() + ".pt")).string();
  }
  job.eval_images = readable_image_paths(q.common.inputs);
  job.calibration_images = readable_image_paths(q.calib);
  if (job.eval_images.empty()) throw Error(ErrorKind::Usage, "no evaluation images given (files, folders, globs)");

  QuantizeReport r = run_quantize(config, job);
  if (q.common.jsonl) {
    for (const auto& row : r.rows) {
      Json j = row.to_json();
      j["mode"] = r.mode;
      j["engine"] = r.engine;
      std::cout << j.dump() << "\n";
    }
    Json summary = {{"summary", true},          {"mode", r.mode},
                    {"engine", r.engine},       {"output", job.output_path},
                    {"quantized_ops", r.quantized_ops}, {"weight_ops", r.weight_ops},
                    {"float_ops", r.float_ops}, {"calibration_images", r.calibration_images}};
    std::cout << summary.dump() << std::endl;
  } else {
    std::cout << format_quantize_table(r);
    std::cout << "\n" << r.mode << " (" << r.engine << "): " << r.quantized_ops << " of " << r.weight_ops
              << (r.mode == "fp16" ? " float tensors stored as float16" : " weight ops quantized");
    if (r.calibration_images > 0) std::cout << ", calibrated on " << r.calibration_images << " images";
    std::cout << "; wrote " << job.output_path << "\n";
    for (const auto& f : r.float_ops) std::cout << "  kept float: " << f << "\n";
  }
  return kExitOk;
}

}  // namespace

Command register_quantize(CLI::App& app) {
  auto q = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Post-training int8 / fp16 quantization with a before/after table");
  cmd->add_option("inputs", q->common.inputs, "Evaluation images (class folders give accuracy), folders, globs, @list.txt");
  cmd->add_option("-c,--config", q->common.config, "Quantize config (JSON); default: configs/quantize-digits.json");
  cmd->add_option("--set", q->common.sets, "Override a config key: key.path=value (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_option("-m,--model", q->model, "TorchScript model (overrides model.path)");
  cmd->add_option("--mode", q->mode, "dynamic (int8 linear), static (int8 conv+linear, calibrated), fp16 (weights)")
      ->check(CLI::IsMember({"dynamic", "static", "fp16"}));
  cmd->add_option("--engine", q->engine, "Quantized kernels: onednn or qnnpack")->check(CLI::IsMember({"onednn", "qnnpack"}));
  cmd->add_option("--calib", q->calib, "Calibration images for static mode (files, folders, globs)")->allow_extra_args(false)->take_all();
  cmd->add_option("-o,--output", q->output, "Quantized model file (or a folder: <model>.<mode>.pt)");
  cmd->add_flag("--allow-float", q->allow_float, "Keep ops without an int8 route in float instead of refusing");
  cmd->add_flag("--per-tensor", q->per_tensor, "One int8 scale per weight tensor instead of per output channel");
  cmd->add_option("--runs", q->runs, "Timed batch-1 forwards per model")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", q->common.threads, "Intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--jsonl", q->common.jsonl, "One JSON record per model measured, then a summary");
  cmd->add_flag("-q,--quiet", q->common.quiet, "Only warnings and errors on stderr");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool quantize -c configs/quantize-digits.json --mode static --calib digits/train digits/test -o digits-int8.pt\n"
      "  cvtool quantize -c configs/quantize-digits.json --mode dynamic digits/test -o out/ --jsonl\n"
      "  cvtool quantize -c configs/quantize-ppocr-cls.json --mode fp16 /usr/share/doc/opencv-doc/examples/text -o out/\n");
  return {cmd, [q]() { return run_quantize_cmd(*q); }};
}

}  // namespace cvtool::cli
