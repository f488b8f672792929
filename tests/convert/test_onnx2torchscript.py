"""Tests for scripts/convert/onnx2torchscript.py on small hand-built ONNX graphs.

Each test builds a graph with onnx.helper, converts it to TorchScript (which
itself re-checks the traced file against the eager interpreter), then checks
the TorchScript output against an independent numpy reference of the ONNX
semantics. No network, no model files.

    cd /work/main && /usr/bin/python3 -m unittest discover -s tests/convert -p 'test_onnx*.py'
"""

import os
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts", "convert"))

import onnx_ops  # noqa: E402
from onnx2torchscript import VerificationError, convert  # noqa: E402
from onnx_cleanup import cleanup  # noqa: E402
from onnx_graph import load_graph  # noqa: E402
from onnx_ops import UnsupportedOnnxError  # noqa: E402

F32 = TensorProto.FLOAT
RNG = np.random.default_rng(1234)
INT64_MAX = np.iinfo(np.int64).max


def vi(name, shape, dtype=F32):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, value):
    """Constant node: PaddleOCR stores its weights this way."""
    value = np.asarray(value)
    return helper.make_node("Constant", [], [name], name=f"const_{name}",
                            value=numpy_helper.from_array(value, name))


def model(nodes, inputs, outputs, opset=13, initializers=()):
    graph = helper.make_graph(nodes, "test", inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    return m


def rand(*shape):
    return RNG.uniform(-2, 2, size=shape).astype(np.float32)


# ------------------------------------------------------------ numpy references

def np_conv2d(x, w, b, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), group=1):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow), np.float64)
    og = o // group
    for g in range(group):
        xg = x[:, g * cg:(g + 1) * cg]
        wg = w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dilation[0]:i * dilation[0] + stride[0] * oh:stride[0],
                           j * dilation[1]:j * dilation[1] + stride[1] * ow:stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, wg[:, :, i, j])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def np_conv_transpose2d(x, w, b, stride, pads=(0, 0, 0, 0), output_padding=(0, 0)):
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * stride[0] + kh + output_padding[0],
                     (wd - 1) * stride[1] + kw + output_padding[1]))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw] += \
                np.einsum("nc,cokl->nokl", x[:, :, i, j], w)
    out = full[:, :, pads[0]:full.shape[2] - pads[2], pads[1]:full.shape[3] - pads[3]]
    return out + b.reshape(1, -1, 1, 1)


def np_linear_axis(a, axis, out_len, scale):
    """ONNX linear resize along one axis, half_pixel coordinates."""
    in_len = a.shape[axis]
    x = (np.arange(out_len, dtype=np.float64) + 0.5) / scale - 0.5
    x = np.clip(x, 0, in_len - 1)
    x0 = np.floor(x).astype(int)
    x1 = np.minimum(x0 + 1, in_len - 1)
    w = (x - x0).reshape([-1 if d == axis else 1 for d in range(a.ndim)])
    return np.take(a, x0, axis) * (1 - w) + np.take(a, x1, axis) * w


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class ConverterTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def convert(self, m, shapes, verify_shapes=None, cleanup_passes=True):
        path = os.path.join(self.tmp.name, "m.pt")
        convert(m, path, [list(s) for s in shapes],
                None if verify_shapes is None else [list(s) for s in verify_shapes],
                do_cleanup=cleanup_passes, log=lambda *_: None)
        return torch.jit.load(path).eval()

    def run_ts(self, module, *inputs):
        with torch.no_grad():
            out = module(*[torch.from_numpy(np.ascontiguousarray(x)) for x in inputs])
        return out.numpy() if isinstance(out, torch.Tensor) else [o.numpy() for o in out]

    def assertClose(self, got, want, atol=1e-6):
        want = np.asarray(want)
        self.assertEqual(tuple(got.shape), tuple(want.shape))
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-6, atol=atol)

    def unary_graph(self, nodes, in_shape, out_shape, opset=13):
        return model(nodes, [vi("x", in_shape)], [vi("y", out_shape)], opset=opset)


