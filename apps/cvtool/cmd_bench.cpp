// `cvtool bench TASK`: times a pipeline on real inputs, stage by stage, after warm-up;
// `cvtool bench model`: one TorchScript model alone on a fixed input (what the
// side-by-side benchmark compares with ONNX Runtime). One row of bench_tasks() per
// task: a new task adds a factory that runs its pipeline and fills the stage times.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/model_bench.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/detect/detector.hpp"
#include "cvtool/ocr/ocr_engine.hpp"
#include "cvtool/segment/segmenter.hpp"

namespace cvtool::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double r3(double v) { return std::round(v * 1000.0) / 1000.0; }

// Stage name -> total ms over the timed runs. "decode" is filled by the harness.
using StageMs = std::map<std::string, double>;

// A task's pipeline under the bench: runs one batch of decoded images and adds its
// stage times (pre, model, post, write, or the task's own split) to `ms`.
struct BenchPipeline {
  std::vector<std::string> stages;  // in print order, after "decode"
  std::function<void(const std::vector<cv::Mat>&, StageMs& ms)> run;
  std::string model_path;           // primary model, for the FLOP count
  std::vector<long long> model_input;  // its input for one image; empty: sizes vary (no GFLOP/s)
  std::string model_stage = "model";   // the stage the FLOPs are spent in
};

std::vector<long long> image_input(const Json& model_cfg, int channels = 3) {
  if (model_cfg["input_size"].is_null()) return {};
  long long w = model_cfg["input_size"][0].get<long long>(), h = model_cfg["input_size"][1].get<long long>();
  if (model_cfg.value("layout", std::string("nchw")) == "nhwc") return {1, h, w, channels};
  return {1, channels, h, w};
}

BenchPipeline detect_pipeline(const Json& config) {
  auto detector = std::make_shared<Detector>(config);
  BenchPipeline p;
  p.stages = {"preprocess", "model", "postprocess", "write"};
  p.model_path = config["model"]["path"].get<std::string>();
  p.model_input = image_input(config["model"]);
  p.run = [detector](const std::vector<cv::Mat>& images, StageMs& ms) {
    DetectTimings t;
    auto results = detector->detect(images, &t);
    auto w = Clock::now();
    std::ostringstream out;  // what --jsonl writes
    for (const auto& dets : results) {
      Json list = Json::array();
      for (const auto& d : dets) list.push_back(to_json(d));
      out << Json{{"detections", list}}.dump() << "\n";
    }
    ms["write"] += ms_since(w);
    ms["preprocess"] += t.preprocess_ms;
    ms["model"] += t.model_ms;
    ms["postprocess"] += t.postprocess_ms;
  };
  return p;
}

BenchPipeline segment_pipeline(const Json& config) {
  auto segmenter = std::make_shared<Segmenter>(config);
  BenchPipeline p;
  p.stages = {"preprocess", "model", "postprocess", "write"};
  p.model_path = config["model"]["path"].get<std::string>();
  p.model_input = image_input(config["model"]);
  p.run = [segmenter](const std::vector<cv::Mat>& images, StageMs& ms) {
    SegmentTimings t;
    auto results = segmenter->segment(images, &t);
    auto w = Clock::now();
    for (const auto& r : results) {  // what -o writes: the label map as PNG
      std::vector<uchar> png;
      cv::imencode(".png", r.labels, png);
    }
    ms["write"] += ms_since(w);
    ms["preprocess"] += t.preprocess_ms;
    ms["model"] += t.model_ms;
    ms["postprocess"] += t.postprocess_ms;
  };
  return p;
}

BenchPipeline ocr_pipeline(const Json& config) {
  auto engine = std::make_shared<OcrEngine>(config);
  BenchPipeline p;
  // The OCR engine times its three models with their own pre/post inside each.
  p.stages = {"detect", "classify", "recognize", "write"};
  p.model_path = config["det"]["model"].get<std::string>();
  p.model_stage = "detect";
  p.run = [engine](const std::vector<cv::Mat>& images, StageMs& ms) {
    for (const auto& image : images) {
      OcrTimings t;
      OcrResult r = engine->run(image, &t);
      auto w = Clock::now();
      Json lines = Json::array();
      for (const auto& line : r.lines) lines.push_back(to_json(line));
      std::string text = Json{{"lines", lines}}.dump();
      ms["write"] += ms_since(w);
      ms["detect"] += t.detect_ms;
      ms["classify"] += t.classify_ms;
      ms["recognize"] += t.recognize_ms;
    }
  };
  return p;
}

