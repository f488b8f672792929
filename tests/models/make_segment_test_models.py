#!/usr/bin/python3
"""Builds small TorchScript segmentation models, one or more per segment family, and
what cvtool's Segmenter must produce with each of them on real images.

    /usr/bin/python3 make_segment_test_models.py OUT_DIR

For each model NAME it writes into OUT_DIR:
  NAME.pt                     the model (hand-set or seeded weights)
  segment-NAME.json           a segment config for it (paths relative to the config)
  expected_NAME.json          {"config", "probability", "images": [{"source", "width",
                               "height", "labels", "ambiguous", "soft", "classes"}]}
  expected_NAME/*.png         label map per image (8-bit, class id per pixel) and the
                              "ambiguous" mask (255 where the decision is a float tie)
  expected_NAME/*.f32         probability families: the soft mask, raw float32 rows
and blocks.png, a 101x67 image of pure red, green and blue blocks.

The expectations come from an independent Python reference of the whole pipeline
(letterbox/stretch/fit as lib/src/core/geometry.cpp and segmenter.cpp define them,
colour order, normalisation as a*x+b in float32, forward, family decode, cutting the
valid region out and resizing it back with cv2, argmax or threshold), written from the
C++ contracts.

Pixels whose decision sits on a knife edge (top-2 class scores within GAP after the
resize back, or a probability within GAP of the threshold) are marked ambiguous:
LibTorch in C++ may sum a convolution in another order than PyTorch here (thread
count), which moves scores by ~1e-6, so only those pixels may legitimately differ.
"""
import json
import math
import os
import sys

import cv2
import numpy as np
import torch
import torchvision

IMAGES = [
    "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",  # 512x512
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",         # 548x342
    "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",    # 451x300
]
GAP = 1e-3
RGB_MEAN = [0.485, 0.456, 0.406]
RGB_STD = [0.229, 0.224, 0.225]


def lround(x):
    return int(math.floor(x + 0.5))


# --- geometry.cpp, segmenter.cpp (fit) -------------------------------------------------

def make_map(src_w, src_h, target, mode):
    tw, th = target
    if mode == "stretch":
        return dict(src=(src_w, src_h), target=target, w=tw, h=th, ox=0, oy=0)
    r = min(tw / src_w, th / src_h)
    w = max(1, lround(src_w * r))
    h = max(1, lround(src_h * r))
    return dict(src=(src_w, src_h), target=target, w=w, h=h, ox=(tw - w) // 2, oy=(th - h) // 2)


def fit_size(src_w, src_h, max_side, multiple):
    longer = max(src_w, src_h)
    ratio = max_side / longer if longer > max_side else 1.0
    return tuple(max(multiple, multiple * int(math.floor(s * ratio / multiple + 0.5))) for s in (src_w, src_h))


def apply_resize(img, m, pad):
    w, h = m["w"], m["h"]
    if (w, h) == (img.shape[1], img.shape[0]):
        resized = img
    else:
        interp = cv2.INTER_AREA if (w < img.shape[1] or h < img.shape[0]) else cv2.INTER_LINEAR
        resized = cv2.resize(img, (w, h), interpolation=interp)
    tw, th = m["target"]
    if (w, h) == (tw, th):
        return resized
    out = np.full((th, tw, 3), pad, np.uint8)
    out[m["oy"]:m["oy"] + h, m["ox"]:m["ox"] + w] = resized
    return out


def to_tensor(img_bgr, cfg):
    mc = cfg["model"]
    chans = img_bgr[:, :, ::-1] if mc["color"] == "rgb" else img_bgr
    out = np.empty(chans.shape, np.float32)
    for c in range(3):
        a = np.float32(mc["scale"] / mc["std"][c])
        b = np.float32(-mc["mean"][c] / mc["std"][c])
        out[:, :, c] = a * chans[:, :, c].astype(np.float32) + b
    t = torch.from_numpy(np.ascontiguousarray(out))[None]
    return t if mc["layout"] == "nhwc" else t.permute(0, 3, 1, 2).contiguous()


def map_back(score, m):
    tw, th = m["target"]
    if score.shape != (th, tw):
        score = cv2.resize(score, (tw, th), interpolation=cv2.INTER_LINEAR)
    crop = np.ascontiguousarray(score[m["oy"]:m["oy"] + m["h"], m["ox"]:m["ox"] + m["w"]])
    sw, sh = m["src"]
    if crop.shape == (sh, sw):
        return crop.copy()
    return cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_LINEAR)


