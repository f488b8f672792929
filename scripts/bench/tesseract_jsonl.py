#!/usr/bin/env python3
"""Runs Tesseract (`tesseract IMAGE - [-l LANG]`, one process per image as the CLI is used)
and writes {source, lines:[{text}], text} records like `cvtool ocr --jsonl` on stdout.
usage: tesseract_jsonl.py [--lang eng] IMAGE... > pred.jsonl
"""
import argparse
import json
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lang", default="eng")
    ap.add_argument("images", nargs="+")
    args = ap.parse_args()
    start = time.perf_counter()
    for image in args.images:
        run = subprocess.run(["tesseract", image, "-", "-l", args.lang],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(json.dumps({"source": image, "error": run.stderr.strip()}))
            continue
        lines = [l for l in run.stdout.splitlines() if l.strip()]
        print(json.dumps({"source": image, "lines": [{"text": l} for l in lines],
                          "text": "\n".join(lines)}, ensure_ascii=False))
    print(f"tesseract: {len(args.images)} images in {time.perf_counter() - start:.3f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
