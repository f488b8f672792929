#!/usr/bin/python3
"""Face verification score distributions for `cvtool embed --face` on the faces that
exist on this machine (small, and said so):

  * Megamind.avi (opencv-doc): two animated characters, labelled by frame range
    (looked at by hand: frames 10-90 and 160-190 Roxanne, 100-150 and 200-260
    Bernard), one frame in ten;
  * two real photos of two other people: skimage astronaut.png (Eileen Collins) and
    opencv-doc messi5.jpg (a football player, small face).

Same-identity pairs are pairs of frames of one character; different-identity pairs
are every other pair. Prints the cosine distributions, ROC AUC, and the accuracy at
the best threshold (optimistic: the threshold is chosen on the same pairs).

Usage: /usr/bin/python3 scripts/bench/embed_faces.py [--cvtool build/cvtool] [--work /tmp/cvtool-embed-faces]
"""
import argparse
import itertools
import json
import os
import subprocess
import sys

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIDEO = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"
RANGES = [(10, 90, "roxanne"), (100, 150, "bernard"), (160, 190, "roxanne"), (200, 260, "bernard")]
STILLS = [("/usr/lib/python3/dist-packages/skimage/data/astronaut.png", "collins"),
          ("/usr/share/doc/opencv-doc/examples/data/messi5.jpg", "messi")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cvtool", default=os.path.join(ROOT, "build", "cvtool"))
    ap.add_argument("--work", default="/tmp/cvtool-embed-faces")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.work, "frames"), exist_ok=True)
    label = {}
    cap = cv2.VideoCapture(VIDEO)
    i = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        for a, b, who in RANGES:
            if a <= i <= b and i % 10 == 0:
                p = os.path.join(args.work, "frames", "megamind_%03d.png" % i)
                cv2.imwrite(p, f)
                label[p] = who
        i += 1
    for p, who in STILLS:
        label[p] = who
    inputs = sorted(label)
    out = os.path.join(args.work, "vecs")
    r = subprocess.run([args.cvtool, "embed", "--face", "-o", out, "-q", "--jsonl"] + inputs,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failed = [json.loads(l)["source"] for l in r.stdout.splitlines() if '"error"' in l]
    ids = open(os.path.join(out, "ids.txt")).read().split("\n")[:-1]
    x = np.load(os.path.join(out, "embeddings.npy"))
    same, diff = [], []
    for i, j in itertools.combinations(range(len(ids)), 2):
        (same if label[ids[i]] == label[ids[j]] else diff).append(float(x[i] @ x[j]))
    same, diff = np.array(same), np.array(diff)
    counts = {}
    for p in ids:
        counts[label[p]] = counts.get(label[p], 0) + 1

    def stats(v):
        return "n=%d  min %.3f  p10 %.3f  median %.3f  p90 %.3f  max %.3f" % (
            len(v), v.min(), np.percentile(v, 10), np.median(v), np.percentile(v, 90), v.max())

    auc = float(np.mean([(s > d) + 0.5 * (s == d) for s in same for d in diff]))
    best = max(((np.sum(same >= t) + np.sum(diff < t)) / (len(same) + len(diff)), t)
               for t in np.unique(np.concatenate([same, diff])))
    print("faces embedded: %s; no face found in: %s" % (counts, [os.path.basename(f) for f in failed] or "none"))
    print("same identity      : " + stats(same))
    print("different identity : " + stats(diff))
    print("ROC AUC %.3f; best-threshold accuracy %.3f at cosine %.3f (chosen on these pairs)" % (auc, best[0], best[1]))
    hist_edges = np.linspace(-0.2, 1.0, 13)
    print("\nhistogram (cosine bin: same / different)")
    hs, _ = np.histogram(same, hist_edges)
    hd, _ = np.histogram(diff, hist_edges)
    for k in range(len(hs)):
        print("  [%5.2f, %5.2f): %4d / %4d" % (hist_edges[k], hist_edges[k + 1], hs[k], hd[k]))


if __name__ == "__main__":
    main()
