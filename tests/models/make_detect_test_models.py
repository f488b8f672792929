#!/usr/bin/python3
"""Builds small TorchScript detection models, one per detect family, and what
cvtool's Detector must find with each of them on real images.

    /usr/bin/python3 make_detect_test_models.py OUT_DIR

For each family F it writes into OUT_DIR:
  F.pt                 the model (hand-set or seeded weights, raw outputs exactly in
                       the layout of the family's real exports)
  F.labels.txt         class names
  detect-F.json        a detect config for it (paths relative to the config)
  expected_F.json      {"config", "images": [{"source", "width", "height",
                        "detections": [{label, class_id, score, box}]}]}
and bad_shape.pt, a model whose output fits no family.

The expected detections come from an independent Python reference of the whole
pipeline (decode, letterbox/stretch, colour order, normalisation, forward, family
decode, score threshold, mapping back, NMS), written from the C++ contracts, not
from the C++ code paths. Every model's outputs depend on red versus blue, so a
swapped colour order changes the results.

The reference refuses to write expectations that sit on a knife edge (a score
within 1e-4 of the threshold, an IoU within 1e-4 of the NMS threshold, two classes
tied for best): float rounding between Python and C++ must not flip a decision.
"""
import json
import math
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import torchvision

IMAGES = [
    "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",    # 451x300
    "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",  # 512x512
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",         # 548x342
]

SCORE_MARGIN = 1e-4
CLS_STD = 0.03  # Faster R-CNN class-score weights: spread, not saturated
IOU_MARGIN = 1e-4


class KnifeEdge(Exception):
    pass


# ---------------------------------------------------------------- the models


class TinyYoloV8(torch.nn.Module):
    """Ultralytics YOLOv8 export layout: N x (4 + C) x A, rows cx, cy, w, h in input
    pixels then C sigmoid class scores. One anchor per cell of a g x g grid; each
    anchor's box and scores come from the mean colour of its cell (RGB in 0..1)."""

    def __init__(self, grid: int = 6):
        super().__init__()
        self.grid = grid

    def forward(self, x):
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        g = self.grid
        p = F.adaptive_avg_pool2d(x, [g, g])  # N x 3 x g x g
        r, gr, b = p[:, 0], p[:, 1], p[:, 2]
        ys = torch.arange(g, dtype=x.dtype).view(1, g, 1).expand(n, g, g)
        xs = torch.arange(g, dtype=x.dtype).view(1, 1, g).expand(n, g, g)
        cell_w = float(w) / g
        cell_h = float(h) / g
        bright = (r + gr + b) / 3.0
        cx = (xs + 0.5 + 0.8 * (r - b)) * cell_w
        cy = (ys + 0.5 + 0.8 * (gr - 0.5)) * cell_h
        bw = cell_w * (0.8 + 3.0 * bright)
        bh = cell_h * (0.8 + 3.0 * (1.0 - b))
        c0 = torch.sigmoid(9.0 * (r - b) - 0.3)        # reddish cells
        c1 = torch.sigmoid(9.0 * (b - r) - 0.3)        # bluish cells
        c2 = torch.sigmoid(12.0 * (gr - 0.55))         # green-bright cells
        out = torch.stack([cx, cy, bw, bh, c0, c1, c2], 1)  # N x 7 x g x g
        return out.reshape(n, 7, g * g)


class TinyYoloV5(torch.nn.Module):
    """YOLOv5 export layout: N x A x (5 + C): cx, cy, w, h (input pixels), objectness,
    C class probabilities. Fed BGR, normalised with ImageNet mean/std (BGR order);
    5 x 4 grid of anchors over a non-square input."""

    def forward(self, x):
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
        gy, gx = 4, 5
        p = F.adaptive_avg_pool2d(x, [gy, gx])  # N x 3 x gy x gx, BGR, normalised
        b, gr, r = p[:, 0], p[:, 1], p[:, 2]
        ys = torch.arange(gy, dtype=x.dtype).view(1, gy, 1).expand(n, gy, gx)
        xs = torch.arange(gx, dtype=x.dtype).view(1, 1, gx).expand(n, gy, gx)
        cell_w = float(w) / gx
        cell_h = float(h) / gy
        cx = (xs + 0.5 + 0.3 * torch.tanh(r - b)) * cell_w
        cy = (ys + 0.5 + 0.3 * torch.tanh(gr)) * cell_h
        bw = cell_w * (1.2 + torch.sigmoid(r))
        bh = cell_h * (1.2 + torch.sigmoid(b))
        obj = torch.sigmoid(1.5 * (r + gr + b) + 1.0)
        logits = torch.stack([2.0 * (r - b), 2.0 * (b - r), 1.5 * gr], 1)  # N x 3 x gy x gx
        cls = torch.softmax(logits, 1)
        out = torch.cat([torch.stack([cx, cy, bw, bh, obj], 1), cls], 1)  # N x 8 x gy x gx
        return out.reshape(n, 8, gy * gx).permute(0, 2, 1).contiguous()


