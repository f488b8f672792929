#!/usr/bin/python3
"""Scores `cvtool classify --jsonl` output on an ImageFolder test set: the true class is
the image's parent folder name. Prints accuracy and per-class recall; --json for a record.

  cvtool classify DATA/test -c RUN/classify.json --jsonl -k 1 | scripts/bench/digits_score.py [--json NAME]
"""
import json, pathlib, sys

name = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--json" else None
per = {}
for line in sys.stdin:
    r = json.loads(line)
    if "error" in r:
        continue
    truth = pathlib.Path(r["source"]).parent.name
    pred = r["classes"][0]["label"] if r["classes"] else None
    t, c = per.get(truth, (0, 0))
    per[truth] = (t + 1, c + (pred == truth))
total = sum(t for t, _ in per.values())
correct = sum(c for _, c in per.values())
recall = {k: round(c / t, 3) for k, (t, c) in sorted(per.items())}
if name:
    print(json.dumps({"run": name, "accuracy": round(correct / total, 4), "images": total, "recall": recall}))
else:
    print(f"accuracy {correct / total:.4f} ({correct}/{total})")
    print("recall " + " ".join(f"{k}:{v:.2f}" for k, v in recall.items()))
