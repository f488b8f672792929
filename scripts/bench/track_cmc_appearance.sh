#!/usr/bin/env bash
# Camera-motion compensation and appearance on the synthetic benchmark: sequences are
# rendered (frames.avi: each object in its own two colours), once with a still camera and
# once with a hand-held pan; the same detections are tracked with each option.
#   scripts/bench/track_cmc_appearance.sh [OUT_DIR] [SEEDS]     (prints a Markdown table)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CVTOOL="${CVTOOL:-$ROOT/build/cvtool}"
OUT="${1:-$ROOT/out/track-cmc-appearance}"
SEEDS="${2:-1 2 3}"
score() {  # score DIR PRED LABEL
  "$CVTOOL" eval track --jsonl --gt "$1/gt.txt" --pred "$2" | /usr/bin/python3 -c "
import json, sys
m = json.loads(sys.stdin.read())
print(f\"| {m['mota']:.3f} / {m['idf1']:.3f} / {m['id_switches']} \", end='')"
}
echo "| level | seed | camera | none: MOTA / IDF1 / IDSW | CMC | colour appearance | CMC + appearance |"
echo "|---|---|---|---|---|---|---|"
for level in easy medium hard; do
  for seed in $SEEDS; do
    for camera in static pan; do
      dir="$OUT/$level-$seed-$camera"
      [ -f "$dir/frames.avi" ] ||
        /usr/bin/python3 "$ROOT/scripts/bench/make_tracking_sequence.py" "$dir" --level "$level" --seed "$seed" \
          --camera "$camera" --render >/dev/null
      row="| $level | $seed | $camera "
      for variant in none cmc colour both; do
        flags=()
        case $variant in
          cmc) flags=(--cmc) ;;
          colour) flags=(--appearance colour) ;;
          both) flags=(--cmc --appearance colour) ;;
        esac
        mkdir -p "$dir/$variant"
        "$CVTOOL" track -q "$dir/frames.avi" --detections "$dir/det.txt" "${flags[@]}" \
          --set output.save_video=false -o "$dir/$variant"
        row+="$(score "$dir" "$dir/$variant/frames.mot.txt")"
      done
      echo "$row|"
    done
  done
done