# --- families -----------------------------------------------------------------------------

def decode(family, out):
    """-> (N x C x H x W float32 numpy, probability?)"""
    if family == "torchvision_segmentation":
        out = out["out"]
    if family in ("selfie", "probability"):
        t = out
        if t.dim() == 3:
            t = t[:, None]
        elif t.size(1) != 1 and t.size(3) == 1:
            t = t.permute(0, 3, 1, 2)
        return t.float().clamp(0, 1).numpy(), True
    if out.size(1) == 1:
        return torch.sigmoid(out.float()).numpy(), True
    return out.float().numpy(), False


def reference(model, cfg, img):
    mc = cfg["model"]
    h, w = img.shape[:2]
    if mc["resize"] == "fit":
        target = fit_size(w, h, mc["max_side"], mc["size_multiple"])
        mode = "stretch"
    else:
        target = tuple(mc["input_size"]) if mc["input_size"] else (w, h)
        mode = mc["resize"]
    m = make_map(w, h, target, mode)
    x = to_tensor(apply_resize(img, m, mc["pad_value"]), cfg)
    with torch.no_grad():
        maps, prob = decode(mc["family"], model(x))
    maps = maps[0]
    if prob:
        soft = map_back(maps[0], m)
        thr = np.float32(cfg["post"]["threshold"])
        labels = (soft > thr).astype(np.uint8)
        ambiguous = np.abs(soft - thr) < GAP
        return labels, ambiguous, soft
    scores = np.stack([map_back(maps[c], m) for c in range(maps.shape[0])])
    labels = scores.argmax(0).astype(np.uint8)  # first class wins a tie, as in C++
    top2 = np.sort(scores, axis=0)[-2:]
    ambiguous = (top2[1] - top2[0]) < GAP
    return labels, ambiguous, None


# --- models ---------------------------------------------------------------------------------

class ColourLogits(torch.nn.Module):
    """3 classes: the dominant RGB channel (red 0, green 1, blue 2)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_((torch.eye(3) * 1.5 - 0.5).view(3, 3, 1, 1) * 10)
            self.conv.bias.zero_()

    def forward(self, x):
        return self.conv(x)


class RedMinusBlue(torch.nn.Module):
    """One logit channel: 4 * (R - B), smoothed by a 3x3 box."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 3, padding=1)
        with torch.no_grad():
            w = torch.zeros(1, 3, 3, 3)
            w[0, 0] = 4.0 / 9
            w[0, 2] = -4.0 / 9
            self.conv.weight.copy_(w)
            self.conv.bias.zero_()

    def forward(self, x):
        return self.conv(x)


class SeededProbability(torch.nn.Module):
    """Seeded 2-layer conv net with a sigmoid, N x 1 x H x W out (like DB text maps)."""

    def __init__(self, nhwc=False):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.nhwc = nhwc
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 1, 3, padding=1)
        with torch.no_grad():
            for c in (self.c1, self.c2):
                c.weight.copy_(torch.randn(c.weight.shape, generator=g) * 0.5)
                c.bias.copy_(torch.randn(c.bias.shape, generator=g) * 0.1)

    def forward(self, x):
        if self.nhwc:
            x = x.permute(0, 3, 1, 2)
        y = torch.sigmoid(self.c2(torch.relu(self.c1(x))))
        return y.permute(0, 2, 3, 1) if self.nhwc else y


def make_lraspp(calibration_cfg):
    torch.manual_seed(0)
    m = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)
    m.eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        # Fresh batch-norm statistics make every pixel look alike; seeded ones and
        # class biases centred on three real images make all three classes appear.
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(n, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(n, generator=g) * 0.1)
        for c in (m.classifier.low_classifier, m.classifier.high_classifier):
            c.weight.mul_(10.0)
            c.bias.zero_()
        mean = 0
        for path in IMAGES:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            mp = make_map(img.shape[1], img.shape[0], tuple(calibration_cfg["model"]["input_size"]), "letterbox")
            x = to_tensor(apply_resize(img, mp, calibration_cfg["model"]["pad_value"]), calibration_cfg)
            mean = mean + m(x)["out"][0].mean((1, 2)) / len(IMAGES)
        m.classifier.high_classifier.bias.copy_(-mean)
    return m


