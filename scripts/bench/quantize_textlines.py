#!/usr/bin/python3
"""Rendered text lines, upright and turned 180 degrees, as an ImageFolder for measuring
the PP-OCR orientation classifier before and after quantization (docs/quantize.md).

  /usr/bin/python3 scripts/bench/quantize_textlines.py OUT_DIR [N]

OUT_DIR/0/*.png and OUT_DIR/180/*.png (N each, default 100), OUT_DIR/labels.txt ("0", "180"
in the classifier's output order). Seeded: the same set every run.
"""
import pathlib, random, sys

from PIL import Image, ImageDraw, ImageFont

WORDS = ("invoice total amount due date customer order number street city phone email "
         "reference payment account balance quantity price tax shipping address receipt "
         "warehouse delivery station platform departure arrival gate ticket").split()


def main(out, n):
    out = pathlib.Path(out)
    fonts = sorted(str(p) for p in pathlib.Path("/usr/share/fonts").rglob("*.ttf") if "Math" not in p.name)
    rng = random.Random(0)
    for k in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
        font = ImageFont.truetype(rng.choice(fonts), rng.randint(22, 30))
        x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=font)
        bg = tuple(rng.randint(180, 255) for _ in range(3))
        fg = tuple(rng.randint(0, 80) for _ in range(3))
        img = Image.new("RGB", (x1 - x0 + 16, y1 - y0 + 12), bg)
        ImageDraw.Draw(img).text((8 - x0, 6 - y0), text, font=font, fill=fg)
        for label, im in (("0", img), ("180", img.rotate(180))):
            d = out / label
            d.mkdir(parents=True, exist_ok=True)
            im.save(d / f"{k:03d}.png")
    (out / "labels.txt").write_text("0\n180\n")
    print(f"{out}: {n} upright + {n} turned text lines")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 100)
