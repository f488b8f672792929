// `cvtool bench TASK`: times a pipeline on real inputs, stage by stage, after warm-up.
// One sibling subcommand per task (`bench detect` now), like `cvtool eval`.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <numeric>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/detect/detector.hpp"

namespace cvtool::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Nearest-rank percentile of an unsorted sample.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t rank = std::size_t(std::ceil(p / 100.0 * double(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

struct BenchDetectOptions {
  CommonOptions common;
  int runs = 5;
  int warmup = 2;
};

int run_bench_detect(BenchDetectOptions& opts) {
  setup_logging(opts.common);
  Json config = load_task_config("detect", "detect-centernet.json", opts.common);
  configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  for (const auto& item : items) {
    if (item.kind != InputKind::Image)
      throw Error(ErrorKind::Usage, item.path + ": bench detect takes images, not videos");
    if (!item.error.empty()) throw Error(ErrorKind::Input, item.path + ": " + item.error);
  }
  const SourceOptions source = source_options(config);
  const std::size_t batch = std::size_t(config["runtime"]["batch"].get<int>());
  Detector detector(config);

  // Warm-up: whole passes, untimed, so that allocator and JIT settle on every size.
  for (int w = 0; w < opts.warmup; ++w)
    for (std::size_t i = 0; i < items.size(); i += batch) {
      std::vector<cv::Mat> images;
      for (std::size_t j = i; j < std::min(items.size(), i + batch); ++j)
        images.push_back(decode_image(items[j].path, source.limits));
      detector.detect(images);
    }

  double decode_ms = 0;
  DetectTimings stages;
  std::vector<double> latencies;  // per call (one batch), decode to results
  std::size_t images_done = 0;
  auto start = Clock::now();
  for (int r = 0; r < opts.runs; ++r) {
    for (std::size_t i = 0; i < items.size(); i += batch) {
      auto t0 = Clock::now();
      std::vector<cv::Mat> images;
      for (std::size_t j = i; j < std::min(items.size(), i + batch); ++j)
        images.push_back(decode_image(items[j].path, source.limits));
      decode_ms += ms_since(t0);
      detector.detect(images, &stages);
      latencies.push_back(ms_since(t0));
      images_done += images.size();
    }
  }
  double wall_s = ms_since(start) / 1000.0;
  const double n = double(images_done);
  RuntimeInfo info = runtime_info();

  if (opts.common.jsonl) {
    JsonlWriter writer(std::cout);
    auto r3 = [](double v) { return std::round(v * 1000.0) / 1000.0; };
    writer.write(
        {{"task", "detect"},
         {"model", config["model"]["path"]},
         {"images", images_done},
         {"runs", opts.runs},
         {"batch", batch},
         {"threads", info.intra_op_threads},
         {"ms_per_image",
          {{"decode", r3(decode_ms / n)},
           {"preprocess", r3(stages.preprocess_ms / n)},
           {"model", r3(stages.model_ms / n)},
           {"postprocess", r3(stages.postprocess_ms / n)}}},
         {"images_per_s", r3(n / wall_s)},
         {"latency_ms",
          {{"p50", r3(percentile(latencies, 50))}, {"p95", r3(percentile(latencies, 95))}}}});
    return kExitOk;
  }
  std::printf(
      "model %s, %zu image(s) x %d run(s), batch %zu, %d thread(s), after %d warm-up pass(es)\n",
      config["model"]["path"].get<std::string>().c_str(), items.size(), opts.runs, batch,
      info.intra_op_threads, opts.warmup);
  std::printf("%-12s %10s\n", "stage", "ms/image");
  std::printf("%-12s %10.2f\n", "decode", decode_ms / n);
  std::printf("%-12s %10.2f\n", "preprocess", stages.preprocess_ms / n);
  std::printf("%-12s %10.2f\n", "model", stages.model_ms / n);
  std::printf("%-12s %10.2f\n", "postprocess", stages.postprocess_ms / n);
  std::printf("throughput %.2f images/s; latency per call (batch %zu) p50 %.2f ms, p95 %.2f ms\n",
              n / wall_s, batch, percentile(latencies, 50), percentile(latencies, 95));
  return kExitOk;
}

std::function<int()> setup_bench_detect(CLI::App* cmd) {
  auto opts = std::make_shared<BenchDetectOptions>();
  add_common_options(cmd, opts->common);
  cmd->add_option("--runs", opts->runs, "Timed passes over the inputs")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", opts->warmup, "Untimed passes first")->check(CLI::NonNegativeNumber);
  cmd->footer(
      "\nExample:\n"
      "  cvtool bench detect -c configs/detect-centernet.json "
      "/usr/share/doc/opencv-doc/examples/data/messi5.jpg --runs 20\n");
  return [opts] { return run_bench_detect(*opts); };
}

struct BenchTask {
  const char* name;
  const char* help;
  std::function<int()> (*setup)(CLI::App*);
};

const std::vector<BenchTask>& bench_tasks() {
  static const std::vector<BenchTask> tasks = {
      {"detect", "Per-stage times, images/s and p50/p95 latency of a detect pipeline",
       &setup_bench_detect},
  };
  return tasks;
}

}  // namespace

Command register_bench(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("bench", "Time a pipeline on real inputs (bench detect)");
  cmd->require_subcommand(1);
  auto runs = std::make_shared<std::vector<std::pair<CLI::App*, std::function<int()>>>>();
  for (const auto& task : bench_tasks()) {
    CLI::App* sub = cmd->add_subcommand(task.name, task.help);
    runs->emplace_back(sub, task.setup(sub));
  }
  return {cmd, [runs]() -> int {
            for (auto& [sub, run] : *runs)
              if (sub->parsed()) return run();
            throw Error(ErrorKind::Usage, "bench: name what to time (detect)");
          }};
}

}  // namespace cvtool::cli
