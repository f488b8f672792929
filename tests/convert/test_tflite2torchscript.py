"""Unit tests of scripts/convert/tflite2torchscript.py.

Each test builds a tiny TFLite flatbuffer with flatbuffers.Builder, using a
builder written here with its own field numbers (so a slot mistake in the
converter's reader is not mirrored by the test), converts it, and compares
the TorchScript output with a reference computed by hand: explicit padding
amounts, or plain loops following the TFLite kernels.

    cd /work/main && /usr/bin/python3 -m unittest discover -s tests/convert -p 'test_tflite*.py'
"""

import io
import os
import struct
import sys
import unittest

import flatbuffers
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts", "convert"))
import tflite2torchscript as t2t  # noqa: E402

# BuiltinOperator codes and BuiltinOptions union types, from TFLite's schema.
ADD, AVERAGE_POOL_2D, CONCATENATION, CONV_2D, DEPTHWISE_CONV_2D = 0, 1, 2, 3, 4
DEQUANTIZE, LOGISTIC, MAX_POOL_2D, MUL, RELU = 6, 14, 17, 18, 19
RESIZE_BILINEAR, SOFTMAX, CUSTOM, PAD, MEAN, SUB, HARD_SWISH = 23, 25, 32, 34, 40, 41, 117
SAME, VALID = 0, 1
ACT_NONE, ACT_RELU, ACT_RELU6 = 0, 1, 3
FLOAT32, FLOAT16, INT32 = 0, 1, 2


def conv_options(padding, stride, act):
    return (1, [(0, "i8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i8", act)])


def dw_options(padding, stride, mult, act):
    return (2, [(0, "i8", padding), (1, "i32", stride), (2, "i32", stride),
                (3, "i32", mult), (4, "i8", act)])


def pool_options(padding, stride, kh, kw=None):
    return (5, [(0, "i8", padding), (1, "i32", stride), (2, "i32", stride),
                (3, "i32", kw or kh), (4, "i32", kh)])


def act_options(union_type, act):
    return (union_type, [(0, "i8", act)])


