#!/bin/bash
# Side by side: each zoo model on cvtool (LibTorch, `cvtool bench model`), ONNX Runtime
# (onnxruntime-node) and OpenCV DNN, same weights, same input shape, batch 1 and 8.
# Rounds are interleaved (this machine is shared and noisy); every run is one JSON line
# in OUT. Summarise with: /usr/bin/python3 scripts/bench/onnx_summary.py OUT
#
#   scripts/bench/onnx_peers.sh [ROUNDS] [OUT] [MODEL ...]
#   env: CVTOOL, THREADS (2), RUNS (10), BATCHES ("1 8"; models traced at batch 1 only
#   run batch 1 whatever BATCHES says)
# Needs: build/cvtool (CVTOOL=...), ONNX files from scripts/bench/onnx_export.py,
# onnxruntime-node under ~/.cache/cvtool/node.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
OUT=${2:-bench-onnx.jsonl}
shift 2 || true
CVTOOL=${CVTOOL:-build/cvtool}
ONNX_DIR=${ONNX_DIR:-$HOME/.cache/cvtool/bench}
THREADS=${THREADS:-2}
RUNS=${RUNS:-10}
BATCHES=${BATCHES:-1 8}
# Traced at batch 1: their TorchScript graphs fail at batch 8 ("Expected 1 elements in a
# list but found 8").
declare -A BATCH1_ONLY=([blazeface]=1 [movenet-lightning]=1)
export NODE_PATH=${NODE_PATH:-$HOME/.cache/cvtool/node/node_modules}

declare -A SHAPE=(
  [centernet]=512x512x3 [selfie-segmentation]=256x256x3 [selfie-segmentation-landscape]=144x256x3
  [blazeface]=256x256x3 [faceres]=224x224x3 [movenet-lightning]=192x192x3
  [ppocrv4-det]=3x640x640 [ppocrv4-rec]=3x48x320 [ppocr-cls]=3x48x192)
MODELS=("$@")
[ ${#MODELS[@]} -gt 0 ] || MODELS=(centernet selfie-segmentation ppocrv4-det ppocrv4-rec ppocr-cls)

: > "$OUT"
for round in $(seq "$ROUNDS"); do
  for m in "${MODELS[@]}"; do
    batches=$BATCHES
    [ -z "${BATCH1_ONLY[$m]:-}" ] || batches=1
    for n in $batches; do
      shape="${n}x${SHAPE[$m]}"
      tag="\"round\":$round,\"name\":\"$m\",\"batch\":$n,"
      # A failing runtime is a result too: one error line, and the other runs go on.
      if ! line=$("$CVTOOL" bench model "models/$m.pt" --shape "$shape" --runs "$RUNS" --threads "$THREADS" --jsonl); then
        line='{"error":"cvtool bench failed"}'
      fi
      echo "$line" | sed "s/^{/{$tag\"runtime\":\"cvtool\",/" >> "$OUT"
      node scripts/bench/onnx_time.js "$ONNX_DIR/$m.onnx" "$shape" --runs "$RUNS" --threads "$THREADS" \
        | sed "s/^{/{$tag/" >> "$OUT"
      /usr/bin/python3 scripts/bench/onnx_opencv_time.py "$ONNX_DIR/$m.onnx" "$shape" --runs "$RUNS" \
        --threads "$THREADS" | sed "s/^{/{$tag/" >> "$OUT"
      echo "round $round $m batch $n done" >&2
    done
  done
done
