#!/usr/bin/python3
"""Synthetic multi-object tracking sequence with ground truth, in MOTChallenge format.

Objects (pedestrian-shaped boxes) walk with slowly changing velocity, enter and leave
the frame, and pass in front of each other. Detections are the ground truth with box
noise, misses (always when an object is mostly hidden behind a nearer one), a share of
true detections with low scores (what a second, low-score matching pass can recover),
and false positives.

  make_tracking_sequence.py OUT_DIR --level easy|medium|hard [--seed 1]
writes OUT_DIR/gt.txt and OUT_DIR/det.txt.
"""
import argparse
import os

import numpy as np

LEVELS = {
    #          objects, frames, box noise, miss rate, low-score share, false positives/frame
    "easy": dict(objects=6, frames=300, noise=0.02, miss=0.02, low=0.05, fp=0.2),
    "medium": dict(objects=15, frames=300, noise=0.05, miss=0.08, low=0.15, fp=1.0),
    "hard": dict(objects=30, frames=300, noise=0.08, miss=0.15, low=0.25, fp=3.0),
}
W, H = 1280, 720


def iou_cover(a, b):
    """Fraction of box a covered by box b (x1, y1, x2, y2)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return iw * ih / area if area > 0 else 0.0


def simulate(level, seed):
    p = LEVELS[level]
    rng = np.random.default_rng(seed)
    tracks = []
    for i in range(p["objects"]):
        start = int(rng.integers(0, p["frames"] // 2))
        length = int(rng.integers(p["frames"] // 4, p["frames"]))
        w = float(rng.uniform(30, 70))
        side = rng.integers(0, 2)
        x = -w if side == 0 else W  # enter from the left or the right edge
        y = float(rng.uniform(80, H - 3 * w - 20))
        vx = float(rng.uniform(2, 6)) * (1 if side == 0 else -1)
        vy = float(rng.normal(0, 0.6))
        tracks.append(dict(id=i + 1, start=start, end=min(p["frames"], start + length), w=w, h=2.6 * w,
                           x=x, y=y, vx=vx, vy=vy))
    gt, det = [], []
    for f in range(1, p["frames"] + 1):
        boxes = []
        for t in tracks:
            if not (t["start"] < f <= t["end"]):
                continue
            t["vx"] += rng.normal(0, 0.05)
            t["vy"] += rng.normal(0, 0.05)
            t["x"] += t["vx"]
            t["y"] += t["vy"]
            b = (t["x"], t["y"], t["x"] + t["w"], t["y"] + t["h"])
            if b[2] <= 0 or b[0] >= W or b[3] <= 0 or b[1] >= H:
                continue  # outside the frame
            b = (max(0.0, b[0]), max(0.0, b[1]), min(float(W), b[2]), min(float(H), b[3]))
            boxes.append((t["id"], b))
        for tid, b in boxes:
            gt.append((f, tid, b))
        for tid, b in boxes:
            # Nearer objects (lower box bottom) hide farther ones.
            hidden = max([iou_cover(b, o) for oid, o in boxes if oid != tid and o[3] > b[3]] + [0.0])
            if hidden > 0.6 or rng.random() < p["miss"]:
                continue
            w, h = b[2] - b[0], b[3] - b[1]
            n = rng.normal(0, p["noise"], 4) * np.array([w, h, w, h])
            nb = (b[0] + n[0], b[1] + n[1], b[2] + n[2], b[3] + n[3])
            score = rng.uniform(0.15, 0.45) if rng.random() < p["low"] else rng.uniform(0.5, 0.98)
            det.append((f, -1, nb, score))
        for _ in range(rng.poisson(p["fp"])):
            w = rng.uniform(25, 70)
            x, y = rng.uniform(0, W - w), rng.uniform(0, H - 2.6 * w)
            det.append((f, -1, (x, y, x + w, y + 2.6 * w), rng.uniform(0.1, 0.65)))
    return gt, det


def write(path, rows, with_score):
    with open(path, "w") as out:
        for r in rows:
            f, tid, b = r[0], r[1], r[2]
            score = r[3] if with_score else 1
            out.write(f"{f},{tid},{b[0]:.2f},{b[1]:.2f},{b[2] - b[0]:.2f},{b[3] - b[1]:.2f},{score:.4f},-1,-1,-1\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--level", choices=sorted(LEVELS), default="medium")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    gt, det = simulate(args.level, args.seed)
    write(os.path.join(args.out_dir, "gt.txt"), gt, False)
    write(os.path.join(args.out_dir, "det.txt"), det, True)
    print(f"{args.level} seed {args.seed}: {len(gt)} ground-truth boxes, {len(det)} detections in {args.out_dir}")


if __name__ == "__main__":
    main()
