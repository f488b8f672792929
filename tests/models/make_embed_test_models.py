#!/usr/bin/python3
"""Test models with known weights for the embed tests, and what they must give.

Writes into OUT_DIR:
  embed_tuple.pt    forward(x) -> (feature map N x 4 x H x W, logits N x 2); has a
                    submodule `backbone` (the 1x1 conv + ReLU) and `head`
  embed_dict.pt     forward(x) -> {"features": map, "logits": logits}
  embed_input.png   a 16x12 test image (BGR on disk, like any PNG)
  expected.json     the pooled / normalised / flipped vectors for that image
  numpy_f4.npy, numpy_f8.npy  arrays written by numpy.save for the reader test
Usage: make_embed_test_models.py OUT_DIR
"""
import json
import os
import sys

import cv2
import numpy as np
import torch
from typing import Dict


class Backbone(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0],
                                                 [0.5, -1.0, 0.25]]).view(4, 3, 1, 1))
            self.conv.bias.copy_(torch.tensor([0.0, 0.1, -0.2, 0.3]))

    def forward(self, x):
        return torch.relu(self.conv(x))


class Head(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0]]))
            self.fc.bias.copy_(torch.tensor([0.5, -0.5]))

    def forward(self, f):
        return self.fc(f.mean(dim=(2, 3)))


class TupleNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.head = Head()

    def forward(self, x):
        f = self.backbone(x)
        return f, self.head(f)


class DictNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.head = Head()

    def forward(self, x) -> Dict[str, torch.Tensor]:
        f = self.backbone(x)
        return {"features": f, "logits": self.head(f)}


def l2n(v):
    return v / max(float(np.linalg.norm(v)), 1e-12)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    tuple_net, dict_net = TupleNet().eval(), DictNet().eval()
    torch.jit.script(tuple_net).save(os.path.join(out, "embed_tuple.pt"))
    torch.jit.script(dict_net).save(os.path.join(out, "embed_dict.pt"))

    # A deterministic, left-right asymmetric image.
    h, w = 12, 16
    yy, xx = np.mgrid[0:h, 0:w]
    bgr = np.stack([(xx * 15) % 256, (yy * 20 + xx * 3) % 256, (255 - xx * xx) % 256], axis=2).astype(np.uint8)
    cv2.imwrite(os.path.join(out, "embed_input.png"), bgr)
    x = torch.from_numpy(bgr[:, :, ::-1].astype(np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    with torch.no_grad():
        fmap, logits = tuple_net(x)
        fmap_flip, _ = tuple_net(torch.flip(x, dims=[3]))
    f = fmap[0].numpy().astype(np.float64)
    ff = fmap_flip[0].numpy().astype(np.float64)
    expected = {
        "avg": l2n(f.mean(axis=(1, 2))).tolist(),
        "avg_raw": f.mean(axis=(1, 2)).tolist(),
        "max": l2n(f.max(axis=(1, 2))).tolist(),
        # Global pooling is mirror-invariant: flip averaging shows with flatten.
        "flatten": l2n(f.reshape(-1)).tolist(),
        "flatten_flip": l2n((f.reshape(-1) + ff.reshape(-1)) / 2).tolist(),
        "logits": l2n(logits[0].numpy().astype(np.float64)).tolist(),
    }
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)
    np.save(os.path.join(out, "numpy_f4.npy"), np.arange(12, dtype=np.float32).reshape(3, 4) / 4)
    np.save(os.path.join(out, "numpy_f8.npy"), np.array([[1.5, -2.25], [3.0, 1e-3]], dtype=np.float64))
    print("embed test models in", out)


if __name__ == "__main__":
    main()
