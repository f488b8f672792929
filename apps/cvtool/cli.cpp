#include "cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "cvtool/core/engine.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/interrupt.hpp"
#include "cvtool/core/progress.hpp"
#include "cvtool/core/shard.hpp"
#include "cvtool/core/runtime.hpp"

namespace cvtool::cli {

void add_common_options(CLI::App* cmd, CommonOptions& opts) {
  cmd->add_option("inputs", opts.inputs, "Images, videos, folders, globs, @list.txt, or - (paths on stdin)");
  cmd->add_option("-c,--config", opts.config, "Pipeline config (JSON); default: the bundled one");
  cmd->add_option("--set", opts.sets, "Override a config key: key.path=value (repeatable)")
      ->allow_extra_args(false)
      ->take_all();
  cmd->add_option("-o,--output", opts.output_dir, "Write artifacts into this folder");
  cmd->add_flag("--jsonl", opts.jsonl, "One JSON record per input on stdout (logs stay on stderr)");
  cmd->add_option("--threads", opts.threads, "Intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--device", opts.device, "cpu or cuda[:i]");
  cmd->add_option("--batch", opts.batch, "Images per model call")->check(CLI::PositiveNumber);
  cmd->add_option("--vid-stride", opts.vid_stride, "Use every Nth video frame")->check(CLI::PositiveNumber);
  cmd->add_option("--max-frames", opts.max_frames, "Read at most N frames of each video")->check(CLI::PositiveNumber);
  cmd->add_flag("-q,--quiet", opts.quiet, "Only warnings and errors on stderr");
  cmd->add_flag("-v,--verbose", opts.verbose, "More logging (-vv for debug)");
  cmd->add_option("--progress", opts.progress, "Progress bar: auto (on a terminal), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_option("--shard", opts.shard, "Read only block i of N of the inputs (i/N, 0-based) to split a batch across machines");
  cmd->add_flag("--resume", opts.resume, "With -o: keep a manifest of done inputs there and skip those already done");
}

Json load_task_config(const std::string& task, const std::string& default_config, const CommonOptions& opts) {
  ConfigSources sources;
  sources.file = opts.config.empty() ? config_dir() / default_config : std::filesystem::path(opts.config);
  sources.overrides = opts.sets;
  if (opts.threads >= 0) sources.overrides.push_back("runtime.threads=" + std::to_string(opts.threads));
  if (!opts.device.empty()) sources.overrides.push_back("runtime.device=" + opts.device);
  if (opts.batch > 0) sources.overrides.push_back("runtime.batch=" + std::to_string(opts.batch));
  if (opts.vid_stride > 0) sources.overrides.push_back("input.vid_stride=" + std::to_string(opts.vid_stride));
  if (opts.max_frames > 0) sources.overrides.push_back("input.max_frames=" + std::to_string(opts.max_frames));
  for (const auto& o : opts.flag_overrides) sources.overrides.push_back(o);
  Json config = load_config(sources, task_schema(task));
  if (config["task"] != task)
    throw Error(ErrorKind::Config, sources.file.string() + ": task is " + config["task"].dump(-1, ' ', false, Json::error_handler_t::replace) + ", expected \"" + task + "\"");
  return config;
}

void allow_config_list(CLI::App* cmd, std::vector<std::string>& configs) {
  cmd->remove_option(cmd->get_option("--config"));
  cmd->add_option("-c,--config", configs,
                  "Pipeline config (JSON); default: the bundled one. Repeat (-c a.json -c b.json) for an ensemble")
      ->allow_extra_args(false)  // one path per -c: the inputs that follow stay inputs
      ->take_all();
}

std::vector<Json> load_member_configs(const std::string& task, const std::string& default_config, CommonOptions opts,
                                      const std::vector<std::string>& configs) {
  std::vector<Json> out;
  if (configs.empty()) out.push_back(load_task_config(task, default_config, opts));
  for (const auto& path : configs) {
    opts.config = path;
    out.push_back(load_task_config(task, default_config, opts));
  }
  return out;
}

Json parse_weight_list(const std::string& text, const std::string& flag) {
  Json list = Json::array();
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    std::size_t used = 0;
    double w = 0;
    try {
      w = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !(w > 0))
      throw Error(ErrorKind::Usage, flag + ": expected numbers > 0 separated by commas, got '" + text + "'");
    list.push_back(w);
  }
  return list;
}

void setup_logging(const CommonOptions& opts) {
  auto logger = spdlog::stderr_color_mt("cvtool");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(opts.quiet ? spdlog::level::warn
                    : opts.verbose >= 2 ? spdlog::level::debug
                    : opts.verbose == 1 ? spdlog::level::info
                                        : spdlog::level::info);
}

namespace {
std::unique_ptr<Manifest> g_manifest;
std::size_t g_resumed = 0;
}  // namespace

Manifest* run_manifest() { return g_manifest.get(); }

std::vector<InputItem> collect_inputs(const CommonOptions& opts) {
  if (opts.inputs.empty()) throw Error(ErrorKind::Usage, "no inputs given (files, folders, globs, @list.txt or -)");
  if (opts.resume && opts.output_dir.empty())
    throw Error(ErrorKind::Usage, "--resume needs -o DIR: the manifest of done inputs lives there");
  std::optional<ShardSpec> shard;
  if (!opts.shard.empty()) shard = parse_shard(opts.shard);
  auto items = enumerate_inputs(opts.inputs);
  if (items.empty()) throw Error(ErrorKind::Usage, "the inputs name no image or video file");
  if (shard) {
    auto [first, last] = shard_range(items.size(), *shard);
    for (std::size_t i = 0; i < items.size(); ++i) items[i].skip = i < first || i >= last;
    spdlog::info("shard {}/{}: inputs {}..{} of {}", shard->index, shard->count, first, last, items.size());
  }
  if (opts.resume) {
    g_manifest = std::make_unique<Manifest>(opts.output_dir, true);
    for (auto& item : items)
      if (!item.skip && g_manifest->done(item.path)) item.skip = true, ++g_resumed;
    if (g_resumed) spdlog::info("--resume: {} inputs already done (per {})", g_resumed, g_manifest->path().string());
  }
  install_stop_handlers();
  return items;
}

std::vector<std::string> readable_image_paths(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  if (args.empty()) return paths;
  for (const auto& item : enumerate_inputs(args))
    if (item.kind == InputKind::Image && item.error.empty()) paths.push_back(item.path);
  return paths;
}

SourceOptions source_options(const Json& config) {
  SourceOptions s;
  if (config.contains("input")) {
    s.limits.max_pixels = config["input"]["max_pixels"].get<std::int64_t>();
    s.vid_stride = config["input"]["vid_stride"].get<int>();
    s.max_video_frames = config["input"].value("max_frames", std::int64_t(0));
  }
  return s;
}

namespace {

// Decoding on the engine's workers, batches through `process` here, emits (and
// failures) in input order: on the emit thread when `async_emit`, else here.
std::string run_batches(const std::vector<InputItem>& all_items, const Json& config, const CommonOptions& opts,
                        std::size_t batch, const std::function<std::function<void()>(std::vector<Frame>&)>& process,
                        const std::function<void(const std::string&, const std::string&)>& fail, bool async_emit) {
  std::vector<InputItem> items;  // --shard/--resume: skipped items are not read
  for (const auto& i : all_items)
    if (!i.skip) items.push_back(i);
  bool has_video = std::any_of(items.begin(), items.end(), [](const InputItem& i) { return i.kind == InputKind::Video; });
  Progress progress(has_video ? 0 : items.size(), parse_progress_mode(opts.progress));
  EngineOptions engine;
  engine.batch = batch;
  engine.async_emit = async_emit;
  engine.workers = plan_threads(config["runtime"]["threads"].get<int>(), int(std::thread::hardware_concurrency()))
                       .decode_workers;
  JobSource jobs = frame_jobs(items, source_options(config));
  run_engine(
      [&jobs]() -> std::optional<DecodeJob> {
        if (stop_requested()) return std::nullopt;  // SIGINT/SIGTERM: finish what is in flight
        return jobs();
      },
      engine,
      [&](std::vector<Frame>& frames) -> std::function<void()> {
        std::function<void()> emit = process(frames);
        return [emit, n = frames.size(), &progress] {
          if (emit) emit();
          for (std::size_t i = 0; i < n; ++i) progress.step(false);
        };
      },
      [&](const std::string& source, const std::string& error) {
        fail(source, error);
        progress.step(true);
      });
  progress.finish();
  return has_video ? "frames" : "images";
}

}  // namespace

std::string for_each_batch(const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts,
                           std::size_t batch, const std::function<void(std::vector<Frame>&)>& process,
                           const std::function<void(const std::string&, const std::string&)>& fail) {
  // `process` writes as it goes, so everything stays on this thread (no emit thread).
  return run_batches(
      items, config, opts, batch,
      [&](std::vector<Frame>& frames) -> std::function<void()> {
        process(frames);
        return [] {};
      },
      fail, false);
}

std::string for_each_batch_pipelined(
    const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts, std::size_t batch,
    const std::function<std::function<void()>(std::vector<Frame>&)>& process,
    const std::function<void(const std::string&, const std::string&)>& fail) {
  return run_batches(items, config, opts, batch, process, fail, true);
}

void RunReport::success(const std::string& source, long long frame_index) {
  ++succeeded_;
  // A video is recorded nowhere: an unfinished one is redone whole on --resume.
  if (g_manifest && frame_index < 0) g_manifest->mark_done(source, payload_);
  payload_ = Json();
}

void RunReport::failure(const std::string& message, const std::string& source) {
  spdlog::error("{}", message);
  failures_.push_back(message);
  if (jsonl_ && !source.empty()) jsonl_->write({{"source", source}, {"error", message}});
}

int RunReport::finish(const std::string& what) {
  if (g_resumed) spdlog::info("{} inputs were done by an earlier run (--resume)", g_resumed);
  if (stop_requested()) {
    spdlog::error("stopped by signal {} after {} {}; the rest was not read{}", stop_signal(), succeeded_, what,
                  g_manifest ? ": rerun the same command with --resume to finish" : " (use -o DIR --resume to make runs resumable)");
    failures_.push_back("interrupted by signal " + std::to_string(stop_signal()));
  }
  if (failures_.empty()) {
    spdlog::info("{} {} done", succeeded_, what);
    return kExitOk;
  }
  spdlog::error("{} {} done, {} failed:", succeeded_, what, failures_.size());
  for (const auto& f : failures_) spdlog::error("  {}", f);
  return kExitSomeFailed;
}

void for_each_sequence_frame(FrameStream& stream, const CommonOptions& opts, RunReport& report,
                             const std::function<void(const std::string& key)>& open,
                             const std::function<void()>& close,
                             const std::function<void(Frame& frame, int number)>& step) {
  Progress progress(0, parse_progress_mode(opts.progress));
  bool in_sequence = false;
  std::string current, first_still;
  int still_index = 0;
  while (auto next = stream.next()) {
    if (!next->ok()) {
      report.failure(next->error, next->frame.source);
      continue;
    }
    Frame& frame = next->frame;
    if (frame.index < 0 && first_still.empty()) first_still = frame.source;
    std::string key = frame.index >= 0 ? frame.source : first_still;
    if (!in_sequence || key != current) {
      if (in_sequence) close();
      current = key;
      still_index = 0;
      open(key);
      in_sequence = true;
    }
    int number = frame.index >= 0 ? int(frame.index) + 1 : ++still_index;
    try {
      step(frame, number);
      report.success();
    } catch (const Error& e) {
      report.failure(frame.source + ": " + e.what(), frame.source);
    }
    progress.step(false);
  }
  if (in_sequence) close();
  progress.finish();
}

}  // namespace cvtool::cli
