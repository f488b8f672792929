// cvtool: the command-line front end. It parses flags, picks the subcommand and
// turns errors into one clear line and the exit code of the output contract.
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"

namespace {

// PASSIVE after a short spin unless the user set a policy (omp_wait_policy.cpp).
std::string omp_wait_policy() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  return std::string(policy ? policy : "default") + (spin ? std::string(", spin count ") + spin : "");
}

std::string version_text() {
  cvtool::RuntimeInfo info = cvtool::runtime_info();
  return "cvtool " CVTOOL_VERSION "\n" +
         std::string("LibTorch ") + info.torch_version + ", OpenCV " + info.opencv_version + "\n" +
         "BLAS: " + info.blas + "\n" + "threads: " + std::to_string(info.intra_op_threads) + " intra-op (of " +
         std::to_string(info.hardware_threads) + " hardware threads; set with --threads or runtime.threads)\n" +
         "OpenMP wait policy: " + omp_wait_policy();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cvtool;
  using namespace cvtool::cli;
  tune_allocator();
  // Debian's LibTorch starts with one thread: default to all cores until a config says otherwise.
  configure_threads(0);

  CLI::App app{"cvtool: computer vision from the command line (detection, segmentation, tracking, OCR, embeddings)"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("-V,--version", show_version, "Print version, BLAS and thread information");
  app.footer("\nRun 'cvtool COMMAND --help' for a command's options.");

  std::vector<Command> commands = {register_detect(app), register_models(app)};
  commands.push_back(register_ocr(app));
  commands.push_back(register_segment(app));
  commands.push_back(register_track(app));
  commands.push_back(register_eval(app));
  commands.push_back(register_bench(app));
  commands.push_back(register_classify(app));
  commands.push_back(register_train(app));
  commands.push_back(register_augment(app));
  commands.push_back(register_config(app));
  commands.push_back(register_report(app));
  commands.push_back(register_merge(app));
  commands.push_back(register_flow(app));
  commands.push_back(register_quantize(app));
  commands.push_back(register_distill(app));
  commands.push_back(register_prune(app));
  commands.push_back(register_explain(app));
  commands.push_back(register_robustness(app));
#ifdef CVTOOL_EMBED
  commands.push_back(register_embed(app));
  commands.push_back(register_index(app));
  commands.push_back(register_search(app));
  commands.push_back(register_dedup(app));
  commands.push_back(register_cluster(app));
#endif
  for (auto& c : register_pending(app)) commands.push_back(c);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (show_version) {
    std::cout << version_text() << std::endl;
    return kExitOk;
  }
  for (auto& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const Error& e) {
      std::cerr << "cvtool " << c.app->get_name() << ": " << to_string(e.kind()) << ": " << e.what() << std::endl;
      return e.kind() == ErrorKind::Input || e.kind() == ErrorKind::Output ? kExitSomeFailed : kExitUsage;
    } catch (const std::exception& e) {
      std::cerr << "cvtool " << c.app->get_name() << ": internal error: " << e.what() << std::endl;
      return kExitUsage;
    }
  }
  std::cout << app.help() << std::endl;
  return kExitUsage;
}
