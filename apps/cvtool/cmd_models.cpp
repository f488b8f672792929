// `cvtool models`: the bundled configs, the model each one uses, and whether that
// model is installed (scripts/fetch-models.sh converts them).
#include <algorithm>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"

namespace cvtool::cli {

namespace {

void collect_models(const Json& node, std::vector<std::string>& models, std::string& family) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "family" && value.is_string() && family.empty()) family = value.get<std::string>();
      collect_models(value, models, family);
    }
  } else if (node.is_array()) {
    for (const auto& value : node) collect_models(value, models, family);
  } else if (node.is_string()) {
    const auto& text = node.get_ref<const std::string&>();
    if (text.size() > 3 && text.compare(text.size() - 3, 3, ".pt") == 0) models.push_back(text);
  }
}

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
      // Tasks keep their models under different keys (model.path, det.model, ...):
      // every TorchScript file a config names counts, and the first family found.
      std::vector<std::string> models;
      std::string family;
      collect_models(config, models, family);
      bool installed = std::all_of(models.begin(), models.end(), [](const std::string& m) { return fs::exists(m); });
      missing += installed ? 0 : 1;
      std::string model_list;
      for (const auto& m : models) model_list += (model_list.empty() ? "" : ",") + m;
      record.update({{"task", task},
                     {"family", family},
                     {"model", model_list},
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
  cmd->footer(
      "\nExamples:\n"
      "  cvtool models\n"
      "  cvtool models --jsonl | jq -r 'select(.installed == false) | .model'\n");
  return {cmd, [opts] { return run_models(*opts); }};
}

}  // namespace cvtool::cli