class ElementwiseTests(ConverterTestCase):
    def test_binary_ops_with_constant_operands(self):
        nodes = [const("c2", np.float32(2.0)), const("v", np.array([1.0, -2.0, 0.5], np.float32).reshape(3, 1)),
                 helper.make_node("Mul", ["c2", "x"], ["m"]),              # constant first, Paddle style
                 helper.make_node("Add", ["m", "v"], ["a"]),
                 helper.make_node("Sub", ["a", "x"], ["s"]),
                 helper.make_node("Div", ["s", "c2"], ["d"]),
                 helper.make_node("Pow", ["d", "c2"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, ["N", 3, 4], ["N", 3, 4]), [[2, 3, 4]])
        x = rand(5, 3, 4)
        v = np.array([1.0, -2.0, 0.5], np.float32).reshape(3, 1)
        self.assertClose(self.run_ts(ts, x), ((2 * x + v - x) / 2) ** 2)

    def test_unary_ops(self):
        nodes = [helper.make_node("Relu", ["x"], ["r"]),
                 helper.make_node("Sigmoid", ["x"], ["s"]),
                 helper.make_node("Sqrt", ["r"], ["q"]),
                 helper.make_node("Add", ["s", "q"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, [2, 5], [2, 5]), [[2, 5]])
        x = rand(2, 5)
        self.assertClose(self.run_ts(ts, x), 1 / (1 + np.exp(-x)) + np.sqrt(np.maximum(x, 0)))

    def test_integer_div_truncates_toward_zero(self):
        nodes = [const("three", np.array(3, np.int64)),
                 helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT64),
                 helper.make_node("Div", ["xi", "three"], ["q"]),
                 helper.make_node("Cast", ["q"], ["y"], to=TensorProto.FLOAT)]
        ts = self.convert(self.unary_graph(nodes, [6], [6]), [[6]])
        x = np.array([-7.9, -7, -2, 2, 7, 8.9], np.float32)
        # Cast truncates (-7.9 -> -7), Div truncates (-7 / 3 -> -2, not -3).
        self.assertClose(self.run_ts(ts, x), [-2, -2, 0, 0, 2, 2])

    def test_cast_to_int32_and_back(self):
        nodes = [helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT32),
                 helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)]
        ts = self.convert(self.unary_graph(nodes, [4], [4]), [[4]])
        self.assertClose(self.run_ts(ts, np.array([1.7, -1.7, 0.2, 5], np.float32)), [1, -1, 0, 5])

    def test_clip_with_inputs_opset11(self):
        for bounds, ref in [((-0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7)),
                            ((None, 0.7), lambda x: np.minimum(x, 0.7)),
                            ((-0.5, None), lambda x: np.maximum(x, -0.5)),
                            ((None, None), lambda x: x)]:
            with self.subTest(bounds=bounds):
                nodes, names = [], []
                for name, b in zip(("lo", "hi"), bounds):
                    if b is not None:
                        nodes.append(const(name, np.float32(b)))
                    names.append(name if b is not None else "")
                while names and not names[-1]:
                    names.pop()
                nodes.append(helper.make_node("Clip", ["x"] + names, ["y"]))
                ts = self.convert(self.unary_graph(nodes, [3, 4], [3, 4], opset=11), [[3, 4]])
                x = rand(3, 4)
                self.assertClose(self.run_ts(ts, x), ref(x))

    def test_clip_with_attributes_opset6(self):
        nodes = [helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0)]
        ts = self.convert(self.unary_graph(nodes, [10], [10], opset=6), [[10]])
        x = np.linspace(-3, 9, 10).astype(np.float32)
        self.assertClose(self.run_ts(ts, x), np.clip(x, 0, 6))
        nodes = [helper.make_node("Clip", ["x"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, [10], [10], opset=6), [[10]])
        self.assertClose(self.run_ts(ts, x), x)

    def test_hardsigmoid_alpha_exact(self):
        x = np.linspace(-7, 7, 57).astype(np.float32)
        for attrs in ({}, {"alpha": 0.1666667, "beta": 0.5}, {"alpha": 0.3, "beta": 0.1}):
            with self.subTest(**attrs):
                ts = self.convert(self.unary_graph([helper.make_node("HardSigmoid", ["x"], ["y"], **attrs)],
                                                   [57], [57]), [[57]])
                alpha = np.float32(attrs.get("alpha", 0.2))
                beta = np.float32(attrs.get("beta", 0.5))
                self.assertClose(self.run_ts(ts, x), np.clip(alpha * x + beta, 0, 1))
        # Paddle's alpha is not float32(1/6): exactly at x = 3 - tiny it differs
        # from F.hardsigmoid, and our output must follow ONNX.
        ts = self.convert(self.unary_graph([helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.1666667,
                                                             beta=0.5)], [1], [1]), [[1]])
        got = self.run_ts(ts, np.array([2.0], np.float32))
        self.assertEqual(got[0], np.float32(np.float32(0.1666667) * np.float32(2.0) + np.float32(0.5)))

    def test_matmul_reducemean_sqrt_layernorm_chain(self):
        w = rand(4, 5)
        nodes = [const("w", w), const("eps", np.float32(1e-5)), const("two", np.float32(2)),
                 helper.make_node("MatMul", ["x", "w"], ["h"]),
                 helper.make_node("ReduceMean", ["h"], ["mu"], axes=[-1]),
                 helper.make_node("Sub", ["h", "mu"], ["c"]),
                 helper.make_node("Pow", ["c", "two"], ["c2"]),
                 helper.make_node("ReduceMean", ["c2"], ["var"], axes=[-1]),
                 helper.make_node("Add", ["var", "eps"], ["ve"]),
                 helper.make_node("Sqrt", ["ve"], ["sd"]),
                 helper.make_node("Div", ["c", "sd"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, ["N", "T", 4], ["N", "T", 5], opset=11), [[2, 3, 4]])
        x = rand(3, 7, 4)
        h = x.astype(np.float64) @ w
        c = h - h.mean(-1, keepdims=True)
        self.assertClose(self.run_ts(ts, x), c / np.sqrt((c ** 2).mean(-1, keepdims=True) + 1e-5), atol=1e-5)

    def test_reducemean_without_keepdims(self):
        nodes = [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 2], keepdims=0)]
        ts = self.convert(self.unary_graph(nodes, [2, 3, 4, 5], [2, 5], opset=11), [[2, 3, 4, 5]])
        x = rand(2, 3, 4, 5)
        self.assertClose(self.run_ts(ts, x), x.mean(axis=(1, 2)))

    def test_softmax_opset11_flattens_opset13_does_not(self):
        x = rand(2, 3, 4)
        ts11 = self.convert(self.unary_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)],
                                             [2, 3, 4], [2, 3, 4], opset=11), [[2, 3, 4]])
        flat = np_softmax(x.reshape(2, 12), 1).reshape(2, 3, 4)
        self.assertClose(self.run_ts(ts11, x), flat)
        ts13 = self.convert(self.unary_graph([helper.make_node("Softmax", ["x"], ["y"], axis=1)],
                                             [2, 3, 4], [2, 3, 4], opset=13), [[2, 3, 4]])
        self.assertClose(self.run_ts(ts13, x), np_softmax(x, 1))
        # Last axis: both versions agree (the recognizer's case).
        ts = self.convert(self.unary_graph([helper.make_node("Softmax", ["x"], ["y"], axis=2)],
                                           [2, 3, 4], [2, 3, 4], opset=11), [[2, 3, 4]])
        self.assertClose(self.run_ts(ts, x), np_softmax(x, 2))


