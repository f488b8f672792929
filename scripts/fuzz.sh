#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time with ASan+UBSan.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
#   targets: config decode eval_readers labels (default: all)
#
# The library sources a target exercises are compiled with clang and coverage
# instrumentation here (the g++ build cannot feed libFuzzer coverage); they are all
# torch-free. New interesting inputs go to build-fuzz/corpus/<target>; crashes to
# build-fuzz/findings/<target>/. Copy small, useful new inputs into
# tests/fuzz/corpus/<target>/ so CTest replays them (fuzz replay tests, g++ only).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(config decode eval_readers labels)
OUT="${CVTOOL_FUZZ_DIR:-$ROOT/build-fuzz}"
JOBS="${CVTOOL_FUZZ_JOBS:-1}"

# clang and libFuzzer from Debian (only this script needs them, not the build or CI).
if ! command -v clang++ >/dev/null || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long){return 0;}' |
    clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "installing clang and libFuzzer (apt)" >&2
  apt-get install -y --no-install-recommends clang libclang-rt-dev 2>/dev/null ||
    apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev
fi

mkdir -p "$OUT/obj"
SCHEMAS="$OUT/schemas.cpp"
# The compiled-in task schemas, generated as lib/CMakeLists.txt does.
rows=""
for schema in "$ROOT"/configs/schema/*.schema.json; do
  rows+="    {\"$(basename "$schema" .schema.json)\", R\"cvtool_schema($(cat "$schema"))cvtool_schema\"},"$'\n'
done
template="$(cat "$ROOT/lib/src/core/schemas.cpp.in")"
printf '%s\n' "${template/@CVTOOL_SCHEMA_ROWS@/"$rows"}" >"$SCHEMAS"

LIB_SOURCES=(core/config.cpp core/json_schema.cpp core/error.cpp core/image_decode.cpp track/mot_format.cpp
             detect/coco_eval.cpp ocr/ocr_metrics.cpp ocr/ctc_decode.cpp detect/labels.cpp)
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -I"$ROOT/lib/include" -isystem /usr/include/opencv4)
objects=()
for src in "${LIB_SOURCES[@]}" schemas; do
  in="$ROOT/lib/src/$src"
  [ "$src" = schemas ] && in="$SCHEMAS"
  obj="$OUT/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$in" -nt "$obj" ]; then
    echo "clang++ $src" >&2
    clang++ "${FLAGS[@]}" -c "$in" -o "$obj"
  fi
  objects+=("$obj")
done

summary=()
for target in "${TARGETS[@]}"; do
  bin="$OUT/fuzz_$target"
  echo "building $bin" >&2
  clang++ "${FLAGS[@]/fuzzer-no-link/fuzzer}" "$ROOT/tests/fuzz/fuzz_$target.cpp" "${objects[@]}" \
    -lopencv_imgcodecs -lopencv_imgproc -lopencv_core -o "$bin"
  corpus="$OUT/corpus/$target"
  findings="$OUT/findings/$target"
  mkdir -p "$corpus" "$findings"
  started="$OUT/.started_$target"  # findings of earlier runs stay in the folder: count only this run's
  touch "$started"
  echo "fuzzing $target for ${SECONDS_PER_TARGET}s" >&2
  set +e
  parallel=()
  [ "$JOBS" -gt 1 ] && parallel=(-fork="$JOBS")
  (cd "$OUT" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    "$bin" "$corpus" "$ROOT/tests/fuzz/corpus/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=10 "${parallel[@]}" -artifact_prefix="$findings/" \
    -print_final_stats=1 2>"$OUT/fuzz_$target.log")
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/fuzz_$target.log" | awk '{s+=$2} END {print s+0}')
  crashes=$(find "$findings" -type f -newer "$started" | wc -l)
  summary+=("$target: ${SECONDS_PER_TARGET}s, $execs execs, corpus $(ls "$corpus" | wc -l) files, findings $crashes (exit $rc)")
done
printf '%s\n' "${summary[@]}"
