#!/usr/bin/env bash
# Soak test: one long run over many small inputs with 1% corrupt files. Checks that the
# run completes, that every good input has its result and every corrupt one its named
# error, and that memory stays flat (VmRSS/VmHWM sampled from /proc/PID/status).
#
#   scripts/soak.sh [COUNT=10000] [-- extra cvtool arguments]
#   env: CVTOOL=path/to/cvtool (default build-rel, then build), SOAK_DIR (default /tmp/cvtool-soak),
#        SOAK_COMMAND (default "segment": the selfie model is the cheapest), SOAK_INTERVAL seconds between samples (default 2)
# The inputs are made once per COUNT and reused.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COUNT="${1:-10000}"
shift || true
[ "${1:-}" = "--" ] && shift
CVTOOL="${CVTOOL:-}"
for c in "$ROOT/build/cvtool"; do
  [ -n "$CVTOOL" ] || { [ -x "$c" ] && CVTOOL="$c"; }
done
DIR="${SOAK_DIR:-/tmp/cvtool-soak}"
COMMAND="${SOAK_COMMAND:-segment}"
INTERVAL="${SOAK_INTERVAL:-2}"

if [ "$(cat "$DIR/inputs.count" 2>/dev/null)" != "$COUNT" ]; then
echo "making $COUNT inputs in $DIR/inputs" >&2
rm -rf "$DIR"
mkdir -p "$DIR"
/usr/bin/python3 - "$DIR/inputs" "$COUNT" <<'EOF'
# Small crops of Debian's sample photos, in PNG/JPEG/BMP; 1% corrupt (empty, text,
# truncated, decompression-bomb header), spread evenly through the folders.
import os, sys, struct, zlib
import cv2, numpy as np
out, count = sys.argv[1], int(sys.argv[2])
data = "/usr/lib/python3/dist-packages/skimage/data/"
photos = [cv2.imread(data + n) for n in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")]
rng = np.random.default_rng(0)
def bomb():
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
bad = 0
for i in range(count):
    folder = os.path.join(out, "%03d" % (i // 500))
    os.makedirs(folder, exist_ok=True)
    if i % 100 == 57:
        kind = bad % 4
        bad += 1
        path = os.path.join(folder, "bad_%05d.%s" % (i, "png" if kind == 3 else "jpg"))
        with open(path, "wb") as f:
            if kind == 1: f.write(b"not an image\n")
            elif kind == 2:
                ok, buf = cv2.imencode(".jpg", photos[0][:64, :64]); f.write(buf.tobytes()[: len(buf) // 2])
            elif kind == 3: f.write(bomb())
        continue
    img = photos[i % len(photos)]
    h, w = int(rng.integers(32, 97)), int(rng.integers(32, 129))
    y, x = int(rng.integers(0, img.shape[0] - h)), int(rng.integers(0, img.shape[1] - w))
    ext = (".png", ".jpg", ".bmp")[i % 3]
    cv2.imwrite(os.path.join(folder, "img_%05d%s" % (i, ext)), img[y:y + h, x:x + w])
EOF
echo "$COUNT" >"$DIR/inputs.count"
fi
rm -rf "$DIR/out" "$DIR/results.jsonl" "$DIR/memory.csv"
good=$(find "$DIR/inputs" -name 'img_*' | wc -l)
corrupt=$(find "$DIR/inputs" -name 'bad_*' | wc -l)
echo "inputs: $good good, $corrupt corrupt" >&2

echo "running: cvtool $COMMAND --threads 1 --jsonl --resume -o $DIR/out $DIR/inputs $*" >&2
start=$(date +%s)
# shellcheck disable=SC2086
"$CVTOOL" $COMMAND --threads 1 --jsonl --progress off --resume -o "$DIR/out" "$DIR/inputs" "$@" \
  >"$DIR/results.jsonl" 2>"$DIR/stderr.txt" &
pid=$!
echo "seconds,vmrss_kb,vmhwm_kb,results" >"$DIR/memory.csv"
while kill -0 "$pid" 2>/dev/null; do
  if [ -r "/proc/$pid/status" ]; then
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )),$rss,$hwm,$(wc -l <"$DIR/results.jsonl")" >>"$DIR/memory.csv"
  fi
  sleep "$INTERVAL"
done
set +e
wait "$pid"
rc=$?
set -e
elapsed=$(( $(date +%s) - start ))

/usr/bin/python3 - "$DIR" "$rc" "$elapsed" "$good" "$corrupt" <<'EOF'
import csv, json, os, sys
d, rc, elapsed, good, corrupt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ok, errors = set(), {}
for line in open(os.path.join(d, "results.jsonl")):
    r = json.loads(line)
    (errors.__setitem__(r["source"], r["error"]) if "error" in r else ok.add(r["source"]))
inputs = [os.path.join(root, f) for root, _, files in os.walk(os.path.join(d, "inputs")) for f in files]
missing = [p for p in inputs if "/img_" in p and p not in ok]
wrong = [p for p in inputs if "/bad_" in p and not errors.get(p, "").startswith(p + ": ")]
rows = list(csv.DictReader(open(os.path.join(d, "memory.csv"))))
def rss_at(frac):
    target = frac * good
    for r in rows:
        if int(r["results"]) >= target: return int(r["vmrss_kb"]) // 1024
    return int(rows[-1]["vmrss_kb"]) // 1024 if rows else 0
hwm = max((int(r["vmhwm_kb"]) for r in rows), default=0) // 1024
print("exit code: %d (1 expected: the corrupt files)" % rc)
print("elapsed: %d s, %.1f inputs/s" % (elapsed, (good + corrupt) / max(elapsed, 1)))
print("good inputs with a result: %d of %d (missing %d)" % (len(ok & set(inputs)), good, len(missing)))
print("corrupt inputs failed by name: %d of %d" % (corrupt - len(wrong), corrupt))
print("VmRSS MiB at 10%%/25%%/50%%/75%%/100%% of inputs: %d / %d / %d / %d / %d; peak VmHWM %d MiB; %d samples"
      % (rss_at(.1), rss_at(.25), rss_at(.5), rss_at(.75), rss_at(1.0), hwm, len(rows)))
flat = rss_at(1.0) <= rss_at(.25) * 1.10 + 16
print("memory flat (RSS at end within 10%% + 16 MiB of RSS at 25%%): %s" % ("yes" if flat else "NO"))
sys.exit(0 if rc == 1 and not missing and not wrong and flat else 1)
EOF
