#!/usr/bin/env bash
# Sets up, then detects objects in real photos from Debian's opencv-doc and
# python3-skimage packages with the default model (CenterNet, COCO 80 classes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
OUT="${1:-$ROOT/out/demo}"
mkdir -p "$OUT"
OPENCV=/usr/share/doc/opencv-doc/examples/data
SKIMAGE=/usr/lib/python3/dist-packages/skimage/data
"${CVTOOL_BUILD_DIR:-$ROOT/build}/cvtool" detect \
  "$OPENCV/messi5.jpg" "$OPENCV/basketball1.png" "$OPENCV/fruits.jpg" \
  "$SKIMAGE/chelsea.png" "$SKIMAGE/astronaut.png" "$SKIMAGE/coffee.png" "$SKIMAGE/motorcycle_left.png" \
  -o "$OUT" --jsonl > "$OUT.jsonl"
echo "demo: annotated images and predictions.coco.json in $OUT/, one JSON record per image in $OUT.jsonl"
