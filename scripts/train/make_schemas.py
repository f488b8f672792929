#!/usr/bin/python3
"""Writes configs/schema/{augment,train}.schema.json. The "augment" object is shared by
both; edit it here and re-run (`/usr/bin/python3 scripts/train/make_schemas.py`)."""
import json, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def op(desc, lo, hi, extra=None):
    props = {"p": {"type": "number", "minimum": 0, "maximum": 1, "default": 0, "description": "probability"}}
    if lo is not None:
        props["range"] = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                          "default": [lo, hi], "description": desc}
    props.update(extra or {})
    return {"type": "object", "additionalProperties": False, "properties": props}


AUGMENT = {
    "type": "object", "additionalProperties": False,
    "description": "every op: {p, range}; ops run in this order: crop, rotate/scale/translate, flips, colour, blur, noise, cutout",
    "properties": {
        "hflip": op("", None, None), "vflip": op("", None, None),
        "crop": op("kept area fraction, resized back", 0.6, 1.0),
        "rotate": op("degrees", -15, 15),
        "scale": op("zoom factor", 0.9, 1.1),
        "translate": op("max shift as a fraction of the size (only the upper bound is used, both directions)", 0, 0.1),
        "brightness": op("added fraction of 255", -0.2, 0.2),
        "contrast": op("factor around the mean", 0.8, 1.2),
        "saturation": op("factor (0: grey)", 0.7, 1.3),
        "illumination": op("gradient strength", 0.0, 0.3),
        "blur": op("Gaussian sigma, pixels", 0.1, 1.5),
        "gaussian_noise": op("standard deviation, 0..255 units", 0, 10),
        "salt_pepper": op("fraction of pixels", 0, 0.02),
        "cutout": op("hole side as a fraction of the shorter side", 0.1, 0.3, {
            "count": {"type": "integer", "minimum": 1, "default": 1},
            "fill": {"type": "number", "minimum": 0, "maximum": 255, "default": 0}}),
        "border": {"enum": ["reflect", "constant", "replicate"], "default": "reflect"},
    },
}

augment_schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "cvtool augment config",
    "type": "object", "additionalProperties": False, "required": ["task", "augment"],
    "properties": {
        "task": {"enum": ["augment"]},
        "description": {"type": "string", "default": ""},
        "seed": {"type": "integer", "minimum": 0, "default": 0},
        "copies": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 4, "description": "augmented copies per input"},
        "augment": AUGMENT,
        "runtime": {"type": "object", "additionalProperties": False, "properties": {
            "device": {"type": "string", "default": "cpu"},
            "threads": {"type": "integer", "minimum": 0, "default": 0},
            "batch": {"type": "integer", "minimum": 1, "default": 1}}},
        "input": {"type": "object", "additionalProperties": False, "properties": {
            "max_pixels": {"type": "integer", "minimum": 1, "default": 100000000},
            "vid_stride": {"type": "integer", "minimum": 1, "default": 1},
            "max_frames": {"type": "integer", "minimum": 0, "default": 0}}},
        "output": {"type": "object", "additionalProperties": False, "properties": {
            "format": {"enum": ["png", "jpg"], "default": "png"}}},
    },
}

