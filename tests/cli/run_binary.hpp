#pragma once
// Runs the built cvtool binary as a user's shell would: arguments through the shell,
// stdout captured, stderr through a file under the test's scratch folder named by this
// process id: CTest runs each case in its own process, and cases sharing a scratch folder
// may run at the same time (ctest -j).
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace cvtool::test {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

inline RunResult run_cvtool(const std::string& args, const std::string& scratch) {
  auto dir = std::filesystem::path(CVTOOL_BINARY_DIR) / "test-scratch" / scratch;
  std::filesystem::create_directories(dir);
  auto err_path = dir / ("stderr." + std::to_string(::getpid()) + ".txt");
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
  in.close();
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace cvtool::test
