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

Instance families (yolo_seg: YOLOv8-seg layout, hand-set; maskrcnn: torchvision Mask R-CNN,
seeded, small backbone; maskrcnn_letterbox: the same model fed letterboxed; maskrcnn_raw: a
variant returning the 28x28 head masks unpasted) write expected_NAME.json with
"images": [{"source", "width", "height", "instances": [{"class_id", "score", "box",
"area", "mask", "ambiguous", "ambiguous_count"}]}] and per instance the 0/1 mask PNG and
the ambiguous PNG; plus border.png (see border_image).

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

from typing import Dict, List, Tuple

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


def border_image(path):
    """160 x 120, letterboxed into 160 x 128 with 4 rows of padding above and below, which
    line up with YOLOv8's stride-4 prototypes: red columns 0..39 (to the left, top and
    bottom borders), green 40..119, blue 120..159."""
    img = np.zeros((120, 160, 3), np.uint8)
    img[:, :40] = (0, 0, 255)
    img[:, 40:120] = (0, 255, 0)
    img[:, 120:] = (255, 0, 0)
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


# --- instance segmentation ---------------------------------------------------------------
#
# Reference of the instance pipeline (segmenter.cpp, torchvision_maskrcnn.cpp,
# yolov8_seg.cpp): candidates in model-input pixels, each soft mask brought back with
# map_back (as semantic maps), thresholded, and for yolov8_seg cropped to the box in
# source pixels (pixel index x kept when x1 <= x < x2, Ultralytics' crop_mask).

