#include "cvtool/core/runtime.hpp"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>

#include <ATen/Parallel.h>
#include <algorithm>
#include <filesystem>
#include <opencv2/core.hpp>
#include <thread>
#include <torch/version.h>

namespace cvtool {

namespace {

int blas_library_callback(struct dl_phdr_info* info, size_t, void* data) {
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("libblas.so") != std::string::npos) {
    *static_cast<std::string*>(data) = name;
    return 1;
  }
  return 0;
}

std::string describe_blas() {
  std::string loaded;
  dl_iterate_phdr(blas_library_callback, &loaded);
  if (loaded.empty()) return "no libblas.so loaded";
  std::error_code ec;
  std::string real = std::filesystem::canonical(loaded, ec).string();
  if (ec) real = loaded;
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string variant = real.find("openmp") != std::string::npos    ? " (OpenMP)"
                          : real.find("pthread") != std::string::npos ? " (pthreads)"
                                                                      : "";
    return std::string(fn()) + variant + " via " + real;
  }
  if (real.find("/blas/") != std::string::npos)
    return "reference BLAS (slow: install libopenblas0-openmp) via " + real;
  return real;
}

}  // namespace

ThreadBudget plan_threads(int requested, int hardware_threads) {
  const int cores = std::max(1, hardware_threads);
  ThreadBudget b;
  b.intra_op = requested > 0 ? requested : cores;
  b.opencv = b.intra_op;
  b.decode_workers = std::clamp(cores - b.intra_op, 1, 4);
  return b;
}

ThreadBudget configure_threads(int threads) {
  ThreadBudget b = plan_threads(threads, int(std::thread::hardware_concurrency()));
  at::set_num_threads(b.intra_op);
  cv::setNumThreads(b.opencv);
  return b;
}

void tune_allocator() {
  // glibc caps the mmap threshold at 32 MiB, and a batch-8 feature map is larger: every
  // such tensor was a fresh mmap whose pages faulted in on first touch (CenterNet batch 8:
  // 3.7 M minor faults, 15x slower per image than batch 1). With mmap off, the main
  // arena serves them from the heap and reuses the memory across calls.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 128 * 1024 * 1024);
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.blas = describe_blas();
  info.intra_op_threads = at::get_num_threads();
  info.hardware_threads = int(std::thread::hardware_concurrency());
  info.torch_version = TORCH_VERSION;
  info.opencv_version = CV_VERSION;
  return info;
}

}  // namespace cvtool