def config(name, family, **model):
    mc = {"path": name + ".pt", "family": family, "input_size": [256, 256], "resize": "letterbox",
          "max_side": 960, "size_multiple": 32, "pad_value": 0, "color": "rgb", "scale": 1 / 255.0,
          "mean": [0, 0, 0], "std": [1, 1, 1], "layout": "nchw", "labels": None, "palette": None}
    mc.update(model)
    return {"task": "segment", "description": "test model " + name, "model": mc, "post": {"threshold": 0.5}}


def blocks_image(path):
    """101 x 67: red, green and blue vertical bands, the green one holding a blue square."""
    img = np.zeros((67, 101, 3), np.uint8)
    img[:, :34] = (0, 0, 255)
    img[:, 34:67] = (0, 255, 0)
    img[:, 67:] = (255, 0, 0)
    img[20:45, 40:60] = (255, 0, 0)
    cv2.imwrite(path, img)
    return path


def write_expected(out_dir, name, cfg, model, images):
    sub = os.path.join(out_dir, "expected_" + name)
    os.makedirs(sub, exist_ok=True)
    records = []
    probability = None
    for path in images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        labels, ambiguous, soft = reference(model, cfg, img)
        probability = soft is not None
        stem = os.path.splitext(os.path.basename(path))[0]
        rec = {"source": path, "width": img.shape[1], "height": img.shape[0],
               "labels": os.path.join(sub, stem + "_labels.png"),
               "ambiguous": os.path.join(sub, stem + "_ambiguous.png"),
               "ambiguous_count": int(ambiguous.sum()),
               "classes": [{"class_id": int(c), "area": int((labels == c).sum())} for c in np.unique(labels)]}
        cv2.imwrite(rec["labels"], labels)
        cv2.imwrite(rec["ambiguous"], ambiguous.astype(np.uint8) * 255)
        if soft is not None:
            rec["soft"] = os.path.join(sub, stem + "_soft.f32")
            soft.astype("<f4").tofile(rec["soft"])
        records.append(rec)
    with open(os.path.join(out_dir, "expected_%s.json" % name), "w") as f:
        json.dump({"config": "segment-%s.json" % name, "probability": probability, "images": records}, f, indent=1)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    images = IMAGES + [blocks_image(os.path.join(out_dir, "blocks.png"))]
    specs = [
        ("colour_logits", ColourLogits(), config("colour_logits", "logits", input_size=[96, 64],
                                                  labels=["red", "green", "blue"])),
        ("binary_logit", RedMinusBlue(), config("binary_logit", "logits", input_size=[80, 48], resize="stretch",
                                                 labels=["background", "reddish"])),
        ("fit_probability", SeededProbability(), config("fit_probability", "probability", input_size=None,
                                                        resize="fit", max_side=200, size_multiple=32, color="bgr",
                                                        mean=RGB_MEAN, std=RGB_STD)),
        ("nhwc_probability", SeededProbability(nhwc=True), config("nhwc_probability", "selfie", input_size=[64, 64],
                                                                  resize="stretch", layout="nhwc")),
    ]
    lr_cfg = config("lraspp", "torchvision_segmentation", input_size=[160, 120], pad_value=114, mean=RGB_MEAN,
                    std=RGB_STD, labels=["a", "b", "c"])
    specs.append(("lraspp", make_lraspp(lr_cfg), lr_cfg))
    for name, model, cfg in specs:
        model.eval()
        scripted = torch.jit.script(model)
        scripted.save(os.path.join(out_dir, name + ".pt"))
        with open(os.path.join(out_dir, "segment-%s.json" % name), "w") as f:
            json.dump(cfg, f, indent=1)
        write_expected(out_dir, name, cfg, scripted, images)
        print("wrote", name)


if __name__ == "__main__":
    main()
