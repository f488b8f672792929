#!/usr/bin/env bash
# Compares cvtool ocr, Tesseract 5 and @gutenye/ocr-node (PP-OCRv4 on onnxruntime-node) on
# the same images in one run and scores all three with `cvtool eval ocr`.
#   lines: 60 rendered signs/labels, 24 fonts, 14-56 px, +-10 degrees, blur/noise/JPEG
#   docs:  8 rendered document pages (scripts/bench/make_ocr_set.py renders both)
#   scene: opencv-doc's scene-text photos (examples/text/: signs, shop fronts, word crops),
#          transcribed by hand: the main text a person reads at a glance, small print left
#          out (scripts/bench/ocr_scene_gt.jsonl)
#   real:  scanned/photographed pages (opencv-doc, skimage) and messi5's banners, transcribed
#          by hand (scripts/bench/ocr_real_gt.jsonl)
# Prerequisites: apt-get install -y tesseract-ocr; node + npm; models/ (scripts/fetch-models.sh).
# The Debian font packages the rendered sets use are installed here when missing (as root).
# usage: scripts/bench/ocr_peers.sh [BUILD_DIR] [OUT_DIR]
# env:   NODE_OCR_DIR (default ~/.cache/cvtool/node-ocr), THREADS (default 2), IGNORE_CASE=1,
#        SETS (default "scene lines docs real")
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${2:-$ROOT/out/ocr-bench}
CVTOOL=$BUILD/cvtool
[[ -x $CVTOOL ]] || CVTOOL=$BUILD/apps/cvtool/cvtool
NODE_OCR_DIR=${NODE_OCR_DIR:-$HOME/.cache/cvtool/node-ocr}
THREADS=${THREADS:-2}
EVAL_FLAGS=()
[[ "${IGNORE_CASE:-0}" == 1 ]] && EVAL_FLAGS+=(--ignore-case)

[[ -x $CVTOOL ]] || { echo "no cvtool binary at $CVTOOL (build it or pass BUILD_DIR)" >&2; exit 2; }
command -v tesseract >/dev/null || { echo "tesseract missing: apt-get install -y tesseract-ocr" >&2; exit 2; }
if [[ ! -d $NODE_OCR_DIR/node_modules/@gutenye/ocr-node ]]; then
  mkdir -p "$NODE_OCR_DIR"
  (cd "$NODE_OCR_DIR" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
    npm install --ignore-scripts @gutenye/ocr-node@1.4.8)
fi

FONT_PACKAGES=(fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-crosextra-carlito
  fonts-crosextra-caladea fonts-lato fonts-open-sans fonts-roboto-unhinted fonts-cantarell
  fonts-linuxlibertine fonts-inconsolata fonts-urw-base35)
missing=()
for p in "${FONT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "installing fonts: ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

mkdir -p "$OUT"
/usr/bin/python3 "$ROOT/scripts/bench/make_ocr_set.py" "$OUT" >/dev/null
cp "$ROOT/scripts/bench/ocr_real_gt.jsonl" "$OUT/real_gt.jsonl"
cp "$ROOT/scripts/bench/ocr_scene_gt.jsonl" "$OUT/scene_gt.jsonl"

declare -A IMAGES
IMAGES[lines]=$(ls "$OUT"/lines/line_*.png)
IMAGES[docs]=$(ls "$OUT"/docs/doc_*.png)
sources() { python3 -c 'import json,sys; [print(json.loads(l)["source"]) for l in open(sys.argv[1]) if l.strip()]' "$1"; }
IMAGES[real]=$(sources "$OUT/real_gt.jsonl")
IMAGES[scene]=$(sources "$OUT/scene_gt.jsonl")
GT_lines=$OUT/lines/gt.jsonl
GT_docs=$OUT/docs/gt.jsonl
GT_real=$OUT/real_gt.jsonl
GT_scene=$OUT/scene_gt.jsonl

now() { date +%s.%N; }
export OMP_THREAD_LIMIT=$THREADS  # tesseract's OpenMP

printf '%-8s %-10s %7s %7s %7s %7s %9s\n' set system images CER WER recall "images/s" | tee "$OUT/table.txt"
for set in ${SETS:-scene lines docs real}; do
  gt_var=GT_$set; gt=${!gt_var}
  mapfile -t imgs <<<"${IMAGES[$set]}"
  for system in cvtool tesseract ocr-node; do
    pred=$OUT/$set.$system.jsonl
    t0=$(now)
    case $system in
      cvtool)    "$CVTOOL" ocr "${imgs[@]}" --jsonl --threads "$THREADS" -q --progress off >"$pred" ;;
      tesseract) python3 "$ROOT/scripts/bench/tesseract_jsonl.py" "${imgs[@]}" >"$pred" 2>"$OUT/$set.$system.log" ;;
      ocr-node)  node "$ROOT/scripts/bench/ocr_node.mjs" "$NODE_OCR_DIR" "${imgs[@]}" >"$pred" 2>"$OUT/$set.$system.log" ;;
    esac
    t1=$(now)
    "$CVTOOL" eval ocr --gt "$gt" --pred "$pred" "${EVAL_FLAGS[@]}" --jsonl -q >"$OUT/$set.$system.eval.jsonl"
    python3 - "$OUT/$set.$system.eval.jsonl" "$set" "$system" "$t0" "$t1" <<'PY' | tee -a "$OUT/table.txt"
import json, sys
path, set_, system, t0, t1 = sys.argv[1:]
s = [json.loads(l) for l in open(path) if l.strip()][-1]
fmt = lambda v: "      -" if v is None else f"{v:7.4f}"
ips = s["images"] / (float(t1) - float(t0))
print(f"{set_:<8} {system:<10} {s['images']:7d} {fmt(s['cer'])} {fmt(s['wer'])} {fmt(s['word_recall'])} {ips:9.2f}")
PY
  done
done
echo "per-image scores: $OUT/<set>.<system>.eval.jsonl; table: $OUT/table.txt"
