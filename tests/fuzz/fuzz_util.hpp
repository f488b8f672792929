#pragma once
// Shared by the fuzz targets: the loaders under test read files, so inputs go through
// a scratch file (in /dev/shm when it exists: no disk wear at 10^5 execs/s).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace cvtool::fuzz {

inline std::string scratch_file(const char* suffix) {
  const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/cvtool-fuzz-" + std::to_string(getpid()) + suffix;
}

inline std::string write_scratch(const uint8_t* data, std::size_t size, const char* suffix) {
  std::string path = scratch_file(suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path;
}

}  // namespace cvtool::fuzz
