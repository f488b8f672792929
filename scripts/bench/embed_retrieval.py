#!/usr/bin/python3
"""Transformed-copy retrieval benchmark for `cvtool embed` + `cvtool search`.

Gallery: every readable photo in Debian's opencv-doc examples/data and
python3-skimage data (at least 64 px a side; byte-identical pixel data once).
Queries: for each gallery image, six transformed copies (crop, flip, rotation,
brightness/contrast, blur, JPEG). A query is a hit at k when its source image is
among the k nearest gallery images. The same run scores a classical baseline:
HSV colour histograms (16x4x4 bins, Hellinger/cosine), and ORB matching (500
keypoints, ratio-test matches counted) with --orb.

Usage:
  /usr/bin/python3 scripts/bench/embed_retrieval.py [--cvtool build/cvtool]
      [--config configs/embed-centernet.json] [--flip] [--orb] [--work /tmp/cvtool-embed-bench]
Prints a markdown table; writes WORK/results.json.
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ["/usr/share/doc/opencv-doc/examples/data", "/usr/lib/python3/dist-packages/skimage/data"]
TRANSFORMS = ["crop", "flip", "rotate", "bright_contrast", "blur", "jpeg"]


def gallery_images():
    seen, out = set(), []
    for d in SOURCES:
        for p in sorted(glob.glob(os.path.join(d, "*"))):
            if not p.lower().endswith((".jpg", ".jpeg", ".png")) or "truncated" in p:
                continue
            img = cv2.imread(p, cv2.IMREAD_COLOR)
            if img is None or min(img.shape[:2]) < 64:
                continue
            h = hashlib.sha1(img.tobytes()).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            out.append(p)
    return out


def transform(img, kind, rng):
    h, w = img.shape[:2]
    if kind == "crop":  # keep 60-80% of each side at a random place
        fx, fy = rng.uniform(0.6, 0.8), rng.uniform(0.6, 0.8)
        cw, ch = int(w * fx), int(h * fy)
        x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        return img[y:y + ch, x:x + cw]
    if kind == "flip":
        return cv2.flip(img, 1)
    if kind == "rotate":  # 10-20 degrees either way, black corners
        angle = rng.uniform(10, 20) * rng.choice([-1, 1])
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        return cv2.warpAffine(img, m, (w, h), borderValue=(0, 0, 0))
    if kind == "bright_contrast":
        alpha, beta = rng.choice([(1.4, 30.0), (0.6, -30.0)])
        return cv2.convertScaleAbs(img, alpha=alpha, beta=beta)
    if kind == "blur":
        return cv2.GaussianBlur(img, (0, 0), 3.0)
    if kind == "jpeg":
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 10])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)
    raise ValueError(kind)


def hsv_hist(img):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    h = np.sqrt(h / max(h.sum(), 1))  # Hellinger: cosine of square roots
    return h / max(np.linalg.norm(h), 1e-12)


def recall_from_ranks(ranks, k):
    return float(np.mean([r is not None and r < k for r in ranks]))


def run(cmd):
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode not in (0, 1):
        sys.exit("failed: " + " ".join(cmd) + "\n" + p.stderr[-2000:])
    return p, time.time() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cvtool", default=os.path.join(ROOT, "build", "cvtool"))
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "embed-centernet.json"))
    ap.add_argument("--flip", action="store_true", help="cvtool embed --flip (TTA)")
    ap.add_argument("--orb", action="store_true", help="also score ORB matching (slow)")
    ap.add_argument("--work", default="/tmp/cvtool-embed-bench")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    os.makedirs(args.work, exist_ok=True)
    gallery = gallery_images()
    rng = np.random.default_rng(args.seed)
    qdir = os.path.join(args.work, "queries")
    os.makedirs(qdir, exist_ok=True)
    queries = []  # (path, source index, transform)
    for gi, p in enumerate(gallery):
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        for kind in TRANSFORMS:
            q = transform(img, kind, rng)
            qp = os.path.join(qdir, "%03d_%s.png" % (gi, kind))
            cv2.imwrite(qp, q)
            queries.append((qp, gi, kind))
    with open(os.path.join(args.work, "gallery.txt"), "w") as f:
        f.write("\n".join(gallery) + "\n")
    with open(os.path.join(args.work, "queries.txt"), "w") as f:
        f.write("\n".join(q[0] for q in queries) + "\n")
    print("gallery %d images, %d queries" % (len(gallery), len(queries)), file=sys.stderr)

    # cvtool: embed the gallery, index it, search with every query.
    extra = ["--flip"] if args.flip else []
    vecs, index = os.path.join(args.work, "vecs"), os.path.join(args.work, "index")
    _, t_embed = run([args.cvtool, "embed", "@" + os.path.join(args.work, "gallery.txt"), "-c", args.config, "-o", vecs, "-q"] + extra)
    run([args.cvtool, "index", "build", vecs, "-o", index])
    p, t_search = run([args.cvtool, "search", "@" + os.path.join(args.work, "queries.txt"), "--index", index,
                       "-k", "5", "--jsonl", "-q"] + extra)
    rank_of = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if "neighbors" in r:
            rank_of[r["source"]] = [n["id"] for n in r["neighbors"]]
    cv_ranks = []
    for qp, gi, kind in queries:
        ids = rank_of.get(qp, [])
        cv_ranks.append(ids.index(gallery[gi]) if gallery[gi] in ids else None)

    # Colour histogram baseline.
    t = time.time()
    g_hist = np.stack([hsv_hist(cv2.imread(p, cv2.IMREAD_COLOR)) for p in gallery])
    hist_ranks = []
    for qp, gi, kind in queries:
        s = g_hist @ hsv_hist(cv2.imread(qp, cv2.IMREAD_COLOR))
        order = list(np.argsort(-s, kind="stable")[:5])
        hist_ranks.append(order.index(gi) if gi in order else None)
    t_hist = time.time() - t

    orb_ranks, t_orb = None, None
    if args.orb:
        t = time.time()
        orb = cv2.ORB_create(500)
        bf = cv2.BFMatcher(cv2.NORM_HAMMING)

        def desc(path):
            g = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            s = 640.0 / max(g.shape)
            if s < 1:
                g = cv2.resize(g, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            return orb.detectAndCompute(g, None)[1]

        g_desc = [desc(p) for p in gallery]
        orb_ranks = []
        for qp, gi, kind in queries:
            qd = desc(qp)
            scores = []
            for gd in g_desc:
                good = 0
                if qd is not None and gd is not None and len(gd) >= 2:
                    for m in bf.knnMatch(qd, gd, k=2):
                        if len(m) == 2 and m[0].distance < 0.75 * m[1].distance:
                            good += 1
                scores.append(good)
            order = list(np.argsort(-np.array(scores), kind="stable")[:5])
            orb_ranks.append(order.index(gi) if gi in order else None)
        t_orb = time.time() - t

    methods = [("cvtool embed (%s%s)" % (os.path.basename(args.config), ", flip TTA" if args.flip else ""), cv_ranks),
               ("HSV colour histogram", hist_ranks)]
    if orb_ranks is not None:
        methods.append(("ORB 500 + ratio test", orb_ranks))
    results = {"gallery": len(gallery), "queries": len(queries), "seed": args.seed,
               "seconds": {"embed_gallery": t_embed, "search_queries_incl_embedding": t_search, "histogram_all": t_hist,
                           "orb_all": t_orb}, "methods": {}}
    header = "| method | " + " | ".join(TRANSFORMS + ["all"]) + " |"
    print("recall@1 / recall@5, %d gallery images, %d queries (6 per image)\n" % (len(gallery), len(queries)))
    print(header)
    print("|" + "---|" * (len(TRANSFORMS) + 2))
    for name, ranks in methods:
        cells, per = [], {}
        for kind in TRANSFORMS + ["all"]:
            rs = [r for r, q in zip(ranks, queries) if kind == "all" or q[2] == kind]
            r1, r5 = recall_from_ranks(rs, 1), recall_from_ranks(rs, 5)
            per[kind] = {"recall@1": r1, "recall@5": r5}
            cells.append("%.2f / %.2f" % (r1, r5))
        results["methods"][name] = per
        print("| %s | %s |" % (name, " | ".join(cells)))
    print("\ntimes: embed gallery %.1f s, embed+search queries %.1f s, histograms %.1f s%s" %
          (t_embed, t_search, t_hist, ", ORB %.1f s" % t_orb if t_orb else ""))
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
