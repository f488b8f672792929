#pragma once
// Scratch folders and files for tests.
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace cvtool::test {

inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(CVTOOL_BINARY_DIR) / "test-scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace cvtool::test
