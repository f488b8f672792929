#!/usr/bin/python3
"""Renders the synthetic OCR evaluation sets with known text and writes a gt.jsonl
({source, text, ...}) for each. Deterministic (fixed seed), so reruns give the same images.

  lines/  60 short signs and labels (1-2 lines): 24 fonts from Debian font packages,
          text 14-56 px, rotation within +-10 degrees, in turn clean, Gaussian blur,
          Gaussian noise or JPEG quality 15-30, grey or coloured backgrounds.
  docs/   8 document pages (12-16 lines of prose, 14-22 px, rotation within +-2 degrees,
          the same four degradations).

Fonts missing on this machine are skipped with a warning (ocr_peers.sh installs the
packages: fonts-dejavu-core fonts-liberation fonts-freefont-ttf fonts-crosextra-carlito
fonts-crosextra-caladea fonts-lato fonts-open-sans fonts-roboto-unhinted fonts-cantarell
fonts-linuxlibertine fonts-inconsolata fonts-urw-base35).
usage: /usr/bin/python3 make_ocr_set.py OUT_DIR   (writes OUT_DIR/lines and OUT_DIR/docs)
"""
import io
import json
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = [
    "truetype/dejavu/DejaVuSans.ttf",
    "truetype/dejavu/DejaVuSerif.ttf",
    "truetype/dejavu/DejaVuSansMono.ttf",
    "truetype/dejavu/DejaVuSans-Bold.ttf",
    "truetype/dejavu/DejaVuSerif-Italic.ttf",
    "truetype/liberation/LiberationSans-Regular.ttf",
    "truetype/liberation/LiberationSerif-Regular.ttf",
    "truetype/liberation/LiberationMono-Regular.ttf",
    "truetype/freefont/FreeSans.ttf",
    "truetype/freefont/FreeSerif.ttf",
    "truetype/freefont/FreeMono.ttf",
    "truetype/crosextra/Carlito-Regular.ttf",
    "truetype/crosextra/Caladea-Regular.ttf",
    "truetype/lato/Lato-Regular.ttf",
    "truetype/lato/Lato-Bold.ttf",
    "truetype/open-sans/OpenSans-Regular.ttf",
    "truetype/roboto/unhinted/RobotoTTF/Roboto-Regular.ttf",
    "opentype/cantarell/Cantarell-Regular.otf",
    "opentype/linux-libertine/LinLibertine_R.otf",
    "opentype/linux-libertine/LinBiolinum_R.otf",
    "truetype/inconsolata/Inconsolata.otf",
    "opentype/urw-base35/NimbusSans-Regular.otf",
    "opentype/urw-base35/NimbusRoman-Regular.otf",
    "opentype/urw-base35/P052-Roman.otf",
]

SIGNS = [
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
    ["Fire assembly point"],
    ["Coffee and tea", "served all day"],
    ["Gate B12", "Boarding 06:45"],
    ["Do not feed the animals"],
    ["Staff only beyond this point"],
    ["Speed limit 30"],
    ["Recycling centre", "open Saturday"],
    ["Room 404", "Server hall"],
    ["Handle with care", "Fragile glass"],
    ["Pharmacy", "Late night opening"],
]

PROSE = (
    "Optical character recognition turns pictures of text into characters that a computer "
    "can search, edit and store. A modern system first finds the lines of text in the image "
    "and then reads each line with a recognition network. The detector predicts for every "
    "pixel how likely it is to belong to text, and the lines are the connected regions of "
    "that map, grown a little so that no letter is cut. Each line is cut out, straightened "
    "and scaled to a fixed height before the recogniser reads it from left to right. "
    "Printed pages are the easy case: dark letters on a light background, straight lines "
    "and a handful of fonts. Photographs of streets, shops and products are harder, since "
    "the text is small, tilted, blurred or partly hidden, and the background is busy. "
    "Good results need careful measurements on both kinds of images, with the same images "
    "given to every system that is compared, and with honest notes about where each system "
    "fails. The numbers in this report were measured on a small shared computer with two "
    "processor cores, so the speeds are rough and should be repeated before they are "
    "trusted. Please send corrections to the address on the last page of this document."
).split()


