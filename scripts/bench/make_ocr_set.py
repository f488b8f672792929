#!/usr/bin/python3
"""Renders the synthetic OCR evaluation set: 20 images of known text (several fonts and
sizes, rotations within +-5 degrees, blur, noise, JPEG) and their gt.jsonl ({source, text}).
Deterministic (fixed seed), so reruns give the same images.
usage: /usr/bin/python3 make_ocr_set.py OUT_DIR
"""
import io
import json
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
]

TEXTS = [
    ["The quick brown fox", "jumps over the lazy dog"],
    ["Invoice No. 20481", "Total due: $1,249.50"],
    ["OPEN 9:00 - 17:30", "Monday to Friday"],
    ["Platform 4", "Departure 14:05"],
    ["Keep this door closed"],
    ["Computer vision reads", "text from images"],
    ["Exit only", "No parking at any time"],
    ["Fresh bread daily", "since 1952"],
    ["Temperature 23.5 C", "Humidity 41%"],
    ["Call 0800 555 0199"],
    ["Warning: high voltage"],
    ["Lot 7 batch B-3312", "Best before 2027-03-15"],
    ["Welcome to the library", "Please be quiet"],
    ["Main Street 221b"],
    ["Sale 50% off", "all winter coats"],
    ["Route 66", "next exit 2 miles"],
    ["Hello World"],
    ["Push to open"],
    ["Order #A-7731 shipped", "Tracking 1Z999AA10123456784"],
    ["Meeting room", "Level 3 East Wing"],
]


def render(lines, font_path, size, rng):
    font = ImageFont.truetype(font_path, size)
    pad = size
    widths = [font.getbbox(t)[2] for t in lines]
    line_h = int(size * 1.5)
    w, h = max(widths) + 2 * pad, line_h * len(lines) + 2 * pad
    bg = rng.randint(200, 255)
    fg = rng.randint(0, 60)
    img = Image.new("L", (w, h), bg)
    draw = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        draw.text((pad, pad + i * line_h), t, font=font, fill=fg)
    angle = rng.uniform(-5, 5)
    img = img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=bg)
    return img.convert("RGB"), angle


def degrade(img, kind, rng):
    if kind == "blur":
        return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.5)))
    if kind == "noise":
        a = np.asarray(img).astype(np.float32)
        a += np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, 12, a.shape)
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if kind == "jpeg":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(15, 30))
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "ocr-set"
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261127)
    kinds = ["clean", "blur", "noise", "jpeg"]
    with open(os.path.join(out, "gt.jsonl"), "w") as gt:
        for i, lines in enumerate(TEXTS):
            font = FONTS[i % len(FONTS)]
            size = rng.choice([18, 24, 32, 40, 56])
            kind = kinds[i % len(kinds)]
            img, angle = render(lines, font, size, rng)
            img = degrade(img, kind, rng)
            name = f"synth_{i:02d}.png"
            img.save(os.path.join(out, name))
            gt.write(json.dumps({"source": name, "text": "\n".join(lines),
                                 "font": os.path.basename(font), "size": size,
                                 "angle": round(angle, 2), "degradation": kind}) + "\n")
    print(f"wrote {len(TEXTS)} images and gt.jsonl to {out}")


if __name__ == "__main__":
    main()
