// Runs the built binary the way users and scripts do and checks exit codes and output.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

RunResult run(const std::string& args) {
  auto dir = std::filesystem::path(CVTOOL_BINARY_DIR) / "test-scratch" / "cli";
  std::filesystem::create_directories(dir);
  auto err_path = dir / "stderr.txt";
  std::string cmd = std::string(CVTOOL_BINARY) + " " + args + " 2>" + err_path.string();
  RunResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

}  // namespace

TEST_CASE("help lists the subcommands") {
  auto r = run("--help");
  CHECK(r.exit_code == 0);
  for (const char* sub : {"detect", "segment", "track", "ocr", "embed", "search", "models"}) {
    INFO(sub);
    CHECK(r.out.find(std::string("  ") + sub) != std::string::npos);
  }
}

TEST_CASE("version output names LibTorch, the BLAS and the thread count") {
  auto r = run("--version");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("LibTorch 1.13") != std::string::npos);
  CHECK(r.out.find("BLAS: OpenBLAS") != std::string::npos);
  CHECK(r.out.find("threads: ") != std::string::npos);
}

TEST_CASE("usage and config errors exit 2 before any work") {
  CHECK(run("detect --no-such-flag x.jpg").exit_code == 2);
  CHECK(run("no-such-command").exit_code == 2);
  auto r = run("detect --set post.nms_iou=x /usr/share/doc/opencv-doc/examples/data/messi5.jpg");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("post.nms_iou: expected number, got string \"x\"") != std::string::npos);
  auto missing = run("detect -c /nonexistent.json x.jpg");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("/nonexistent.json: cannot open config file") != std::string::npos);
}

TEST_CASE("a subcommand that is not built yet says so and exits 2") {
  auto r = run("embed x.jpg");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("not available") != std::string::npos);
}