class TinyModel:
    """Minimal TFLite writer: one subgraph, tensors, buffers, operators."""

    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [None], [], []

    def tensor(self, shape, ttype=FLOAT32, data=None, name=None):
        buf = 0
        if data is not None:
            np_type = {FLOAT32: np.float32, FLOAT16: np.float16, INT32: np.int32}[ttype]
            self.buffers.append(np.ascontiguousarray(data, np_type).tobytes())
            buf = len(self.buffers) - 1
        self.tensors.append((name or "t%d" % len(self.tensors), list(shape), ttype, buf))
        return len(self.tensors) - 1

    def const(self, data, ttype=FLOAT32):
        data = np.asarray(data)
        return self.tensor(data.shape, ttype, data)

    def op(self, code, inputs, outputs, options=None, custom=None, custom_options=b""):
        key = (code, custom)
        if key not in self.codes:
            self.codes.append(key)
        self.ops.append((self.codes.index(key), inputs, outputs, options, custom_options))

    def build(self, inputs, outputs):
        b = flatbuffers.Builder(0)

        def ints(v):
            b.StartVector(4, len(v), 4)
            for x in reversed(v):
                b.PrependInt32(x)
            return b.EndVector()

        def bytes_vec(data):
            b.StartVector(1, len(data), 1)
            for x in reversed(data):
                b.PrependUint8(x)
            return b.EndVector()

        def tables(offs):
            b.StartVector(4, len(offs), 4)
            for o in reversed(offs):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        bufs = []
        for data in self.buffers:
            vec = bytes_vec(data) if data else None
            b.StartObject(1)
            if vec:
                b.PrependUOffsetTRelativeSlot(0, vec, 0)
            bufs.append(b.EndObject())
        tens = []
        for name, shape, ttype, buf in self.tensors:
            n, s = b.CreateString(name), ints(shape)
            b.StartObject(4)                       # Tensor
            b.PrependUOffsetTRelativeSlot(0, s, 0)  # shape
            b.PrependInt8Slot(1, ttype, 0)          # type
            b.PrependUint32Slot(2, buf, 0)          # buffer
            b.PrependUOffsetTRelativeSlot(3, n, 0)  # name
            tens.append(b.EndObject())
        ops = []
        put = {"i8": b.PrependInt8Slot, "i32": b.PrependInt32Slot, "bool": b.PrependBoolSlot}
        for code, ins, outs, options, custom_options in self.ops:
            opt = None
            if options:
                b.StartObject(8)
                for slot, kind, value in options[1]:
                    put[kind](slot, value, 0 if kind != "bool" else False)
                opt = b.EndObject()
            i, o = ints(ins), ints(outs)
            c = bytes_vec(custom_options) if custom_options else None
            b.StartObject(6)                        # Operator
            b.PrependUint32Slot(0, code, 0)         # opcode_index
            b.PrependUOffsetTRelativeSlot(1, i, 0)  # inputs
            b.PrependUOffsetTRelativeSlot(2, o, 0)  # outputs
            if opt is not None:
                b.PrependUint8Slot(3, options[0], 0)     # builtin_options_type
                b.PrependUOffsetTRelativeSlot(4, opt, 0)  # builtin_options
            if c is not None:
                b.PrependUOffsetTRelativeSlot(5, c, 0)   # custom_options
            ops.append(b.EndObject())
        codes = []
        for code, custom in self.codes:
            cs = b.CreateString(custom) if custom else None
            b.StartObject(4)                         # OperatorCode
            b.PrependInt8Slot(0, code, 0)            # deprecated_builtin_code
            if cs is not None:
                b.PrependUOffsetTRelativeSlot(1, cs, 0)
            b.PrependInt32Slot(3, code, 0)           # builtin_code
            codes.append(b.EndObject())
        tv, ov, iv, outv = tables(tens), tables(ops), ints(inputs), ints(outputs)
        b.StartObject(5)                             # SubGraph
        b.PrependUOffsetTRelativeSlot(0, tv, 0)
        b.PrependUOffsetTRelativeSlot(1, iv, 0)
        b.PrependUOffsetTRelativeSlot(2, outv, 0)
        b.PrependUOffsetTRelativeSlot(3, ov, 0)
        sg = b.EndObject()
        sgv, cv, bv = tables([sg]), tables(codes), tables(bufs)
        b.StartObject(5)                             # Model
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, cv, 0)
        b.PrependUOffsetTRelativeSlot(2, sgv, 0)
        b.PrependUOffsetTRelativeSlot(4, bv, 0)
        b.Finish(b.EndObject(), file_identifier=b"TFL3")
        return bytes(b.Output())


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def run_converted(data, x_nhwc):
    """Convert, save to memory, reload, run: the whole path the CLI takes."""
    frozen, _, _ = t2t.convert(data)
    buf = io.BytesIO()
    torch.jit.save(frozen, buf)
    buf.seek(0)
    module = torch.jit.load(buf)
    with torch.no_grad():
        return module(torch.from_numpy(x_nhwc)).numpy()


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.permute(0, 2, 3, 1).numpy()


