#!/bin/bash
# Knowledge distillation on digits (docs/distill.md): a teacher CNN, the same small
# student trained from scratch (alpha 0: labels only) and distilled (T 4, alpha 0.5 / 0.9),
# all scored on the 1000 held-out test digits. Prints one Markdown table.
#   scripts/bench/distill_digits.sh BUILD_DIR [WORK_DIR]
# ~3-6 min on 1 thread. The teacher never sees the test split (unlike models/digits-cnn.pt).
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [WORK_DIR]}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${2:-$BUILD/distill-digits}
CVTOOL="$BUILD/cvtool"
mkdir -p "$WORK"
[ -d "$WORK/data/train" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$WORK/data" >&2
TEACHER_WIDTH=${TEACHER_WIDTH:-32}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-12}
if [ ! -f "$WORK/teacher/classify.json" ]; then
  "$CVTOOL" train classify -c "$ROOT/configs/train-digits.json" --data "$WORK/data/train" -o "$WORK/teacher" \
    --set model.width=$TEACHER_WIDTH --epochs $TEACHER_EPOCHS --threads 1 --progress off >&2
fi
# Students: name:alpha:temperature; alpha 0 is the student from scratch (labels only).
RUNS=${RUNS:-"scratch:0:4 kd-a0.5-t4:0.5:4 kd-a0.9-t4:0.9:4"}
EPOCHS=${EPOCHS:-15}
for run in $RUNS; do
  IFS=: read -r name alpha temp <<< "$run"
  [ -f "$WORK/$name-e$EPOCHS.json" ] && continue
  "$CVTOOL" distill -c "$ROOT/configs/distill-digits.json" --teacher "$WORK/teacher/classify.json" \
    --data "$WORK/data/train" --test "$WORK/data/test" -T "$temp" --alpha "$alpha" --epochs "$EPOCHS" \
    --threads 1 --progress off -o "$WORK/$name-e$EPOCHS" --jsonl > "$WORK/$name-e$EPOCHS.json"
done
/usr/bin/python3 - "$WORK" "$TEACHER_WIDTH" "$EPOCHS" $RUNS <<'PY'
import json, sys
work, width, epochs = sys.argv[1:4]
rows = []
for run in sys.argv[4:]:
    name, alpha, temp = run.split(":")
    s = json.load(open(f"{work}/{name}-e{epochs}.json"))
    if not rows:
        rows.append((f"teacher (small CNN, width {width})", s["scores"][0]))
    label = (f"student from scratch (labels only), {epochs} epochs" if float(alpha) == 0
             else f"distilled student (T {temp}, alpha {alpha}), {epochs} epochs")
    rows.append((label, s["scores"][1]))
print("| model | test accuracy (1000 digits) | parameters | size (KB) | latency (ms, batch 1) |")
print("|---|---:|---:|---:|---:|")
for label, r in rows:
    print(f"| {label} | {100 * r['accuracy']:.2f}% | {r['parameters']} | {r['size_bytes'] / 1024:.1f} | {r['latency_ms']:.3f} |")
PY
