// Makes OpenMP threads sleep, not spin, while they wait (OMP_WAIT_POLICY=PASSIVE), unless
// the user set a policy. LibTorch and OpenBLAS run on libgomp, whose default spinning
// collapses throughput as soon as anything else runs on the cores: `cvtool bench detect`
// at 2 threads next to a niced compile went from 14.6 images/s (passive) to 0.84 (default),
// while on an idle machine both give 24 (docs/benchmarks.md, "Threads under contention").
//
// libgomp reads the variable once, in its own initialiser, before main() runs; setenv
// from a .preinit_array function is undone by libc's initialiser, and re-executing the
// process with the variable set costs another ~0.3 s of dynamic loading. Instead the
// executable defines getenv: symbols of the executable come first in the dynamic linker's
// lookup, so libgomp's call lands here (the link exports it: apps/cvtool/CMakeLists.txt).
// Every other name, and a policy the user did set, reads the real environment exactly as
// glibc's getenv does. Programs that link libcvtool themselves choose their own policy.
//
// Passive alone (libgomp then spins 0) makes every parallel region of a small model wake
// sleeping threads: PP-OCR cls batch 1 at 2 threads took 4.0 ms against 2.4 ms with a
// short spin first. So threads spin 10000 rounds (~0.1 ms; libgomp's default is 300000,
// ~3 ms) before they sleep: GOMP_SPINCOUNT, unless the user set it or a policy.
#include <cstdlib>
#include <cstring>

extern "C" {

extern char** environ;

static char* find_in_environment(const char* name) noexcept {
  const std::size_t length = std::strlen(name);
  if (environ != nullptr)
    for (char** entry = environ; *entry != nullptr; ++entry)
      if (std::strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') return *entry + length + 1;
  return nullptr;
}

char* getenv(const char* name) noexcept {
  if (char* value = find_in_environment(name)) return value;
  if (find_in_environment("OMP_WAIT_POLICY") != nullptr) return nullptr;  // the user's choice stands
  static char passive[] = "PASSIVE";
  static char short_spin[] = "10000";
  if (std::strcmp(name, "OMP_WAIT_POLICY") == 0) return passive;
  if (std::strcmp(name, "GOMP_SPINCOUNT") == 0) return short_spin;
  return nullptr;
}

}  // extern "C"
