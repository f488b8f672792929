"""Unit tests for scripts/convert/tfjs2torchscript.py.

Each test writes a tiny TF.js graph model (model.json + .bin) into a temp dir,
converts it, and compares the TorchScript output with a reference computed
here with plain numpy loops following TF's definitions (not with the torch
ops the converter uses), so layout or padding mistakes cannot cancel out.

Run: cd /work/main && /usr/bin/python3 -m unittest discover -s tests/convert -p 'test_tfjs*.py'
"""

import base64
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "convert"))
import tfjs2torchscript as t2t  # noqa: E402


# ---------------------------------------------------------------------------
# Building TF.js graph models
# ---------------------------------------------------------------------------

def s(v):
    return {"s": base64.b64encode(v.encode()).decode()}


def ints(v):
    return {"list": {"i": [str(i) for i in v]}}


def strs(v):
    return {"list": {"s": [base64.b64encode(x.encode()).decode() for x in v]}}


def b(v):
    return {"b": v}


def i(v):
    return {"i": str(v)}


class Model:
    """Accumulates nodes and weights, then writes model.json + group1-shard1of1.bin."""

    def __init__(self, input_shape, input_dtype="DT_FLOAT"):
        self.nodes = [{"name": "x", "op": "Placeholder", "attr": {
            "dtype": {"type": input_dtype},
            "shape": {"shape": {"dim": [{"size": str(d)} for d in input_shape]}}}}]
        self.weights = []  # (name, array, quantization or None)

    def const(self, name, value, quant=None):
        value = np.asarray(value)
        dt = "DT_INT32" if value.dtype.kind in "iu" else "DT_FLOAT"
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": dt}}})
        self.weights.append((name, value, quant))
        return name

    def node(self, name, op, inputs, **attr):
        self.nodes.append({"name": name, "op": op, "input": list(inputs), "attr": attr})
        return name

    def write(self, d):
        specs, blob = [], b""
        for name, v, quant in self.weights:
            spec = {"name": name, "shape": list(v.shape),
                    "dtype": "int32" if v.dtype.kind in "iu" else "float32"}
            if quant == "float16":
                blob += v.astype(np.float16).tobytes()
                spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            elif quant == "uint8":
                lo, hi = float(v.min()), float(v.max())
                scale = (hi - lo) / 255.0 or 1.0
                q = np.round((v - lo) / scale).astype(np.uint8)
                blob += q.tobytes()
                spec["quantization"] = {"dtype": "uint8", "scale": scale, "min": lo, "original_dtype": "float32"}
            else:
                blob += v.astype(np.int32 if v.dtype.kind in "iu" else np.float32).tobytes()
            specs.append(spec)
        with open(os.path.join(d, "group1-shard1of1.bin"), "wb") as f:
            f.write(blob)
        path = os.path.join(d, "model.json")
        with open(path, "w") as f:
            json.dump({"format": "graph-model", "modelTopology": {"node": self.nodes},
                       "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": specs}]}, f)
        return path


def dequant(v, quant):
    """What the converter (and TF.js) should see for a quantized weight."""
    if quant == "float16":
        return v.astype(np.float16).astype(np.float32)
    if quant == "uint8":
        lo, hi = float(v.min()), float(v.max())
        scale = (hi - lo) / 255.0 or 1.0
        return (np.round((v - lo) / scale).astype(np.float64) * scale + lo).astype(np.float32)
    return v


# ---------------------------------------------------------------------------
# numpy references, written from TF's definitions
# ---------------------------------------------------------------------------

