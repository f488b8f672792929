#!/usr/bin/env bash
# Builds the library and its unit tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (the CVTOOL_SANITIZE option) in their own build folder and runs them; any sanitizer
# report fails the run.
#
#   scripts/sanitize.sh [extra ctest arguments]
#   env: CVTOOL_ASAN_BUILD_DIR (default build-asan), CVTOOL_JOBS (default 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${CVTOOL_ASAN_BUILD_DIR:-$ROOT/build-asan}"
JOBS="${CVTOOL_JOBS:-2}"
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

start=$(date +%s)
# -O1 -g1 (line tables for the reports' stack traces), not RelWithDebInfo's -O2 -g: a
# LibTorch-including file compiles in 20 s instead of 33, and the build is most of the
# script's time in CI.
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCVTOOL_SANITIZE=ON "${LAUNCHER[@]}" >/dev/null
# The unit tests and the fuzz-corpus replays: library code, no models to fetch.
cmake --build "$BUILD" -j"$JOBS" --target cvtool_unit_tests fuzz_replay_config fuzz_replay_decode \
  fuzz_replay_eval_readers fuzz_replay_labels
built=$(date +%s)

# LibTorch and OpenBLAS are not instrumented and keep global allocations until exit:
# leak reports would be theirs, so leak checking is off; everything else halts.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_odr_violation=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
cd "$BUILD"
ctest --output-on-failure -j1 -R '^(unit:|fuzz replay: )' "$@"
echo "sanitize: build $((built - start)) s, tests $(( $(date +%s) - built )) s" >&2
