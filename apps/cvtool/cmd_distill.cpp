// `cvtool distill`: train a student classifier on a teacher's soft targets blended with
// the labels, then (with --test) score teacher and student side by side.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/tools/distill.hpp"

namespace cvtool::cli {

namespace {

struct DistillCliOptions {
  CommonOptions common;
  std::string teacher, data, val, test;
  double temperature = -1, alpha = -1;
  int epochs = 0, width = 0, blocks = 0, runs = 50;
  long long seed = -1;
};

std::string json_string(const std::string& s) { return Json(s).dump(); }

int run_distill_cmd(DistillCliOptions& d) {
  setup_logging(d.common);
  auto& o = d.common.flag_overrides;
  if (!d.teacher.empty()) o.push_back("distill.teacher=" + json_string(d.teacher));
  if (d.temperature > 0) o.push_back("distill.temperature=" + std::to_string(d.temperature));
  if (d.alpha >= 0) o.push_back("distill.alpha=" + std::to_string(d.alpha));
  if (!d.data.empty()) o.push_back("data.train=" + json_string(d.data));
  if (!d.val.empty()) o.push_back("data.val=" + json_string(d.val));
  if (d.epochs > 0) o.push_back("optim.epochs=" + std::to_string(d.epochs));
  if (d.width > 0) o.push_back("model.width=" + std::to_string(d.width));
  if (d.blocks > 0) o.push_back("model.blocks=" + std::to_string(d.blocks));
  if (d.seed >= 0) o.push_back("seed=" + std::to_string(d.seed));
  if (d.common.threads >= 0) o.push_back("runtime.threads=" + std::to_string(d.common.threads));
  ConfigSources sources;
  sources.file = d.common.config.empty() ? config_dir() / "distill-digits.json" : std::filesystem::path(d.common.config);
  sources.overrides = d.common.sets;
  for (const auto& x : o) sources.overrides.push_back(x);
  Json config = load_config(sources, distill_schema());
  if (config["distill"]["teacher"].is_null())
    throw Error(ErrorKind::Usage, "distill needs a teacher: --teacher CLASSIFY_CONFIG (e.g. configs/classify-digits.json)");
  if (d.common.output_dir.empty()) throw Error(ErrorKind::Usage, "distill needs -o RUN_DIR for checkpoints and the student");
  ConfigSources teacher_sources;
  teacher_sources.file = config["distill"]["teacher"].get<std::string>();
  Json teacher = load_config(teacher_sources, task_schema("classify"));
  configure_threads(config["runtime"]["threads"].get<int>());

  DistillOptions opt;
  opt.temperature = config["distill"]["temperature"];
  opt.alpha = config["distill"]["alpha"];
  TrainRun run;
  run.output_dir = d.common.output_dir;
  run.progress = d.common.quiet ? "off" : d.common.progress;
  TrainResult r = run_distill(config, teacher, opt, run);

  std::vector<ClassifierScore> scores;
  if (!d.test.empty()) {
    ConfigSources student_sources;
    student_sources.file = r.config_path;
    Json student = load_config(student_sources, task_schema("classify"));
    scores.push_back(score_classifier("teacher", teacher, d.test, d.runs));
    char name[96];
    std::snprintf(name, sizeof name, "student (T=%g, alpha=%g)", opt.temperature, opt.alpha);
    scores.push_back(score_classifier(name, student, d.test, d.runs));
  }
  if (d.common.jsonl) {
    Json summary = {{"model", r.model_path},     {"config", r.config_path},   {"best_epoch", r.best_epoch},
                    {"epochs", r.epochs.size()}, {"seconds", r.seconds},      {"temperature", opt.temperature},
                    {"alpha", opt.alpha},        {"metrics", r.final_metrics}};
    for (const auto& s : scores) summary["scores"].push_back(s.to_json());
    std::cout << summary.dump() << std::endl;
  } else {
    std::cout << "student: " << r.model_path << " (best epoch " << r.best_epoch << ", " << r.seconds << " s)\n";
    if (!scores.empty()) std::cout << format_distill_table(scores);
  }
  return kExitOk;
}

}  // namespace

Command register_distill(CLI::App& app) {
  auto d = std::make_shared<DistillCliOptions>();
  CLI::App* cmd = app.add_subcommand("distill", "Train a small classifier on a teacher's soft targets (knowledge distillation)");
  cmd->add_option("-c,--config", d->common.config, "Distill config: a train config plus \"distill\"; default: configs/distill-digits.json");
  cmd->add_option("--set", d->common.sets, "Override a config key: key.path=value (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_option("--teacher", d->teacher, "Classify config of the teacher (any TorchScript classifier + its preprocessing)");
  cmd->add_option("-T,--temperature", d->temperature, "Softmax temperature of the soft targets")->check(CLI::PositiveNumber);
  cmd->add_option("--alpha", d->alpha, "Weight of the soft-target term (0: labels only)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--data", d->data, "Training images: ImageFolder root or .csv/.jsonl list");
  cmd->add_option("--val", d->val, "Validation set (default: split off the training data)");
  cmd->add_option("--test", d->test, "Held-out ImageFolder: score teacher and student side by side");
  cmd->add_option("--epochs", d->epochs, "Epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--width", d->width, "Student small CNN: channels of the first block")->check(CLI::PositiveNumber);
  cmd->add_option("--blocks", d->blocks, "Student small CNN: conv blocks")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", d->seed, "Seed");
  cmd->add_option("--runs", d->runs, "Timed batch-1 forwards per model for the latency column")->check(CLI::PositiveNumber);
  cmd->add_option("-o,--output", d->common.output_dir, "Run folder: checkpoints, metrics, student model.pt + classify.json");
  cmd->add_option("--threads", d->common.threads, "Intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--jsonl", d->common.jsonl, "One JSON summary on stdout");
  cmd->add_flag("-q,--quiet", d->common.quiet, "Only warnings and errors on stderr");
  cmd->add_option("--progress", d->common.progress, "Progress bar: auto, on, off")->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->footer(
      "\nExamples:\n"
      "  cvtool distill --teacher configs/classify-digits.json --data digits/train --test digits/test -o runs/student\n"
      "  cvtool distill -c configs/distill-digits.json --teacher teacher/classify.json --data digits/train -T 4 --alpha 0.9 -o runs/kd\n"
      "  cvtool distill --teacher teacher/classify.json --data digits/train --alpha 0 -o runs/scratch   # labels only\n");
  return {cmd, [d]() { return run_distill_cmd(*d); }};
}

}  // namespace cvtool::cli