class ConvPoolTests(ConverterTestCase):
    def test_conv_constant_weights_groups_stride_asymmetric_pads(self):
        w, b = rand(4, 2, 3, 3), rand(4)
        nodes = [const("w", w), const("b", b),
                 helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", kernel_shape=[3, 3],
                                  strides=[2, 1], pads=[1, 0, 0, 2], group=2)]
        ts = self.convert(self.unary_graph(nodes, ["N", 4, "H", "W"], ["N", 4, "h", "w"]), [[1, 4, 9, 8]],
                          [[2, 4, 12, 7]])
        x = rand(2, 4, 11, 10)
        self.assertClose(self.run_ts(ts, x), np_conv2d(x, w, b, (2, 1), (1, 0, 0, 2), group=2), atol=1e-5)

    def test_conv_dilated_with_initializer_weight(self):
        w = rand(3, 3, 3, 3)
        m = model([helper.make_node("Conv", ["x", "w"], ["y"], dilations=[2, 2], pads=[2, 2, 2, 2])],
                  [vi("x", [1, 3, 8, 8])], [vi("y", [1, 3, 8, 8])],
                  initializers=[numpy_helper.from_array(w, "w")])
        ts = self.convert(m, [[1, 3, 8, 8]])
        x = rand(1, 3, 8, 8)
        self.assertClose(self.run_ts(ts, x), np_conv2d(x, w, None, pads=(2, 2, 2, 2), dilation=(2, 2)), atol=1e-5)

    def test_conv_transpose(self):
        for attrs, pads, outpad in [(dict(kernel_shape=[2, 2], strides=[2, 2]), (0, 0, 0, 0), (0, 0)),
                                    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                          output_padding=[1, 1]), (1, 1, 1, 1), (1, 1)),
                                    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 2, 0]),
                                     (0, 1, 2, 0), (0, 0))]:
            with self.subTest(**attrs):
                w, b = rand(3, 2, *attrs["kernel_shape"]), rand(2)
                nodes = [const("w", w), const("b", b),
                         helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)]
                ts = self.convert(self.unary_graph(nodes, ["N", 3, "H", "W"], ["N", 2, "h", "w"]),
                                  [[1, 3, 4, 5]])
                x = rand(2, 3, 6, 3)
                self.assertClose(self.run_ts(ts, x), np_conv_transpose2d(x, w, b, (2, 2), pads, outpad),
                                 atol=1e-5)

    def test_batchnorm(self):
        s, bias, mean, var = rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.1
        nodes = [const(n, v) for n, v in zip("sbmv", (s, bias, mean, var))]
        nodes.append(helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3))
        ts = self.convert(self.unary_graph(nodes, ["N", 3, "H", "W"], ["N", 3, "H", "W"]), [[1, 3, 4, 4]])
        x = rand(2, 3, 5, 6)
        r = lambda a: a.reshape(1, 3, 1, 1)  # noqa: E731
        self.assertClose(self.run_ts(ts, x), (x - r(mean)) / np.sqrt(r(var) + 1e-3) * r(s) + r(bias), atol=1e-5)

    def test_global_average_pool(self):
        ts = self.convert(self.unary_graph([helper.make_node("GlobalAveragePool", ["x"], ["y"])],
                                           ["N", 3, "H", "W"], ["N", 3, 1, 1]), [[1, 3, 4, 4]])
        x = rand(2, 3, 5, 7)
        self.assertClose(self.run_ts(ts, x), x.mean(axis=(2, 3), keepdims=True))

    def test_average_pool_count_include_pad(self):
        x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
        padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        ones = np.pad(np.ones_like(x), ((0, 0), (0, 0), (1, 1), (1, 1)))
        sums = np.zeros((1, 1, 2, 2))
        counts = np.zeros((1, 1, 2, 2))
        for i in range(2):
            for j in range(2):
                sums[..., i, j] = padded[..., 2 * i:2 * i + 3, 2 * j:2 * j + 3].sum()
                counts[..., i, j] = ones[..., 2 * i:2 * i + 3, 2 * j:2 * j + 3].sum()
        # ONNX's default (attribute absent) excludes padding; torch's includes it.
        for include, want in [(None, sums / counts), (0, sums / counts), (1, sums / 9)]:
            with self.subTest(count_include_pad=include):
                extra = {} if include is None else {"count_include_pad": include}
                node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                        pads=[1, 1, 1, 1], **extra)
                ts = self.convert(self.unary_graph([node], [1, 1, 4, 4], [1, 1, 2, 2], opset=11), [[1, 1, 4, 4]])
                self.assertClose(self.run_ts(ts, x), want)
        # The recognizer's case: kernel == stride, no padding.
        node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[3, 2])
        ts = self.convert(self.unary_graph([node], ["N", 2, 6, "W"], ["N", 2, 2, "w"], opset=9), [[1, 2, 6, 4]])
        x = rand(2, 2, 6, 8)
        self.assertClose(self.run_ts(ts, x), x.reshape(2, 2, 2, 3, 4, 2).mean(axis=(3, 5)))

    def test_max_pool_symmetric_and_asymmetric_pads(self):
        x = rand(1, 2, 5, 5)
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
        ts = self.convert(self.unary_graph([node], ["N", 2, "H", "W"], ["N", 2, "h", "w"]), [[1, 2, 4, 4]])
        self.assertClose(self.run_ts(ts, x), x[:, :, :4, :4].reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5)))
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1])
        ts = self.convert(self.unary_graph([node], [1, 2, 5, 5], [1, 2, 3, 3]), [[1, 2, 5, 5]])
        p = np.pad(x, ((0, 0), (0, 0), (0, 1), (0, 1)), constant_values=-np.inf)
        self.assertClose(self.run_ts(ts, x), p.reshape(1, 2, 3, 2, 3, 2).max(axis=(3, 5)))


