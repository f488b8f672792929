// `cvtool augment`: writes augmented copies of the inputs (the same augmentation
// `cvtool train` applies), to inspect what a config does before training with it.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/train/augment.hpp"

namespace cvtool::cli {

namespace {

struct AugmentOptions {
  CommonOptions common;
  int copies = 0;
  long long seed = -1;
};

int run_augment(AugmentOptions& opts) {
  setup_logging(opts.common);
  auto& o = opts.common.flag_overrides;
  if (opts.copies > 0) o.push_back("copies=" + std::to_string(opts.copies));
  if (opts.seed >= 0) o.push_back("seed=" + std::to_string(opts.seed));
  Json config = load_task_config("augment", "augment-default.json", opts.common);
  if (opts.common.output_dir.empty()) throw Error(ErrorKind::Usage, "augment needs -o DIR for the augmented copies");
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  Augmenter augmenter(augment_params_from_json(config["augment"]));
  if (!augmenter.params().any()) spdlog::warn("no augmentation op has p > 0: the copies equal the inputs");
  const int copies = config["copies"].get<int>();
  const auto seed = config["seed"].get<std::uint64_t>();
  const std::string ext = "." + config["output"]["format"].get<std::string>();

  OutputNamer namer(opts.common.output_dir);
  for (const auto& item : items) namer.protect_input(item.path);
  JsonlWriter jsonl(std::cout);
  RunReport report;
  if (opts.common.jsonl) report.record_failures_to(&jsonl);
  std::string unit = for_each_batch(
      items, config, opts.common, 1,
      [&](std::vector<Frame>& frames) {
        for (const auto& f : frames) {
          try {
            Json written = Json::array();
            // The seed is keyed by the input's path (and frame), not its position,
            // so a copy does not change when other inputs are added.
            std::uint64_t base = mix_seed(mix_seed(seed, hash_string(f.source)), std::uint64_t(f.index + 1));
            std::string stem = namer.stem_for(f.source, f.index);
            for (int k = 0; k < copies; ++k) {
              AugmentTrace trace;
              cv::Mat out = augmenter.apply(f.image, mix_seed(base, std::uint64_t(k)), &trace);
              auto path = namer.dir() / (stem + "_aug" + std::to_string(k) + ext);
              write_image_atomic(path, out);
              written.push_back({{"path", path.string()}, {"ops", trace.applied}});
            }
            if (opts.common.jsonl) jsonl.write({{"source", f.source}, {"copies", written}});
            report.success();
          } catch (const Error& e) {
            report.failure(e.what(), f.source);
          }
        }
      },
      [&](const std::string& source, const std::string& error) { report.failure(error, source); });
  spdlog::info("augmented copies in {}", opts.common.output_dir);
  return report.finish(unit);
}

}  // namespace

Command register_augment(CLI::App& app) {
  auto opts = std::make_shared<AugmentOptions>();
  CLI::App* cmd = app.add_subcommand("augment", "Write augmented copies of images (the augmentation train uses)");
  add_common_options(cmd, opts->common);
  cmd->add_option("-n,--copies", opts->copies, "Augmented copies per input (copies)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", opts->seed, "Seed (seed); same seed, same bytes")->check(CLI::NonNegativeNumber);
  cmd->footer(
      "\nExamples:\n"
      "  cvtool augment /usr/share/doc/opencv-doc/examples/data/messi5.jpg -o aug/ -n 8\n"
      "  cvtool augment photos/ -c configs/augment-default.json --seed 7 -o aug/ --jsonl\n"
      "  cvtool augment digit.png -c configs/augment-digits.json -o aug/ --set augment.rotate.p=1\n");
  return {cmd, [opts] { return run_augment(*opts); }};
}

}  // namespace cvtool::cli