struct BenchTaskOptions {
  CommonOptions common;
  int runs = 5;
  int warmup = 2;
};

struct TaskRow {
  const char* task;
  const char* default_config;
  BenchPipeline (*make)(const Json& config);
};

int run_bench_task(const TaskRow& row, BenchTaskOptions& opts) {
  setup_logging(opts.common);
  Json config = load_task_config(row.task, row.default_config, opts.common);
  ThreadBudget threads = configure_threads(config["runtime"]["threads"].get<int>());
  auto items = collect_inputs(opts.common);
  for (const auto& item : items) {
    if (item.kind != InputKind::Image)
      throw Error(ErrorKind::Usage, item.path + ": bench takes images, not videos");
    if (!item.error.empty()) throw Error(ErrorKind::Input, item.path + ": " + item.error);
  }
  const SourceOptions source = source_options(config);
  const std::size_t batch = std::size_t(config["runtime"].value("batch", 1));
  BenchPipeline pipeline = row.make(config);

  auto decode_batch = [&](std::size_t i) {
    std::vector<cv::Mat> images;
    for (std::size_t j = i; j < std::min(items.size(), i + batch); ++j)
      images.push_back(decode_image(items[j].path, source.limits));
    return images;
  };
  // Warm-up: whole passes, untimed, so that allocator and JIT settle on every size.
  StageMs ignored;
  for (int w = 0; w < opts.warmup; ++w)
    for (std::size_t i = 0; i < items.size(); i += batch) pipeline.run(decode_batch(i), ignored);

  StageMs ms;
  std::vector<double> latencies;  // per call (one batch), decode to written results
  std::size_t images_done = 0;
  auto start = Clock::now();
  for (int r = 0; r < opts.runs; ++r) {
    for (std::size_t i = 0; i < items.size(); i += batch) {
      auto t0 = Clock::now();
      auto images = decode_batch(i);
      ms["decode"] += ms_since(t0);
      pipeline.run(images, ms);
      latencies.push_back(ms_since(t0));
      images_done += images.size();
    }
  }
  const double wall_s = ms_since(start) / 1000.0;
  const double n = double(images_done);
  const double model_ms = ms[pipeline.model_stage];
  std::optional<double> gflop_per_image;
  if (!pipeline.model_input.empty()) gflop_per_image = model_gflop(pipeline.model_path, pipeline.model_input);
  std::optional<double> gflops;
  if (gflop_per_image && model_ms > 0) gflops = *gflop_per_image * n / (model_ms / 1000.0);
  double pre_post = 0;
  for (const auto& s : pipeline.stages)
    if (s != pipeline.model_stage && s != "classify" && s != "recognize") pre_post += ms[s];
  const double rss = peak_rss_mib();

  std::vector<std::string> order = {"decode"};
  order.insert(order.end(), pipeline.stages.begin(), pipeline.stages.end());
  if (opts.common.jsonl) {
    Json stages = Json::object();
    for (const auto& s : order) stages[s] = r3(ms[s] / n);
    JsonlWriter writer(std::cout);
    writer.write({{"task", row.task},
                  {"model", pipeline.model_path},
                  {"images", images_done},
                  {"runs", opts.runs},
                  {"warmup", opts.warmup},
                  {"batch", batch},
                  {"threads", threads.intra_op},
                  {"ms_per_image", stages},
                  {"images_per_s", r3(n / wall_s)},
                  {"latency_ms",
                   {{"p50", r3(percentile(latencies, 50))},
                    {"p95", r3(percentile(latencies, 95))},
                    {"p99", r3(percentile(latencies, 99))}}},
                  {"pre_post_over_model", model_ms > 0 ? Json(r3(pre_post / model_ms)) : Json(nullptr)},
                  {"peak_rss_mib", r3(rss)},
                  {"gflop_per_image", gflop_per_image ? Json(r3(*gflop_per_image)) : Json(nullptr)},
                  {"gflop_per_s", gflops ? Json(r3(*gflops)) : Json(nullptr)}});
    return kExitOk;
  }
  std::printf("%s: model %s, %zu image(s) x %d run(s), batch %zu, %d thread(s), after %d warm-up pass(es)\n",
              row.task, pipeline.model_path.c_str(), items.size(), opts.runs, batch, threads.intra_op, opts.warmup);
  std::printf("%-12s %10s\n", "stage", "ms/image");
  for (const auto& s : order) std::printf("%-12s %10.2f\n", s.c_str(), ms[s] / n);
  std::printf("throughput %.2f images/s; latency per call (batch %zu) p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n",
              n / wall_s, batch, percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99));
  if (model_ms > 0) std::printf("pre/post-processing: %.1f%% of %s time\n", 100.0 * pre_post / model_ms, pipeline.model_stage.c_str());
  if (gflops)
    std::printf("model: %.3f GFLOP/image, %.1f GFLOP/s achieved\n", *gflop_per_image, *gflops);
  else
    std::printf("model: GFLOP/s n/a (%s)\n", pipeline.model_input.empty() ? "input sizes vary per image"
                                                                            : "no .flops.json: scripts/bench/onnx_export.py");
  std::printf("peak RSS %.1f MiB\n", rss);
  return kExitOk;
}

