#!/usr/bin/python3
"""Synthetic multi-object tracking sequence with ground truth, in MOTChallenge format.

Objects (pedestrian-shaped boxes) walk with slowly changing velocity, enter and leave
the frame, and pass in front of each other. Detections are the ground truth with box
noise, misses (always when an object is mostly hidden behind a nearer one), a share of
true detections with low scores (what a second, low-score matching pass can recover),
and false positives.

  make_tracking_sequence.py OUT_DIR --level easy|medium|hard [--seed 1] [--camera pan] [--render]
writes OUT_DIR/gt.txt and OUT_DIR/det.txt, and with --render OUT_DIR/frames.avi (MJPG):
a textured scene with each object drawn in its own two colours (shirt and trousers),
nearer objects over farther ones, so that appearance and camera motion can be measured.

--camera pan: a hand-held camera that pans over a larger textured world with a velocity
that jumps every 15-40 frames (up to 9 px/frame across, 2.5 up and down); the
objects walk in the world, so their image motion is their own plus the camera's. Ground
truth and detections are in image coordinates. (--camera pan implies --render.)
"""
import argparse
import os

import cv2
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


MARGIN_X, MARGIN_Y = 1200, 200  # world beyond the first view, for the panning camera


def camera_path(frames, seed, pan):
    """Integer camera offsets (x, y) per frame (index 0 = frame 1)."""
    if not pan:
        return [(0, 0)] * frames
    rng = np.random.default_rng(seed + 1000)
    x = y = 0.0
    vx = vy = 0.0
    left = 0
    path = []
    for _ in range(frames):
        if left == 0:
            vx, vy = rng.uniform(-9, 9), rng.uniform(-2.5, 2.5)
            left = int(rng.integers(15, 41))
        left -= 1
        if not -MARGIN_X < x + vx < MARGIN_X:
            vx = -vx
        if not -MARGIN_Y < y + vy < MARGIN_Y:
            vy = -vy
        x, y = x + vx, y + vy
        path.append((int(round(x)), int(round(y))))
    return path


def simulate(level, seed, pan=False):
    p = LEVELS[level]
    rng = np.random.default_rng(seed)
    camera = camera_path(p["frames"], seed, pan)
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
    gt, det, scenes = [], [], []
    for f in range(1, p["frames"] + 1):
        cx, cy = camera[f - 1]
        boxes, drawn = [], []
        for t in tracks:
            if not (t["start"] < f <= t["end"]):
                continue
            if pan and t["start"] + 1 == f:
                t["x"] += cx  # enter at the edge of the current view
                t["y"] += cy
            t["vx"] += rng.normal(0, 0.05)
            t["vy"] += rng.normal(0, 0.05)
            t["x"] += t["vx"]
            t["y"] += t["vy"]
            b = (t["x"] - cx, t["y"] - cy, t["x"] - cx + t["w"], t["y"] - cy + t["h"])
            if b[2] <= 0 or b[0] >= W or b[3] <= 0 or b[1] >= H:
                continue  # outside the frame
            drawn.append((t["id"], b))
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
        scenes.append(((cx, cy), drawn))
    return gt, det, scenes


def world_texture(seed):
    """A cluttered, mostly grey-brown ground with corners to track, larger than the view."""
    rng = np.random.default_rng(seed + 2000)
    h, w = H + 2 * MARGIN_Y, W + 2 * MARGIN_X
    low = rng.uniform(60, 160, (h // 40 + 2, w // 40 + 2, 1)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)[:, :, None]
    img = np.clip(img * np.array([0.8, 0.9, 1.0], np.float32), 0, 255).astype(np.uint8)
    for _ in range(w * h // 2500):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        g = int(rng.integers(20, 235))
        colour = (g, int(g * rng.uniform(0.8, 1.1)) % 256, int(g * rng.uniform(0.8, 1.2)) % 256)
        if rng.random() < 0.5:
            s = int(rng.integers(4, 30))
            cv2.rectangle(img, (x, y), (x + s, y + int(rng.integers(4, 30))), colour, -1)
        else:
            cv2.circle(img, (x, y), int(rng.integers(3, 15)), colour, -1)
    return img


def object_colours(n, seed):
    """Two saturated colours per object (upper and lower half), hues spread apart."""
    rng = np.random.default_rng(seed + 3000)
    out = {}
    for i in range(1, n + 1):
        pair = []
        for _ in range(2):
            hsv = np.uint8([[[rng.integers(0, 180), rng.integers(150, 256), rng.integers(90, 256)]]])
            pair.append(tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]))
        out[i] = pair
    return out


def render(path, scenes, n_objects, seed):
    world = world_texture(seed)
    colours = object_colours(n_objects, seed)
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 25, (W, H))
    if not out.isOpened():
        raise SystemExit(f"cannot write {path}")
    for (cx, cy), drawn in scenes:
        frame = world[MARGIN_Y + cy:MARGIN_Y + cy + H, MARGIN_X + cx:MARGIN_X + cx + W].copy()
        for tid, b in sorted(drawn, key=lambda d: d[1][3]):  # farther (higher up) first
            x1, y1, x2, y2 = (int(round(v)) for v in b)
            mid = (y1 + y2) // 2
            top, bottom = colours[tid]
            cv2.rectangle(frame, (x1, y1), (x2, mid), top, -1)
            cv2.rectangle(frame, (x1, mid), (x2, y2), bottom, -1)
            cv2.rectangle(frame, (x1, y1), (x2, y2), (30, 30, 30), 1)
        out.write(frame)
    out.release()


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
    ap.add_argument("--camera", choices=["static", "pan"], default="static")
    ap.add_argument("--render", action="store_true", help="also write frames.avi")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    pan = args.camera == "pan"
    gt, det, scenes = simulate(args.level, args.seed, pan)
    if args.render or pan:
        render(os.path.join(args.out_dir, "frames.avi"), scenes, LEVELS[args.level]["objects"], args.seed)
    write(os.path.join(args.out_dir, "gt.txt"), gt, False)
    write(os.path.join(args.out_dir, "det.txt"), det, True)
    print(f"{args.level} seed {args.seed}: {len(gt)} ground-truth boxes, {len(det)} detections in {args.out_dir}")


if __name__ == "__main__":
    main()
