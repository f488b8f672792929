#!/usr/bin/python3
"""Hand-built TorchScript classifiers whose saliency and robustness are known, for the
explain / robustness / adversarial tests.

    /usr/bin/python3 make_tools_explain_models.py OUT_DIR

Writes into OUT_DIR (every model: RGB, scale 1/255, mean 0, std 1, so the model input
equals the 0..1 pixels):
  quadrant.pt       32x32 -> 2 logits; multiplies its input by a mask that keeps only the
                    top-left 16x16 quadrant, then features (Sequential: conv 3->4, ReLU,
                    conv 4->8 stride 2, ReLU), mean pool, fc. Scripted. Nothing outside
                    the quadrant can change its output.
  functional.pt     the same quadrant model written with functional ops only (no conv
                    submodules), like cvtool's own small CNN.
  linear.pt         8x8 -> [w . x + b, 0] (traced); linear_w.npy holds w (3x8x8).
  brightness.pt     16x16 -> 10 * [0.5 - mean(x), mean(x) - 0.5]: class 1 iff the mean
                    pixel is above 0.5.
  *.json            explain / robustness configs for each (paths relative to them)
  bright/0/*.png, bright/1/*.png   grey 16x16 images: class 0 = 64, class 1 = 200
  grey.png          an 8x8 image, every pixel 128
"""
import json
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)


class Quadrant(torch.nn.Module):
    def __init__(self):
        super().__init__()
        mask = torch.zeros(1, 1, 32, 32)
        mask[..., :16, :16] = 1
        self.register_buffer("mask", mask)
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.Conv2d(4, 8, 3, stride=2, padding=1), torch.nn.ReLU())
        self.fc = torch.nn.Linear(8, 2)
        with torch.no_grad():
            # No biases before the ReLUs: a zero input stays exactly zero.
            self.features[0].bias.zero_()
            self.features[2].bias.zero_()
            self.features[0].weight.abs_()
            self.features[2].weight.abs_()
            self.fc.weight.copy_(torch.tensor([[1.0] * 8, [-1.0] * 8]))
            self.fc.bias.zero_()

    def forward(self, x):
        f = self.features(x * self.mask)
        return self.fc(f.mean((2, 3)))


class Functional(torch.nn.Module):
    def __init__(self, q):
        super().__init__()
        self.register_buffer("mask", q.mask.clone())
        self.w0 = torch.nn.Parameter(q.features[0].weight.detach().clone())
        self.w1 = torch.nn.Parameter(q.features[2].weight.detach().clone())
        self.fc_w = torch.nn.Parameter(q.fc.weight.detach().clone())

    def forward(self, x):
        x = torch.relu(F.conv2d(x * self.mask, self.w0, None, 1, 1))
        x = torch.relu(F.conv2d(x, self.w1, None, 2, 1))
        return x.mean((2, 3)) @ self.fc_w.t()


class Linear(torch.nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.fc = torch.nn.Linear(192, 1)
        with torch.no_grad():
            self.fc.weight.copy_(w.reshape(1, 192))
            self.fc.bias.fill_(b)

    def forward(self, x):
        z = self.fc(x.flatten(1))
        return torch.cat([z, torch.zeros_like(z)], 1)


class Brightness(torch.nn.Module):
    def forward(self, x):
        m = x.mean((1, 2, 3)).unsqueeze(1)
        return 10 * torch.cat([0.5 - m, m - 0.5], 1)


def model_section(path, size):
    return {"path": path, "input_size": [size, size], "color": "rgb", "scale": 1 / 255.0,
            "mean": [0, 0, 0], "std": [1, 1, 1]}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    q = Quadrant().eval()
    torch.jit.script(q).save(os.path.join(out, "quadrant.pt"))
    torch.jit.script(Functional(q).eval()).save(os.path.join(out, "functional.pt"))
    # Weights bounded away from 0 so that sign(w) is never 0.
    w = (torch.rand(3, 8, 8) * 0.9 + 0.1) * torch.where(torch.rand(3, 8, 8) < 0.5, -1.0, 1.0)
    np.save(os.path.join(out, "linear_w.npy"), w.numpy().astype(np.float32))
    torch.jit.trace(Linear(w, 0.25).eval(), torch.zeros(1, 3, 8, 8)).save(os.path.join(out, "linear.pt"))
    torch.jit.script(Brightness()).save(os.path.join(out, "brightness.pt"))

    for name, size in (("quadrant", 32), ("functional", 32), ("linear", 8)):
        cfg = {"task": "explain", "model": model_section(f"{name}.pt", size)}
        json.dump(cfg, open(os.path.join(out, f"explain-{name}.json"), "w"), indent=2)
    for name, size in (("brightness", 16), ("linear", 8), ("quadrant", 32)):
        cfg = {"task": "robustness", "model": model_section(f"{name}.pt", size)}
        json.dump(cfg, open(os.path.join(out, f"robustness-{name}.json"), "w"), indent=2)

    for label, value in ((0, 64), (1, 200)):
        d = os.path.join(out, "bright", str(label))
        os.makedirs(d, exist_ok=True)
        for k in range(2):
            cv2.imwrite(os.path.join(d, f"{k}.png"), np.full((16, 16, 3), value, np.uint8))
    cv2.imwrite(os.path.join(out, "grey.png"), np.full((8, 8, 3), 128, np.uint8))
    # A textured 32x32 image for the quadrant model.
    rng = np.random.default_rng(0)
    cv2.imwrite(os.path.join(out, "texture.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))

    # Sanity: the quadrant model ignores everything outside its quadrant.
    x = torch.rand(1, 3, 32, 32)
    y = x.clone()
    y[..., 16:, :] = 0
    y[..., :, 16:] = 0
    assert torch.allclose(q(x), q(y))
    print(f"tools explain models -> {out}")


if __name__ == "__main__":
    main()