class ConvTests(unittest.TestCase):
    def test_conv_same_stride2_relu_asymmetric_padding(self):
        # Input 5x6, kernel 3, stride 2 -> output 3x3.  TF SAME padding:
        # rows (3-1)*2+3-5 = 2 -> 1 top, 1 bottom; cols (3-1)*2+3-6 = 1 -> 0 left, 1 right.
        x, w, bias = rand(1, 5, 6, 2), rand(4, 3, 3, 2, seed=1), rand(4, seed=2)
        m = TinyModel()
        xi, yi = m.tensor([1, 5, 6, 2]), m.tensor([1, 3, 3, 4])
        m.op(CONV_2D, [xi, m.const(w), m.const(bias)], [yi], conv_options(SAME, 2, ACT_RELU))
        got = run_converted(m.build([xi], [yi]), x)
        ref = F.conv2d(F.pad(nchw(x), (0, 1, 1, 1)), torch.from_numpy(w).permute(0, 3, 1, 2),
                       torch.from_numpy(bias), stride=2).relu()
        np.testing.assert_allclose(got, nhwc(ref), atol=1e-5, rtol=1e-6)

    def test_conv_valid_loops(self):
        # Direct loop definition: y[i,j,o] = b[o] + sum x[i+ky, j+kx, c] w[o,ky,kx,c].
        x, w, bias = rand(1, 4, 5, 3), rand(2, 2, 3, 3, seed=3), rand(2, seed=4)
        m = TinyModel()
        xi, yi = m.tensor([1, 4, 5, 3]), m.tensor([1, 3, 3, 2])
        m.op(CONV_2D, [xi, m.const(w), m.const(bias)], [yi], conv_options(VALID, 1, ACT_NONE))
        got = run_converted(m.build([xi], [yi]), x)
        ref = np.zeros((1, 3, 3, 2), np.float64)
        for i in range(3):
            for j in range(3):
                for o in range(2):
                    ref[0, i, j, o] = bias[o] + np.sum(x[0, i:i + 2, j:j + 3, :] * w[o])
        np.testing.assert_allclose(got, ref, atol=1e-5)

    def test_depthwise_multiplier2_relu6(self):
        # Output channel c*2+m reads input channel c with filter[..., c*2+m].
        x, w, bias = rand(1, 4, 4, 3) * 3, rand(1, 3, 3, 6, seed=5) * 3, rand(6, seed=6)
        m = TinyModel()
        xi, yi = m.tensor([1, 4, 4, 3]), m.tensor([1, 4, 4, 6])
        m.op(DEPTHWISE_CONV_2D, [xi, m.const(w), m.const(bias)], [yi],
             dw_options(SAME, 1, 2, ACT_RELU6))
        got = run_converted(m.build([xi], [yi]), x)
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        ref = np.zeros((1, 4, 4, 6), np.float64)
        for i in range(4):
            for j in range(4):
                for oc in range(6):
                    win = xp[0, i:i + 3, j:j + 3, oc // 2]
                    ref[0, i, j, oc] = bias[oc] + np.sum(win * w[0, :, :, oc])
        np.testing.assert_allclose(got, np.clip(ref, 0, 6), atol=1e-5)

    def _transpose_conv(self, in_hw, k, stride, out_hw, padding_c):
        x, w, bias = rand(1, *in_hw, 3), rand(2, k, k, 3, seed=7), rand(2, seed=8)
        m = TinyModel()
        xi, yi = m.tensor([1, *in_hw, 3]), m.tensor([1, *out_hw, 2])
        m.op(CUSTOM, [xi, m.const(w), m.const(bias)], [yi], custom="Convolution2DTransposeBias",
             custom_options=struct.pack("<3i", padding_c, stride, stride))
        got = run_converted(m.build([xi], [yi]), x)
        # Scatter definition (TFLite TRANSPOSE_CONV), origin shifted by the
        # SAME padding computed for the forward conv from output to input.
        pads = []
        for d in range(2):
            total = (in_hw[d] - 1) * stride + k - out_hw[d]
            pads.append(max(total, 0) // 2 if padding_c == 1 else 0)
        ref = np.zeros((1, *out_hw, 2)) + bias
        for iy in range(in_hw[0]):
            for ix in range(in_hw[1]):
                for ky in range(k):
                    for kx in range(k):
                        oy, ox = iy * stride - pads[0] + ky, ix * stride - pads[1] + kx
                        if 0 <= oy < out_hw[0] and 0 <= ox < out_hw[1]:
                            ref[0, oy, ox] += w[:, ky, kx, :] @ x[0, iy, ix]
        np.testing.assert_allclose(got, ref, atol=1e-5)

    def test_transpose_conv_bias_same_k2(self):
        self._transpose_conv((3, 4), 2, 2, (6, 8), 1)       # as in selfie segmentation

    def test_transpose_conv_bias_same_k3_odd_padding(self):
        self._transpose_conv((3, 4), 3, 2, (6, 8), 1)       # total padding 1: crop at the end

    def test_transpose_conv_bias_same_k4(self):
        self._transpose_conv((3, 3), 4, 2, (6, 6), 1)       # padding 1 on both sides

    def test_transpose_conv_bias_valid(self):
        self._transpose_conv((3, 3), 3, 2, (7, 7), 2)


class ElementwiseTests(unittest.TestCase):
    def test_add_mul_sub_broadcast(self):
        # relu(x + c[C]) * s[1,1,1,C] - x: a rank-1 constant, a rank-4
        # broadcast (squeeze-excite style) and two full tensors.
        x, c, s = rand(1, 3, 4, 5), rand(5, seed=9), rand(1, 1, 1, 5, seed=10)
        m = TinyModel()
        xi = m.tensor([1, 3, 4, 5])
        ai, mi, yi = (m.tensor([1, 3, 4, 5]) for _ in range(3))
        m.op(ADD, [xi, m.const(c)], [ai], act_options(11, ACT_RELU))
        m.op(MUL, [ai, m.const(s)], [mi], act_options(21, ACT_NONE))
        m.op(SUB, [mi, xi], [yi], act_options(28, ACT_NONE))
        got = run_converted(m.build([xi], [yi]), x)
        np.testing.assert_allclose(got, np.maximum(x + c, 0) * s - x, atol=1e-6)

    def test_runtime_broadcast_operand(self):
        # Squeeze-excite: a pooled [1,1,1,C] runtime value times the feature map.
        x = rand(1, 3, 4, 5)
        m = TinyModel()
        xi, pi, yi = m.tensor([1, 3, 4, 5]), m.tensor([1, 1, 1, 5]), m.tensor([1, 3, 4, 5])
        m.op(AVERAGE_POOL_2D, [xi], [pi], pool_options(VALID, 1, 3, 4))
        m.op(MUL, [xi, pi], [yi], act_options(21, ACT_NONE))
        got = run_converted(m.build([xi], [yi]), x)
        np.testing.assert_allclose(got, x * x.mean((1, 2), keepdims=True), atol=1e-6)

    def test_two_graph_inputs_rejected(self):
        m = TinyModel()
        ai, bi, yi = m.tensor([1, 2, 2, 1]), m.tensor([1, 2, 2, 1]), m.tensor([1, 2, 2, 1])
        m.op(ADD, [ai, bi], [yi], act_options(11, ACT_NONE))
        with self.assertRaisesRegex(t2t.ConversionError, "one input"):
            t2t.convert(m.build([ai, bi], [yi]))

    def test_unary_ops(self):
        x = rand(1, 2, 3, 4) * 4
        for code, ref in ((RELU, np.maximum(x, 0)), (LOGISTIC, 1 / (1 + np.exp(-x))),
                          (HARD_SWISH, x * np.clip(x + 3, 0, 6) / 6)):
            m = TinyModel()
            xi, yi = m.tensor([1, 2, 3, 4]), m.tensor([1, 2, 3, 4])
            m.op(code, [xi], [yi])
            np.testing.assert_allclose(run_converted(m.build([xi], [yi]), x), ref,
                                       atol=1e-6, err_msg="op %d" % code)

    def test_concat_channels_and_pad(self):
        x = rand(1, 2, 3, 2)
        m = TinyModel()
        xi, ri, cat = m.tensor([1, 2, 3, 2]), m.tensor([1, 2, 3, 2]), m.tensor([1, 2, 3, 4])
        pi = m.tensor([1, 3, 6, 4])
        m.op(RELU, [xi], [ri])
        # Channel concat (TFLite axis 3), then PAD rows (1, 0) and columns (2, 1).
        m.op(CONCATENATION, [ri, xi], [cat], (10, [(0, "i32", 3)]))
        pads = m.const(np.array([[0, 0], [1, 0], [2, 1], [0, 0]], np.int32), INT32)
        m.op(PAD, [cat, pads], [pi])
        got = run_converted(m.build([xi], [pi]), x)
        ref = np.pad(np.concatenate([np.maximum(x, 0), x], 3), ((0, 0), (1, 0), (2, 1), (0, 0)))
        np.testing.assert_allclose(got, ref, atol=1e-6)


def resize_reference(x, oh, ow, align_corners, half_pixel):
    """TFLite reference kernel, pixel by pixel."""
    _, h, w, _ = x.shape

    def axis(o, i, n_out):
        scale = (i - 1) / (n_out - 1) if align_corners and n_out > 1 else i / n_out
        v = (o + 0.5) * scale - 0.5 if half_pixel else o * scale
        lo, hi = max(int(np.floor(v)), 0), min(int(np.ceil(v)), i - 1)
        return lo, hi, v - lo

    y = np.zeros((1, oh, ow, x.shape[3]))
    for oy in range(oh):
        y0, y1, dy = axis(oy, h, oh)
        for ox in range(ow):
            x0, x1, dx = axis(ox, w, ow)
            y[0, oy, ox] = (x[0, y0, x0] * (1 - dy) * (1 - dx) + x[0, y1, x0] * dy * (1 - dx)
                            + x[0, y0, x1] * (1 - dy) * dx + x[0, y1, x1] * dy * dx)
    return y


class ResizePoolTests(unittest.TestCase):
    def _resize(self, in_hw, out_hw, align_corners, half_pixel):
        x = rand(1, *in_hw, 2)
        m = TinyModel()
        xi, yi = m.tensor([1, *in_hw, 2]), m.tensor([1, *out_hw, 2])
        size = m.const(np.array(out_hw, np.int32), INT32)
        m.op(RESIZE_BILINEAR, [xi, size], [yi],
             (15, [(2, "bool", align_corners), (3, "bool", half_pixel)]))
        got = run_converted(m.build([xi], [yi]), x)
        np.testing.assert_allclose(got, resize_reference(x, *out_hw, align_corners, half_pixel),
                                   atol=1e-6)
        return got, x

    def test_resize_half_pixel_matches_torch(self):
        got, x = self._resize((4, 5), (8, 10), False, True)
        ref = F.interpolate(nchw(x), size=(8, 10), mode="bilinear", align_corners=False)
        np.testing.assert_allclose(got, nhwc(ref), atol=1e-6)

    def test_resize_align_corners_matches_torch(self):
        got, x = self._resize((4, 5), (7, 11), True, False)
        ref = F.interpolate(nchw(x), size=(7, 11), mode="bilinear", align_corners=True)
        np.testing.assert_allclose(got, nhwc(ref), atol=1e-6)

    def test_resize_legacy_and_downscale(self):
        self._resize((4, 5), (8, 10), False, False)
        self._resize((9, 7), (4, 3), False, True)

    def test_average_pool_same_excludes_padding(self):
        # 5x5 input, 3x3 window, stride 2: padding 1 on each side; border
        # windows average over the in-image elements only.
        x = rand(1, 5, 5, 2)
        m = TinyModel()
        xi, yi = m.tensor([1, 5, 5, 2]), m.tensor([1, 3, 3, 2])
        m.op(AVERAGE_POOL_2D, [xi], [yi], pool_options(SAME, 2, 3))
        got = run_converted(m.build([xi], [yi]), x)
        ref = np.zeros((1, 3, 3, 2))
        for i in range(3):
            for j in range(3):
                win = x[0, max(2 * i - 1, 0):2 * i + 2, max(2 * j - 1, 0):2 * j + 2]
                ref[0, i, j] = win.reshape(-1, 2).mean(0)
        np.testing.assert_allclose(got, ref, atol=1e-6)

    def test_max_pool_same_asymmetric(self):
        # 4x4 input, 2x2 window, stride 3 -> 2x2; padding total 1 at the end.
        x = rand(1, 4, 4, 1) - 5      # negative: zero padding would show up
        m = TinyModel()
        xi, yi = m.tensor([1, 4, 4, 1]), m.tensor([1, 2, 2, 1])
        m.op(MAX_POOL_2D, [xi], [yi], pool_options(SAME, 3, 2))
        got = run_converted(m.build([xi], [yi]), x)
        ref = np.array([[x[0, 0:2, 0:2].max(), x[0, 0:2, 3:4].max()],
                        [x[0, 3:4, 0:2].max(), x[0, 3:4, 3:4].max()]]).reshape(1, 2, 2, 1)
        np.testing.assert_allclose(got, ref, atol=1e-6)

    def test_global_average_pool_and_mean(self):
        x = rand(1, 4, 6, 3)
        for keep in (True, False):
            m = TinyModel()
            xi = m.tensor([1, 4, 6, 3])
            yi = m.tensor([1, 1, 1, 3] if keep else [1, 3])
            axes = m.const(np.array([1, 2], np.int32), INT32)
            m.op(MEAN, [xi, axes], [yi], (27, [(0, "bool", keep)]))
            got = run_converted(m.build([xi], [yi]), x)
            np.testing.assert_allclose(got, x.mean((1, 2), keepdims=keep), atol=1e-6)


class GraphTests(unittest.TestCase):
    def test_float16_weights_dequantized(self):
        x, w, bias = rand(1, 3, 3, 2), rand(2, 1, 1, 2, seed=12), rand(2, seed=13)
        w16, b16 = w.astype(np.float16), bias.astype(np.float16)
        m = TinyModel()
        xi, yi = m.tensor([1, 3, 3, 2]), m.tensor([1, 3, 3, 2])
        wq, bq = m.const(w16, FLOAT16), m.const(b16, FLOAT16)
        wd, bd = m.tensor([2, 1, 1, 2]), m.tensor([2])
        m.op(DEQUANTIZE, [wq], [wd])
        m.op(DEQUANTIZE, [bq], [bd])
        m.op(CONV_2D, [xi, wd, bd], [yi], conv_options(VALID, 1, ACT_NONE))
        got = run_converted(m.build([xi], [yi]), x)
        ref = x @ w16.astype(np.float32)[:, 0, 0, :].T + b16.astype(np.float32)
        np.testing.assert_allclose(got, ref, atol=1e-6)

    def test_unsupported_op_names_op_and_index(self):
        m = TinyModel()
        xi, ri, yi = m.tensor([1, 2, 2, 3]), m.tensor([1, 2, 2, 3]), m.tensor([1, 2, 2, 3])
        m.op(RELU, [xi], [ri])
        m.op(SOFTMAX, [ri], [yi])
        with self.assertRaisesRegex(t2t.ConversionError, r"SOFTMAX.*operator index 1"):
            t2t.convert(m.build([xi], [yi]))

    def test_unsupported_custom_op(self):
        m = TinyModel()
        xi, yi = m.tensor([1, 2, 2, 3]), m.tensor([1, 2, 2, 3])
        m.op(CUSTOM, [xi], [yi], custom="MaxUnpooling2D")
        with self.assertRaisesRegex(t2t.ConversionError, r"MaxUnpooling2D.*operator index 0"):
            t2t.convert(m.build([xi], [yi]))

    def test_layout_convention_nhwc_in_out(self):
        # A 1x1 conv that swaps the two channels: the output must be the
        # input with channels swapped, in NHWC, contiguous.
        x = rand(1, 3, 5, 2)
        m = TinyModel()
        xi, yi = m.tensor([1, 3, 5, 2]), m.tensor([1, 3, 5, 2])
        w = np.array([[0, 1], [1, 0]], np.float32).reshape(2, 1, 1, 2)
        m.op(CONV_2D, [xi, m.const(w), m.const(np.zeros(2, np.float32))], [yi],
             conv_options(SAME, 1, ACT_NONE))
        got = run_converted(m.build([xi], [yi]), x)
        self.assertEqual(got.shape, (1, 3, 5, 2))
        np.testing.assert_array_equal(got, x[..., ::-1])


if __name__ == "__main__":
    unittest.main()
