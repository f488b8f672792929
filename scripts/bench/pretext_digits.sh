#!/bin/bash
# Self-supervised pretraining on the digits (docs/train.md, "Self-supervised pretraining"):
# pretrain the small CNN of configs/train-digits.json on all 5000 digits.png cells WITHOUT
# their labels (rotation, jigsaw), then fine-tune on few10/ (10 labelled per class) and
# score on test/; compare with the same few10 training from scratch, same seeds, same
# epochs. Every run uses one thread (the machine is shared).
#
#   scripts/bench/pretext_digits.sh BUILD_DIR [OUT_DIR] [SEED...]   (default seeds: 0 1 2)
#
# The pretext runs use seed 0 once; each fine-tune / scratch run uses each SEED. Results
# (one JSON line per run: test accuracy, per-class recall, wall seconds) go to
# OUT_DIR/results.jsonl. ONLY=REGEX (environment) runs only the few10 runs whose name
# matches, e.g. ONLY=lr3 for the same-learning-rate fine-tunes alone.
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [OUT_DIR] [SEED...]}")
OUT=$(realpath -m "${2:-$BUILD/pretext-digits}")
shift $(( $# >= 2 ? 2 : 1 ))
SEEDS=("${@:-0 1 2}")
SEEDS=(${SEEDS[*]})
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CVTOOL="$BUILD/cvtool"
DATA="$OUT/data"
RESULTS="$OUT/results.jsonl"
mkdir -p "$OUT"
[ -d "$DATA/test" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$DATA"
# All 5000 cells as one unlabeled folder (train/ and test/ linked; the class folder names
# are never read by train pretext).
if [ ! -d "$DATA/all" ]; then
  mkdir -p "$DATA/all"
  ln -s ../train "$DATA/all/train"
  ln -s ../test "$DATA/all/test"
fi

now() { date +%s.%N; }

# pretext NAME ARGS...: self-supervised run into $OUT/NAME.
pretext() {
  local name=$1; shift
  if [ -f "$OUT/$name/backbone.pt" ]; then echo "$name: reusing $OUT/$name/backbone.pt" >&2; return; fi
  rm -rf "$OUT/$name"
  local t0=$(now)
  "$CVTOOL" train pretext --data "$DATA/all" -c "$ROOT/configs/train-pretext-digits.json" -o "$OUT/$name" \
    --threads 1 --progress off --seed 0 "$@" 2> "$OUT/$name.log"
  local t1=$(now)
  /usr/bin/python3 - "$OUT/$name" "$name" "$(echo "$t1 - $t0" | bc)" <<'PY' | tee -a "$RESULTS"
import json, sys
run, name, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
m = json.load(open(run + "/metrics.json"))
epochs = [json.loads(l) for l in open(run + "/metrics.jsonl")]
print(json.dumps({"run": name, "pretext_val_accuracy": round(m["accuracy"], 4), "epochs": len(epochs),
                  "train_seconds": round(secs, 1)}))
PY
}

# few NAME SEED ARGS...: trains on few10/ like digits_experiments.sh's transfer runs (30
# epochs, no early stop, batch 16; 1 image per class held out for validation), scores on test/.
few() {
  local name=$1 seed=$2; shift 2
  [[ $name =~ ${ONLY:-.} ]] || return 0
  rm -rf "$OUT/$name"
  local t0=$(now)
  "$CVTOOL" train classify -c "$ROOT/configs/train-digits.json" --data "$DATA/few10" -o "$OUT/$name" \
    --epochs 30 --patience 0 --batch 16 --seed "$seed" --threads 1 --progress off "$@" 2> "$OUT/$name.log"
  local t1=$(now)
  "$CVTOOL" classify "$DATA/test" -c "$OUT/$name/classify.json" --jsonl -k 1 --threads 1 -q \
    | /usr/bin/python3 "$ROOT/scripts/bench/digits_score.py" --json "$name" \
    | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); r['seed']=$seed; r['train_seconds']=round($t1-$t0,1); print(json.dumps(r))" \
    | tee -a "$RESULTS"
}

pretext pretext-rotation --task rotation
pretext pretext-jigsaw --task jigsaw --grid 2 --permutations 24
for s in "${SEEDS[@]}"; do
  few "few10-scratch-s$s" "$s"
  few "few10-rotation-s$s" "$s" --backbone "$OUT/pretext-rotation/backbone.pt" --lr 0.001
  few "few10-jigsaw-s$s" "$s" --backbone "$OUT/pretext-jigsaw/backbone.pt" --lr 0.001
  # The scratch run's learning rate (3e-3), in case 1e-3 is what holds fine-tuning back.
  few "few10-rotation-lr3-s$s" "$s" --backbone "$OUT/pretext-rotation/backbone.pt"
  few "few10-jigsaw-lr3-s$s" "$s" --backbone "$OUT/pretext-jigsaw/backbone.pt"
  few "few10-rotation-probe-s$s" "$s" --backbone "$OUT/pretext-rotation/backbone.pt" --freeze all --lr 0.01
  few "few10-jigsaw-probe-s$s" "$s" --backbone "$OUT/pretext-jigsaw/backbone.pt" --freeze all --lr 0.01
done
# Mean and spread over seeds per condition.
/usr/bin/python3 - "$RESULTS" <<'PY'
import json, re, statistics, sys
acc = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "seed" in r:
        acc.setdefault(re.sub(r"-s\d+$", "", r["run"]), []).append(r["accuracy"])
for k, v in acc.items():
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    print(f"{k:28s} n={len(v)} mean {statistics.mean(v):.3f} sd {sd:.3f} min {min(v):.3f} max {max(v):.3f}")
PY
