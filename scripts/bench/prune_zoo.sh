#!/bin/bash
# The zoo table of docs/prune.md: the PP-OCR text-line orientation classifier
# (models/ppocr-cls.pt, a converted model: pruned frozen, channels zeroed not removed, no
# fine-tuning) at several sparsities, scored on 200 rendered text lines (100 upright,
# 100 turned 180 degrees, scripts/bench/quantize_textlines.py) like docs/quantize.md.
#   scripts/bench/prune_zoo.sh BUILD_DIR [WORK_DIR]
# 1 thread; ~3-6 min under load.
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [WORK_DIR]}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${2:-$BUILD/prune-digits}
CVTOOL="$BUILD/cvtool"
OUT="$WORK/ppocr-cls"
mkdir -p "$OUT"
[ -d "$WORK/textlines/0" ] || /usr/bin/python3 "$ROOT/scripts/bench/quantize_textlines.py" "$WORK/textlines" 100 >&2
RUNS=${RUNS:-"unstructured:0.1 unstructured:0.3 unstructured:0.5 channel:0.1 channel:0.25"}
for run in $RUNS; do
  IFS=: read -r method s <<< "$run"
  [ -f "$OUT/$method-$s.jsonl" ] || "$CVTOOL" prune -c "$ROOT/configs/prune-ppocr-cls.json" --method "$method" --sparsity "$s" \
    --set model.labels="$WORK/textlines/labels.txt" "$WORK/textlines" -o "$OUT/$method-$s.pt" --threads 1 --runs 50 \
    --jsonl -q > "$OUT/$method-$s.jsonl"
done
/usr/bin/python3 - "$OUT" $RUNS <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
def fmt(r):
    return (f"{r['size_bytes'] / 1024:.1f} | {r['compressed_bytes'] / 1024:.1f} | {r['nonzero']} / {r['parameters']} | "
            f"{r['latency_ms']:.3f} | {100 * r['accuracy']:.2f}% | {100 * r['top1_agreement']:.2f}%")
print("| model | size (KB) | zlib (KB) | non-zero conv/linear weights | latency (ms) | accuracy (0 / 180) | top-1 agreement |")
print("|---|---:|---:|---:|---:|---:|---:|")
for i, run in enumerate(sys.argv[2:]):
    method, s = run.split(":")
    rows = [json.loads(l) for l in (out / f"{method}-{s}.jsonl").read_text().splitlines() if l.strip()]
    if i == 0:
        print(f"| original | {fmt(rows[0])} |")
    print(f"| {method} {float(s) * 100:g}% | {fmt(rows[1])} |")
PY