class ResizeTests(ConverterTestCase):
    def resize(self, attrs, scales=None, sizes=None, opset=13, shapes=([1, 2, 4, 6],), verify=None):
        nodes = []
        if opset >= 11:
            nodes.append(const("roi", np.zeros(0, np.float32)))
            ins = ["x", "roi"]
            if scales is not None:
                nodes.append(const("scales", np.array(scales, np.float32)))
                ins.append("scales")
            else:
                nodes.append(const("sizes", np.array(sizes, np.int64)))
                ins += ["", "sizes"]
        else:
            nodes.append(const("scales", np.array(scales, np.float32)))
            ins = ["x", "scales"]
        nodes.append(helper.make_node("Resize", ins, ["y"], **attrs))
        m = model(nodes, [vi("x", ["N", "C", "H", "W"])], [vi("y", ["N", "C", "h", "w"])], opset=opset)
        return self.convert(m, shapes, verify)

    def test_nearest_asymmetric_floor_integer_scale_dynamic(self):
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        ts = self.resize(attrs, scales=[1, 1, 2, 2], opset=11, verify=[[2, 3, 8, 10]])
        x = rand(2, 3, 6, 5)  # a size the model was not traced with
        self.assertClose(self.run_ts(ts, x), x.repeat(2, axis=2).repeat(2, axis=3))

    def test_nearest_asymmetric_floor_fractional_scale(self):
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        ts = self.resize(attrs, scales=[1, 1, 1.5, 1.5], opset=11)
        x = rand(1, 2, 4, 6)
        idx_h = np.floor(np.arange(6, dtype=np.float32) / np.float32(1.5)).astype(int)
        idx_w = np.floor(np.arange(9, dtype=np.float32) / np.float32(1.5)).astype(int)
        self.assertClose(self.run_ts(ts, x), x[:, :, idx_h][:, :, :, idx_w])

    def test_nearest_half_pixel_round_prefer_floor_downsample(self):
        # src = 2*dst + 0.5: every coordinate is a tie, round_prefer_floor picks
        # the even pixel (torch's "nearest-exact" would pick the odd one).
        ts = self.resize(dict(mode="nearest"), scales=[1, 1, 0.5, 0.5], shapes=([1, 1, 4, 8],))
        x = rand(1, 1, 4, 8)
        self.assertClose(self.run_ts(ts, x), x[:, :, 0::2, 0::2])

    def test_opset10_nearest_ceils_when_downsampling(self):
        ts = self.resize(dict(mode="nearest"), scales=[1, 1, 0.6, 2], opset=10, shapes=([1, 1, 5, 3],))
        x = rand(1, 1, 5, 3)
        # height: out 3, src = dst / 0.6 = 0, 1.67, 3.33 -> ceil -> 0, 2, 4
        # width: upsampling truncates -> 0, 0, 1, 1, 2, 2
        self.assertClose(self.run_ts(ts, x), x[:, :, [0, 2, 4]][:, :, :, [0, 0, 1, 1, 2, 2]])

    def test_nearest_sizes_input(self):
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        ts = self.resize(attrs, sizes=[1, 2, 6, 9], shapes=([1, 2, 4, 6],), verify=[[1, 2, 4, 6]])
        x = rand(1, 2, 4, 6)
        idx_h = np.floor(np.arange(6) * 4 / 6 + 1e-9).astype(int)
        idx_w = np.floor(np.arange(9) * 6 / 9 + 1e-9).astype(int)
        self.assertClose(self.run_ts(ts, x), x[:, :, idx_h][:, :, :, idx_w])

    def test_linear_half_pixel(self):
        ts = self.resize(dict(mode="linear"), scales=[1, 1, 2, 2], verify=[[2, 1, 3, 7]])
        x = rand(2, 2, 5, 3)
        want = np_linear_axis(np_linear_axis(x, 2, 10, 2.0), 3, 6, 2.0)
        self.assertClose(self.run_ts(ts, x), want, atol=1e-5)

    def test_unsupported_resize_mode_is_an_error(self):
        with self.assertRaisesRegex(UnsupportedOnnxError, "Resize.*mode=cubic"):
            self.resize(dict(mode="cubic"), scales=[1, 1, 2, 2])


