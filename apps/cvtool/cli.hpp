#pragma once
// What every task subcommand shares: the common flags, config loading with flag
// overrides, logging set-up, and the per-run failure summary and exit code.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "cvtool/core/config.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/manifest.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/source.hpp"

namespace cvtool::cli {

// Exit codes of the output contract.
constexpr int kExitOk = 0;
constexpr int kExitSomeFailed = 1;
constexpr int kExitUsage = 2;

struct CommonOptions {
  std::vector<std::string> inputs;
  std::string config;
  std::vector<std::string> sets;
  std::string output_dir;
  bool jsonl = false;
  int threads = -1;
  std::string device;
  int batch = 0;
  int vid_stride = 0;
  long long max_frames = 0;
  bool quiet = false;
  int verbose = 0;
  std::string progress = "auto";
  // Flag-driven overrides a task adds ("post.score_threshold=0.4"), applied after --set.
  std::vector<std::string> flag_overrides;
  std::string shard;    // "i/N": this process reads only block i of N of the inputs
  bool resume = false;  // keep a manifest in -o DIR; skip the inputs it lists as done
};

void add_common_options(CLI::App* cmd, CommonOptions& opts);

// Loads the task config (-c, or the bundled default) with --set and flag overrides.
Json load_task_config(const std::string& task, const std::string& default_config, const CommonOptions& opts);

void setup_logging(const CommonOptions& opts);

// Ensembles: replaces the common -c with one that may repeat (one config per member).
void allow_config_list(CLI::App* cmd, std::vector<std::string>& configs);

// Loads each member's config (the bundled default when `configs` is empty), all with
// the same --set and flag overrides.
std::vector<Json> load_member_configs(const std::string& task, const std::string& default_config, CommonOptions opts,
                                      const std::vector<std::string>& configs);

// "2,1" -> [2,1]; throws Error(Usage) naming `flag` unless all are numbers > 0.
Json parse_weight_list(const std::string& text, const std::string& flag);

// Expands the inputs; exits with a usage error when nothing was given. With --shard or
// --resume, items this run must not read are marked `skip` (they stay in the list so
// output names stay the same); installs the SIGINT/SIGTERM clean-stop handlers.
std::vector<InputItem> collect_inputs(const CommonOptions& opts);
// The image files among args (files, folders, globs), skipping what cannot be read:
// the evaluation sets of the model tools.
std::vector<std::string> readable_image_paths(const std::vector<std::string>& args);

// The --resume manifest of this run, or null.
Manifest* run_manifest();

SourceOptions source_options(const Json& config);

// Decodes every input and hands the frames to `process` in batches of up to `batch`,
// and bad inputs to `fail`; a failure first flushes the pending batch, so results come
// out in input order. Draws the progress bar. Returns "frames" when an input was a
// video, else "images" (the unit the run summary counts).
std::string for_each_batch(const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts,
                           std::size_t batch, const std::function<void(std::vector<Frame>&)>& process,
                           const std::function<void(const std::string&, const std::string&)>& fail);

// The same on the pipelined engine with writing split off: `process` runs the model
// over a batch and returns what writes its results; that runs on the engine's emit
// thread, in input order (with `fail`), while the next batch is in the model.
std::string for_each_batch_pipelined(
    const std::vector<InputItem>& items, const Json& config, const CommonOptions& opts, std::size_t batch,
    const std::function<std::function<void()>(std::vector<Frame>&)>& process,
    const std::function<void(const std::string&, const std::string&)>& fail);

// Collects failures; prints each as one line on stderr when it happens and a summary
// at the end. The exit code is 1 when anything failed.
class RunReport {
 public:
  // With --jsonl, each failure is also a {source, error} record among the results.
  void record_failures_to(JsonlWriter* jsonl) { jsonl_ = jsonl; }
  void success() { ++succeeded_; }
  // Also records a finished still image (frame_index < 0) in the --resume manifest, with
  // the payload set by set_payload (what a resumed run needs to rebuild aggregates).
  void success(const std::string& source, long long frame_index);
  void set_payload(Json payload) { payload_ = std::move(payload); }
  void failure(const std::string& message, const std::string& source = "");
  int finish(const std::string& what);

 private:
  std::size_t succeeded_ = 0;
  std::vector<std::string> failures_;
  JsonlWriter* jsonl_ = nullptr;
  Json payload_;
};

// Hands each frame's result to `emit`; an Error while emitting fails that input alone.
template <class Result, class Emit>
void emit_each(const std::vector<Frame>& frames, const std::vector<Result>& results, RunReport& report, Emit emit) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    try {
      emit(frames[i], results[i]);
      report.success(frames[i].source, frames[i].index);
    } catch (const Error& e) {
      report.failure(e.what(), frames[i].source);
    }
  }
}

// Walks a stream's frames as sequences, for per-sequence state (tracks, flow): each video
// is one sequence, and still images together form one named after the first. `open(key)`
// starts a sequence, `close()` ends the current one (also after the last frame), `step`
// gets each frame with its 1-based number in its sequence. An unreadable frame, or an
// Error from `step`, fails that frame alone; the rest go on. Draws the progress bar.
void for_each_sequence_frame(FrameStream& stream, const CommonOptions& opts, RunReport& report,
                             const std::function<void(const std::string& key)>& open,
                             const std::function<void()>& close,
                             const std::function<void(Frame& frame, int number)>& step);

}  // namespace cvtool::cli
