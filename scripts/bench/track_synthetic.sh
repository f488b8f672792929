#!/usr/bin/env bash
# The synthetic tracking benchmark: for each difficulty level and seed, make a sequence,
# track its detections with cvtool (association only), and score the result.
#   scripts/bench/track_synthetic.sh [OUT_DIR]       (prints a Markdown table)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CVTOOL="${CVTOOL:-$ROOT/build/cvtool}"
OUT="${1:-$ROOT/out/track-synthetic}"
echo "| level | seed | MOTA | IDF1 | ID switches | fragmentations | MT / PT / ML | association frames/s |"
echo "|---|---|---|---|---|---|---|---|"
for level in easy medium hard; do
  for seed in 1 2 3; do
    dir="$OUT/$level-$seed"
    /usr/bin/python3 "$ROOT/scripts/bench/make_tracking_sequence.py" "$dir" --level "$level" --seed "$seed" >/dev/null
    start=$(date +%s.%N)
    "$CVTOOL" track -q --detections "$dir/det.txt" -o "$dir"
    end=$(date +%s.%N)
    frames=$(cut -d, -f1 "$dir/gt.txt" | sort -n | tail -1)
    "$CVTOOL" eval track --jsonl --gt "$dir/gt.txt" --pred "$dir/det.mot.txt" |
      /usr/bin/python3 -c "
import json, sys
m = json.loads(sys.stdin.read())
fps = $frames / ($end - $start)
print(f\"| $level | $seed | {m['mota']:.3f} | {m['idf1']:.3f} | {m['id_switches']} | {m['fragmentations']} | {m['mostly_tracked']} / {m['partially_tracked']} / {m['mostly_lost']} | {fps:.0f} (whole process) |\")"
  done
done
