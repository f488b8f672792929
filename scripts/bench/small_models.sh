#!/bin/bash
# The small zoo models, where ONNX Runtime is ahead: cvtool at 1 and 2 intra-op threads
# against ONNX Runtime at 1 and 2, interleaved rounds; prints median p50 ms and the
# cvtool/ORT ratios with their spread. Raw JSON lines in OUT.
#
#   scripts/bench/small_models.sh [ROUNDS=3] [OUT=bench-small-models.jsonl]
#   env: CVTOOL (build/cvtool), RUNS (50), ONNX_DIR, NODE_PATH as for onnx_peers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
OUT=${2:-bench-small-models.jsonl}
CVTOOL=${CVTOOL:-build/cvtool}
RUNS=${RUNS:-50}
ONNX_DIR=${ONNX_DIR:-$HOME/.cache/cvtool/bench}
export NODE_PATH=${NODE_PATH:-$HOME/.cache/cvtool/node/node_modules}
SPECS=(ppocr-cls:1x3x48x192 ppocr-cls:8x3x48x192 movenet-lightning:1x192x192x3 blazeface:1x256x256x3
       faceres:1x224x224x3)
: > "$OUT"
for round in $(seq "$ROUNDS"); do
  for spec in "${SPECS[@]}"; do
    m=${spec%%:*}
    shape=${spec#*:}
    tag="\"round\":$round,\"name\":\"$m\",\"input\":\"$shape\""
    for t in 1 2; do
      "$CVTOOL" bench model "models/$m.pt" --shape "$shape" --runs "$RUNS" --threads "$t" --jsonl |
        sed "s/^{/{$tag,\"rt\":\"cvtool-$t\",/" >> "$OUT"
      node scripts/bench/onnx_time.js "$ONNX_DIR/$m.onnx" "$shape" --runs "$RUNS" --threads "$t" |
        sed "s/^{/{$tag,\"rt\":\"ort-$t\",/" >> "$OUT"
    done
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import collections, json, statistics, sys
p50 = collections.defaultdict(lambda: collections.defaultdict(dict))
for line in open(sys.argv[1]):
    r = json.loads(line)
    p50[(r["name"], r["input"])][r["rt"]][r["round"]] = r["ms"]["p50"]
def ratio(v, a, b):
    rs = [v[a][k] / v[b][k] for k in v[a] if k in v[b]]
    return f"{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})"
print("| model | input | cvtool 1 thr | cvtool 2 thr | ORT 1 thr | ORT 2 thr | cvtool-1/ORT-2 | cvtool-2/ORT-2 | cvtool-1/ORT-1 |")
print("|---|---|---:|---:|---:|---:|---|---|---|")
for (name, shape), v in p50.items():
    med = {rt: statistics.median(x.values()) for rt, x in v.items()}
    print(f"| {name} | {shape} | {med['cvtool-1']:.2f} | {med['cvtool-2']:.2f} | {med['ort-1']:.2f} | {med['ort-2']:.2f} | "
          f"{ratio(v, 'cvtool-1', 'ort-2')} | {ratio(v, 'cvtool-2', 'ort-2')} | {ratio(v, 'cvtool-1', 'ort-1')} |")
PY