const std::vector<TaskRow>& task_rows() {
  static const std::vector<TaskRow> rows = {
      {"detect", "detect-centernet.json", &detect_pipeline},
      {"segment", "segment-selfie.json", &segment_pipeline},
      {"ocr", "ocr-ppocrv4.json", &ocr_pipeline},
  };
  return rows;
}

std::function<int()> setup_bench_task(CLI::App* cmd, const TaskRow& row) {
  auto opts = std::make_shared<BenchTaskOptions>();
  add_common_options(cmd, opts->common);
  cmd->add_option("--runs", opts->runs, "Timed passes over the inputs")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", opts->warmup, "Untimed passes first")->check(CLI::NonNegativeNumber);
  cmd->footer(std::string("\nExamples:\n  cvtool bench ") + row.task + " -c configs/" + row.default_config +
              " /usr/share/doc/opencv-doc/examples/data/messi5.jpg --runs 20\n  cvtool bench " + row.task +
              " photos/ --batch 8 --threads 2 --jsonl\n");
  return [opts, &row] { return run_bench_task(row, *opts); };
}

struct BenchModelOptions {
  ModelBenchOptions model;
  std::string shape;
  int threads = 0;
  bool no_freeze = false;
  bool jsonl = false;
};

std::vector<long long> parse_shape(const std::string& text) {
  std::vector<long long> shape;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, 'x')) {
    try {
      std::size_t used = 0;
      long long v = std::stoll(part, &used);
      if (used != part.size() || v <= 0) throw std::invalid_argument(part);
      shape.push_back(v);
    } catch (const std::exception&) {
      throw Error(ErrorKind::Usage, "--shape '" + text + "': expected positive sizes joined by x, e.g. 1x3x640x640");
    }
  }
  if (shape.empty()) throw Error(ErrorKind::Usage, "--shape is empty");
  return shape;
}