class ShapeOpTests(ConverterTestCase):
    def test_shape_gather_concat_reshape_stays_dynamic(self):
        nodes = [const("zero", np.array(0, np.int64)), const("minus1", np.array([-1], np.int64)),
                 helper.make_node("Shape", ["x"], ["s"]),
                 helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
                 helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0]),
                 helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
                 helper.make_node("Reshape", ["x", "shape"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, ["N", 3, "H", "W"], ["N", "K"], opset=11), [[1, 3, 4, 5]])
        x = rand(2, 3, 6, 7)  # different batch and spatial size than at conversion
        self.assertClose(self.run_ts(ts, x), x.reshape(2, -1))

    def test_paddle_style_shape_chain_with_casts_and_reshape_zero(self):
        # Shape -> Cast(int32) -> Slice -> Cast(int64) -> Concat -> Reshape [0, W, -1]
        nodes = [const("zero", np.array([0], np.int64)), const("m1", np.array([-1], np.int64)),
                 helper.make_node("Shape", ["x"], ["s"]),
                 helper.make_node("Cast", ["s"], ["s32"], to=TensorProto.INT32),
                 helper.make_node("Slice", ["s32"], ["w32"], axes=[0], starts=[3], ends=[4]),
                 helper.make_node("Cast", ["w32"], ["w"], to=TensorProto.INT64),
                 helper.make_node("Concat", ["zero", "w", "m1"], ["shape"], axis=0),
                 helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
                 helper.make_node("Reshape", ["xt", "shape"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, ["N", 2, 3, "W"], ["N", "W", 6], opset=9), [[1, 2, 3, 4]])
        x = rand(3, 2, 3, 8)
        self.assertClose(self.run_ts(ts, x), x.transpose(0, 3, 1, 2).reshape(3, 8, 6))

    def test_reshape_constant_shape_with_zero(self):
        nodes = [const("shape", np.array([0, 0, -1], np.int64)),
                 helper.make_node("Reshape", ["x", "shape"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, ["N", "C", 4, 5], ["N", "C", 20]), [[1, 2, 4, 5]],
                          [[3, 6, 4, 5]])
        x = rand(2, 7, 4, 5)
        self.assertClose(self.run_ts(ts, x), x.reshape(2, 7, 20))

    def test_gather_with_negative_and_vector_indices(self):
        nodes = [const("idx", np.array([[-1, 0], [1, 1]], np.int64)),
                 helper.make_node("Gather", ["x", "idx"], ["y"], axis=1)]
        ts = self.convert(self.unary_graph(nodes, [2, 3, 4], [2, 2, 2, 4]), [[2, 3, 4]])
        x = rand(2, 3, 4)
        self.assertClose(self.run_ts(ts, x), np.take(x, [[2, 0], [1, 1]], axis=1))

    def test_slice_attributes_and_inputs(self):
        node = helper.make_node("Slice", ["x"], ["y"], axes=[1], starts=[1], ends=[3])
        ts = self.convert(self.unary_graph([node], ["N", 4, 5], ["N", 2, 5], opset=9), [[1, 4, 5]])
        x = rand(2, 4, 5)
        self.assertClose(self.run_ts(ts, x), x[:, 1:3])
        nodes = [const("st", np.array([-4, 1], np.int64)), const("en", np.array([INT64_MAX, 100], np.int64)),
                 const("ax", np.array([2, 1], np.int64)), const("sp", np.array([2, 1], np.int64)),
                 helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])]
        ts = self.convert(self.unary_graph(nodes, ["N", 4, "W"], ["N", 3, "w"], opset=11), [[1, 4, 9]],
                          [[2, 4, 12]])
        x = rand(2, 4, 11)
        self.assertClose(self.run_ts(ts, x), x[:, 1:, -4::2])

    def test_transpose_squeeze_unsqueeze_concat(self):
        for opset in (11, 13):
            with self.subTest(opset=opset):
                if opset == 11:
                    nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0, -1]),
                             helper.make_node("Squeeze", ["u"], ["s"], axes=[0])]
                else:
                    nodes = [const("ua", np.array([0, -1], np.int64)), const("sa", np.array([0], np.int64)),
                             helper.make_node("Unsqueeze", ["x", "ua"], ["u"]),
                             helper.make_node("Squeeze", ["u", "sa"], ["s"])]
                nodes += [helper.make_node("Transpose", ["s"], ["t"], perm=[2, 0, 1, 3]),
                          helper.make_node("Transpose", ["t"], ["r"]),  # default: reverse axes
                          helper.make_node("Concat", ["r", "r"], ["y"], axis=1)]
                ts = self.convert(self.unary_graph(nodes, [2, 3, 4], [1, 4, 2, 3], opset=opset), [[2, 3, 4]])
                x = rand(2, 3, 4)
                r = x[:, :, :, None].transpose(2, 0, 1, 3).transpose(3, 2, 1, 0)
                self.assertClose(self.run_ts(ts, x), np.concatenate([r, r], axis=1))


