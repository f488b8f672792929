#!/bin/bash
# Each zoo model at batch 1 with each inference option of `cvtool bench model` (default,
# --graph-optimize, --channels-last, --optimize), interleaved rounds; prints the median
# load, first-call and p50 ms per option. Raw JSON lines in OUT.
#
#   scripts/bench/model_options.sh [ROUNDS=3] [OUT=bench-model-options.jsonl]
#   env: CVTOOL (build/cvtool), THREADS (2), RUNS (20)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
OUT=${2:-bench-model-options.jsonl}
CVTOOL=${CVTOOL:-build/cvtool}
THREADS=${THREADS:-2}
RUNS=${RUNS:-20}
SPECS=(centernet:1x512x512x3 selfie-segmentation:1x256x256x3 movenet-lightning:1x192x192x3
       ppocrv4-det:1x3x640x640 ppocrv4-rec:1x3x48x320 faceres:1x224x224x3 blazeface:1x256x256x3)
: > "$OUT"
for round in $(seq "$ROUNDS"); do
  for spec in "${SPECS[@]}"; do
    m=${spec%%:*}
    for flag in "" --graph-optimize --channels-last --optimize; do
      "$CVTOOL" bench model "models/$m.pt" --shape "${spec#*:}" --runs "$RUNS" --threads "$THREADS" $flag --jsonl |
        sed "s/^{/{\"round\":$round,\"name\":\"$m\",\"option\":\"${flag:-default}\",/" >> "$OUT"
    done
  done
done
/usr/bin/python3 - "$OUT" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs[(r["name"], r["option"])].append(r)
print("| model | option | load ms | first call ms | p50 ms |")
print("|---|---|---:|---:|---:|")
for (name, option), rs in runs.items():
    med = lambda f: statistics.median(f(r) for r in rs)
    print(f"| {name} | {option} | {med(lambda r: r['load_ms']):.0f} | {med(lambda r: r['first_call_ms']):.0f} | "
          f"{med(lambda r: r['ms']['p50']):.2f} |")
PY