int run_bench_model(BenchModelOptions& o) {
  ThreadBudget threads = configure_threads(o.threads);
  o.model.shape = parse_shape(o.shape);
  o.model.freeze = !o.no_freeze;
  ModelBenchResult r = bench_model(o.model);
  double mean = std::accumulate(r.call_ms.begin(), r.call_ms.end(), 0.0) / double(r.call_ms.size());
  double p50 = percentile(r.call_ms, 50);
  double images_per_s = double(o.model.shape[0]) * 1000.0 / p50;
  auto gflop = model_gflop(o.model.path, o.model.shape);
  if (o.jsonl) {
    JsonlWriter writer(std::cout);
    writer.write({{"model", o.model.path.string()},
                  {"shape", o.model.shape},
                  {"threads", threads.intra_op},
                  {"freeze", o.model.freeze},
                  {"optimize_for_inference", o.model.optimize_for_inference},
                  {"channels_last", o.model.channels_last},
                  {"graph_optimize", o.model.graph_optimize},
                  {"load_ms", r3(r.load_ms)},
                  {"first_call_ms", r3(r.first_call_ms)},
                  {"ms", {{"mean", r3(mean)}, {"p50", r3(p50)}, {"p95", r3(percentile(r.call_ms, 95))},
                          {"p99", r3(percentile(r.call_ms, 99))}, {"min", r3(percentile(r.call_ms, 0))}}},
                  {"images_per_s", r3(images_per_s)},
                  {"gflop_per_s", gflop ? Json(r3(*gflop * 1000.0 / p50)) : Json(nullptr)},
                  {"peak_rss_mib", r3(peak_rss_mib())}});
    return kExitOk;
  }
  std::printf("%s, input %s, %d thread(s)\n", o.model.path.c_str(), o.shape.c_str(), threads.intra_op);
  std::printf("load %.1f ms, first call %.1f ms\n", r.load_ms, r.first_call_ms);
  std::printf("per call over %d run(s): p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, mean %.2f ms; %.2f images/s\n",
              o.model.runs, p50, percentile(r.call_ms, 95), percentile(r.call_ms, 99), mean, images_per_s);
  if (gflop) std::printf("%.3f GFLOP per call, %.1f GFLOP/s\n", *gflop, *gflop * 1000.0 / p50);
  std::printf("peak RSS %.1f MiB\n", peak_rss_mib());
  return kExitOk;
}

std::function<int()> setup_bench_model(CLI::App* cmd) {
  auto o = std::make_shared<BenchModelOptions>();
  cmd->add_option("model", o->model.path, "TorchScript file")->required();
  cmd->add_option("--shape", o->shape, "Input shape, batch first: 1x3x640x640")->required();
  cmd->add_option("--runs", o->model.runs, "Timed calls")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o->model.warmup, "Untimed calls first (the first is reported)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o->threads, "Intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-freeze", o->no_freeze, "Do not torch::jit::freeze an unfrozen module");
  cmd->add_flag("--optimize", o->model.optimize_for_inference, "Apply torch::jit::optimize_for_inference");
  cmd->add_flag("--channels-last", o->model.channels_last, "Feed the input in channels-last memory order");
  cmd->add_flag("--graph-optimize", o->model.graph_optimize,
                "Let TorchScript's graph executor profile and re-optimise the graph (off by default)");
  cmd->add_flag("--jsonl", o->jsonl, "One JSON record on stdout");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool bench model models/ppocrv4-det.pt --shape 1x3x640x640 --runs 20\n"
      "  cvtool bench model models/ppocrv4-rec.pt --shape 8x3x48x320 --channels-last --jsonl\n");
  return [o] { return run_bench_model(*o); };
}

}  // namespace

std::function<int()> setup_bench_track(CLI::App* cmd);  // bench_track.cpp

Command register_bench(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("bench", "Time a pipeline on real inputs (bench detect|segment|ocr|model)");
  cmd->require_subcommand(1);
  cmd->footer(
      "\nExamples:\n"
      "  cvtool bench detect /usr/share/doc/opencv-doc/examples/data/messi5.jpg --runs 20 --threads 1\n"
      "  cvtool bench detect photos/ --jsonl > run/bench.jsonl   # timing per stage for cvtool report run/\n");
  auto runs = std::make_shared<std::vector<std::pair<CLI::App*, std::function<int()>>>>();
  for (const auto& row : task_rows()) {
    CLI::App* sub = cmd->add_subcommand(
        row.task, std::string("Per-stage ms, images/s, p50/p95/p99 latency, peak RSS, GFLOP/s of a ") + row.task +
                      " pipeline");
    runs->emplace_back(sub, setup_bench_task(sub, row));
  }
  CLI::App* model = cmd->add_subcommand("model", "One TorchScript model alone on a fixed input: load, first call, ms/call");
  runs->emplace_back(model, setup_bench_model(model));
  CLI::App* track = cmd->add_subcommand("track", "Frames/s of multi-object association alone, on synthetic detections");
  runs->emplace_back(track, setup_bench_track(track));  // bench_track.cpp
  return {cmd, [runs]() -> int {
            for (auto& [sub, run] : *runs)
              if (sub->parsed()) return run();
            throw Error(ErrorKind::Usage, "bench: name what to time (detect, segment, ocr, model)");
          }};
}

}  // namespace cvtool::cli
