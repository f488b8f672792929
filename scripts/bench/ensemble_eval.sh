#!/bin/bash
# Ensembles against their members (docs/detect.md "Ensembles", docs/train.md):
#   classify  3 digits CNNs trained on the digits train split (seeds 0 and 1 at width 16,
#             seed 2 at width 24; configs/train-digits.json, --threads 1), each scored on the
#             held-out test split, then their softmax average (cvtool classify -c -c -c).
#   detect    CenterNet (configs/detect-centernet.json) alone, its mirrored twin
#             (configs/detect-centernet-flip.json), and the two fused by WBF, scored with
#             `cvtool eval detect` (COCO mAP, person) on scripts/bench/vtest_person_gt.json:
#             27 hand-checked person boxes on frames 1, 200, 400, 600, 795 of vtest.avi.
# Every run uses one thread (the machine is shared). Prints one JSON line per row.
#
#   scripts/bench/ensemble_eval.sh BUILD_DIR [OUT_DIR] [classify] [detect]
set -euo pipefail
BUILD=$(realpath "${1:?usage: $0 BUILD_DIR [OUT_DIR] [classify] [detect]}")
OUT=$(realpath -m "${2:-$BUILD/ensemble-eval}")
shift $(( $# >= 2 ? 2 : 1 ))
WHAT=("${@:-classify detect}")
WHAT=(${WHAT[*]})
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CVTOOL="$BUILD/cvtool"
PY=/usr/bin/python3
RESULTS="$OUT/results.jsonl"
mkdir -p "$OUT"

seconds() { echo "$2 - $1" | bc; }

classify() {
  local data="$OUT/digits"
  [ -d "$data/test" ] || $PY "$ROOT/scripts/bench/digits_prepare.py" "$data" >&2
  local members=()
  for spec in "s0w16 0 16" "s1w16 1 16" "s2w24 2 24"; do
    set -- $spec
    local run="$OUT/digits-$1"
    if [ ! -f "$run/classify.json" ]; then
      local t0=$(date +%s.%N)
      "$CVTOOL" train classify -c "$ROOT/configs/train-digits.json" --data "$data/train" -o "$run" \
        --seed "$2" --set model.width="$3" --threads 1 --progress off 2> "$run.log"
      echo "trained $1 in $(seconds "$t0" "$(date +%s.%N)") s" >&2
    fi
    members+=(-c "$run/classify.json")
    score_classify "member $1 (seed $2, width $3)" -c "$run/classify.json"
  done
  score_classify "ensemble of 3 (mean softmax)" "${members[@]}"
  score_classify "ensemble s0w16 + s1w16" "${members[@]:0:4}"
}
score_classify() {
  local name=$1; shift
  local t0=$(date +%s.%N)
  "$CVTOOL" classify "$OUT/digits/test" "$@" --jsonl -k 1 --threads 1 -q \
    | $PY "$ROOT/scripts/bench/digits_score.py" --json "$name" > "$OUT/row.json"
  local s=$(seconds "$t0" "$(date +%s.%N)")
  $PY -c "import json,sys; r=json.load(open('$OUT/row.json')); r['task']='classify'; r['seconds']=round($s,1); print(json.dumps(r))" \
    | tee -a "$RESULTS"
}

detect() {
  local frames="$OUT/vtest"
  mkdir -p "$frames"
  # The ground truth's frames, by their 1-based number in the video (0001.png = frame 1).
  $PY - "$frames" <<'PYEOF'
import cv2, sys
want = {1, 200, 400, 600, 795}
cap = cv2.VideoCapture("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
n = 0
while want:
    ok, frame = cap.read()
    if not ok:
        sys.exit("vtest.avi ended before frame %d" % min(want))
    n += 1
    if n in want:
        cv2.imwrite(f"{sys.argv[1]}/{n:04d}.png", frame)
        want.discard(n)
PYEOF
  local plain="$ROOT/configs/detect-centernet.json" flip="$ROOT/configs/detect-centernet-flip.json"
  for conf in 0.3 0.05; do
    score_detect "centernet (conf $conf)" "$conf" -c "$plain"
    score_detect "centernet mirrored (conf $conf)" "$conf" -c "$flip"
    score_detect "WBF centernet + mirrored (conf $conf)" "$conf" -c "$plain" -c "$flip"
  done
}
score_detect() {
  local name=$1 conf=$2; shift 2
  local dir="$OUT/detect-$(echo "$name" | tr -c 'a-z0-9.\n' '-')"
  rm -rf "$dir"
  local t0=$(date +%s.%N)
  "$CVTOOL" detect "$OUT/vtest" "$@" --conf "$conf" -o "$dir" --threads 1 -q
  local s=$(seconds "$t0" "$(date +%s.%N)")
  "$CVTOOL" eval detect --gt "$ROOT/scripts/bench/vtest_person_gt.json" --pred "$dir/predictions.coco.json" \
    --labels "$ROOT/models/coco80.txt" --jsonl -q | grep '"summary"' > "$OUT/row.json"
  $PY -c "import json; r=json.load(open('$OUT/row.json')); print(json.dumps({'task': 'detect', 'run': '$name', \
'map': r['map'], 'map50': r['map50'], 'map75': r['map75'], 'predictions': r['predictions'], 'seconds': round($s, 1)}))" \
    | tee -a "$RESULTS"
}

for w in "${WHAT[@]}"; do
  case $w in
    classify) classify ;;
    detect) detect ;;
    *) echo "unknown part $w (classify, detect)" >&2; exit 2 ;;
  esac
done
