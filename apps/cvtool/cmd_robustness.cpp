// `cvtool robustness`: a classifier's accuracy on a labelled set under corruptions at
// several severities and under FGSM / PGD, as a table (text, --jsonl, CSV) and a plot.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/detect/detector.hpp"
#include "cvtool/tools/robustness.hpp"
#include "cvtool/train/dataset.hpp"

namespace cvtool::cli {

namespace {

struct RobustnessOptions {
  CommonOptions common;
  std::string data, from, csv, title;
  std::vector<std::string> corruptions;
  long long limit = -1, seed = -1;
  int pgd_steps = 0;
};

int run_robustness(RobustnessOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (!opts.data.empty()) o.push_back("data=" + Json(opts.data).dump());
  if (opts.limit >= 0) o.push_back("robustness.limit=" + std::to_string(opts.limit));
  if (opts.seed >= 0) o.push_back("robustness.seed=" + std::to_string(opts.seed));
  if (opts.pgd_steps > 0) o.push_back("robustness.pgd_steps=" + std::to_string(opts.pgd_steps));
  if (!opts.common.inputs.empty()) throw Error(ErrorKind::Usage, "robustness takes the labelled set as --data DIR_OR_LIST");
  Json config = load_task_config("robustness", "robustness-digits.json", opts.common);
  if (!opts.from.empty()) {
    Json c = load_config({opts.from, {}}, task_schema("classify"));
    config["model"] = c["model"];
  }
  if (!config["data"].is_string()) throw Error(ErrorKind::Usage, "robustness needs --data (ImageFolder root or .csv/.jsonl list)");
  configure_threads(config["runtime"]["threads"].get<int>());
  RobustnessParams params = robustness_params_from_json(config["robustness"], opts.corruptions);

  std::vector<std::string> classes;
  if (config["model"]["labels"].is_string()) classes = read_labels(config["model"]["labels"].get<std::string>());
  Dataset set = load_dataset(config["data"].get<std::string>(), false, classes);
  std::vector<LabelledPath> data;
  for (const auto& item : set.items) data.push_back({item.path, item.labels.at(0)});
  spdlog::info("robustness: {} images, {} classes, {} corruption(s)", data.size(), set.classes.size(), params.corruptions.size());

  RobustnessReport r = evaluate_robustness(config, data, params, [&](std::size_t done, std::size_t total) {
    if (!opts.common.quiet) spdlog::debug("robustness: {}/{}", done, total);
  });
  if (r.unreadable) spdlog::warn("robustness: {} unreadable image(s) skipped", r.unreadable);

  if (opts.common.jsonl) {
    JsonlWriter jsonl(std::cout);
    const Json all = r.to_json();  // named: a range-for over a temporary's member dangles
    for (const auto& row : all["rows"]) jsonl.write(row);
  } else {
    std::cout << robustness_table(r);
  }
  if (!opts.csv.empty()) write_file_atomic(opts.csv, robustness_csv(r));
  if (!opts.common.output_dir.empty()) {
    std::filesystem::path dir = opts.common.output_dir;
    std::filesystem::create_directories(dir);
    write_file_atomic(dir / "robustness.csv", robustness_csv(r));
    write_file_atomic(dir / "robustness.json", r.to_json().dump(2) + "\n");
    std::string title = opts.title.empty() ? std::filesystem::path(r.model).filename().string() + " on " +
                                                 std::to_string(r.images) + " images"
                                           : opts.title;
    write_image_atomic(dir / "robustness.png", plot_robustness(r, title));
    spdlog::info("robustness: {}", (dir / "robustness.png").string());
  }
  return kExitOk;
}

}  // namespace

Command register_robustness(CLI::App& app) {
  auto opts = std::make_shared<RobustnessOptions>();
  CLI::App* cmd = app.add_subcommand("robustness", "Classifier accuracy under corruptions and FGSM/PGD attacks (table + plot)");
  add_common_options(cmd, opts->common);
  cmd->add_option("--data", opts->data, "Labelled set: ImageFolder root (root/<class>/*) or a .csv/.jsonl list");
  cmd->add_option("--from", opts->from, "Take the model (path, size, normalisation, labels) from this classify config");
  cmd->add_option("--corruptions", opts->corruptions,
                  "Only these (comma-separated): occlusion, brightness, gamma, contrast, blur, noise, jpeg, rotate, scale, "
                  "fgsm, pgd")
      ->delimiter(',');
  cmd->add_option("--limit", opts->limit, "Evaluate at most N images (evenly spaced)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opts->seed, "Seed of occlusion positions and noise")->check(CLI::NonNegativeNumber);
  cmd->add_option("--pgd-steps", opts->pgd_steps, "PGD iterations")->check(CLI::PositiveNumber);
  cmd->add_option("--csv", opts->csv, "Also write the table as CSV here");
  cmd->add_option("--title", opts->title, "Plot title");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool robustness --data digits/test -o out/robust            (table + robustness.png/.csv/.json)\n"
      "  cvtool robustness --data val.csv --from runs/cls/classify.json --corruptions blur,noise,fgsm --jsonl\n"
      "  cvtool robustness --data digits/test --set robustness.corruptions.fgsm=[0.01,0.03] --corruptions fgsm,pgd\n");
  return {cmd, [opts] { return run_robustness(*opts); }};
}

}  // namespace cvtool::cli