num = {"type": "number"}
train_schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "cvtool train classify / train pretext config",
    "type": "object", "additionalProperties": False, "required": ["task"],
    "properties": {
        "task": {"enum": ["train"]},
        "description": {"type": "string", "default": ""},
        "seed": {"type": "integer", "minimum": 0, "default": 0},
        "data": {"type": "object", "additionalProperties": False, "properties": {
            "train": {"type": ["string", "null"], "format": "path", "default": None,
                      "description": "ImageFolder root (root/<class>/*), or a .csv/.jsonl list of path,labels"},
            "val": {"type": ["string", "null"], "format": "path", "default": None,
                    "description": "explicit validation set (same layouts); null: split train"},
            "val_fraction": {"type": "number", "minimum": 0, "maximum": 0.9, "default": 0.2,
                             "description": "held out per class with the seed when val is null"},
            "multi_label": {"type": "boolean", "default": False},
            "classes": {"type": ["array", "null"], "items": {"type": "string"}, "default": None,
                        "description": "class order; null: sorted folder names / labels found"}}},
        "model": {"type": "object", "additionalProperties": False, "properties": {
            "backbone": {"type": ["string", "null"], "format": "path", "default": None,
                         "description": "TorchScript backbone (features N x C or N x C x H x W); null: the built-in small CNN"},
            "freeze": {"type": ["string", "null"], "default": None,
                       "description": "freeze backbone parameters up to and including this module/parameter name; \"all\": the whole backbone"},
            "width": {"type": "integer", "minimum": 4, "maximum": 512, "default": 32, "description": "small CNN: channels of the first block"},
            "blocks": {"type": "integer", "minimum": 1, "maximum": 6, "default": 3, "description": "small CNN: conv blocks (each halves the size)"},
            "batch_norm": {"type": "boolean", "default": True, "description": "small CNN: batch norm after each conv"},
            "dropout": {"type": "number", "minimum": 0, "maximum": 0.95, "default": 0.2, "description": "before the head"},
            "input_size": {"type": "array", "items": {"type": "integer", "minimum": 8, "maximum": 4096}, "minItems": 2, "maxItems": 2, "default": [32, 32]},
            "resize": {"enum": ["stretch", "letterbox", "center_crop"], "default": "stretch"},
            "color": {"enum": ["rgb", "bgr"], "default": "rgb"},
            "scale": {"type": "number", "default": 0.00392156862745098},
            "mean": {"type": "array", "items": num, "minItems": 3, "maxItems": 3, "default": [0.5, 0.5, 0.5]},
            "std": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 3, "maxItems": 3, "default": [0.5, 0.5, 0.5]}}},
        "optim": {"type": "object", "additionalProperties": False, "properties": {
            "optimizer": {"enum": ["sgd", "adam"], "default": "adam"},
            "lr": {"type": "number", "exclusiveMinimum": 0, "default": 0.001},
            "momentum": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.9},
            "weight_decay": {"type": "number", "minimum": 0, "default": 0.0001},
            "schedule": {"enum": ["constant", "cosine", "step"], "default": "cosine"},
            "step_size": {"type": "integer", "minimum": 1, "default": 10, "description": "step schedule: epochs per decay"},
            "gamma": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.1},
            "warmup_epochs": {"type": "integer", "minimum": 0, "default": 0},
            "epochs": {"type": "integer", "minimum": 1, "default": 20},
            "batch": {"type": "integer", "minimum": 1, "default": 64, "description": "global batch (split across data-parallel ranks)"},
            "early_stopping": {"type": "integer", "minimum": 0, "default": 5, "description": "stop after this many epochs without a lower val loss; 0: never"}}},
        "loss": {"type": "object", "additionalProperties": False, "properties": {
            "type": {"enum": ["cross_entropy", "focal"], "default": "cross_entropy", "description": "multi-label uses binary cross-entropy (focal: binary focal)"},
            "focal_gamma": {"type": "number", "minimum": 0, "default": 2.0},
            "class_weights": {"enum": ["none", "balanced"], "default": "none", "description": "balanced: weight each class by N / (classes * count)"},
            "label_smoothing": {"type": "number", "minimum": 0, "maximum": 0.5, "default": 0}}},
        "sampler": {"enum": ["shuffle", "oversample", "undersample"], "default": "shuffle",
                    "description": "oversample / undersample: every class drawn as often as the largest / smallest"},
        "adversarial": {"type": "object", "additionalProperties": False,
                        "description": "adversarial training: FGSM examples (made against the current model) replace a share of every batch",
                        "properties": {
            "method": {"enum": ["none", "fgsm"], "default": "none"},
            "eps": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.03, "description": "L-inf budget in 0..1 pixel units"},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5, "description": "share of each batch replaced by adversarial examples"}}},
        "pretext": {"type": "object", "additionalProperties": False,
                    "description": "train pretext only: self-supervised task whose labels are made from unlabeled images (data.train: a folder, searched recursively)",
                    "properties": {
            "task": {"enum": ["rotation", "jigsaw"], "default": "rotation",
                     "description": "rotation: predict the quarter turn (0/90/180/270) applied; jigsaw: predict which permutation shuffled the grid of patches"},
            "grid": {"type": "integer", "minimum": 2, "maximum": 4, "default": 2, "description": "jigsaw: patches per side (model.input_size must divide by it)"},
            "permutations": {"type": "integer", "minimum": 2, "maximum": 1000, "default": 24,
                             "description": "jigsaw: size of the permutation set (the classes), at most (grid*grid)!; chosen from the seed, identity first, then maximal Hamming distance"}}},
        "augment": AUGMENT,
        "runtime": {"type": "object", "additionalProperties": False, "properties": {
            "device": {"type": "string", "default": "cpu"},
            "threads": {"type": "integer", "minimum": 0, "default": 0},
            "checkpoint_every": {"type": "integer", "minimum": 1, "default": 1, "description": "epochs between checkpoints"}}},
        "input": {"type": "object", "additionalProperties": False, "properties": {
            "max_pixels": {"type": "integer", "minimum": 1, "default": 100000000}}},
    },
}

for name, schema in [("augment", augment_schema), ("train", train_schema)]:
    path = ROOT / "configs" / "schema" / f"{name}.schema.json"
    path.write_text(json.dumps(schema, indent=2) + "\n")
    print(path)
