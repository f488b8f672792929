#!/usr/bin/python3
"""Single-object trackers against reference boxes: success rate (share of frames with
IoU > 0.5) and frames/s, for each --method of `cvtool track --init`.

  track_single.py synthetic SEQ_DIR [--objects 3]   SEQ_DIR from make_tracking_sequence.py --render
      For the longest-lived objects, a clip starting where the object is first wholly in
      view is cut from frames.avi; the reference is its ground truth.
  track_single.py mot VIDEO MOT_TXT ID
      The reference is track ID of a multi-object run (MOT text): agreement with
      ByteTrack + CenterNet, not ground truth.

Frames/s come from the wall time of the run minus that of a 1-frame run of the same
method (process start, model load, first-frame init are left out).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHODS = ["csrt", "kcf", "mil", "template", "siamese", "meanshift", "camshift", "flow"]


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / u if u > 0 else 0.0


def read_mot(path):
    rows = {}
    for line in open(path):
        f, i, x, y, w, h = (float(v) for v in line.split(",")[:6])
        rows.setdefault(int(i), {})[int(f)] = (x, y, x + w, y + h)
    return rows


def run(cvtool, video, init, method, max_frames=0):
    cmd = [cvtool, "track", "-q", "--jsonl", "--init", ",".join(f"{v:.1f}" for v in init), "--method", method, video]
    if max_frames:
        cmd += ["--max-frames", str(max_frames)]
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - start
    if os.environ.get("TRACK_FPS") == "cpu":
        # CPU seconds of the child: on a shared, loaded machine wall time mostly measures waiting.
        wall = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr}")
    return [json.loads(l) for l in out.stdout.splitlines()], wall


def evaluate(cvtool, video, reference, methods):
    """reference: {frame (1-based in video): box}; the init box is reference[1]."""
    x1, y1, x2, y2 = reference[1]
    init = (x1, y1, x2 - x1, y2 - y1)
    frames = max(reference)
    results = {}
    for m in methods:
        records, wall = run(cvtool, video, init, m)
        _, wall1 = run(cvtool, video, init, m, max_frames=1)
        hits = total = lost = 0
        for r in records:
            f = r["frame"]
            if f == 1 or f not in reference:
                continue
            total += 1
            lost += r["state"] == "lost"
            hits += r["state"] != "lost" and iou(r["box"], reference[f]) > 0.5
        results[m] = dict(success=hits / max(total, 1), frames=total, lost=lost,
                          fps=(len(records) - 1) / max(wall - wall1, 1e-3))
    return results


def clip(video, first, last, out):
    cap = cv2.VideoCapture(video)
    cap.set(cv2.CAP_PROP_POS_FRAMES, first - 1)
    w = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"MJPG"), 25,
                        (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
    for _ in range(first, last + 1):
        ok, frame = cap.read()
        if not ok:
            break
        w.write(frame)
    w.release()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["synthetic", "mot"])
    ap.add_argument("args", nargs="+")
    ap.add_argument("--objects", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--cvtool", default=os.environ.get("CVTOOL", os.path.join(ROOT, "build", "cvtool")))
    a = ap.parse_args()
    methods = a.methods.split(",")
    totals = {m: [0.0, 0, 0.0, 0] for m in methods}  # weighted success, frames, fps sum, runs
    print("| sequence | object | frames | " + " | ".join(methods) + " |")
    print("|---|---|---|" + "---|" * len(methods))
    if a.kind == "synthetic":
        seq = a.args[0]
        gt = read_mot(os.path.join(seq, "gt.txt"))
        cap = cv2.VideoCapture(os.path.join(seq, "frames.avi"))
        W, H = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
        jobs = []
        for oid, boxes in gt.items():
            inside = [f for f, b in sorted(boxes.items()) if b[0] > 1 and b[1] > 1 and b[2] < W - 1 and b[3] < H - 1]
            if not inside:
                continue
            first = inside[0]
            last = max(f for f in boxes if f >= first)
            # stop at the first gap (the object left the view)
            f = first
            while f + 1 in boxes:
                f += 1
            jobs.append((f - first, oid, first, f))
        tmp = tempfile.mkdtemp(prefix="track_single_")
        for length, oid, first, last in sorted(jobs, reverse=True)[:a.objects]:
            video = os.path.join(tmp, f"object{oid}.avi")
            clip(os.path.join(seq, "frames.avi"), first, last, video)
            ref = {f - first + 1: gt[oid][f] for f in range(first, last + 1)}
            jobs_result = evaluate(a.cvtool, video, ref, methods)
            report(os.path.basename(seq.rstrip("/")), oid, length + 1, jobs_result, methods, totals)
    else:
        video, mot, oid = a.args[0], a.args[1], int(a.args[2])
        ref_all = read_mot(mot)[oid]
        first = min(ref_all)
        if first != 1:
            sys.exit(f"track {oid} starts at frame {first}; pick one seen in frame 1")
        f = 1
        while f + 1 in ref_all:
            f += 1
        ref = {k: v for k, v in ref_all.items() if k <= f}
        report(os.path.basename(video), oid, f, evaluate(a.cvtool, video, ref, methods), methods, totals)
    print("| **all** | | | " + " | ".join(
        f"**{totals[m][0] / max(totals[m][1], 1):.2f}** ({totals[m][2] / max(totals[m][3], 1):.0f} f/s)"
        for m in methods) + " |")


def report(name, oid, frames, results, methods, totals):
    cells = []
    for m in methods:
        r = results[m]
        cells.append(f"{r['success']:.2f} ({r['fps']:.0f} f/s, lost {r['lost']})")
        totals[m][0] += r["success"] * r["frames"]
        totals[m][1] += r["frames"]
        totals[m][2] += r["fps"]
        totals[m][3] += 1
    print(f"| {name} | {oid} | {frames} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
