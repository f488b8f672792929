#!/bin/bash
# The digits experiments of docs/train.md: from scratch, transfer from rendered font
# digits to 10 handwritten digits per class, class imbalance, 2-process data-parallel.
# Every run uses one thread (the machine is shared); each takes a few minutes at most.
#
#   scripts/bench/digits_experiments.sh BUILD_DIR [OUT_DIR] [EXPERIMENT...]
#   EXPERIMENT: scratch transfer imbalance focal ddp (default: all but focal)
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [OUT_DIR] [scratch|transfer|imbalance|ddp]...}")
OUT=$(realpath -m "${2:-$BUILD/digits-experiments}")
shift $(( $# >= 2 ? 2 : 1 ))
WHAT=("${@:-scratch transfer imbalance ddp}")
WHAT=(${WHAT[*]})
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CVTOOL="$BUILD/cvtool"
CFG="$ROOT/configs/train-digits.json"
DATA="$OUT/data"
RESULTS="$OUT/results.jsonl"
mkdir -p "$OUT"
[ -d "$DATA/test" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$DATA"

# train NAME ARGS...: trains into $OUT/NAME, scores on the held-out test set, appends a
# result line (accuracy, per-class recall, training seconds from metrics.json).
train() {
  local name=$1; shift
  rm -rf "$OUT/$name"
  local t0=$(date +%s.%N)
  "$CVTOOL" train classify -c "$CFG" -o "$OUT/$name" --threads 1 --progress off "$@" 2> "$OUT/$name.log"
  local t1=$(date +%s.%N)
  score "$name" "$OUT/$name" "$(echo "$t1 - $t0" | bc)"
}
score() {
  local line
  line=$("$CVTOOL" classify "$DATA/test" -c "$2/classify.json" --jsonl -k 1 --threads 1 -q \
         | /usr/bin/python3 "$ROOT/scripts/bench/digits_score.py" --json "$1")
  echo "$line" | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); r['train_seconds']=round($3,1); \
r['epochs']=sum(1 for _ in open('$2/metrics.jsonl')); print(json.dumps(r))" | tee -a "$RESULTS"
}

for w in "${WHAT[@]}"; do
  case $w in
    scratch)
      train scratch --data "$DATA/train" ;;
    transfer)
      train fonts --data "$DATA/fonts"
      # 10 per class: 1 per class goes to validation, 9 train; 30 epochs without early stop.
      few=(--data "$DATA/few10" --epochs 30 --patience 0 --batch 16)
      train few10-scratch "${few[@]}"
      train few10-finetune "${few[@]}" --backbone "$OUT/fonts/model.pt" --lr 0.001
      train few10-linear-probe "${few[@]}" --backbone "$OUT/fonts/model.pt" --freeze all --lr 0.01 ;;
    imbalance)
      train imb-plain --data "$DATA/imbalanced"
      train imb-weighted --data "$DATA/imbalanced" --class-weights balanced
      train imb-oversample --data "$DATA/imbalanced" --sampler oversample ;;
    focal)
      train imb-focal --data "$DATA/imbalanced" --loss focal ;;
    ddp)
      rm -rf "$OUT/ddp2"
      t0=$(date +%s.%N)
      port=$((29500 + RANDOM % 400))
      for r in 1 0; do
        MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$r "$CVTOOL" train classify -c "$CFG" \
          --data "$DATA/train" -o "$OUT/ddp2" --threads 1 --progress off 2> "$OUT/ddp2-rank$r.log" &
      done
      wait
      t1=$(date +%s.%N)
      score ddp2 "$OUT/ddp2" "$(echo "$t1 - $t0" | bc)" ;;
    *) echo "unknown experiment $w" >&2; exit 2 ;;
  esac
done