def same_pads(n, k, st, dil=1):
    eff = (k - 1) * dil + 1
    out = -(-n // st)
    tot = max((out - 1) * st + eff - n, 0)
    return tot // 2, tot - tot // 2


def ref_conv(x, w, stride, padding, dil=1, depthwise=False):
    """x NHWC, w HWIO (or HW,C,mult for depthwise)."""
    N, H, W, C = x.shape
    kh, kw = w.shape[:2]
    if padding == "SAME":
        (pt, pb), (pl, pr) = same_pads(H, kh, stride, dil), same_pads(W, kw, stride, dil)
    else:
        pt = pb = pl = pr = 0
    xp = np.zeros((N, H + pt + pb, W + pl + pr, C), np.float64)
    xp[:, pt:pt + H, pl:pl + W] = x
    oh = (xp.shape[1] - (kh - 1) * dil - 1) // stride + 1
    ow = (xp.shape[2] - (kw - 1) * dil - 1) // stride + 1
    cout = C * w.shape[3] if depthwise else w.shape[3]
    y = np.zeros((N, oh, ow, cout))
    for oy in range(oh):
        for ox in range(ow):
            patch = xp[:, oy * stride:oy * stride + (kh - 1) * dil + 1:dil,
                       ox * stride:ox * stride + (kw - 1) * dil + 1:dil]  # N,kh,kw,C
            if depthwise:
                # out channel c*mult + m = sum_hw patch[c] * w[h, w, c, m]
                y[:, oy, ox] = np.einsum("nhwc,hwcm->ncm", patch, w).reshape(N, -1)
            else:
                y[:, oy, ox] = np.einsum("nhwc,hwco->no", patch, w)
    return y


def ref_pool(x, k, stride, padding, kind):
    N, H, W, C = x.shape
    if padding == "SAME":
        (pt, pb), (pl, pr) = same_pads(H, k, stride), same_pads(W, k, stride)
    else:
        pt = pb = pl = pr = 0
    oh = (H + pt + pb - k) // stride + 1
    ow = (W + pl + pr - k) // stride + 1
    y = np.zeros((N, oh, ow, C))
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * stride - pt, ox * stride - pl
            # TF only looks at the cells inside the image.
            win = x[:, max(y0, 0):min(y0 + k, H), max(x0, 0):min(x0 + k, W)]
            y[:, oy, ox] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return y


def ref_resize_bilinear(x, oh, ow, align_corners, half_pixel):
    N, H, W, C = x.shape

    def coords(n_in, n_out):
        sc = (n_in - 1) / (n_out - 1) if align_corners and n_out > 1 else n_in / n_out
        out = []
        for d in range(n_out):
            src = sc * (d + 0.5) - 0.5 if half_pixel else sc * d
            lo = max(int(np.floor(src)), 0)
            hi = min(int(np.ceil(src)), n_in - 1)
            out.append((lo, hi, src - lo))
        return out
    y = np.zeros((N, oh, ow, C))
    for oy, (ylo, yhi, fy) in enumerate(coords(H, oh)):
        for ox, (xlo, xhi, fx) in enumerate(coords(W, ow)):
            top = x[:, ylo, xlo] + (x[:, ylo, xhi] - x[:, ylo, xlo]) * fx
            bot = x[:, yhi, xlo] + (x[:, yhi, xhi] - x[:, yhi, xlo]) * fx
            y[:, oy, ox] = top + (bot - top) * fy
    return y


def ref_resize_nearest(x, oh, ow, align_corners, half_pixel):
    N, H, W, C = x.shape

    def idx(n_in, n_out):
        sc = (n_in - 1) / (n_out - 1) if align_corners and n_out > 1 else n_in / n_out
        res = []
        for d in range(n_out):
            src = sc * (d + 0.5) if half_pixel else sc * d
            j = int(np.floor(src + 0.5)) if align_corners else int(np.floor(src))
            res.append(max(min(j, n_in - 1), 0))
        return res
    return x[:, idx(H, oh)][:, :, idx(W, ow)]


# ---------------------------------------------------------------------------

def rnd(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


class ConverterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def run_model(self, m, x, outputs, save=True, conv_impl="aten"):
        """Convert, save, reload; return the reloaded module's outputs as numpy."""
        path = m.write(self.tmp.name)
        frozen, eager, _ = t2t.convert(path, outputs, list(x.shape), log=lambda *_: None, conv_impl=conv_impl)
        if save:
            pt = os.path.join(self.tmp.name, "m.pt")
            torch.jit.save(frozen, pt)
            frozen = torch.jit.load(pt)
        with torch.no_grad():
            got = frozen(torch.from_numpy(x))
            ref = eager(torch.from_numpy(x))
        got = got if isinstance(got, tuple) else (got,)
        ref = ref if isinstance(ref, tuple) else (ref,)
        for g_ in got:
            self.assertTrue(g_.is_contiguous(), "outputs must be contiguous NHWC for the C++ side")
        for g_, r_ in zip(got, ref):
            np.testing.assert_allclose(g_.numpy(), r_.numpy(), rtol=1e-5, atol=1e-5)
        return [g.numpy() for g in got]

    def assertClose(self, got, ref, atol=1e-5):
        self.assertEqual(tuple(got.shape), tuple(ref.shape))
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=atol)

    # -- convolutions ---------------------------------------------------------
    def test_conv2d_same_asymmetric(self):
        # 6x7 input, 3x3 kernel, stride 2: TF pads 0 top / 1 bottom, 1 left / 1 right.
        x = rnd(1, 6, 7, 2, seed=1)
        w = rnd(3, 3, 2, 4, seed=2)
        w1 = rnd(3, 3, 4, 1, seed=43)
        m = Model(x.shape)
        m.const("w", w)
        m.const("w1", w1)
        m.node("conv", "Conv2D", ["x", "w"], strides=ints([1, 2, 2, 1]), padding=s("SAME"),
               data_format=s("NHWC"), dilations=ints([1, 1, 1, 1]))
        m.node("dw", "DepthwiseConv2dNative", ["conv", "w1"], strides=ints([1, 2, 2, 1]), padding=s("SAME"))
        for impl in ("aten", "mkldnn"):
            with self.subTest(conv_impl=impl):
                y, y1 = self.run_model(m, x, ["conv", "dw"], conv_impl=impl)
                self.assertClose(y, ref_conv(x, w, 2, "SAME"))
                self.assertClose(y1, ref_conv(ref_conv(x, w, 2, "SAME"), w1, 2, "SAME", depthwise=True))
        self.assertEqual(same_pads(6, 3, 2), (0, 1))  # the asymmetric case is really exercised

    def test_conv2d_valid_and_dilated_same(self):
        x = rnd(1, 9, 8, 3, seed=3)
        w = rnd(3, 2, 3, 2, seed=4)
        m = Model(x.shape)
        m.const("w", w)
        m.node("valid", "Conv2D", ["x", "w"], strides=ints([1, 1, 1, 1]), padding=s("VALID"))
        m.node("dil", "Conv2D", ["x", "w"], strides=ints([1, 1, 1, 1]), padding=s("SAME"),
               dilations=ints([1, 2, 2, 1]))
        y1, y2 = self.run_model(m, x, ["valid", "dil"])
        self.assertClose(y1, ref_conv(x, w, 1, "VALID"))
        self.assertClose(y2, ref_conv(x, w, 1, "SAME", dil=2))

    def test_fused_conv_bias_relu6_float16_weights(self):
        x = rnd(1, 5, 5, 3, seed=5) * 4
        w, bias = rnd(3, 3, 3, 6, seed=6) * 2, rnd(6, seed=7)
        m = Model(x.shape)
        m.const("w", w, "float16")
        m.const("b", bias, "float16")
        m.node("fc", "_FusedConv2D", ["x", "w", "b"], strides=ints([1, 2, 2, 1]), padding=s("SAME"),
               fused_ops=strs(["BiasAdd", "Relu6"]), num_args=i(1))
        (y,) = self.run_model(m, x, ["fc"])
        ref = np.clip(ref_conv(x, dequant(w, "float16"), 2, "SAME") + dequant(bias, "float16"), 0, 6)
        self.assertClose(y, ref)
        self.assertTrue((ref == 6).any() and (ref == 0).any())  # both clamps are hit

    def test_fused_conv_uint8_weights(self):
        x = rnd(1, 4, 4, 2, seed=8)
        w, bias = rnd(1, 1, 2, 3, seed=9), rnd(3, seed=10)
        m = Model(x.shape)
        m.const("w", w, "uint8")
        m.const("b", bias)
        m.node("fc", "_FusedConv2D", ["x", "w", "b"], strides=ints([1, 1, 1, 1]), padding=s("VALID"),
               fused_ops=strs(["BiasAdd", "Relu"]), num_args=i(1))
        (y,) = self.run_model(m, x, ["fc"])
        self.assertClose(y, np.maximum(ref_conv(x, dequant(w, "uint8"), 1, "VALID") + bias, 0))

    def test_fused_conv_prelu_and_leakyrelu(self):
        x = rnd(1, 4, 5, 2, seed=39)
        w, bias, alpha = rnd(3, 3, 2, 3, seed=40), rnd(3, seed=41), rnd(3, seed=42)
        m = Model(x.shape)
        m.const("w", w)
        m.const("b", bias)
        m.const("alpha", alpha)
        m.node("pr", "_FusedConv2D", ["x", "w", "b", "alpha"], strides=ints([1, 1, 1, 1]), padding=s("SAME"),
               fused_ops=strs(["BiasAdd", "Prelu"]), num_args=i(2))
        m.node("lr", "_FusedConv2D", ["x", "w", "b"], strides=ints([1, 1, 1, 1]), padding=s("SAME"),
               fused_ops=strs(["BiasAdd", "LeakyRelu"]), num_args=i(1), leakyrelu_alpha={"f": 0.1})
        pr, lr = self.run_model(m, x, ["pr", "lr"])
        z = ref_conv(x, w, 1, "SAME") + bias
        self.assertClose(pr, np.where(z >= 0, z, z * alpha))
        self.assertClose(lr, np.where(z >= 0, z, z * 0.1))

    def test_depthwise_multiplier_and_fused(self):
        x = rnd(1, 7, 6, 3, seed=11)
        w = rnd(3, 3, 3, 2, seed=12)       # channel multiplier 2
        w1, b1 = rnd(5, 5, 3, 1, seed=13), rnd(3, seed=14)
        m = Model(x.shape)
        m.const("w", w)
        m.const("w1", w1)
        m.const("b1", b1)
        m.node("dw", "DepthwiseConv2dNative", ["x", "w"], strides=ints([1, 2, 2, 1]), padding=s("SAME"))
        m.node("fdw", "FusedDepthwiseConv2dNative", ["x", "w1", "b1"], strides=ints([1, 1, 1, 1]),
               padding=s("SAME"), fused_ops=strs(["BiasAdd", "Relu6"]))
        y1, y2 = self.run_model(m, x, ["dw", "fdw"])
        self.assertClose(y1, ref_conv(x, w, 2, "SAME", depthwise=True))
        self.assertClose(y2, np.clip(ref_conv(x, w1, 1, "SAME", depthwise=True) + b1, 0, 6))

    # -- resize -----------------------------------------------------------------
    def test_resize_bilinear_variants(self):
        x = rnd(1, 5, 4, 3, seed=15)
        for ac, hp in ((False, False), (True, False), (False, True)):
            for oh, ow in ((10, 8), (7, 9), (3, 2), (1, 1)):
                with self.subTest(align_corners=ac, half_pixel=hp, size=(oh, ow)):
                    m = Model(x.shape)
                    w = m.const("w", rnd(1, 1, 3, 3, seed=16))
                    m.node("c", "Conv2D", ["x", w], strides=ints([1, 1, 1, 1]), padding=s("VALID"))
                    m.const("size", np.array([oh, ow], np.int32))
                    m.node("r", "ResizeBilinear", ["c", "size"], align_corners=b(ac), half_pixel_centers=b(hp))
                    m.node("rx", "ResizeBilinear", ["x", "size"], align_corners=b(ac), half_pixel_centers=b(hp))
                    y, yx = self.run_model(m, x, ["r", "rx"], save=False)
                    c = ref_conv(x, rnd(1, 1, 3, 3, seed=16), 1, "VALID")
                    self.assertClose(y, ref_resize_bilinear(c, oh, ow, ac, hp))
                    self.assertClose(yx, ref_resize_bilinear(x, oh, ow, ac, hp))

    def test_resize_nearest_variants(self):
        x = rnd(1, 5, 4, 2, seed=17)
        for ac, hp in ((False, False), (True, False), (False, True)):
            for oh, ow in ((10, 8), (7, 9), (3, 2)):
                with self.subTest(align_corners=ac, half_pixel=hp, size=(oh, ow)):
                    m = Model(x.shape)
                    m.const("size", np.array([oh, ow], np.int32))
                    m.node("r", "ResizeNearestNeighbor", ["x", "size"], align_corners=b(ac),
                           half_pixel_centers=b(hp))
                    (y,) = self.run_model(m, x, ["r"], save=False)
                    self.assertClose(y, ref_resize_nearest(x, oh, ow, ac, hp))

    # -- layout-sensitive ops ----------------------------------------------------
    def test_concat_mean_and_broadcast_mixed_layouts(self):
        x = rnd(1, 4, 5, 2, seed=18)
        w = rnd(1, 1, 2, 3, seed=19)
        m = Model(x.shape)
        m.const("w", w)
        m.node("c", "Conv2D", ["x", "w"], strides=ints([1, 1, 1, 1]), padding=s("SAME"))
        m.const("ax", np.array(3, np.int32))
        m.const("axneg", np.array(-3, np.int32))
        m.node("cat", "ConcatV2", ["c", "x", "ax"], N=i(2))          # channels
        m.node("cat_h", "ConcatV2", ["c", "c", "axneg"], N=i(2))     # height via negative axis
        m.const("hw", np.array([1, 2], np.int32))
        m.node("mk", "Mean", ["cat", "hw"], keep_dims=b(True))
        m.node("m", "Mean", ["cat", "hw"], keep_dims=b(False))
        m.node("mc", "Mean", ["cat", "ax"], keep_dims=b(False))       # over channels
        m.const("nh", np.array([0, 2], np.int32))
        m.node("sc", "Sum", ["cat", "nh"], keep_dims=b(False))         # over batch and width
        m.const("per_c", rnd(5, seed=20))
        m.node("sub", "Sub", ["per_c", "cat"])                         # const first, 1-D broadcast
        m.node("se", "Mul", ["cat", "mk"])                             # squeeze-excite style
        m.node("div", "RealDiv", ["se", "per_c"])
        m.node("mx", "Maximum", ["div", "sub"])
        m.const("two", np.array(2.0, np.float32))
        m.node("mn", "Minimum", ["two", "mx"])
        outs = self.run_model(m, x, ["cat", "cat_h", "mk", "m", "mn", "mc", "sc"])
        c = ref_conv(x, w, 1, "SAME")
        cat = np.concatenate([c, x], axis=3)
        per_c = rnd(5, seed=20)
        mk = cat.mean(axis=(1, 2), keepdims=True)
        ref_mn = np.minimum(2.0, np.maximum(cat * mk / per_c, per_c - cat))
        refs = [cat, np.concatenate([c, c], axis=1), mk, cat.mean(axis=(1, 2)), ref_mn,
                cat.mean(axis=3), cat.sum(axis=(0, 2))]
        for got, ref in zip(outs, refs):
            self.assertClose(got, ref)

    def test_pooling_same_asymmetric(self):
        x = rnd(1, 6, 5, 3, seed=21)
        m = Model(x.shape)
        for kind, op in (("max", "MaxPool"), ("avg", "AvgPool")):
            for k, st, pad in ((3, 2, "SAME"), (2, 2, "SAME"), (3, 1, "SAME"), (2, 2, "VALID")):
                m.node(f"{kind}{k}{st}{pad}", op, ["x"], ksize=ints([1, k, k, 1]), strides=ints([1, st, st, 1]),
                       padding=s(pad), data_format=s("NHWC"))
        names = [n["name"] for n in m.nodes[1:]]
        outs = self.run_model(m, x, names)
        for name, got in zip(names, outs):
            kind = name[:3]
            k, st, pad = int(name[3]), int(name[4]), name[5:]
            with self.subTest(name=name):
                self.assertClose(got, ref_pool(x, k, st, pad, kind))

    def test_pad_reshape_squeeze_slice_transpose_softmax(self):
        x = rnd(1, 3, 4, 2, seed=22)
        m = Model(x.shape)
        m.const("w", rnd(1, 1, 2, 2, seed=23))
        m.node("c", "Conv2D", ["x", "w"], strides=ints([1, 1, 1, 1]), padding=s("VALID"))
        m.const("pads", np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))
        m.node("pad", "Pad", ["c", "pads"])
        m.const("cv", np.array(-1.5, np.float32))
        m.node("padv2", "PadV2", ["c", "pads", "cv"])
        m.const("shape", np.array([1, -1, 2], np.int32))
        m.node("rs", "Reshape", ["c", "shape"])
        m.node("sm", "Softmax", ["rs"])
        m.const("perm", np.array([0, 2, 1, 3], np.int32))
        m.node("tr", "Transpose", ["c", "perm"])
        m.const("b0", np.array([0, 1, 0, 1], np.int32))
        m.const("e0", np.array([1, 3, 4, 2], np.int32))
        m.const("s0", np.array([1, 1, 2, 1], np.int32))
        # shrink axis 3, begin_mask on axis 2: c[:, 1:3, 0:4:2, 1]
        m.node("ss", "StridedSlice", ["c", "b0", "e0", "s0"], begin_mask=i(4), end_mask=i(0),
               ellipsis_mask=i(0), new_axis_mask=i(0), shrink_axis_mask=i(8))
        m.node("sq", "Squeeze", ["ss"], squeeze_dims=ints([0]))
        m.node("sig", "Sigmoid", ["sq"])
        outs = self.run_model(m, x, ["pad", "padv2", "sm", "tr", "ss", "sig"])
        c = ref_conv(x, rnd(1, 1, 2, 2, seed=23), 1, "VALID")
        p = ((0, 0), (1, 2), (0, 1), (0, 0))
        rs = c.reshape(1, -1, 2)
        e = np.exp(rs - rs.max(-1, keepdims=True))
        ss = c[:, 1:3, 0:4:2, 1]
        refs = [np.pad(c, p), np.pad(c, p, constant_values=-1.5), e / e.sum(-1, keepdims=True),
                c.transpose(0, 2, 1, 3), ss, 1 / (1 + np.exp(-ss[0]))]
        for got, ref in zip(outs, refs):
            self.assertClose(got, ref)

    def test_matmul_and_fused_matmul(self):
        x = rnd(1, 2, 2, 3, seed=24)
        m = Model(x.shape)
        m.const("hw", np.array([1, 2], np.int32))
        m.node("gap", "Mean", ["x", "hw"], keep_dims=b(False))               # 1x3
        m.const("k", rnd(3, 4, seed=25), "float16")
        m.const("kt", rnd(5, 3, seed=26))
        m.const("bias", rnd(5, seed=27))
        m.node("mm", "MatMul", ["gap", "k"], transpose_a=b(False), transpose_b=b(False))
        m.node("fmm", "_FusedMatMul", ["gap", "kt", "bias"], transpose_a=b(False), transpose_b=b(True),
               fused_ops=strs(["BiasAdd", "Relu"]), num_args=i(1))
        m.node("soft", "Softmax", ["fmm"])
        mm, fmm, soft = self.run_model(m, x, ["mm", "fmm", "soft"])
        gap = x.mean(axis=(1, 2))
        self.assertClose(mm, gap @ dequant(rnd(3, 4, seed=25), "float16"))
        ref = np.maximum(gap @ rnd(5, 3, seed=26).T + rnd(5, seed=27), 0)
        self.assertClose(fmm, ref)
        e = np.exp(ref - ref.max())
        self.assertClose(soft, e / e.sum())

    def test_int_input_argmax_gathernd_pack_unpack(self):
        # MoveNet-style decoding: int32 placeholder, argmax over a flattened
        # heat map, gather the matching offsets with GatherNd.
        x = np.floor(np.random.RandomState(28).uniform(0, 255, (1, 4, 4, 2))).astype(np.float32)
        m = Model(x.shape, input_dtype="DT_INT32")
        m.node("xf", "Cast", ["x"], DstT={"type": "DT_FLOAT"})
        m.const("w", rnd(1, 1, 2, 2, seed=29))
        m.node("c", "Conv2D", ["xf", "w"], strides=ints([1, 1, 1, 1]), padding=s("VALID"))
        m.const("flat", np.array([1, 16, 2], np.int32))
        m.node("rs", "Reshape", ["c", "flat"])
        m.const("ax1", np.array(1, np.int32))
        m.node("am", "ArgMax", ["rs", "ax1"], output_type={"type": "DT_INT32"})   # 1x2
        m.const("four", np.array(4, np.int32))
        m.node("row", "FloorDiv", ["am", "four"])
        m.node("col", "FloorMod", ["am", "four"])
        m.node("un", "Unpack", ["row"], num=i(1), axis=i(0))
        m.node("unc", "Unpack", ["col"], num=i(1), axis=i(0))
        m.const("zeros", np.zeros(2, np.int32))
        m.const("chan", np.array([0, 1], np.int32))
        m.node("idx", "Pack", ["zeros", "un", "unc:0", "chan"], N=i(4), axis=i(1))   # 2x4
        m.node("g", "GatherNd", ["c", "idx"])
        m.node("gi", "Cast", ["am"], DstT={"type": "DT_FLOAT"})
        g, gi = self.run_model(m, x, ["g", "gi"])
        c = ref_conv(np.floor(x), rnd(1, 1, 2, 2, seed=29), 1, "VALID")
        am = c.reshape(1, 16, 2).argmax(axis=1)[0]
        self.assertClose(gi, am[None].astype(np.float32))
        self.assertClose(g, np.array([c[0, a // 4, a % 4, ch] for ch, a in enumerate(am)]))

    def test_hard_swish_fusion(self):
        # MobileNetV3 as exported by TF: (c * x) * Relu6(x + 3), c a float16 1/6.
        x = rnd(1, 4, 4, 2, seed=37) * 5
        c = float(np.float16(1 / 6))
        m = Model(x.shape)
        m.const("w", rnd(1, 1, 2, 2, seed=38))
        m.node("conv", "Conv2D", ["x", "w"], strides=ints([1, 1, 1, 1]), padding=s("VALID"))
        m.const("c", np.array(c, np.float32), "float16")
        m.const("three", np.array(3.0, np.float32))
        m.node("hs/mul", "Mul", ["c", "conv"])
        m.node("hs/add", "AddV2", ["conv", "three"])
        m.node("hs/relu6", "Relu6", ["hs/add"])
        m.node("hs/mul_1", "Mul", ["hs/mul", "hs/relu6"])
        # Same shape of pattern, but hs2/mul is also an output: must stay unfused.
        m.node("hs2/mul", "Mul", ["conv", "c"])
        m.node("hs2/add", "Add", ["three", "conv"])
        m.node("hs2/relu6", "Relu6", ["hs2/add"])
        m.node("hs2/mul_1", "Mul", ["hs2/relu6", "hs2/mul"])
        conv = ref_conv(x, rnd(1, 1, 2, 2, seed=38), 1, "VALID")
        ref = (c * conv) * np.clip(conv + 3, 0, 6)
        self.assertTrue((conv < -3).any() and (conv > 3).any())  # all three pieces of relu6 hit
        path = m.write(self.tmp.name)
        for fuse in (True, False):
            with self.subTest(fuse=fuse):
                frozen, eager, _ = t2t.convert(path, ["hs/mul_1", "hs2/mul_1", "hs2/mul"], list(x.shape),
                                               log=lambda *_: None, fuse=fuse)
                ops = [n.op for n in eager.runtime]
                self.assertEqual(ops.count("_HardSwishScaled"), 1 if fuse else 0)
                self.assertEqual(ops.count("Relu6"), 1 if fuse else 2)
                y1, y2, y3 = frozen(torch.from_numpy(x))
                self.assertClose(y1.numpy(), ref)
                self.assertClose(y2.numpy(), ref)
                self.assertClose(y3.numpy(), c * conv)

    # -- graph handling -----------------------------------------------------------
    def test_output_order_and_cut(self):
        x = rnd(1, 2, 2, 1, seed=30)
        m = Model(x.shape)
        m.node("a", "Relu", ["x"])
        m.node("n", "Neg", ["x"])
        m.node("post", "TopKV2", ["a", "x"])            # unsupported, but past the outputs
        a, n = self.run_model(m, x, ["n", "a"])[::-1]
        self.assertClose(a, np.maximum(x, 0))
        self.assertClose(n, -x)
        path = m.write(self.tmp.name)
        frozen, _, _ = t2t.convert(path, ["n"], list(x.shape), log=lambda *_: None)
        self.assertIsInstance(frozen(torch.from_numpy(x)), torch.Tensor)   # one output: bare tensor

    def test_unsupported_op_is_an_error(self):
        x = rnd(1, 2, 2, 1, seed=31)
        m = Model(x.shape)
        m.node("r", "Relu", ["x"])
        m.node("weird/node", "Erfinv", ["r"])
        m.node("out", "Relu", ["weird/node"])
        path = m.write(self.tmp.name)
        with self.assertRaises(t2t.ConversionError) as cm:
            t2t.convert(path, ["out"], list(x.shape), log=lambda *_: None)
        self.assertIn("Erfinv", str(cm.exception))
        self.assertIn("weird/node", str(cm.exception))
        # The CLI reports it and fails without writing a file.
        out_pt = os.path.join(self.tmp.name, "x.pt")
        err = io.StringIO()
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            rc = t2t.main([path, out_pt, "--outputs", "out"])
        self.assertNotEqual(rc, 0)
        self.assertIn("Erfinv", err.getvalue())
        self.assertFalse(os.path.exists(out_pt))

    def test_unsupported_fused_activation_is_an_error(self):
        x = rnd(1, 3, 3, 1, seed=32)
        m = Model(x.shape)
        m.const("w", rnd(1, 1, 1, 1, seed=33))
        m.const("b", rnd(1, seed=34))
        m.node("fc", "_FusedConv2D", ["x", "w", "b"], strides=ints([1, 1, 1, 1]), padding=s("SAME"),
               fused_ops=strs(["BiasAdd", "Gelu"]))
        with self.assertRaises(t2t.ConversionError) as cm:
            t2t.convert(m.write(self.tmp.name), ["fc"], list(x.shape), log=lambda *_: None)
        self.assertIn("Gelu", str(cm.exception))
        self.assertIn("fc", str(cm.exception))

    def test_cli_writes_loadable_module(self):
        x = rnd(1, 4, 4, 3, seed=35)
        m = Model(x.shape)
        m.const("w", rnd(3, 3, 3, 2, seed=36))
        m.node("c", "Conv2D", ["x", "w"], strides=ints([1, 1, 1, 1]), padding=s("SAME"))
        path = m.write(self.tmp.name)
        out_pt = os.path.join(self.tmp.name, "cli.pt")
        with redirect_stdout(io.StringIO()):
            self.assertEqual(t2t.main([path, out_pt, "--outputs", "c,x"]), 0)
        c, xx = torch.jit.load(out_pt)(torch.from_numpy(x))
        self.assertClose(c.numpy(), ref_conv(x, rnd(3, 3, 3, 2, seed=36), 1, "SAME"))
        self.assertClose(xx.numpy(), x)


if __name__ == "__main__":
    unittest.main()