def nms_like_cvtool(boxes, scores, classes, iou, class_aware=True):
    """detect/detection.cpp nms(): greedy, stable by score, float32 IoU, > threshold."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # sorted() is stable
    iou = np.float32(iou)
    removed = [False] * len(scores)
    kept = []
    for n, a in enumerate(order):
        if removed[a]:
            continue
        kept.append(a)
        for b in order[n + 1:]:
            if removed[b] or (class_aware and classes[a] != classes[b]):
                continue
            A, B = boxes[a], boxes[b]
            iw = np.float32(min(A[2], B[2]) - max(A[0], B[0]))
            ih = np.float32(min(A[3], B[3]) - max(A[1], B[1]))
            if iw <= 0 or ih <= 0:
                continue
            inter = np.float32(iw * ih)
            ua = np.float32((A[2] - A[0]) * (A[3] - A[1]))
            ub = np.float32((B[2] - B[0]) * (B[3] - B[1]))
            uni = np.float32(np.float32(ua + ub) - inter)
            if uni > 0 and np.float32(inter / uni) > iou:
                removed[b] = True
    return kept


def yolo_candidates(out, post):
    pred, protos = out
    rows = pred[0]
    nm = protos.shape[1]
    c = rows.shape[0] - 4 - nm
    best, cls = rows[4:4 + c].max(0)
    best_np, cls_np = best.numpy(), cls.numpy()
    idx = [a for a in range(rows.shape[1]) if best_np[a] >= np.float32(post["score_threshold"])]
    if len(idx) > post["top_k"]:
        ranked = sorted(idx, key=lambda a: -best_np[a])[:post["top_k"]]
        idx = sorted(ranked)
    r = rows.numpy()
    two = np.float32(2)
    boxes = [[r[0, a] - r[2, a] / two, r[1, a] - r[3, a] / two, r[0, a] + r[2, a] / two, r[1, a] + r[3, a] / two]
             for a in idx]
    scores = [best_np[a] for a in idx]
    classes = [int(cls_np[a]) for a in idx]
    kept = nms_like_cvtool(boxes, scores, classes, post["nms_iou"], not post["class_agnostic"])
    kept = kept[:post["max_instances"]]
    if not kept:
        return []
    anchors = torch.tensor([idx[k] for k in kept], dtype=torch.int64)
    coeffs = rows.narrow(0, 4 + c, nm).index_select(1, anchors).t().contiguous()
    soft = torch.sigmoid(torch.matmul(coeffs, protos[0].reshape(nm, -1))).reshape(len(kept), protos.shape[2],
                                                                                   protos.shape[3])
    return [(classes[k], float(scores[k]), boxes[k], soft[i].numpy(), True) for i, k in enumerate(kept)]


def maskrcnn_candidates(model, x, post):
    _, dets = model([x[0]])
    d = dets[0]
    masks = d["masks"]
    h, w = x.shape[2], x.shape[3]
    if masks.shape[-2:] != (h, w):  # raw M x M mask head output: paste as torchvision does
        from torchvision.models.detection.roi_heads import paste_masks_in_image
        masks = paste_masks_in_image(masks, d["boxes"], (h, w))
    out = []
    for i in range(d["boxes"].shape[0]):
        s = float(d["scores"][i])
        if np.float32(s) < np.float32(post["score_threshold"]):
            continue
        out.append((int(d["labels"][i]), s, [np.float32(v) for v in d["boxes"][i].tolist()],
                    masks[i, 0].float().numpy(), False))
    return out[:post["max_instances"]]


def box_to_source(box, m):
    sx = m["w"] / m["src"][0]
    sy = m["h"] / m["src"][1]
    def clip(v, hi):
        return np.float32(min(max(v, 0.0), float(hi)))
    return [clip((float(box[0]) - m["ox"]) / sx, m["src"][0]), clip((float(box[1]) - m["oy"]) / sy, m["src"][1]),
            clip((float(box[2]) - m["ox"]) / sx, m["src"][0]), clip((float(box[3]) - m["oy"]) / sy, m["src"][1])]


def instance_reference(model, cfg, img):
    mc, post = cfg["model"], cfg["post"]
    h, w = img.shape[:2]
    target = tuple(mc["input_size"]) if mc["input_size"] else (w, h)
    m = make_map(w, h, target, mc["resize"])
    x = to_tensor(apply_resize(img, m, mc["pad_value"]), cfg)
    with torch.no_grad():
        if mc["family"] == "torchvision_maskrcnn":
            cands = maskrcnn_candidates(model, x, post)
        else:
            cands = yolo_candidates(model(x), post)
    thr = np.float32(post["threshold"])
    out = []
    for cls, score, box_in, soft, crop in cands:
        src = map_back(np.ascontiguousarray(soft, np.float32), m)
        mask = src > thr
        ambiguous = np.abs(src - thr) < GAP
        box = box_to_source(box_in, m)
        if crop:
            xs = np.arange(w)[None, :]
            ys = np.arange(h)[:, None]
            inside = (xs >= box[0]) & (xs < box[2]) & (ys >= box[1]) & (ys < box[3])
            mask &= inside
            ambiguous &= inside
        out.append(dict(class_id=cls, score=score, box=[float(v) for v in box], mask=mask, ambiguous=ambiguous))
    return out


def write_expected_instances(out_dir, name, cfg, model, images):
    sub = os.path.join(out_dir, "expected_" + name)
    os.makedirs(sub, exist_ok=True)
    records = []
    for path in images:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        stem = os.path.splitext(os.path.basename(path))[0]
        insts = []
        for k, inst in enumerate(instance_reference(model, cfg, img)):
            mpath = os.path.join(sub, "%s_%d_mask.png" % (stem, k))
            apath = os.path.join(sub, "%s_%d_ambiguous.png" % (stem, k))
            cv2.imwrite(mpath, inst["mask"].astype(np.uint8))
            cv2.imwrite(apath, inst["ambiguous"].astype(np.uint8) * 255)
            insts.append({"class_id": inst["class_id"], "score": inst["score"], "box": inst["box"],
                          "area": int(inst["mask"].sum()), "mask": mpath, "ambiguous": apath,
                          "ambiguous_count": int(inst["ambiguous"].sum())})
        records.append({"source": path, "width": img.shape[1], "height": img.shape[0], "instances": insts})
    with open(os.path.join(out_dir, "expected_%s.json" % name), "w") as f:
        json.dump({"config": "segment-%s.json" % name, "images": records}, f, indent=1)


class YoloSegToy(torch.nn.Module):
    """YOLOv8-seg layout: (N x (4 + 3 + 32) x A, N x 32 x H/4 x W/4). Anchors on a stride-8
    grid; classes red, blue (colour dominance of the cell) and frame (anchor 0 only, score
    0.9, box = the whole input, mask = prototype 0 = redness). Prototypes 0 and 1 are
    hand-set redness / blueness, the other 30 and the coefficients seeded."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.coef = torch.nn.Conv2d(3, 32, 1)
        self.proto = torch.nn.Conv2d(3, 32, 1)
        with torch.no_grad():
            for c in (self.coef, self.proto):
                c.weight.copy_(torch.randn(c.weight.shape, generator=g) * 0.3)
                c.bias.copy_(torch.randn(c.bias.shape, generator=g) * 0.1)
            red = torch.tensor([1.0, -0.5, -0.5])
            blue = torch.tensor([-0.5, -0.5, 1.0])
            self.proto.weight[0, :, 0, 0] = 12 * red
            self.proto.bias[0] = -4.0
            self.proto.weight[1, :, 0, 0] = 12 * blue
            self.proto.bias[1] = -4.0
            self.coef.weight[0, :, 0, 0] = 3 * red
            self.coef.bias[0] = 0.5
            self.coef.weight[1, :, 0, 0] = 3 * blue
            self.coef.bias[1] = 0.5

    def forward(self, x):
        n, h_in, w_in = x.shape[0], x.shape[2], x.shape[3]
        f = torch.nn.functional.avg_pool2d(x, 8)
        h, w = f.shape[2], f.shape[3]
        r, gr, b = f[:, 0], f[:, 1], f[:, 2]
        cy = ((torch.arange(h, dtype=torch.float32) + 0.5) * 8).view(1, h, 1).expand(n, h, w)
        cx = ((torch.arange(w, dtype=torch.float32) + 0.5) * 8).view(1, 1, w).expand(n, h, w)
        bw = 8 * (1 + 4 * r)
        bh = 8 * (1 + 4 * b)
        s_red = torch.sigmoid(10 * (r - 0.5 * gr - 0.5 * b) - 2)
        s_blue = torch.sigmoid(10 * (b - 0.5 * gr - 0.5 * r) - 2)
        s_frame = torch.zeros_like(s_red)
        box = torch.stack([cx, cy, bw, bh, s_red, s_blue, s_frame], 1).reshape(n, 7, h * w).clone()
        box[:, 0, 0] = w_in / 2.0
        box[:, 1, 0] = h_in / 2.0
        box[:, 2, 0] = float(w_in)
        box[:, 3, 0] = float(h_in)
        box[:, 4, 0] = 0.0
        box[:, 5, 0] = 0.0
        box[:, 6, 0] = 0.9
        coef = self.coef(f).reshape(n, 32, h * w).clone()
        coef[:, :, 0] = 0.0
        coef[:, 0, 0] = 1.0
        protos = self.proto(torch.nn.functional.avg_pool2d(x, 4))
        return torch.cat([box, coef], 1), protos


