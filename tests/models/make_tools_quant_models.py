#!/usr/bin/python3
"""Builds the small TorchScript models with hand-set weights that the quantize and
distill tests check against known answers.

    /usr/bin/python3 make_tools_quant_models.py OUT_DIR

OUT_DIR/
  linear.pt        Linear(4, 3), weights and bias below: dynamic int8 must stay within
                   the error bound the test computes from the quantization steps
  halfexact.pt     Linear(4, 2) whose weights are exact in float16: fp16 storage is lossless
  conv1x1.pt       y = 2 * mean_c(x) + 0.5 as a 1x1 Conv2d (3 -> 1 channel), then flatten +
                   Linear(16, 2) (weights below): static int8 qparams follow from the
                   calibration range of x
  deconv.pt        Conv2d then ConvTranspose2d: static int8 must refuse the transposed conv
  teacher.pt       Linear(3 -> 3) over the mean colour of an NCHW image: a distillation
                   teacher whose logits are known for a given input
  images/          4x4 grey PNGs (values 0 and 255) for the CLI runs, in class folders
  quantize-conv.json  a quantize config for conv1x1.pt on those images
  teacher-rgb.json, teacher-ab.json  classify configs of teacher.pt (labels r,g,b / a,b,c)
"""
import json
import os
import sys

import numpy as np
import torch
import cv2

LINEAR_W = [[0.5, -1.0, 0.25, 2.0], [-0.3, 0.7, 1.1, -0.2], [0.05, 0.0, -0.9, 0.6]]
LINEAR_B = [0.1, -0.2, 0.3]


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 1, 1)
        self.fc = torch.nn.Linear(16, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


class DeconvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)
        self.up = torch.nn.ConvTranspose2d(2, 1, 2, stride=2)

    def forward(self, x):
        return self.up(torch.relu(self.conv(x)))


class MeanColour(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x.mean([2, 3]))


def main(out):
    os.makedirs(out, exist_ok=True)
    with torch.no_grad():
        lin = torch.nn.Linear(4, 3)
        lin.weight.copy_(torch.tensor(LINEAR_W))
        lin.bias.copy_(torch.tensor(LINEAR_B))
        torch.jit.script(lin.eval()).save(os.path.join(out, "linear.pt"))

        half = torch.nn.Linear(4, 2)
        half.weight.copy_(torch.tensor([[0.5, -0.25, 1.0, 2.0], [0.125, 4.0, -1.5, 0.75]]))
        half.bias.copy_(torch.tensor([0.5, -1.0]))
        torch.jit.script(half.eval()).save(os.path.join(out, "halfexact.pt"))

        conv = ConvNet()
        conv.conv.weight.fill_(2.0 / 3.0)
        conv.conv.bias.fill_(0.5)
        conv.fc.weight.copy_(torch.linspace(-1, 1, 32).reshape(2, 16))
        conv.fc.bias.copy_(torch.tensor([0.0, 0.1]))
        torch.jit.script(conv.eval()).save(os.path.join(out, "conv1x1.pt"))

        torch.manual_seed(0)
        torch.jit.script(DeconvNet().eval()).save(os.path.join(out, "deconv.pt"))

        teacher = MeanColour()
        teacher.fc.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
        teacher.fc.bias.copy_(torch.tensor([0.0, 0.0, 0.0]))
        torch.jit.script(teacher.eval()).save(os.path.join(out, "teacher.pt"))

    # 4x4 grey images: class a is dark with one white pixel, class b bright with one black.
    for cls, base, dot in (("a", 0, 255), ("b", 255, 0)):
        d = os.path.join(out, "images", cls)
        os.makedirs(d, exist_ok=True)
        for i in range(4):
            img = np.full((4, 4), base, np.uint8)
            img[i // 2, i % 2] = dot
            cv2.imwrite(os.path.join(d, f"{i}.png"), img)
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("a\nb\n")
    config = {
        "task": "quantize",
        "model": {"path": "conv1x1.pt", "input_size": [4, 4], "resize": "stretch", "color": "rgb",
                  "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1], "layout": "nchw", "labels": "labels.txt"},
        "quantize": {"mode": "static", "engine": "onednn"},
        "bench": {"runs": 3, "warmup": 1},
    }
    with open(os.path.join(out, "quantize-conv.json"), "w") as f:
        json.dump(config, f, indent=2)
    # The teacher's classify configs: labels r, g, b (reordered to the student's classes),
    # and a, b, c for the CLI run on images/ (classes a and b).
    for name, labels in (("teacher-rgb", "r\ng\nb\n"), ("teacher-ab", "a\nb\nc\n")):
        with open(os.path.join(out, name + ".txt"), "w") as f:
            f.write(labels)
        teacher_config = {
            "task": "classify",
            "model": {"path": "teacher.pt", "input_size": [4, 4], "resize": "stretch", "color": "rgb",
                      "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1], "layout": "nchw", "labels": name + ".txt"},
        }
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(teacher_config, f, indent=2)
    print(f"{out}: quantize/distill test models written")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
