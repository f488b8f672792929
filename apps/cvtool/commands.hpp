#pragma once
// Each subcommand registers itself on the app and returns the action to run when
// it is the one the user chose.
#include <CLI/CLI.hpp>
#include <functional>

namespace cvtool::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command register_detect(CLI::App& app);
Command register_models(CLI::App& app);
Command register_track(CLI::App& app);
Command register_ocr(CLI::App& app);
Command register_segment(CLI::App& app);
Command register_eval(CLI::App& app);
Command register_bench(CLI::App& app);
Command register_classify(CLI::App& app);
Command register_train(CLI::App& app);
Command register_augment(CLI::App& app);
Command register_config(CLI::App& app);
Command register_report(CLI::App& app);
Command register_merge(CLI::App& app);
Command register_flow(CLI::App& app);
Command register_quantize(CLI::App& app);
Command register_distill(CLI::App& app);
Command register_prune(CLI::App& app);
Command register_explain(CLI::App& app);
Command register_robustness(CLI::App& app);
Command register_embed(CLI::App& app);
Command register_index(CLI::App& app);
Command register_search(CLI::App& app);
Command register_dedup(CLI::App& app);
Command register_cluster(CLI::App& app);
// Subcommands whose pipeline is not built yet: they say so and exit 2.
std::vector<Command> register_pending(CLI::App& app);

}  // namespace cvtool::cli
