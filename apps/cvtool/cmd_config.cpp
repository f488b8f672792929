// `cvtool config show|validate|init|doc`: what a pipeline will actually run with,
// whether a file is valid, a starter config with every key, and the config reference
// generated from the task schemas (docs/config-reference.md).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/report/schema_doc.hpp"

namespace cvtool::cli {

namespace {

namespace fs = std::filesystem;

// The bundled config each task command starts from (what `cvtool TASK` runs without -c).
std::string default_config_for(const std::string& task) {
  static const std::map<std::string, std::string> defaults = {{"detect", "detect-centernet.json"},
                                                              {"ocr", "ocr-ppocrv4.json"},
                                                              {"segment", "segment-selfie.json"},
                                                              {"track", "track-bytetrack.json"}};
  auto it = defaults.find(task);
  return it == defaults.end() ? "" : it->second;
}

// Tasks with a compiled-in schema, in name order (configs/schema/<task>.schema.json).
std::vector<std::string> known_tasks() {
  std::vector<std::string> tasks;
  fs::path dir = config_dir() / "schema";
  if (fs::is_directory(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      const std::string suffix = ".schema.json";
      if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
      std::string task = name.substr(0, name.size() - suffix.size());
      try {
        task_schema(task);
        tasks.push_back(task);
      } catch (const Error&) {
        // a schema file this build does not compile in: not documented by this binary
      }
    }
  }
  std::sort(tasks.begin(), tasks.end());
  return tasks;
}

std::string task_of_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorKind::Config, file + ": cannot open config file");
  Json raw;
  try {
    raw = Json::parse(in);
  } catch (const Json::exception& e) {
    throw Error(ErrorKind::Config, file + ": malformed JSON: " + e.what());
  }
  if (!raw.is_object() || !raw.contains("task") || !raw["task"].is_string())
    throw Error(ErrorKind::Config, file + ": task: required (one of the schemas in configs/schema/)");
  return raw["task"].get<std::string>();
}

struct ConfigOptions {
  std::string task;
  std::string config;
  std::vector<std::string> sets;
  std::vector<std::string> files;
  std::string output;
  bool force = false;
  std::vector<std::string> doc_tasks;
};

// The effective config: -c FILE (or the task's bundled default) with --set applied,
// defaults filled in and paths resolved, exactly as the task command would load it.
Json effective_config(const ConfigOptions& opts) {
  std::string task = opts.task;
  if (!opts.config.empty()) {
    std::string file_task = task_of_file(opts.config);
    if (!task.empty() && task != file_task)
      throw Error(ErrorKind::Config, opts.config + ": task is \"" + file_task + "\", expected \"" + task + "\"");
    task = file_task;
  }
  if (task.empty()) throw Error(ErrorKind::Usage, "name a TASK or a config file with -c");
  CommonOptions common;
  common.config = opts.config;
  common.sets = opts.sets;
  std::string fallback = default_config_for(task);
  if (opts.config.empty() && fallback.empty())
    throw Error(ErrorKind::Usage, "task '" + task + "' has no bundled config: pass one with -c");
  return load_task_config(task, fallback, common);
}

int run_show(const ConfigOptions& opts) {
  std::cout << effective_config(opts).dump(2) << std::endl;
  return kExitOk;
}

int run_validate(const ConfigOptions& opts) {
  int bad = 0;
  for (const auto& file : opts.files) {
    try {
      std::string task = task_of_file(file);
      load_config({file, opts.sets}, task_schema(task));
      std::cout << file << ": ok (" << task << ")" << std::endl;
    } catch (const Error& e) {
      // load_config names the file already; the other errors name it here.
      std::string what = e.what();
      std::cerr << (what.rfind(file, 0) == 0 ? what : file + ": " + what) << std::endl;
      ++bad;
    }
  }
  return bad ? kExitUsage : kExitOk;
}

int run_init(const ConfigOptions& opts) {
  ConfigOptions show = opts;
  show.config.clear();
  Json config = effective_config(show);
  std::string doc = "# Starter " + opts.task + " config\n\n" +
                    "Every key of the `" + opts.task + "` schema with its value in this file " +
                    "(from `cvtool config init " + opts.task + "`). Paths are absolute: move the file freely. " +
                    "Delete the keys you do not change; they fall back to the defaults.\n\n" +
                    schema_markdown(opts.task, task_schema(opts.task), &config);
  if (opts.output.empty()) {
    std::cout << config.dump(2) << std::endl;
    return kExitOk;
  }
  fs::path out(opts.output);
  fs::path sidecar = out;
  sidecar += ".md";
  for (const auto& p : {out, sidecar})
    if (fs::exists(p) && !opts.force) throw Error(ErrorKind::Usage, p.string() + ": exists (--force overwrites)");
  write_file_atomic(out, config.dump(2) + "\n");
  write_file_atomic(sidecar, doc);
  std::cerr << "wrote " << out.string() << " and " << sidecar.string() << std::endl;
  return kExitOk;
}