class ConverterBehaviourTests(ConverterTestCase):
    def small_net(self):
        w1, b1, w2 = rand(4, 3, 3, 3), rand(4), rand(2, 4, 1, 1)
        nodes = [const("w1", w1), const("b1", b1), const("w2", w2), const("half", np.float32(0.5)),
                 helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                  strides=[2, 2]),
                 helper.make_node("Relu", ["c1"], ["r"]),
                 helper.make_node("Conv", ["r", "w2"], ["c2"], kernel_shape=[1, 1]),
                 helper.make_node("Mul", ["half", "c2"], ["y"])]
        def ref(x):  # noqa: E306
            r = np.maximum(np_conv2d(x, w1, b1, (2, 2), (1, 1, 1, 1)), 0)
            return 0.5 * np_conv2d(r, w2, None)
        return self.unary_graph(nodes, ["N", 3, "H", "W"], ["N", 2, "h", "w"]), ref

    def test_convert_at_one_size_run_at_others(self):
        m, ref = self.small_net()
        ts = self.convert(m, [[1, 3, 16, 16]])
        for shape in [(1, 3, 16, 16), (2, 3, 32, 48), (3, 3, 8, 24)]:
            x = rand(*shape)
            self.assertClose(self.run_ts(ts, x), ref(x), atol=1e-5)

    def test_frozen_shape_fails_verification(self):
        # A Shape implementation that leaks Python ints into the trace (the
        # classic `.tolist()` mistake) must be caught by the second-size check.
        def frozen_shape(op, x):
            return torch.tensor(list(x.shape), dtype=torch.int64)
        nodes = [const("m1", np.array([-1], np.int64)),
                 helper.make_node("Shape", ["x"], ["s"]),
                 helper.make_node("Slice", ["s"], ["n"], axes=[0], starts=[0], ends=[1]),
                 helper.make_node("Concat", ["n", "m1"], ["shape"], axis=0),
                 helper.make_node("Reshape", ["x", "shape"], ["y"])]
        m = self.unary_graph(nodes, ["N", 3, 4], ["N", 12], opset=9)
        with mock.patch.object(onnx_ops.Shape, "forward", frozen_shape):
            with self.assertRaises(VerificationError):
                self.convert(m, [[1, 3, 4]])
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "m.pt")))

    def test_unsupported_op_names_type_and_node(self):
        m = self.unary_graph([helper.make_node("Relu", ["x"], ["r"]),
                              helper.make_node("Einsum", ["r"], ["y"], name="my_einsum", equation="ij->ji")],
                             [2, 2], [2, 2])
        with self.assertRaises(UnsupportedOnnxError) as ctx:
            self.convert(m, [[2, 2]])
        self.assertIn("Einsum", str(ctx.exception))
        self.assertIn("my_einsum", str(ctx.exception))

    def test_dynamic_slice_bounds_are_rejected_not_frozen(self):
        nodes = [const("zero", np.array([0], np.int64)),
                 helper.make_node("Shape", ["x"], ["s"]),
                 helper.make_node("Slice", ["x", "zero", "s"], ["y"], name="dyn_slice")]
        m = self.unary_graph(nodes, ["N"], ["N"])
        with self.assertRaisesRegex(UnsupportedOnnxError, "Slice.*dyn_slice.*ends"):
            self.convert(m, [[4]])


