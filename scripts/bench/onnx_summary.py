#!/usr/bin/python3
"""Markdown table from onnx_peers.sh output: per model and batch, the median ms per call
of each runtime over the rounds and the ratio cvtool/peer (median of the per-round
ratios, with their min-max spread). A ratio below 1 means cvtool is faster."""
import collections
import json
import statistics
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(dict)  # (name, batch) -> runtime -> round -> ms
for r in rows:
    rt = "cvtool" if r["runtime"] == "cvtool" else r["runtime"].split()[0]
    if "error" in r:
        by[(r["name"], r["batch"])].setdefault(rt, {})["error"] = r["error"]
        continue
    by[(r["name"], r["batch"])].setdefault(rt, {})[r["round"]] = r["ms"]["p50"]

print("| model | batch | cvtool ms | ORT ms | OpenCV DNN ms | cvtool/ORT (spread) | cvtool/OpenCV (spread) |")
print("|---|---|---|---|---|---|---|")
for (name, batch), rts in sorted(by.items()):
    def med(rt):
        d = {k: v for k, v in rts.get(rt, {}).items() if k != "error"}
        return statistics.median(d.values()) if d else None
    def ratio(peer):
        a, b = rts.get("cvtool", {}), rts.get(peer, {})
        rs = [a[k] / b[k] for k in a if k in b and k != "error"]
        if not rs:
            return "n/a"
        return f"{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})"
    def cell(rt):
        m = med(rt)
        if m is not None:
            return f"{m:.1f}"
        err = rts.get(rt, {}).get("error")
        return "fails to load" if err else "-"
    print(f"| {name} | {batch} | {cell('cvtool')} | {cell('onnxruntime-node')} | {cell('opencv-dnn')} | "
          f"{ratio('onnxruntime-node')} | {ratio('opencv-dnn')} |")