class TinyCenterNet(torch.nn.Module):
    """CenterNet TF.js export layout: input 1 x H x W x 3 NHWC RGB 0..255; outputs
    (heatmap N x h x w x C sigmoid, boxes N x h x w x 4 = left, top, right, bottom in
    input pixels), h = H/4. Gaussian peaks are planted at known cells; the image's
    local red-minus-blue shifts every class's logits, so content and colour order
    change the scores."""

    def __init__(self, size: int, peaks):
        super().__init__()
        h = size // 4
        classes = 3
        logit = torch.full((h, h, classes), -6.0)
        ltrb = torch.full((h, h, 4), 6.0)
        yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(h, dtype=torch.float32), indexing="ij")
        for (px, py, c, amp, box) in peaks:
            blob = amp * torch.exp(-((xx - px) ** 2 + (yy - py) ** 2) / 2.0)
            logit[:, :, c] = torch.maximum(logit[:, :, c], -6.0 + blob)
            ltrb[py, px] = torch.tensor(box, dtype=torch.float32)
        self.register_buffer("logit", logit)
        self.register_buffer("ltrb", ltrb)
        self.register_buffer("sign", torch.tensor([1.0, -1.0, 0.5]))

    def forward(self, x):
        nchw = x.permute(0, 3, 1, 2) / 255.0
        rb = F.avg_pool2d(nchw[:, 0:1] - nchw[:, 2:3], 4, 4)  # N x 1 x h x w
        bright = F.avg_pool2d(nchw.mean(1, keepdim=True), 4, 4)
        content = rb.permute(0, 2, 3, 1)  # N x h x w x 1
        heat = torch.sigmoid(self.logit.unsqueeze(0) + 1.5 * content * self.sign)
        boxes = self.ltrb.unsqueeze(0) * (1.0 + 0.25 * bright.permute(0, 2, 3, 1))
        return heat, boxes


class BadShape(torch.nn.Module):
    """Fits no detection family: one N x 3 output."""

    def forward(self, x):
        return x.mean(dim=[2, 3])


def make_torchvision_model():
    # A real torchvision Faster R-CNN (RPN, RoIAlign, box head, its own resize and
    # NMS) over a tiny 4-layer backbone, seeded. The prediction layers get larger
    # weights than torchvision's init so that scores spread out instead of all
    # sitting at 1/C.
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign

    torch.manual_seed(7)
    nn = torch.nn
    backbone = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                             nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU())
    backbone.out_channels = 32
    anchors = AnchorGenerator(sizes=((32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),))
    pool = MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=2)
    model = FasterRCNN(backbone, num_classes=4, rpn_anchor_generator=anchors, box_roi_pool=pool, min_size=320,
                       max_size=480, rpn_pre_nms_top_n_test=200, rpn_post_nms_top_n_test=50, box_score_thresh=0.2,
                       box_detections_per_img=30, representation_size=64)
    with torch.no_grad():
        for m in list(backbone.modules()) + [model.roi_heads.box_head.fc6, model.roi_heads.box_head.fc7]:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
                nn.init.normal_(m.bias, std=0.1)
        nn.init.normal_(model.rpn.head.cls_logits.weight, std=0.3)
        nn.init.normal_(model.rpn.head.bbox_pred.weight, std=0.3)
        nn.init.normal_(model.roi_heads.box_predictor.cls_score.weight, std=CLS_STD)
        nn.init.normal_(model.roi_heads.box_predictor.bbox_pred.weight, std=1.0)
    model.eval()
    return torch.jit.script(model)


