#!/bin/bash
# The digits tables of docs/prune.md: unstructured and channel pruning of a digits CNN at
# several sparsities, each without and with fine-tuning (mask fixed) on the training
# digits, scored on the 1000 held-out test digits. Prints one Markdown table.
#   scripts/bench/prune_digits.sh BUILD_DIR [WORK_DIR]
# MODEL=... picks the model (default models/digits-cnn.pt, which saw the test digits in
# training: scripts/train/digits_model.sh; the held-out teacher of
# scripts/bench/distill_digits.sh is WORK_DIR/teacher/model.pt). SPARSITIES, METHODS,
# EPOCHS override the grid. 1 thread; ~10-20 min under load.
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [WORK_DIR]}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${2:-$BUILD/prune-digits}
CVTOOL="$BUILD/cvtool"
MODEL=$(realpath "${MODEL:-$ROOT/models/digits-cnn.pt}")
SPARSITIES=${SPARSITIES:-"0.25 0.5 0.75 0.9"}
METHODS=${METHODS:-"unstructured channel"}
EPOCHS=${EPOCHS:-3}
TAG=${TAG:-$(basename "$MODEL" .pt)}
OUT="$WORK/$TAG"
mkdir -p "$OUT"
[ -d "$WORK/data/train" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$WORK/data" >&2

for method in $METHODS; do
  for s in $SPARSITIES; do
    name="$method-$s"
    [ -f "$OUT/$name.jsonl" ] || "$CVTOOL" prune -c "$ROOT/configs/prune-digits.json" -m "$MODEL" --method "$method" \
      --sparsity "$s" "$WORK/data/test" -o "$OUT/$name.pt" --threads 1 --runs 100 --jsonl -q > "$OUT/$name.jsonl"
    [ -f "$OUT/$name-ft.jsonl" ] || "$CVTOOL" prune -c "$ROOT/configs/prune-digits.json" -m "$MODEL" --method "$method" \
      --sparsity "$s" --finetune-data "$WORK/data/train" --epochs "$EPOCHS" "$WORK/data/test" -o "$OUT/$name-ft.pt" \
      --threads 1 --runs 100 --jsonl -q > "$OUT/$name-ft.jsonl"
  done
done

/usr/bin/python3 - "$OUT" $METHODS -- $SPARSITIES <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
sep = sys.argv.index("--")
methods, sparsities = sys.argv[2:sep], sys.argv[sep + 1:]
def rows(name):
    return [json.loads(l) for l in (out / f"{name}.jsonl").read_text().splitlines() if l.strip()]
def fmt(r):
    return (f"{r['size_bytes'] / 1024:.1f} | {r['compressed_bytes'] / 1024:.1f} | {r['nonzero']} / {r['parameters']} | "
            f"{r['latency_ms']:.3f} | {100 * r['accuracy']:.2f}%")
print("| model | size (KB) | zlib (KB) | non-zero conv/linear weights | latency (ms) | test accuracy |")
print("|---|---:|---:|---:|---:|---:|")
first = rows(f"{methods[0]}-{sparsities[0]}")[0]
print(f"| original | {fmt(first)} |")
for m in methods:
    for s in sparsities:
        plain = rows(f"{m}-{s}")
        tuned = rows(f"{m}-{s}-ft")
        print(f"| {m} {float(s) * 100:g}% | {fmt(plain[1])} |")
        ft = [r for r in tuned if "fine-tuned" in r.get("variant", "")][0]
        print(f"| {m} {float(s) * 100:g}% + fine-tune | {fmt(ft)} |")
# Per-layer sparsity of the 50% runs.
for m in methods:
    f = out / f"{m}-0.5.jsonl"
    if not f.exists():
        continue
    summary = [r for r in rows(f"{m}-0.5") if r.get("summary")][0]
    print(f"\n{m} 50%, per layer:\n")
    print("| layer | shape | weights | zeros | sparsity |\n|---|---|---:|---:|---:|")
    for l in summary["layers"]:
        shape = str(l["shape_before"]) + ("" if l["shape_after"] == l["shape_before"] else f" -> {l['shape_after']}")
        print(f"| {l['name']} | {shape} | {l['weights']} | {l['zeros']} | {100 * l['sparsity']:.2f}% |")
PY
