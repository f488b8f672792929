// Subcommands that are part of the design but whose pipelines are not built yet.
// They are listed in --help so the vocabulary is visible, and refuse to run.
#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"

namespace cvtool::cli {

std::vector<Command> register_pending(CLI::App& app) {
  const std::vector<std::pair<std::string, std::string>> pending = {
#ifndef CVTOOL_EMBED
      {"embed", "Image embeddings (not built yet)"},
      {"search", "Similarity search over embeddings (not built yet)"},
#endif
  };
  std::vector<Command> commands;
  for (const auto& [name, help] : pending) {
    CLI::App* cmd = app.add_subcommand(name, help);
    cmd->allow_extras();
    std::string n = name;
    commands.push_back({cmd, [n]() -> int {
                          throw Error(ErrorKind::Usage, "'cvtool " + n + "' is not available in this version yet");
                        }});
  }
  return commands;
}

}  // namespace cvtool::cli
