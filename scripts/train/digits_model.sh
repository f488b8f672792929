#!/bin/bash
# Trains the digits classifier behind configs/classify-digits.json (the default config of
# `cvtool classify`) into models/digits-cnn.pt: the small CNN of configs/train-digits.json
# on all 5000 digits of opencv-doc's digits.png but a 10% validation split. ~2-4 min, 1 thread.
#   scripts/train/digits_model.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK="$BUILD/digits-model"
[ -d "$WORK/data/train" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$WORK/data" >&2
# train + test folders together: the shipped model sees every labelled digit.
mkdir -p "$WORK/all"
for d in 0 1 2 3 4 5 6 7 8 9; do
  mkdir -p "$WORK/all/$d"
  cp -n "$WORK/data/train/$d/"*.png "$WORK/data/test/$d/"*.png "$WORK/all/$d/"
done
"$BUILD/cvtool" train classify -c "$ROOT/configs/train-digits.json" --data "$WORK/all" -o "$WORK/run" --threads 1
cp "$WORK/run/model.pt" "$ROOT/models/digits-cnn.pt"
echo "models/digits-cnn.pt: $(sha256sum "$ROOT/models/digits-cnn.pt" | cut -d' ' -f1)"
