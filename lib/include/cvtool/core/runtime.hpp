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

// Threads chosen together: LibTorch's intra-op pool, OpenCV's pool (TBB on Debian) and
// the engine's decode workers (core/engine.hpp).
struct ThreadBudget {
  int intra_op = 1;        // LibTorch intra-op threads (the model)
  int opencv = 1;          // cv::setNumThreads: pre/post-processing between model calls
  int decode_workers = 1;  // engine threads decoding inputs while the model runs
};

// `requested` is runtime.threads (0: all cores). The model gets the cores asked for;
// decoding takes the cores left over, or one worker when none are: decoding a photo
// costs a few percent of a model call, so one extra thread overlaps it cheaply.
// Pre/post-processing runs between model calls, so OpenCV may use the model's cores.
ThreadBudget plan_threads(int requested, int hardware_threads);

// Applies plan_threads(threads, cores) to LibTorch and OpenCV and returns it.
// Debian's LibTorch starts with one thread, so every command calls this.
ThreadBudget configure_threads(int threads);

// glibc malloc tuning that keeps large tensor buffers from being returned to the
// kernel and re-faulted on every inference: no mmap'd chunks, a 1 GiB trim threshold
// (measured 30-45% on batched recognition, 15x on CenterNet at batch 8).
void tune_allocator();

RuntimeInfo runtime_info();

}  // namespace cvtool