// docs/config-reference.md: every task's keys, generated from the compiled-in schemas.
std::string config_reference(const std::vector<std::string>& tasks) {
  std::string md =
      "# Config reference\n\n"
      "Generated from `configs/schema/*.schema.json` by `cvtool config doc > docs/config-reference.md`: "
      "do not edit by hand (a test checks this file is current).\n\n"
      "A config is one JSON file per pipeline. Any key can be overridden on the command line with "
      "`--set key.path=value`; `cvtool config show TASK [-c FILE] [--set ...]` prints the effective "
      "config, `cvtool config validate FILE...` checks files, and `cvtool config init TASK -o FILE` writes a "
      "starter config with every key and a sidecar `FILE.md` describing them. Keys of type `path` are "
      "resolved relative to the config file (relative to the working directory in `--set`). Unknown keys "
      "and wrong types are errors naming the key.\n\n";
  for (const auto& task : tasks) md += schema_markdown(task, task_schema(task)) + "\n";
  return md;
}

}  // namespace

Command register_config(CLI::App& app) {
  auto opts = std::make_shared<ConfigOptions>();
  CLI::App* cmd = app.add_subcommand("config", "Show, validate and create pipeline configs; the config reference");
  cmd->require_subcommand(1);

  CLI::App* show = cmd->add_subcommand("show", "Print the effective config (defaults filled in, --set applied) as JSON");
  show->add_option("task", opts->task, "detect, ocr, segment, track (default: the task of -c)");
  show->add_option("-c,--config", opts->config, "Config file (default: the task's bundled config)");
  show->add_option("--set", opts->sets, "Override a config key: key.path=value (repeatable)")->take_all();
  show->footer(
      "\nExamples:\n"
      "  cvtool config show detect --set post.score_threshold=0.5\n"
      "  cvtool config show -c configs/segment-text-ppocrv4.json\n"
      "  cvtool config show track | jq .tracker\n");

  CLI::App* validate = cmd->add_subcommand("validate", "Check config files; exit 0 when all are valid, 2 otherwise");
  validate->add_option("files", opts->files, "Config files")->required();
  validate->add_option("--set", opts->sets, "Check with these overrides applied (key.path=value)")->take_all();
  validate->footer(
      "\nExamples:\n"
      "  cvtool config validate configs/*.json\n"
      "  cvtool config validate my-detect.json --set post.nms_iou=0.5\n");

  CLI::App* init = cmd->add_subcommand("init", "Write a starter config with every key, and FILE.md describing them");
  init->add_option("task", opts->task, "detect, ocr, segment, track")->required();
  init->add_option("-o,--output", opts->output, "Config file to write (default: stdout, no sidecar)");
  init->add_option("--set", opts->sets, "Start from these values (key.path=value)")->take_all();
  init->add_flag("--force", opts->force, "Overwrite FILE and FILE.md");
  init->footer(
      "\nExamples:\n"
      "  cvtool config init detect -o my-detect.json      # also writes my-detect.json.md\n"
      "  cvtool config init ocr --set cls.enabled=true > ocr.json\n");

  CLI::App* doc = cmd->add_subcommand("doc", "Markdown reference of every config key (docs/config-reference.md)");
  doc->add_option("tasks", opts->doc_tasks, "Only these tasks (default: all)");
  doc->footer(
      "\nExamples:\n"
      "  cvtool config doc > docs/config-reference.md\n"
      "  cvtool config doc detect\n");

  cmd->footer(
      "\nExamples:\n"
      "  cvtool config show detect --set post.score_threshold=0.5\n"
      "  cvtool config validate configs/*.json\n"
      "  cvtool config init detect -o my-detect.json\n");

  return {cmd, [opts, show, validate, init, doc]() -> int {
            if (show->parsed()) return run_show(*opts);
            if (validate->parsed()) return run_validate(*opts);
            if (init->parsed()) return run_init(*opts);
            if (doc->parsed()) {
              std::cout << config_reference(opts->doc_tasks.empty() ? known_tasks() : opts->doc_tasks);
              return kExitOk;
            }
            throw Error(ErrorKind::Usage, "config: show, validate, init or doc");
          }};
}

}  // namespace cvtool::cli
