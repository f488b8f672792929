#!/bin/bash
# Renders a `cvtool report` page in Debian's headless Chromium and checks what the
# browser made of it: the DOM has the run's counts (from its JSONL), every embedded
# image decoded (naturalWidth > 0), and a screenshot shows the gallery.
# Not a CTest test: Chromium is ~300 MB of packages CI does not otherwise need; CTest
# checks the HTML itself (tests/eco/test_eco_cli.cpp, "report: ...").
# Usage: tests/eco/report_in_chromium.sh [BUILD_DIR]   (installs chromium with apt if missing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
cvtool=$build/cvtool
data=/usr/share/doc/opencv-doc/examples/data
work=$build/report-chromium
rm -rf "$work" && mkdir -p "$work/run"

if ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get install -y --no-install-recommends chromium
fi

# A detect run with one broken input, and a bench record for the timing table.
printf 'not a jpeg' > "$work/broken.jpg"
"$cvtool" detect "$data/messi5.jpg" "$data/basketball1.png" /usr/lib/python3/dist-packages/skimage/data/chelsea.png \
  "$work/broken.jpg" -o "$work/run" --jsonl > "$work/run/results.jsonl" 2> "$work/detect.log" || true
"$cvtool" bench detect "$data/messi5.jpg" --runs 2 --jsonl > "$work/run/bench.jsonl" 2> "$work/bench.log"
"$cvtool" report "$work/run" -o "$work/report.html"

browser() {  # fresh profile every time, nothing fetched from the network
  local profile; profile=$(mktemp -d "$work/profile.XXXX")
  timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" "$@" 2>> "$work/chromium.log"
}

# The page is static; a probe copy records what the browser decoded once it loaded.
sed 's|</body>|<script>window.addEventListener("load",()=>{document.querySelectorAll("img").forEach(i=>i.setAttribute("data-natural-width",i.naturalWidth));document.body.setAttribute("data-loaded","1")})</script></body>|' \
  "$work/report.html" > "$work/probe.html"
browser --virtual-time-budget=5000 --dump-dom "file://$work/probe.html" > "$work/dom.html"
browser --hide-scrollbars --window-size=1280,1800 --screenshot="$work/report.png" "file://$work/report.html" > /dev/null

/usr/bin/python3 - "$work" <<'PY'
import json, re, sys, collections
import cv2, numpy as np
work = sys.argv[1]
dom = open(f"{work}/dom.html").read()
records = [json.loads(l) for l in open(f"{work}/run/results.jsonl") if l.strip()]
expected = collections.Counter(d["label"] for r in records for d in r.get("detections", []))
failed = sum(1 for r in records if "error" in r)
def span(i): return int(re.search(rf'<span id="{i}">(\d+)</span>', dom).group(1))
assert 'data-loaded="1"' in dom, "the page did not finish loading"
assert span("n-inputs") == len(records) == 4, span("n-inputs")
assert span("n-failed") == failed == 1, span("n-failed")
for label, n in expected.items():
    cell = re.search(rf'data-label="{re.escape(label)}"><td>detect</td><td>[^<]*</td><td class="count">(\d+) detections', dom)
    assert cell and int(cell.group(1)) == n, (label, n)
widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
assert len(widths) == 3 and all(w > 0 for w in widths), widths
stages = re.findall(r'<tr data-stage="([a-z]+)">', dom)
assert stages[:4] == ["decode", "preprocess", "model", "postprocess"], stages
shot = cv2.imread(f"{work}/report.png")
assert shot is not None and shot.shape[:2] == (1800, 1280), None if shot is None else shot.shape
# The gallery's photos make the lower part of the page colourful; text on white is not.
colourful = (shot.max(axis=2).astype(int) - shot.min(axis=2)) > 40
assert colourful[600:].mean() > 0.05, colourful[600:].mean()
print(f"chromium: {len(records)} inputs, {failed} failed, counts {dict(expected)}, "
      f"{len(widths)} images decoded (widths {widths}), stages {stages}, "
      f"screenshot {shot.shape[1]}x{shot.shape[0]} with {colourful[600:].mean():.0%} colourful pixels below the summary")
PY
echo "report: $work/report.html  screenshot: $work/report.png"
