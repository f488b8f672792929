#!/usr/bin/python3
"""Writes the bad-input matrix for tests/cli/test_reliability.cpp into OUT_DIR.

Every file is derived from images Debian ships (OpenCV docs, scikit-image data), so the
fixture needs no download. Run with Debian's /usr/bin/python3 (PIL, numpy, cv2).
"""
import os
import shutil
import struct
import sys
import zlib

import cv2
import numpy as np
from PIL import Image

OPENCV = "/usr/share/doc/opencv-doc/examples/data/"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width, height):
    """A well-formed PNG whose header claims width x height (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * 8
    idat = zlib.compress(row * 8)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def main(out):
    shutil.rmtree(out, ignore_errors=True)
    good, bad, video = (os.path.join(out, d) for d in ("good", "bad", "video"))
    for d in (good, bad, video):
        os.makedirs(d)
    chelsea = cv2.imread(SKIMAGE + "chelsea.png")  # 451x300 cat
    # Decodable, if unusual: each must give a result.
    cv2.imwrite(os.path.join(good, "plain.jpg"), chelsea)
    cv2.imwrite(os.path.join(good, "u16.png"), chelsea.astype(np.uint16) * 257)
    cv2.imwrite(os.path.join(good, "gray.png"), cv2.cvtColor(chelsea, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(os.path.join(good, "rgba.png"), cv2.cvtColor(chelsea, cv2.COLOR_BGR2BGRA))
    Image.open(SKIMAGE + "chelsea.png").convert("CMYK").save(os.path.join(good, "cmyk.jpg"), quality=90)
    cv2.imwrite(os.path.join(good, "one_pixel.png"), np.full((1, 1, 3), 128, np.uint8))
    # Undecodable: each must fail alone, named, with its reason.
    open(os.path.join(bad, "empty.jpg"), "wb").close()
    with open(os.path.join(bad, "not_an_image.jpg"), "w") as f:
        f.write("this is a text file with an image extension\n")
    shutil.copy(SKIMAGE + "truncated.jpg", os.path.join(bad, "truncated.jpg"))
    png = open(SKIMAGE + "coins.png", "rb").read()
    with open(os.path.join(bad, "truncated.png"), "wb") as f:
        f.write(png[: len(png) // 2])
    with open(os.path.join(bad, "bomb.png"), "wb") as f:
        f.write(bomb_png(200000, 200000))
    # Videos: random bytes, and a cut-off copy of a real one.
    rng = np.random.default_rng(12)
    with open(os.path.join(video, "garbage.avi"), "wb") as f:
        f.write(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    data = open(OPENCV + "vtest.avi", "rb").read()
    with open(os.path.join(video, "truncated.avi"), "wb") as f:
        f.write(data[: len(data) // 10])


if __name__ == "__main__":
    main(sys.argv[1])
