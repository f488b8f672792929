// `cvtool prune`: magnitude pruning (unstructured or by output channel) of a TorchScript
// model, optional fine-tuning with the mask fixed, then the original and pruned files
// measured side by side (size raw / compressed, latency, accuracy, sparsity per layer).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/source.hpp"
#include "cvtool/tools/prune.hpp"

namespace cvtool::cli {

namespace {

struct PruneCliOptions {
  CommonOptions common;
  std::string model, method, scope, output, finetune_data, finetune_dir;
  double sparsity = -1;
  bool sparsity_given = false;
  int epochs = 0, runs = 0;
};

int run_prune_cmd(PruneCliOptions& p) {
  setup_logging(p.common);
  auto& o = p.common.flag_overrides;
  if (!p.model.empty()) o.push_back("model.path=" + Json(p.model).dump());
  if (!p.method.empty()) o.push_back("prune.method=" + Json(p.method).dump());
  if (!p.scope.empty()) o.push_back("prune.scope=" + Json(p.scope).dump());
  if (p.sparsity_given) o.push_back("prune.sparsity=" + Json(p.sparsity).dump());
  if (p.epochs > 0) o.push_back("finetune.epochs=" + std::to_string(p.epochs));
  if (p.runs > 0) o.push_back("bench.runs=" + std::to_string(p.runs));
  Json config = load_task_config("prune", "prune-digits.json", p.common);
  double s = config["prune"]["sparsity"].get<double>();
  if (!(s >= 0 && s < 1))
    throw Error(ErrorKind::Usage, "--sparsity " + Json(s).dump() + ": must be in [0, 1) (0.5 prunes half the weights)");
  if (p.output.empty()) throw Error(ErrorKind::Usage, "prune needs -o OUT.pt for the pruned model");
  configure_threads(config["runtime"]["threads"].get<int>());

  PruneJob job;
  job.output_path = p.output;
  if (std::filesystem::is_directory(job.output_path)) {
    std::filesystem::path in = config["model"]["path"].get<std::string>();
    char pct[16];
    std::snprintf(pct, sizeof pct, "%g", 100 * s);
    job.output_path = (std::filesystem::path(p.output) /
                       (in.stem().string() + "." + config["prune"]["method"].get<std::string>() + pct + ".pt"))
                          .string();
  }
  job.eval_images = readable_image_paths(p.common.inputs);
  job.finetune_data = p.finetune_data;
  job.finetune_dir = p.finetune_dir;
  job.progress = p.common.quiet ? "off" : p.common.progress;
  if (job.eval_images.empty()) throw Error(ErrorKind::Usage, "no evaluation images given (files, folders, globs)");

  PruneReport r = run_prune(config, job);
  if (p.common.jsonl) {
    for (const auto& row : r.rows) {
      Json j = row.to_json();
      j["method"] = r.method;
      j["sparsity"] = r.sparsity;
      std::cout << j.dump() << "\n";
    }
    Json summary = {{"summary", true},         {"method", r.method},   {"scope", r.scope},
                    {"sparsity", r.sparsity},  {"output", job.output_path},
                    {"channels_removed", r.physical}, {"frozen", r.frozen},
                    {"finetune_epochs", r.finetune_epochs}, {"finetune_seconds", r.finetune_seconds}};
    for (const auto& l : r.layers) summary["layers"].push_back(l.to_json());
    std::cout << summary.dump() << std::endl;
  } else {
    std::cout << format_prune_table(r) << "\n" << format_prune_layers(r) << "\n";
    std::cout << r.method << " pruning to " << 100 * r.sparsity << "%"
              << (r.method == "unstructured" ? " (" + r.scope + " scope)" : "")
              << (r.physical ? ", channels removed" : r.method == "channel" ? ", channels zeroed (frozen graph)" : "")
              << "; wrote " << job.output_path << "\n";
  }
  return kExitOk;
}

}  // namespace

Command register_prune(CLI::App& app) {
  auto p = std::make_shared<PruneCliOptions>();
  CLI::App* cmd = app.add_subcommand("prune", "Magnitude pruning (unstructured or whole channels) with a before/after table");
  cmd->add_option("inputs", p->common.inputs, "Evaluation images (class folders give accuracy), folders, globs, @list.txt");
  cmd->add_option("-c,--config", p->common.config, "Prune config (JSON); default: configs/prune-digits.json");
  cmd->add_option("--set", p->common.sets, "Override a config key: key.path=value (repeatable)")->allow_extra_args(false)->take_all();
  cmd->add_option("-m,--model", p->model, "TorchScript model (overrides model.path)");
  cmd->add_option("-o,--output", p->output, "Pruned model file (or a folder: <model>.<method><percent>.pt)");
  cmd->add_option("--sparsity", p->sparsity,
                  "Share pruned, in [0, 1): of each layer's weights (unstructured) or each conv's output channels (channel)")
      ->each([p](const std::string&) { p->sparsity_given = true; });
  cmd->add_option("--method", p->method,
                  "unstructured: smallest |w| to zero; channel: lowest-L1 conv output channels removed (cvtool's small CNN) "
                  "or zeroed (any other model)");
  cmd->add_option("--scope", p->scope, "Unstructured: layer (each layer to the target) or global (one threshold)");
  cmd->add_option("--finetune-data", p->finetune_data,
                  "Fine-tune on this classify dataset (ImageFolder) with the mask fixed; cvtool classifiers only");
  cmd->add_option("--epochs", p->epochs, "Fine-tuning epochs (finetune.epochs)")->check(CLI::PositiveNumber);
  cmd->add_option("--finetune-dir", p->finetune_dir, "The fine-tuning run folder (default: OUT.pt.finetune/)");
  cmd->add_option("--runs", p->runs, "Timed batch-1 forwards per model")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", p->common.threads, "Intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--jsonl", p->common.jsonl, "One JSON record per model measured, then a summary with the layers");
  cmd->add_flag("-q,--quiet", p->common.quiet, "Only warnings and errors on stderr");
  cmd->add_option("--progress", p->common.progress, "Fine-tuning progress bar: auto, on, off")->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->footer(
      "\nChannel pruning removes channels physically only in cvtool's own small-CNN classifiers\n"
      "(conv -> bn -> relu -> pool blocks of `cvtool train classify`); other models are frozen and\n"
      "their lowest-L1 channels zeroed (same shapes: smaller only once compressed, not faster).\n"
      "\nExamples:\n"
      "  cvtool prune -c configs/prune-digits.json --sparsity 0.5 --method unstructured digits/test -o digits-u50.pt\n"
      "  cvtool prune -c configs/prune-digits.json --method channel --sparsity 0.25 --finetune-data digits/train --epochs 3 digits/test -o digits-c25.pt\n"
      "  cvtool prune -c configs/prune-ppocr-cls.json --sparsity 0.3 textlines/ -o out/ --jsonl\n");
  return {cmd, [p]() { return run_prune_cmd(*p); }};
}

}  // namespace cvtool::cli
