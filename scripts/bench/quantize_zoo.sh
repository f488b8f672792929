#!/bin/bash
# The before/after tables of docs/quantize.md: every mode on the digits CNN, and the
# zoo's PP-OCR orientation classifier and FaceRes descriptor on real images.
#   scripts/bench/quantize_zoo.sh BUILD_DIR [WORK_DIR]
# Needs the digits teacher of scripts/bench/distill_digits.sh (same WORK_DIR) and
# models/ppocr-cls.pt, models/faceres.pt (scripts/fetch-models.sh). 1 thread, ~2-4 min.
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [WORK_DIR]}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${2:-$BUILD/distill-digits}
CVTOOL="$BUILD/cvtool"
OUT="$WORK/quantized"
mkdir -p "$OUT"
[ -d "$WORK/data/train" ] || /usr/bin/python3 "$ROOT/scripts/bench/digits_prepare.py" "$WORK/data" >&2
[ -d "$WORK/textlines/0" ] || /usr/bin/python3 "$ROOT/scripts/bench/quantize_textlines.py" "$WORK/textlines" 100 >&2
DATA=/usr/share/doc/opencv-doc/examples/data
PHOTOS="$DATA/messi5.jpg $DATA/baboon.jpg $DATA/fruits.jpg $DATA/home.jpg $DATA/building.jpg $DATA/butterfly.jpg $DATA/orange.jpg $DATA/apple.jpg $DATA/board.jpg"
FACES="$DATA/messi5.jpg $DATA/HappyFish.jpg /usr/lib/python3/dist-packages/skimage/data/astronaut.png"

run() {  # title, then cvtool quantize arguments
  local title=$1; shift
  echo "### $title"
  echo
  "$CVTOOL" quantize "$@" --threads 1 --runs 100 --set bench.warmup=20 -q
  echo
}

T="$WORK/teacher/model.pt"
for mode in static dynamic fp16; do
  run "digits CNN, $mode" -c "$ROOT/configs/quantize-digits.json" -m "$T" --mode $mode \
    --calib "$WORK/data/train" "$WORK/data/test" -o "$OUT/digits.$mode.pt"
done
for mode in static fp16; do
  run "PP-OCR orientation classifier, $mode" -c "$ROOT/configs/quantize-ppocr-cls.json" --mode $mode \
    --set model.labels="$WORK/textlines/labels.txt" --calib "$DATA/*.jpg" "$WORK/textlines" -o "$OUT/ppocr-cls.$mode.pt"
done
for mode in static fp16; do
  run "FaceRes descriptor (output 0: 1024-d embedding), $mode" -c "$ROOT/configs/quantize-faceres.json" --mode $mode \
    --calib "$DATA/*.jpg" $PHOTOS $FACES -o "$OUT/faceres.$mode.pt"
done
