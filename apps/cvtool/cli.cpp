#include "cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cvtool/core/error.hpp"
#include "cvtool/core/progress.hpp"
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
    throw Error(ErrorKind::Config, sources.file.string() + ": task is " + config["task"].dump() + ", expected \"" + task + "\"");
  return config;
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

std::vector<InputItem> collect_inputs(const CommonOptions& opts) {
  if (opts.inputs.empty()) throw Error(ErrorKind::Usage, "no inputs given (files, folders, globs, @list.txt or -)");
  auto items = enumerate_inputs(opts.inputs);
  if (items.empty()) throw Error(ErrorKind::Usage, "the inputs name no image or video file");
  return items;
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

std::string for_each_batch(const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts,
                           std::size_t batch, const std::function<void(std::vector<Frame>&)>& process,
                           const std::function<void(const std::string&, const std::string&)>& fail) {
  FrameStream stream(items, source_options(config));
  bool has_video = std::any_of(items.begin(), items.end(), [](const InputItem& i) { return i.kind == InputKind::Video; });
  Progress progress(has_video ? 0 : items.size(), parse_progress_mode(opts.progress));
  std::vector<Frame> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    process(pending);
    for (std::size_t i = 0; i < pending.size(); ++i) progress.step(false);
    pending.clear();
  };
  while (auto next = stream.next()) {
    if (!next->ok()) {
      flush();
      fail(next->frame.source, next->error);
      progress.step(true);
      continue;
    }
    pending.push_back(std::move(next->frame));
    if (pending.size() >= std::max<std::size_t>(1, batch)) flush();
  }
  flush();
  progress.finish();
  return has_video ? "frames" : "images";
}

void RunReport::failure(const std::string& message, const std::string& source) {
  spdlog::error("{}", message);
  failures_.push_back(message);
  if (jsonl_ && !source.empty()) jsonl_->write({{"source", source}, {"error", message}});
}

int RunReport::finish(const std::string& what) {
  if (failures_.empty()) {
    spdlog::info("{} {} done", succeeded_, what);
    return kExitOk;
  }
  spdlog::error("{} {} done, {} failed:", succeeded_, what, failures_.size());
  for (const auto& f : failures_) spdlog::error("  {}", f);
  return kExitSomeFailed;
}

}  // namespace cvtool::cli