class CleanupTests(ConverterTestCase):
    def paddle_block(self, hs_alpha):
        """Conv -> BN -> Mul(c, .) -> Add(., c) -> hardswish(Clip form) -> Mul/Add -> 1x1 Conv
        -> HardSigmoid-swish -> Mul(., 1) -> swish."""
        w1, w2, b2 = rand(4, 3, 3, 3), rand(5, 4, 1, 1), rand(5)
        s, bb, mu, var = rand(4), rand(4), rand(4), np.abs(rand(4)) + 0.5
        nodes = [const("w1", w1), const("w2", w2), const("b2", b2),
                 const("s", s), const("bb", bb), const("mu", mu), const("var", var),
                 const("a", np.array([1.3], np.float32)), const("c", np.array([0.2], np.float32)),
                 const("a2", np.array([0.7], np.float32)), const("c2", np.array([-0.1], np.float32)),
                 const("three", np.float32(3)), const("zero", np.float32(0)), const("six", np.float32(6)),
                 const("one", np.float32(1)),
                 helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                 helper.make_node("BatchNormalization", ["c1", "s", "bb", "mu", "var"], ["bn"]),
                 helper.make_node("Mul", ["a", "bn"], ["m1"]),
                 helper.make_node("Add", ["m1", "c"], ["t"]),
                 helper.make_node("Add", ["t", "three"], ["t3"]),
                 helper.make_node("Clip", ["t3", "zero", "six"], ["cl"]),
                 helper.make_node("Mul", ["t", "cl"], ["tm"]),
                 helper.make_node("Div", ["tm", "six"], ["hs"]),
                 helper.make_node("Mul", ["a2", "hs"], ["m2"]),
                 helper.make_node("Add", ["m2", "c2"], ["pre"]),
                 helper.make_node("Conv", ["pre", "w2", "b2"], ["c2o"], kernel_shape=[1, 1]),
                 helper.make_node("HardSigmoid", ["c2o"], ["hsig"], alpha=hs_alpha, beta=0.5),
                 helper.make_node("Mul", ["c2o", "hsig"], ["hsw"]),
                 helper.make_node("Mul", ["hsw", "one"], ["hsw1"]),
                 helper.make_node("Sigmoid", ["hsw1"], ["sg"]),
                 helper.make_node("Mul", ["hsw", "sg"], ["y"])]
        m = model(nodes, [vi("x", ["N", 3, "H", "W"])], [vi("y", ["N", 5, "H", "W"])], opset=11)

        def ref(x):
            bn = (np_conv2d(x, w1, None, pads=(1, 1, 1, 1)) - mu.reshape(1, -1, 1, 1)) / \
                np.sqrt(var.reshape(1, -1, 1, 1) + 1e-5) * s.reshape(1, -1, 1, 1) + bb.reshape(1, -1, 1, 1)
            t = 1.3 * bn + 0.2
            hs = t * np.clip(t + 3, 0, 6) / 6
            c2o = np_conv2d(0.7 * hs - 0.1, w2, b2)
            hsw = c2o * np.clip(np.float32(hs_alpha) * c2o + 0.5, 0, 1)
            return hsw / (1 + np.exp(-hsw))
        return m, ref

    def test_cleanup_rewrites_and_keeps_outputs(self):
        # Only an exact float32(1/6) makes x * HardSigmoid(x) a hardswish;
        # Paddle's 0.1666667 and the 0.2 default stay explicit.
        for alpha, fused_hs in [(float(np.float32(1 / 6)), 2), (0.1666667, 1), (0.2, 1)]:
            with self.subTest(alpha=alpha):
                m, ref = self.paddle_block(alpha)
                graph = load_graph(m)
                report = cleanup(graph)
                ops = [n.op_type for n in graph.nodes]
                self.assertNotIn("BatchNormalization", ops)
                self.assertEqual(ops.count("HardSwish"), fused_hs, report)
                self.assertEqual(ops.count("Silu"), 1, report)
                self.assertEqual(ops.count("HardSigmoid"), 2 - fused_hs)
                # Conv, HardSwish, Conv, [HardSigmoid, Mul,] Silu: every folded
                # Mul/Add is gone.
                self.assertEqual(ops.count("Add"), 0, ops)
                self.assertEqual(ops.count("Mul"), 0 if fused_hs == 2 else 1, ops)
                ts = self.convert(m, [[1, 3, 8, 8]], [[2, 3, 12, 6]])
                x = rand(2, 3, 10, 6)
                self.assertClose(self.run_ts(ts, x), ref(x), atol=1e-4)
                ts_plain = self.convert(m, [[1, 3, 8, 8]], cleanup_passes=False)
                self.assertClose(self.run_ts(ts_plain, x), ref(x), atol=1e-4)

    def test_wrong_rewrite_fails_verification(self):
        # Conversion compares the cleaned-up TorchScript with the untouched
        # graph, so a broken fused op cannot slip through.
        m, _ = self.paddle_block(0.2)
        with mock.patch.object(onnx_ops.Silu, "forward", lambda op, x: torch.sigmoid(x)):
            with self.assertRaisesRegex(VerificationError, "max abs diff"):
                self.convert(m, [[1, 3, 8, 8]])

    def test_conv_transpose_becomes_pixel_shuffle(self):
        w, b = rand(3, 4, 2, 2), rand(4)
        nodes = [const("w", w), const("b", b),
                 helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
        m = self.unary_graph(nodes, ["N", 3, "H", "W"], ["N", 4, "h", "w"], opset=11)
        graph = load_graph(m)
        cleanup(graph)
        self.assertEqual([n.op_type for n in graph.nodes], ["Conv", "PixelShuffle"])
        ts = self.convert(m, [[1, 3, 4, 4]])
        x = rand(2, 3, 5, 7)
        self.assertClose(self.run_ts(ts, x), np_conv_transpose2d(x, w, b, (2, 2)), atol=1e-5)

    def test_only_per_channel_constants_fold_into_conv(self):
        w = rand(3, 2, 1, 1)
        per_channel = rand(1, 3, 1, 1)
        last_axis = rand(3)  # numpy broadcasting aligns this with W, not channels
        nodes = [const("w", w), const("pc", per_channel), const("la", last_axis),
                 helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
                 helper.make_node("Mul", ["c", "pc"], ["m"]),
                 helper.make_node("Add", ["la", "m"], ["y"])]
        m = self.unary_graph(nodes, ["N", 2, "H", 3], ["N", 3, "H", 3])
        graph = load_graph(m)
        cleanup(graph)
        self.assertEqual([n.op_type for n in graph.nodes], ["Conv", "Add"])
        ts = self.convert(m, [[1, 2, 4, 3]])
        x = rand(2, 2, 5, 3)
        self.assertClose(self.run_ts(ts, x), np_conv2d(x, w, None) * per_channel + last_axis, atol=1e-5)

    def test_affine_not_folded_into_padded_conv(self):
        w = rand(2, 2, 3, 3)
        nodes = [const("w", w), const("c", np.array([0.5], np.float32)),
                 helper.make_node("Add", ["x", "c"], ["a"]),
                 helper.make_node("Conv", ["a", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
        m = self.unary_graph(nodes, ["N", 2, "H", "W"], ["N", 2, "H", "W"])
        graph = load_graph(m)
        cleanup(graph)
        self.assertEqual([n.op_type for n in graph.nodes], ["Add", "Conv"])
        ts = self.convert(m, [[1, 2, 5, 5]])
        x = rand(1, 2, 5, 5)
        self.assertClose(self.run_ts(ts, x), np_conv2d(x + 0.5, w, None, pads=(1, 1, 1, 1)), atol=1e-5)


if __name__ == "__main__":
    unittest.main()
