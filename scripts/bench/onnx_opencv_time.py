#!/usr/bin/python3
"""Times one ONNX model on OpenCV DNN like onnx_time.js does on ONNX Runtime; prints
one JSON line, or {"error": ...} when OpenCV cannot load or run the model.

    /usr/bin/python3 scripts/bench/onnx_opencv_time.py MODEL.onnx 1x3x640x640 [--runs N] [--warmup N] [--threads N]
"""
import argparse
import json
import time

import cv2
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("shape")
ap.add_argument("--runs", type=int, default=10)
ap.add_argument("--warmup", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
shape = [int(s) for s in a.shape.split("x")]
cv2.setNumThreads(a.threads)
record = {"runtime": "opencv-dnn " + cv2.__version__, "model": a.model, "shape": shape, "threads": a.threads}
try:
    t = time.perf_counter()
    net = cv2.dnn.readNetFromONNX(a.model)
    record["load_ms"] = (time.perf_counter() - t) * 1e3
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    t = time.perf_counter()
    net.setInput(x)
    net.forward()
    record["first_call_ms"] = (time.perf_counter() - t) * 1e3
    for _ in range(a.warmup - 1):
        net.setInput(x)
        net.forward()
    ms = []
    for _ in range(a.runs):
        t = time.perf_counter()
        net.setInput(x)
        net.forward()
        ms.append((time.perf_counter() - t) * 1e3)
    p50 = float(np.percentile(ms, 50, method="inverted_cdf"))
    record["ms"] = {"p50": p50, "p95": float(np.percentile(ms, 95, method="inverted_cdf")), "min": min(ms)}
    record["images_per_s"] = shape[0] * 1e3 / p50
except cv2.error as e:
    record["error"] = str(e).strip().splitlines()[-1][:200]
print(json.dumps(record))