class NoPasteTransform(torchvision.models.detection.transform.GeneralizedRCNNTransform):
    """Leaves Mask R-CNN's masks as the M x M head output (boxes still resized), so that
    cvtool's own paste_masks_in_image is what is tested."""

    def postprocess(self, result: List[Dict[str, torch.Tensor]], image_shapes: List[Tuple[int, int]],
                    original_image_sizes: List[Tuple[int, int]]) -> List[Dict[str, torch.Tensor]]:
        for i, (pred, im_s, o_im_s) in enumerate(zip(result, image_shapes, original_image_sizes)):
            result[i]["boxes"] = torchvision.models.detection.transform.resize_boxes(pred["boxes"], im_s, o_im_s)
        return result


def make_maskrcnn(paste=True):
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
    from torchvision.ops import MultiScaleRoIAlign
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, 2, 1), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, 2, 1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, 2, 1), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3, 2, 1))
    backbone.out_channels = 16
    m = MaskRCNN(backbone, num_classes=None, min_size=256, max_size=320,
                 box_head=TwoMLPHead(16 * 7 * 7, 64), box_predictor=FastRCNNPredictor(64, 3),
                 rpn_anchor_generator=AnchorGenerator(sizes=((32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),)),
                 box_roi_pool=MultiScaleRoIAlign(["0"], 7, 2), mask_roi_pool=MultiScaleRoIAlign(["0"], 14, 2),
                 mask_head=MaskRCNNHeads(16, (16, 16), 1), mask_predictor=MaskRCNNPredictor(16, 16, 3),
                 rpn_pre_nms_top_n_test=200, rpn_post_nms_top_n_test=100, box_detections_per_img=20)
    with torch.no_grad():
        # Random mask logits sit near 0: scaled up, most pixels decide clearly.
        m.roi_heads.mask_predictor.mask_fcn_logits.weight.mul_(20)
    if not paste:
        t = m.transform
        m.transform = NoPasteTransform(t.min_size, t.max_size, t.image_mean, t.image_std)
    return m


def instance_specs():
    post = {"threshold": 0.5, "score_threshold": 0.25, "nms_iou": 0.45, "top_k": 100, "max_instances": 30,
            "class_agnostic": False}
    yolo = config("yolo_seg", "yolov8_seg", input_size=[160, 128], pad_value=114, labels=["red", "blue", "frame"])
    yolo["post"] = dict(post, max_instances=100)
    rcnn = config("maskrcnn", "torchvision_maskrcnn", input_size=None, labels=None)
    rcnn["post"] = dict(post, score_threshold=0.3, max_instances=20)
    rcnn_lb = config("maskrcnn_letterbox", "torchvision_maskrcnn", input_size=[300, 240], pad_value=0)
    rcnn_lb["model"]["path"] = "maskrcnn.pt"
    rcnn_lb["post"] = dict(rcnn["post"])
    raw = config("maskrcnn_raw", "torchvision_maskrcnn", input_size=None)
    raw["post"] = dict(rcnn["post"])
    return [("yolo_seg", YoloSegToy(), yolo), ("maskrcnn", make_maskrcnn(), rcnn),
            ("maskrcnn_letterbox", None, rcnn_lb), ("maskrcnn_raw", make_maskrcnn(paste=False), raw)]


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
    scripted = None
    for name, model, cfg in instance_specs():
        if model is not None:
            model.eval()
            scripted = torch.jit.script(model)
            scripted.save(os.path.join(out_dir, name + ".pt"))
        with open(os.path.join(out_dir, "segment-%s.json" % name), "w") as f:
            json.dump(cfg, f, indent=1)
        write_expected_instances(out_dir, name, cfg, scripted,
                                 images + [border_image(os.path.join(out_dir, "border.png"))]
                                 if name == "yolo_seg" else IMAGES)
        print("wrote", name)


if __name__ == "__main__":
    main()
