#!/usr/bin/python3
"""Builds the small TorchScript models with hand-set weights that the prune tests check
against known answers.

    /usr/bin/python3 make_tools_prune_models.py OUT_DIR

OUT_DIR/
  generic.pt     Conv2d(3, 4, 3, padding 1) -> ReLU -> Conv2d(4, 2, 1) -> mean -> Linear(2, 3),
                 a plain scripted model (not a cvtool classifier: pruned frozen). conv1's
                 weights are +-(1..108)/100 in a fixed shuffle, so the smallest half by
                 magnitude is exactly |w| <= 0.54; its output channel c has every weight
                 scaled by (c + 1), so channel 0 has the lowest L1 norm, then 1, 2, 3.
  noweights.pt   y = 2x + 1: no convolution or linear layer
  images/<0|1>/  4x4 grey PNGs for the CLI runs
  prune-generic.json  a prune config for generic.pt on those images
"""
import json
import os
import sys

import cv2
import numpy as np
import torch


class Generic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(4, 2, 1)
        self.fc = torch.nn.Linear(2, 3)

    def forward(self, x):
        return self.fc(self.conv2(torch.relu(self.conv1(x))).mean([2, 3]))


class NoWeights(torch.nn.Module):
    def forward(self, x):
        return 2 * x + 1


def conv1_weight():
    rng = np.random.RandomState(7)
    mags = np.arange(1, 109, dtype=np.float64) / 100.0
    signs = np.where(rng.rand(108) < 0.5, -1.0, 1.0)
    return torch.tensor((mags * signs)[rng.permutation(108)].reshape(4, 3, 3, 3), dtype=torch.float32)


def main(out):
    os.makedirs(out, exist_ok=True)
    with torch.no_grad():
        g = Generic()
        g.conv1.weight.copy_(conv1_weight())
        g.conv1.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.05]))
        g.conv2.weight.copy_(torch.tensor([[0.5, -1.0, 0.25, 2.0], [-0.3, 0.7, 1.1, -0.2]]).reshape(2, 4, 1, 1))
        g.conv2.bias.copy_(torch.tensor([0.0, 0.1]))
        g.fc.weight.copy_(torch.tensor([[1.0, -0.5], [0.25, 0.75], [-1.5, 0.1]]))
        g.fc.bias.copy_(torch.tensor([0.0, 0.2, -0.1]))
        torch.jit.script(g.eval()).save(os.path.join(out, "generic.pt"))
        torch.jit.script(NoWeights().eval()).save(os.path.join(out, "noweights.pt"))
        # The channel-ordering variant: channel c scaled by (c + 1) -> L1 ascending with c.
        g.conv1.weight.copy_(conv1_weight().abs() * torch.arange(1, 5, dtype=torch.float32).reshape(4, 1, 1, 1) / 10)
        torch.jit.script(g.eval()).save(os.path.join(out, "generic-channels.pt"))

    for cls, base, dot in (("0", 0, 255), ("1", 255, 0)):
        d = os.path.join(out, "images", cls)
        os.makedirs(d, exist_ok=True)
        for i in range(4):
            img = np.full((4, 4), base, np.uint8)
            img[i // 2, i % 2] = dot
            cv2.imwrite(os.path.join(d, f"{i}.png"), img)
    config = {
        "task": "prune",
        "model": {"path": "generic.pt", "input_size": [4, 4], "resize": "stretch", "color": "rgb",
                  "scale": 1 / 255, "mean": [0, 0, 0], "std": [1, 1, 1], "layout": "nchw"},
        "prune": {"method": "unstructured", "sparsity": 0.5},
        "bench": {"runs": 2, "warmup": 0},
    }
    with open(os.path.join(out, "prune-generic.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"{out}: prune test models written")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
