// `cvtool models`: the bundled configs, the model each one uses, and whether that
// model is installed (scripts/fetch-models.sh converts them).
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"

namespace cvtool::cli {

namespace {

struct ModelsOptions {
  bool jsonl = false;
};

int run_models(const ModelsOptions& opts) {
  namespace fs = std::filesystem;
  fs::path dir = config_dir();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  int missing = 0;
  for (const auto& file : files) {
    Json record = {{"config", file.string()}};
    try {
      std::ifstream in(file);
      Json raw = Json::parse(in);
      std::string task = raw.value("task", "");
      Json config = load_config({file, {}}, task_schema(task));
      std::string model = config["model"]["path"];
      bool installed = fs::exists(model);
      missing += installed ? 0 : 1;
      record.update({{"task", task},
                     {"family", config["model"]["family"]},
                     {"model", model},
                     {"installed", installed},
                     {"description", config.value("description", "")}});
    } catch (const std::exception& e) {
      record["error"] = e.what();
    }
    if (opts.jsonl) {
      std::cout << record.dump() << "\n";
    } else if (record.contains("error")) {
      std::cout << file.filename().string() << "  ERROR " << record["error"].get<std::string>() << "\n";
    } else {
      std::cout << file.filename().string() << "  " << record["task"].get<std::string>() << "/"
                << record["family"].get<std::string>() << "  " << record["model"].get<std::string>()
                << (record["installed"].get<bool>() ? "" : "  (not installed: run scripts/fetch-models.sh)") << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

Command register_models(CLI::App& app) {
  auto opts = std::make_shared<ModelsOptions>();
  CLI::App* cmd = app.add_subcommand("models", "List the bundled configs and their models");
  cmd->add_flag("--jsonl", opts->jsonl, "One JSON record per config");
  return {cmd, [opts] { return run_models(*opts); }};
}

}  // namespace cvtool::cli
