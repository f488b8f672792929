#pragma once
// Process-wide runtime set-up: threads, allocator tuning, and a description of what
// the math runs on (printed by `cvtool --version`).
#include <string>

namespace cvtool {

struct RuntimeInfo {
  std::string blas;           // e.g. "OpenBLAS 0.3.21 (openmp) .../libblas.so.3"
  int intra_op_threads = 0;   // LibTorch intra-op threads in force
  int hardware_threads = 0;
  std::string torch_version;
  std::string opencv_version;
};

// Sets LibTorch's intra-op and OpenCV's thread counts; 0 means all cores.
// Debian's LibTorch starts with one thread, so every command calls this.
void configure_threads(int threads);

// glibc malloc tuning that keeps large tensor buffers from being returned to the
// kernel and re-faulted on every inference (measured 30-45% on batched models).
void tune_allocator();

RuntimeInfo runtime_info();

}  // namespace cvtool
