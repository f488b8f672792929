#!/usr/bin/python3
"""Parity of the TorchScript conversions against TF.js running the original graphs.

Usage:
  /usr/bin/python3 scripts/parity/tfjs_parity.py [--models centernet,blazeface,faceres,movenet]
      [--images a.jpg,b.png] [--human DIR] [--node-modules DIR] [--keep DIR] [--conv aten|mkldnn]

For every model: convert with scripts/convert/tfjs2torchscript.py (saved and
reloaded, i.e. the artifact the C++ side loads), preprocess each image the way
@vladmandic/human feeds that model, run both the TorchScript module and
scripts/parity/tfjs_run.js (TF.js, pure-JS CPU backend) on the identical
tensor, and print the max abs difference per output. For CenterNet it also
decodes the top-5 peaks from both sides (MODELS.md rule).

Needs: `npm install --prefix ~/.cache/cvtool/node @tensorflow/tfjs@4.22.0`.
Exit status 1 when a float32-weight output differs by more than 1e-4
(relative to max(1, |reference|) for outputs in pixel units).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "convert"))
import tfjs2torchscript as t2t  # noqa: E402

HUMAN = os.path.expanduser("~/.cache/cvtool/npm/vladmandic-human-3.3.6/package")
NODE_MODULES = os.path.expanduser("~/.cache/cvtool/node/node_modules")
IMAGES = [
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
    "/usr/share/doc/opencv-doc/examples/data/fruits.jpg",
    "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
    "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
    "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
    "/usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png",
]


def rgb(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def resized(img, size):
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)


# Input conventions, from human's src/ (see the report / MODELS.md):
#  centernet: RGB 0..255 float, 512x512 (object/centernet.ts: resizeBilinear only)
#  blazeface: RGB / 127.5 - 1, 256x256 (face/blazeface.ts)
#  faceres:   RGB 0..255 float, 224x224 face crop (face/faceres.ts: 0..1 crop * 255)
#  movenet:   RGB 0..255 cast to int32, 192x192, padded to square (body/movenetfix.ts padInput)
def prep_centernet(img):
    return resized(img, 512)[None], "float32"


def prep_centernet_letterbox(img):
    # Keep the aspect ratio, anchor top-left, pad with black to 512x512
    # (MODELS.md: often scores better than human's plain stretch).
    h, w = img.shape[:2]
    sc = 512.0 / max(h, w)
    nh, nw = max(1, round(h * sc)), max(1, round(w * sc))
    out = np.zeros((512, 512, 3), np.float32)
    out[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out[None], "float32"


def prep_blazeface(img):
    return (resized(img, 256) / 127.5 - 1.0)[None], "float32"


def prep_faceres(img):
    return resized(img, 224)[None], "float32"


def prep_movenet(img):
    h, w = img.shape[:2]
    dy, dx = (max(w - h, 0) // 2, max(h - w, 0) // 2)
    sq = cv2.copyMakeBorder(img, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=0)
    # human casts the resized image to int32 (truncation) before the model.
    return np.trunc(resized(sq, 192))[None], "int32"


MODELS = {
    "centernet": ("centernet.json", ["tower_0/keypoints", "tower_0/wh"], prep_centernet),
    "centernet-letterbox": ("centernet.json", ["tower_0/keypoints", "tower_0/wh"], prep_centernet_letterbox),
    "blazeface": ("blazeface.json", ["Identity", "Identity_1", "Identity_2", "Identity_3"], prep_blazeface),
    "faceres": ("faceres.json", ["global_pooling/Mean", "gender_pred/Sigmoid", "age_pred/Softmax"], prep_faceres),
    "movenet": ("movenet-lightning.json", ["Identity"], prep_movenet),
}


def coco_labels(human):
    try:
        src = open(os.path.join(human, "src", "object", "labels.ts")).read()
        return re.findall(r"label: '([^']*)'", src)
    except OSError:
        return []


def centernet_top(heat, wh, k=5):
    """MODELS.md decode: 3x3 peak (TF SAME max-pool), top-k over H*W*C,
    box = (4x - l, 4y - t, 4x + r, 4y + b) in 512-pixel units."""
    h = torch.from_numpy(heat[0]).permute(2, 0, 1)[None]
    pooled = torch.nn.functional.max_pool2d(h, 3, 1, 1)  # -inf padding == TF SAME for 3x3/s1
    peaks = torch.where(pooled == h, h, torch.zeros_like(h))[0].permute(1, 2, 0).reshape(-1)
    scores, idx = torch.topk(peaks, k)
    out = []
    C = heat.shape[3]
    W = heat.shape[2]
    for s, i in zip(scores.tolist(), idx.tolist()):
        c, pix = i % C, i // C
        y, x = pix // W, pix % W
        l, t, r, b = wh[0, y, x].tolist()
        out.append((c, s, (4 * x - l, 4 * y - t, 4 * x + r, 4 * y + b)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--images", default=",".join(IMAGES))
    ap.add_argument("--human", default=HUMAN, help="unpacked @vladmandic/human package dir")
    ap.add_argument("--node-modules", default=NODE_MODULES)
    ap.add_argument("--keep", help="directory to keep tensors and .pt files in")
    ap.add_argument("--conv", choices=("aten", "mkldnn"), default="aten", help="converter's --conv")
    args = ap.parse_args()
    images = [p for p in args.images.split(",") if p]
    labels = coco_labels(args.human)
    work = args.keep or tempfile.mkdtemp(prefix="tfjs_parity_")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, NODE_PATH=args.node_modules)
    failed = False

    for name in [m for m in args.models.split(",") if m]:
        fname, outputs, prep = MODELS[name]
        model_json = os.path.join(args.human, "models", fname)
        with open(model_json) as f:
            quant = {w.get("quantization", {}).get("dtype", "none") for g in json.load(f)["weightsManifest"]
                     for w in g["weights"] if w["dtype"] == "float32"}
        frozen, _, _ = t2t.convert(model_json, outputs, log=lambda *_: None, conv_impl=args.conv)
        pt = os.path.join(work, name + ".pt")
        torch.jit.save(frozen, pt)
        module = torch.jit.load(pt)

        mdir = os.path.join(work, name)
        os.makedirs(mdir, exist_ok=True)
        job = {"model": model_json, "outputs": outputs, "inputs": [], "outdir": mdir}
        tensors = []
        for i, img_path in enumerate(images):
            x, dtype = prep(rgb(img_path))
            x = np.ascontiguousarray(x, dtype=np.float32)
            f = os.path.join(mdir, f"in_{i}.f32")
            x.tofile(f)
            job["inputs"].append({"file": f, "shape": list(x.shape), "dtype": dtype})
            tensors.append(x)
        job_file = os.path.join(mdir, "job.json")
        with open(job_file, "w") as f:
            json.dump(job, f)
        res = subprocess.run(["node", os.path.join(HERE, "tfjs_run.js"), job_file],
                             env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            raise SystemExit(f"tfjs_run.js failed for {name}")
        js = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]

        print(f"== {name} ({fname}, float32 weights stored as {'/'.join(sorted(quant))})")
        worst = [0.0] * len(outputs)
        worst_abs = [0.0] * len(outputs)
        for i, img_path in enumerate(images):
            with torch.no_grad():
                got = module(torch.from_numpy(tensors[i]))
            got = got if isinstance(got, tuple) else (got,)
            refs = []
            line = []
            for k, out in enumerate(outputs):
                ref = np.fromfile(os.path.join(mdir, f"out_{i}_{k}.f32"), dtype=np.float32).reshape(js[i]["shapes"][k])
                mine = got[k].float().numpy()
                if mine.shape != ref.shape:
                    raise SystemExit(f"{name} {out}: shape {mine.shape} vs TF.js {ref.shape}")
                d = float(np.abs(mine - ref).max())
                # Outputs in pixel units (centernet wh) are judged relative to their size.
                rel = d / max(1.0, float(np.abs(ref).max()))
                worst[k] = max(worst[k], rel)
                worst_abs[k] = max(worst_abs[k], d)
                refs.append(ref)
                line.append(f"{out} {d:.2e}" + (f" (rel {rel:.1e})" if rel != d else ""))
            print(f"  {os.path.basename(img_path):20s} tfjs {js[i]['ms'] / 1000:.1f}s  " + "; ".join(line))
            if name.startswith("centernet"):
                for side, heat, wh in (("torch", got[0].numpy(), got[1].numpy()), ("tfjs ", refs[0], refs[1])):
                    top = centernet_top(heat, wh)
                    desc = ", ".join(
                        f"{c}:{labels[c] if c < len(labels) else '?'} {s:.3f} "
                        f"[{b[0]:.0f},{b[1]:.0f},{b[2]:.0f},{b[3]:.0f}]" for c, s, b in top)
                    print(f"      top5 {side}: {desc}")
        for k, out in enumerate(outputs):
            ok = worst[k] < 1e-4
            failed |= not ok
            print(f"  max over images, {out}: abs {worst_abs[k]:.2e}, rel {worst[k]:.2e} "
                  f"{'OK' if ok else 'ABOVE 1e-4'}")
    print(f"tensors in {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