# ---------------------------------------------------------------- the reference pipeline


def lround(v):
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


def resize_map(src_w, src_h, target, mode):
    tw, th = target
    if mode == "stretch":
        return dict(sx=tw / src_w, sy=th / src_h, ox=0, oy=0, w=tw, h=th)
    r = min(tw / src_w, th / src_h)
    w = max(1, lround(src_w * r))
    h = max(1, lround(src_h * r))
    return dict(sx=w / src_w, sy=h / src_h, ox=(tw - w) // 2, oy=(th - h) // 2, w=w, h=h)


def apply_resize(img, m, target, pad):
    rows, cols = img.shape[:2]
    w, h = m["w"], m["h"]
    if (w, h) == (cols, rows):
        resized = img
    else:
        interp = cv2.INTER_AREA if (w < cols or h < rows) else cv2.INTER_LINEAR
        resized = cv2.resize(img, (w, h), interpolation=interp)
    if (w, h) == tuple(target):
        return resized
    out = np.full((target[1], target[0], 3), pad, dtype=np.uint8)
    out[m["oy"]:m["oy"] + h, m["ox"]:m["ox"] + w] = resized
    return out


def to_tensor(images, model_cfg):
    rgb = model_cfg["color"] == "rgb"
    a = np.array([model_cfg["scale"] / s for s in model_cfg["std"]], dtype=np.float32)
    b = np.array([-m / s for m, s in zip(model_cfg["mean"], model_cfg["std"])], dtype=np.float32)
    batch = []
    for img in images:
        px = img[:, :, ::-1] if rgb else img
        batch.append(px.astype(np.float32) * a + b)  # float32 throughout, like the C++ side
    t = torch.from_numpy(np.ascontiguousarray(np.stack(batch)))
    return t if model_cfg["layout"] == "nhwc" else t.permute(0, 3, 1, 2).contiguous()


def check_score(score, threshold):
    if abs(score - threshold) < SCORE_MARGIN:
        raise KnifeEdge(f"score {score} is within {SCORE_MARGIN} of the threshold {threshold}")


def check_best(scores, best):
    others = np.delete(scores, best)
    if len(others) and abs(scores[best] - others.max()) < SCORE_MARGIN:
        raise KnifeEdge(f"class scores {scores} tie for best")


def keep_top_k(dets, top_k):
    """The top_k best candidates, in anchor order (both YOLO families)."""
    if len(dets) <= top_k:
        return dets
    scores = sorted((d["score"] for d in dets), reverse=True)
    if scores[top_k - 1] - scores[top_k] < SCORE_MARGIN:
        raise KnifeEdge(f"candidates {top_k} and {top_k + 1} tie for the last top_k place")
    return [d for d in dets if d["score"] >= scores[top_k - 1]]


def decode_yolov8(out, threshold, top_k):
    t = out.numpy()
    result = []
    for rows in t:  # (4 + C) x A
        dets = []
        for a in range(rows.shape[1]):
            scores = rows[4:, a]
            c = int(scores.argmax())
            check_score(float(scores[c]), threshold)
            if scores[c] < threshold:
                continue
            check_best(scores, c)
            cx, cy, w, h = (float(v) for v in rows[:4, a])
            dets.append(dict(class_id=c, score=float(scores[c]), box=[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
        result.append(keep_top_k(dets, top_k))
    return result


def decode_yolov5(out, threshold, top_k):
    if isinstance(out, (tuple, list)):
        out = out[0]
    t = out.numpy()
    result = []
    for rows in t:  # A x (5 + C)
        dets = []
        for a in range(rows.shape[0]):
            scores = (rows[a, 5:] * rows[a, 4]).astype(np.float32)
            c = int(scores.argmax())
            check_score(float(scores[c]), threshold)
            if scores[c] < threshold:
                continue
            check_best(scores, c)
            cx, cy, w, h = (float(v) for v in rows[a, :4])
            dets.append(dict(class_id=c, score=float(scores[c]), box=[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
        result.append(keep_top_k(dets, top_k))
    return result


def decode_centernet(out, threshold, top_k, input_size):
    heat = out[0].numpy()  # N h w C
    boxes = out[1].numpy()  # N h w 4
    n, h, w, classes = heat.shape
    stride_x, stride_y = input_size[0] / w, input_size[1] / h
    result = []
    for i in range(n):
        dets = []
        hm = heat[i]
        padded = np.pad(hm, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
        pooled = np.max([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)
        cands = []
        for y in range(h):
            for x in range(w):
                for c in range(classes):
                    s = float(hm[y, x, c])
                    if s == pooled[y, x, c]:
                        check_score(s, threshold)
                        if s >= threshold:
                            cands.append((s, c, y, x))
        cands.sort(key=lambda e: -e[0])
        for s, c, y, x in cands[:top_k]:
            cx, cy = x * stride_x, y * stride_y
            l, t, r, b = (float(v) for v in boxes[i, y, x])
            dets.append(dict(class_id=c, score=s, box=[cx - l, cy - t, cx + r, cy + b]))
        result.append(dets)
    return result


def decode_torchvision(out, threshold):
    detections = out[1] if isinstance(out, tuple) else out
    result = []
    for d in detections:
        dets = []
        for box, label, score in zip(d["boxes"].tolist(), d["labels"].tolist(), d["scores"].tolist()):
            check_score(score, threshold)
            if score < threshold:
                continue
            dets.append(dict(class_id=int(label), score=float(np.float32(score)), box=[float(v) for v in box]))
        result.append(dets)
    return result


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def finish(dets, m, src_w, src_h, labels, post):
    kept = []
    min_size = max(post["min_box_size"], 1e-3)
    for d in dets:
        x1, y1, x2, y2 = d["box"]
        box = [min(max((x1 - m["ox"]) / m["sx"], 0.0), src_w), min(max((y1 - m["oy"]) / m["sy"], 0.0), src_h),
               min(max((x2 - m["ox"]) / m["sx"], 0.0), src_w), min(max((y2 - m["oy"]) / m["sy"], 0.0), src_h)]
        if box[2] - box[0] < min_size or box[3] - box[1] < min_size:
            continue
        c = d["class_id"]
        label = labels[c] if 0 <= c < len(labels) else f"class_{c}"
        kept.append(dict(label=label, class_id=c, score=d["score"], box=box))
    order = sorted(range(len(kept)), key=lambda i: -kept[i]["score"])  # stable, like the C++ side
    removed = [False] * len(kept)
    out = []
    for i, a in enumerate(order):
        if removed[a]:
            continue
        out.append(kept[a])
        for b in order[i + 1:]:
            if removed[b] or (not post["class_agnostic"] and kept[a]["class_id"] != kept[b]["class_id"]):
                continue
            v = iou(kept[a]["box"], kept[b]["box"])
            if abs(v - post["nms_iou"]) < IOU_MARGIN:
                raise KnifeEdge(f"IoU {v} is within {IOU_MARGIN} of nms_iou {post['nms_iou']}")
            if v > post["nms_iou"]:
                removed[b] = True
    return out[:post["max_detections"]]


def run_reference(module, config, labels, family):
    mc, post = config["model"], config["post"]
    records = []
    groups = []
    for path in IMAGES:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {path}")
        groups.append((path, img))
    if mc["input_size"] is None:
        batches = [[g] for g in groups]  # native size: one image per call
    else:
        batches = [groups]
    for batch in batches:
        target = mc["input_size"] or [batch[0][1].shape[1], batch[0][1].shape[0]]
        maps, inputs = [], []
        for path, img in batch:
            m = resize_map(img.shape[1], img.shape[0], target, mc["resize"])
            maps.append(m)
            inputs.append(apply_resize(img, m, target, int(mc["pad_value"])))
        x = to_tensor(inputs, mc)
        with torch.no_grad():
            if family == "torchvision_detection":
                out = module(list(x.unbind(0)))
            else:
                out = module(x)
        thr = post["score_threshold"]
        if family == "yolov8":
            dets = decode_yolov8(out, thr, post["top_k"])
        elif family == "yolov5":
            dets = decode_yolov5(out, thr, post["top_k"])
        elif family == "centernet":
            dets = decode_centernet(out, thr, post["top_k"], target)
        else:
            dets = decode_torchvision(out, thr)
        for (path, img), m, d in zip(batch, maps, dets):
            found = finish(d, m, img.shape[1], img.shape[0], labels, post)
            records.append(dict(source=path, width=img.shape[1], height=img.shape[0], detections=found))
    return records


# ---------------------------------------------------------------- writing


POST_DEFAULTS = dict(score_threshold=0.25, nms_iou=0.45, class_agnostic=False, top_k=300, max_detections=100,
                     min_box_size=0)


def write_family(out_dir, family, module, model_cfg, post, labels):
    path = os.path.join(out_dir, family + ".pt")
    module.save(path)
    with open(os.path.join(out_dir, family + ".labels.txt"), "w") as f:
        f.write("\n".join(labels) + "\n")
    config = {"task": "detect", "description": f"test model for the {family} family (tests/models)",
              "model": dict(path=family + ".pt", family=family, labels=family + ".labels.txt", **model_cfg),
              "post": post}
    with open(os.path.join(out_dir, f"detect-{family}.json"), "w") as f:
        json.dump(config, f, indent=2)
    full = json.loads(json.dumps(config))
    full["post"] = {**POST_DEFAULTS, **post}
    loaded = torch.jit.load(path)  # the reference runs what was saved, like the C++ side
    loaded.eval()
    records = run_reference(loaded, full, labels, family)
    with open(os.path.join(out_dir, f"expected_{family}.json"), "w") as f:
        json.dump({"config": f"detect-{family}.json", "images": records}, f, indent=1)
    counts = [len(r["detections"]) for r in records]
    print(f"{family}: {counts} detections on {len(records)} images")
    if sum(counts) == 0:
        raise SystemExit(f"{family}: the reference found nothing; the test would prove little")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    rgb01 = dict(color="rgb", scale=1.0 / 255, mean=[0, 0, 0], std=[1, 1, 1], layout="nchw")

    write_family(out_dir, "yolov8", torch.jit.script(TinyYoloV8().eval()),
                 dict(input_size=[320, 256], resize="letterbox", pad_value=114, **rgb01),
                 dict(score_threshold=0.3, nms_iou=0.45, top_k=24), ["reddish", "bluish", "greenish"])

    write_family(out_dir, "yolov5", torch.jit.script(TinyYoloV5().eval()),
                 dict(input_size=[320, 256], resize="stretch", pad_value=114, color="bgr", scale=1.0 / 255,
                      mean=[0.406, 0.456, 0.485], std=[0.225, 0.224, 0.229], layout="nchw"),
                 dict(score_threshold=0.2, nms_iou=0.5, top_k=15), ["reddish", "bluish", "greenish"])

    # (x, y, class, amplitude, [left, top, right, bottom]) on the 64 x 64 grid of a 256 input.
    peaks = [(20, 30, 0, 8.0, [30, 30, 30, 30]),
             (22, 31, 1, 7.5, [28, 30, 32, 30]),   # overlaps the first: class-agnostic NMS drops one
             (45, 40, 2, 7.0, [20, 40, 25, 10]),
             (60, 35, 0, 6.5, [20, 20, 40, 20]),   # runs off the right edge: clipped
             (10, 4, 1, 7.0, [8, 8, 8, 8]),        # in the letterbox bar of wide images: dropped there
             (40, 55, 0, 5.2, [12, 12, 12, 12])]   # weak: near the threshold for some images
    write_family(out_dir, "centernet", torch.jit.script(TinyCenterNet(256, peaks).eval()),
                 dict(input_size=[256, 256], resize="letterbox", pad_value=0, color="rgb", scale=1.0,
                      mean=[0, 0, 0], std=[1, 1, 1], layout="nhwc"),
                 dict(score_threshold=0.3, nms_iou=0.4, class_agnostic=True, top_k=100),
                 ["cat", "dog", "bird"])

    write_family(out_dir, "torchvision_detection", make_torchvision_model(),
                 dict(input_size=None, resize="letterbox", pad_value=0, **rgb01),
                 dict(score_threshold=0.3, nms_iou=0.45), ["__background__", "one", "two", "three"])

    torch.jit.script(BadShape().eval()).save(os.path.join(out_dir, "bad_shape.pt"))


if __name__ == "__main__":
    main()
