#!/bin/bash
# The robustness numbers of docs/robustness.md: the digits CNN of configs/train-digits.json
# trained plainly and with FGSM adversarial training (same data, seed and epochs), then
# both evaluated on the 1000 held-out test digits under every corruption and attack.
# Each training takes ~2-4 min at one thread; each robustness run ~1 min.
#
#   scripts/bench/robustness_digits.sh BUILD_DIR [OUT_DIR] [EPS] [RATIO]
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [OUT_DIR] [EPS] [RATIO]}")
OUT=$(realpath -m "${2:-$BUILD/robustness-digits}")
EPS=${3:-0.1}
RATIO=${4:-0.5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CVTOOL="$BUILD/cvtool"
CFG="$ROOT/configs/train-digits.json"
DATA="$OUT/data"
mkdir -p "$OUT"
[ -d "$DATA/test" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$DATA" >&2

train() {  # NAME ARGS...
  local name=$1; shift
  [ -f "$OUT/$name/model.pt" ] && return 0
  "$CVTOOL" train classify -c "$CFG" --data "$DATA/train" -o "$OUT/$name" --threads 1 --progress off "$@" 2> "$OUT/$name.log"
}
robust() {  # NAME
  "$CVTOOL" robustness -c "$ROOT/configs/robustness-digits.json" --from "$OUT/$1/classify.json" --data "$DATA/test" \
    --threads 1 -o "$OUT/$1-robustness" --title "digits CNN ($1), 1000 test digits" > "$OUT/$1-robustness.txt"
  cat "$OUT/$1-robustness.txt"
}
train plain
train adversarial --adversarial fgsm --adv-eps "$EPS" --adv-ratio "$RATIO"
robust plain
robust adversarial
