#!/usr/bin/python3
"""Prepares the digits experiments' data from Debian's opencv-doc digits.png
(5000 handwritten digits, 20x20 cells, 500 per class) and rendered font digits.

  /usr/bin/python3 scripts/bench/digits_prepare.py OUT_DIR

OUT_DIR/
  train/<d>/    400 per class (the first 400 of each class after a seeded shuffle)
  test/<d>/     the other 100 per class: held out, never trained or validated on
  few10/<d>/    10 per class, taken from train/
  imbalanced/<d>/ train/, but classes 3 and 8 keep only 5% (20 images)
  fonts/<d>/    synthetic: every digit in every TrueType font under /usr/share/fonts,
                8 jittered renderings each (offset, size, rotation, stroke, blur)
"""
import pathlib, random, sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SRC = "/usr/share/doc/opencv-doc/examples/data/digits.png"


def save(img, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def main(out):
    out = pathlib.Path(out)
    sheet = np.array(Image.open(SRC).convert("L"))
    assert sheet.shape == (1000, 2000), sheet.shape
    cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3).reshape(5000, 20, 20)
    rng = random.Random(0)
    for d in range(10):
        idx = list(range(d * 500, (d + 1) * 500))  # 5 rows of 100 per digit
        rng.shuffle(idx)
        train, test = idx[:400], idx[400:]
        for k, i in enumerate(train):
            save(cells[i], out / "train" / str(d) / f"{i:04d}.png")
            if k < 10:
                save(cells[i], out / "few10" / str(d) / f"{i:04d}.png")
            if d not in (3, 8) or k < 20:
                save(cells[i], out / "imbalanced" / str(d) / f"{i:04d}.png")
        for i in test:
            save(cells[i], out / "test" / str(d) / f"{i:04d}.png")

    fonts = sorted(p for p in pathlib.Path("/usr/share/fonts").rglob("*.ttf") if "Math" not in p.name)
    n = 0
    for f in fonts:
        for size in (14, 16, 18):
            try:
                font = ImageFont.truetype(str(f), size)
            except OSError:
                continue
            for d in range(10):
                for v in range(3 if size != 16 else 2):
                    canvas = Image.new("L", (40, 40), 0)
                    draw = ImageDraw.Draw(canvas)
                    x0, y0, x1, y1 = draw.textbbox((0, 0), str(d), font=font, stroke_width=rng.choice((0, 0, 1)))
                    ox = 20 - (x0 + x1) / 2 + rng.uniform(-1.5, 1.5)
                    oy = 20 - (y0 + y1) / 2 + rng.uniform(-1.5, 1.5)
                    draw.text((ox, oy), str(d), fill=255, font=font, stroke_width=rng.choice((0, 0, 1)), stroke_fill=255)
                    canvas = canvas.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR)
                    canvas = canvas.crop((10, 10, 30, 30))
                    if rng.random() < 0.5:
                        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
                    save(np.array(canvas), out / "fonts" / str(d) / f"{f.stem}-{size}-{v}.png")
                    n += 1
    print(f"{out}: train 4000, test 1000, few10 100, imbalanced {3200 + 40}, fonts {n} ({len(fonts)} fonts)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