def font_paths():
    found = []
    for rel in FONTS:
        path = os.path.join("/usr/share/fonts", rel)
        if os.path.exists(path):
            found.append(path)
        else:
            print(f"warning: font {path} missing, skipped", file=sys.stderr)
    if not found:
        sys.exit("no fonts found")
    return found


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


def colours(rng, page=False):
    # Dark on light most of the time, light on dark sometimes, as on signs; pages are paper.
    if page:
        return tuple(rng.randint(220, 255) for _ in range(3)), tuple(rng.randint(0, 50) for _ in range(3))
    if rng.random() < 0.75:
        bg = tuple(rng.randint(180, 255) for _ in range(3))
        fg = tuple(rng.randint(0, 70) for _ in range(3))
    else:
        bg = tuple(rng.randint(0, 80) for _ in range(3))
        fg = tuple(rng.randint(200, 255) for _ in range(3))
    return bg, fg


def render(lines, font_path, size, angle, rng, line_spacing=1.5, pad=None, page=False):
    font = ImageFont.truetype(font_path, size)
    pad = size if pad is None else pad
    widths = [font.getbbox(t)[2] for t in lines]
    line_h = int(size * line_spacing)
    w, h = max(widths) + 2 * pad, line_h * len(lines) + 2 * pad
    bg, fg = colours(rng, page)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    for i, t in enumerate(lines):
        draw.text((pad, pad + i * line_h), t, font=font, fill=fg)
    return img.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=bg)


def make_lines(out, fonts, rng):
    os.makedirs(out, exist_ok=True)
    kinds = ["clean", "blur", "noise", "jpeg"]
    with open(os.path.join(out, "gt.jsonl"), "w") as gt:
        for i in range(2 * len(SIGNS)):
            lines = SIGNS[i % len(SIGNS)]
            font = fonts[i % len(fonts)]
            size = rng.choice([14, 18, 22, 28, 36, 44, 56])
            angle = rng.uniform(-10, 10)
            kind = kinds[i % len(kinds)]
            img = degrade(render(lines, font, size, angle, rng), kind, rng)
            name = f"line_{i:02d}.png"
            img.save(os.path.join(out, name))
            gt.write(json.dumps({"source": name, "text": "\n".join(lines),
                                 "font": os.path.basename(font), "size": size,
                                 "angle": round(angle, 2), "degradation": kind}) + "\n")


def wrap(words, font, width):
    lines, cur = [], []
    for w in words:
        if cur and font.getbbox(" ".join(cur + [w]))[2] > width:
            lines.append(" ".join(cur))
            cur = []
        cur.append(w)
    if cur:
        lines.append(" ".join(cur))
    return lines


def make_docs(out, fonts, rng):
    os.makedirs(out, exist_ok=True)
    kinds = ["clean", "blur", "noise", "jpeg"]
    with open(os.path.join(out, "gt.jsonl"), "w") as gt:
        for i in range(8):
            font_path = fonts[(5 * i + 3) % len(fonts)]
            size = rng.choice([14, 16, 18, 20, 22])
            font = ImageFont.truetype(font_path, size)
            start = rng.randint(0, len(PROSE) - 1)
            words = (PROSE[start:] + PROSE[:start])
            lines = wrap(words, font, 44 * size)[: rng.randint(12, 16)]
            angle = rng.uniform(-2, 2)
            kind = kinds[i % len(kinds)]
            img = render(lines, font_path, size, angle, rng, line_spacing=1.6, pad=3 * size, page=True)
            img = degrade(img, kind, rng)
            name = f"doc_{i:02d}.png"
            img.save(os.path.join(out, name))
            gt.write(json.dumps({"source": name, "text": "\n".join(lines),
                                 "font": os.path.basename(font_path), "size": size,
                                 "angle": round(angle, 2), "degradation": kind}) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "ocr-set"
    fonts = font_paths()
    make_lines(os.path.join(out, "lines"), fonts, random.Random(20261127))
    make_docs(os.path.join(out, "docs"), fonts, random.Random(20261128))
    print(f"wrote {2 * len(SIGNS)} line images and 8 pages ({len(fonts)} fonts) to {out}")


if __name__ == "__main__":
    main()
