#!/usr/bin/python3
"""Convert a TFLite flatbuffer into a frozen TorchScript module.

    /usr/bin/python3 scripts/convert/tflite2torchscript.py IN.tflite OUT.pt [--list-ops]

Convention relied on by the C++ side: forward() takes ONE float32 tensor in the
original TFLite layout (NHWC for images, e.g. 1x256x256x3 for MediaPipe selfie
segmentation) and returns the graph's single output in the original TFLite
layout (e.g. 1x256x256x1).  Internally every rank-4 activation is held as NCHW,
so the convolutions run on PyTorch's native layout; the permutes happen only at
the two ends.

The flatbuffer is read with the `flatbuffers` runtime and a hand-written
description of the subset of the TFLite schema that is needed (slot numbers of
the tables below).  The same description drives a small writer
(`TfliteWriter`), used by the unit tests to build tiny models and by the parity
check to re-emit a model in a form another runtime accepts.

Only the operators listed in `_OP_BUILDERS` are supported.  Anything else stops
the conversion with an error naming the operator and its index, so a graph is
never converted partially or silently wrong.
"""

import argparse
import struct
import sys

import flatbuffers
import numpy as np
import torch
import torch.nn.functional as F
from flatbuffers import number_types as N
from flatbuffers.table import Table

# --------------------------------------------------------------------------
# Schema subset.  Field numbers are the positions of the fields in TFLite's
# schema.fbs tables; a vtable entry for field i lives at byte 4 + 2*i.
# --------------------------------------------------------------------------

# BuiltinOperator codes.  Names are only used for messages; codes without a
# name here are reported as BUILTIN_<code>.
BUILTIN_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D", 5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE",
    7: "EMBEDDING_LOOKUP", 8: "FLOOR", 9: "FULLY_CONNECTED",
    10: "HASHTABLE_LOOKUP", 11: "L2_NORMALIZATION", 12: "L2_POOL_2D",
    13: "LOCAL_RESPONSE_NORMALIZATION", 14: "LOGISTIC", 15: "LSH_PROJECTION",
    16: "LSTM", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 20: "RELU_N1_TO_1",
    21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR", 24: "RNN",
    25: "SOFTMAX", 26: "SPACE_TO_DEPTH", 27: "SVDF", 28: "TANH",
    32: "CUSTOM", 34: "PAD", 36: "GATHER", 39: "TRANSPOSE", 40: "MEAN",
    41: "SUB", 42: "DIV", 43: "SQUEEZE", 45: "STRIDED_SLICE", 47: "EXP",
    49: "SPLIT", 53: "CAST", 54: "PRELU", 55: "MAXIMUM", 57: "MINIMUM",
    60: "PADV2", 65: "SLICE", 67: "TRANSPOSE_CONV", 97: "RESIZE_NEAREST_NEIGHBOR",
    98: "LEAKY_RELU", 114: "QUANTIZE", 117: "HARD_SWISH",
}
BUILTIN_CODES = {name: code for code, name in BUILTIN_NAMES.items()}

# TensorType enum -> numpy dtype.
TENSOR_TYPES = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64,
    6: np.bool_, 7: np.int16, 9: np.int8, 10: np.float64,
}
TENSOR_TYPE_OF = {np.dtype(v): k for k, v in TENSOR_TYPES.items()}

# Padding enum of the builtin options; the MediaPipe custom op uses the C
# enum TfLitePadding instead (see _CUSTOM_PADDING).
PADDING_SAME, PADDING_VALID = 0, 1

# ActivationFunctionType enum (builtin options).  The C enum
# TfLiteFusedActivation used by custom ops has the same first values.
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}

_I8, _I32, _U8, _BOOL = N.Int8Flags, N.Int32Flags, N.Uint8Flags, N.BoolFlags

# Builtin options: op name -> (BuiltinOptions union type, fields), each field
# (name, field number, flags, default).  Ops whose options table is empty or
# unused have no entry.
OPTIONS = {
    "CONV_2D": (1, [("padding", 0, _I8, 0), ("stride_w", 1, _I32, 0),
                    ("stride_h", 2, _I32, 0), ("activation", 3, _I8, 0),
                    ("dilation_w", 4, _I32, 1), ("dilation_h", 5, _I32, 1)]),
    "DEPTHWISE_CONV_2D": (2, [("padding", 0, _I8, 0), ("stride_w", 1, _I32, 0),
                              ("stride_h", 2, _I32, 0),
                              ("depth_multiplier", 3, _I32, 0),
                              ("activation", 4, _I8, 0),
                              ("dilation_w", 5, _I32, 1),
                              ("dilation_h", 6, _I32, 1)]),
    "AVERAGE_POOL_2D": (5, [("padding", 0, _I8, 0), ("stride_w", 1, _I32, 0),
                            ("stride_h", 2, _I32, 0), ("filter_w", 3, _I32, 0),
                            ("filter_h", 4, _I32, 0), ("activation", 5, _I8, 0)]),
    "CONCATENATION": (10, [("axis", 0, _I32, 0), ("activation", 1, _I8, 0)]),
    "ADD": (11, [("activation", 0, _I8, 0)]),
    "RESIZE_BILINEAR": (15, [("align_corners", 2, _BOOL, False),
                             ("half_pixel_centers", 3, _BOOL, False)]),
    "MUL": (21, [("activation", 0, _I8, 0)]),
    "MEAN": (27, [("keep_dims", 0, _BOOL, False)]),
    "SUB": (28, [("activation", 0, _I8, 0)]),
}
OPTIONS["MAX_POOL_2D"] = (5, OPTIONS["AVERAGE_POOL_2D"][1])


class ConversionError(Exception):
    """The model uses something this converter does not handle."""


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

class _T:
    """A flatbuffer table with accessors by field number."""

    def __init__(self, buf, pos):
        self.t = Table(buf, pos)

    def _off(self, field):
        return self.t.Offset(4 + 2 * field)

    def scalar(self, field, flags, default=0):
        return self.t.GetSlot(4 + 2 * field, default, flags)

    def string(self, field):
        o = self._off(field)
        return self.t.String(self.t.Pos + o).decode("utf-8") if o else None

    def array(self, field, flags):
        o = self._off(field)
        if not o:
            return np.zeros(0, N.to_numpy_type(flags))
        return self.t.GetVectorAsNumpy(flags, o)

    def table(self, field):
        o = self._off(field)
        return _T(self.t.Bytes, self.t.Indirect(self.t.Pos + o)) if o else None

    def tables(self, field):
        o = self._off(field)
        if not o:
            return []
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return [_T(self.t.Bytes, self.t.Indirect(start + 4 * i)) for i in range(n)]


class Tensor:
    def __init__(self, index, name, shape, dtype, data):
        self.index, self.name, self.shape, self.dtype = index, name, shape, dtype
        self.data = data                  # numpy array (TFLite layout) or None

    def describe(self):
        return "%s%s" % (self.name, list(self.shape))


class Operator:
    def __init__(self, index, name, inputs, outputs, options, custom_options):
        self.index, self.name = index, name
        self.inputs, self.outputs = inputs, outputs
        self.options, self.custom_options = options, custom_options

    def where(self):
        return "operator %d (%s)" % (self.index, self.name)


class Model:
    def __init__(self, tensors, operators, inputs, outputs):
        self.tensors, self.operators = tensors, operators
        self.inputs, self.outputs = inputs, outputs


def _decode_options(name, op, index):
    spec = OPTIONS.get(name)
    if spec is None:
        return {}
    union_type, fields = spec
    opts = op.table(4)
    got_type = op.scalar(3, _U8)
    if opts is not None and got_type != union_type:
        raise ConversionError("operator %d (%s): options of union type %d, expected %d"
                              % (index, name, got_type, union_type))
    if opts is None:
        # Absent options table: every field takes its schema default.
        return {f: d for f, _, _, d in fields}
    return {f: opts.scalar(slot, flags, d) for f, slot, flags, d in fields}


def read_model(data):
    """Parse a TFLite flatbuffer (bytes) into a Model of its first subgraph."""
    buf = bytearray(data)
    if bytes(buf[4:8]) != b"TFL3":
        raise ConversionError("not a TFLite flatbuffer (file identifier %r)" % bytes(buf[4:8]))
    root = _T(buf, flatbuffers.encode.Get(N.UOffsetTFlags.packer_type, buf, 0))

    op_names = []
    for code in root.tables(1):
        # Newer files store the code in field 3 and clamp the deprecated int8
        # field 0 at 127; older ones only have field 0.  The larger one wins.
        builtin = max(code.scalar(0, _I8), code.scalar(3, _I32))
        if builtin == BUILTIN_CODES["CUSTOM"]:
            op_names.append(code.string(1))
        else:
            op_names.append(BUILTIN_NAMES.get(builtin, "BUILTIN_%d" % builtin))

    buffers = []
    for b in root.tables(4):
        raw = b.array(0, _U8)
        offset, size = b.scalar(1, N.Uint64Flags), b.scalar(2, N.Uint64Flags)
        if len(raw) == 0 and offset > 1:
            # Large models keep buffers after the flatbuffer, addressed by offset.
            raw = np.frombuffer(bytes(buf[offset:offset + size]), np.uint8)
        buffers.append(bytes(raw))

    subgraphs = root.tables(2)
    if len(subgraphs) != 1:
        raise ConversionError("expected exactly one subgraph, found %d" % len(subgraphs))
    sg = subgraphs[0]

    tensors = []
    for i, t in enumerate(sg.tables(0)):
        ttype = t.scalar(1, _I8)
        if ttype not in TENSOR_TYPES:
            raise ConversionError("tensor %d: unsupported tensor type %d" % (i, ttype))
        dtype = np.dtype(TENSOR_TYPES[ttype])
        shape = tuple(int(s) for s in t.array(0, _I32))
        raw = buffers[t.scalar(2, N.Uint32Flags)]
        data = None
        if raw:
            data = np.frombuffer(raw, dtype).reshape(shape).copy()
        tensors.append(Tensor(i, t.string(3) or "t%d" % i, shape, dtype, data))

    operators = []
    for i, op in enumerate(sg.tables(3)):
        name = op_names[op.scalar(0, N.Uint32Flags)]
        operators.append(Operator(
            i, name, [int(x) for x in op.array(1, _I32)], [int(x) for x in op.array(2, _I32)],
            _decode_options(name, op, i), bytes(op.array(5, _U8))))

    return Model(tensors, operators, [int(x) for x in sg.array(1, _I32)],
                 [int(x) for x in sg.array(2, _I32)])


# --------------------------------------------------------------------------
# Writing (tiny models for the tests, re-emitted models for parity checks)
# --------------------------------------------------------------------------

class TfliteWriter:
    """Builds a single-subgraph TFLite flatbuffer.

    tensor() adds a tensor (with data for constants) and returns its index;
    op() adds an operator by builtin name (options as keyword arguments named
    as in OPTIONS) or, with custom=True, by custom code with raw options.
    """

    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [b""], [], []

    def tensor(self, name, shape, dtype=np.float32, data=None):
        buf = 0
        if data is not None:
            data = np.ascontiguousarray(data, dtype=dtype).reshape(shape)
            self.buffers.append(data.tobytes())
            buf = len(self.buffers) - 1
        self.tensors.append((name, tuple(shape), TENSOR_TYPE_OF[np.dtype(dtype)], buf))
        return len(self.tensors) - 1

    def const(self, name, data, dtype=np.float32):
        data = np.asarray(data, dtype=dtype)
        return self.tensor(name, data.shape, dtype, data)

    def op(self, name, inputs, outputs, custom=False, custom_options=b"", version=1, **options):
        key = (name, custom, version)
        if key not in self.codes:
            self.codes.append(key)
        self.ops.append((self.codes.index(key), name, list(inputs), list(outputs),
                         custom_options, options))

    def _ints(self, b, values):
        return b.CreateNumpyVector(np.asarray(values, np.int32))

    def _tables(self, b, offsets):
        b.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def finish(self, inputs, outputs):
        b = flatbuffers.Builder(1024)
        prepend = {_I8: b.PrependInt8Slot, _I32: b.PrependInt32Slot,
                   _U8: b.PrependUint8Slot, _BOOL: b.PrependBoolSlot}

        buffer_offs = []
        for data in self.buffers:
            vec = b.CreateNumpyVector(np.frombuffer(data, np.uint8)) if data else None
            b.StartObject(1)
            if vec is not None:
                b.PrependUOffsetTRelativeSlot(0, vec, 0)
            buffer_offs.append(b.EndObject())

        tensor_offs = []
        for name, shape, ttype, buf in self.tensors:
            name_off, shape_off = b.CreateString(name), self._ints(b, shape)
            b.StartObject(4)
            b.PrependUOffsetTRelativeSlot(0, shape_off, 0)
            b.PrependInt8Slot(1, ttype, 0)
            b.PrependUint32Slot(2, buf, 0)
            b.PrependUOffsetTRelativeSlot(3, name_off, 0)
            tensor_offs.append(b.EndObject())

        op_offs = []
        for code, name, ins, outs, custom_options, options in self.ops:
            opts_off, union_type = None, 0
            if name in OPTIONS and not self.codes[code][1]:
                union_type, fields = OPTIONS[name]
                unknown = set(options) - {f[0] for f in fields}
                if unknown:
                    raise ValueError("unknown options for %s: %s" % (name, sorted(unknown)))
                b.StartObject(max(f[1] for f in fields) + 1)
                for fname, slot, flags, default in fields:
                    prepend[flags](slot, options.get(fname, default), default)
                opts_off = b.EndObject()
            elif options:
                raise ValueError("%s takes no builtin options" % name)
            ins_off, outs_off = self._ints(b, ins), self._ints(b, outs)
            copt_off = (b.CreateNumpyVector(np.frombuffer(custom_options, np.uint8))
                        if custom_options else None)
            b.StartObject(6)
            b.PrependUint32Slot(0, code, 0)
            b.PrependUOffsetTRelativeSlot(1, ins_off, 0)
            b.PrependUOffsetTRelativeSlot(2, outs_off, 0)
            if opts_off is not None:
                b.PrependUint8Slot(3, union_type, 0)
                b.PrependUOffsetTRelativeSlot(4, opts_off, 0)
            if copt_off is not None:
                b.PrependUOffsetTRelativeSlot(5, copt_off, 0)
            op_offs.append(b.EndObject())

        code_offs = []
        for name, custom, version in self.codes:
            cname = b.CreateString(name) if custom else None
            builtin = BUILTIN_CODES["CUSTOM"] if custom else BUILTIN_CODES[name]
            b.StartObject(4)
            b.PrependInt8Slot(0, min(builtin, 127), 0)
            if cname is not None:
                b.PrependUOffsetTRelativeSlot(1, cname, 0)
            b.PrependInt32Slot(2, version, 1)
            b.PrependInt32Slot(3, builtin, 0)
            code_offs.append(b.EndObject())

        tv, ov = self._tables(b, tensor_offs), self._tables(b, op_offs)
        iv, outv = self._ints(b, inputs), self._ints(b, outputs)
        b.StartObject(4)
        b.PrependUOffsetTRelativeSlot(0, tv, 0)
        b.PrependUOffsetTRelativeSlot(1, iv, 0)
        b.PrependUOffsetTRelativeSlot(2, outv, 0)
        b.PrependUOffsetTRelativeSlot(3, ov, 0)
        sg = b.EndObject()

        sgv, cv = self._tables(b, [sg]), self._tables(b, code_offs)
        bv = self._tables(b, buffer_offs)
        desc = b.CreateString("cvtool TfliteWriter")
        b.StartObject(5)
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, cv, 0)
        b.PrependUOffsetTRelativeSlot(2, sgv, 0)
        b.PrependUOffsetTRelativeSlot(3, desc, 0)
        b.PrependUOffsetTRelativeSlot(4, bv, 0)
        b.Finish(b.EndObject(), file_identifier=b"TFL3")
        return bytes(b.Output())


# --------------------------------------------------------------------------
# Torch modules, one per TFLite operator kind.  Rank-4 values are NCHW.
# --------------------------------------------------------------------------

def _nhwc_to_nchw_axis(axis, rank):
    axis = axis + rank if axis < 0 else axis
    return (0, 2, 3, 1)[axis] if rank == 4 else axis


def _apply_activation(x, act):
    if act == "NONE":
        return x
    if act == "RELU":
        return F.relu(x)
    if act == "RELU6":
        return F.hardtanh(x, 0.0, 6.0)
    if act == "RELU_N1_TO_1":
        return F.hardtanh(x, -1.0, 1.0)
    if act == "TANH":
        return torch.tanh(x)
    if act == "SIGMOID":
        return torch.sigmoid(x)
    raise AssertionError(act)


def _same_padding(size, kernel, stride, dilation):
    """TF 'SAME': output ceil(size/stride); odd total padding puts the extra
    row/column at the end (bottom/right)."""
    eff = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


class Conv(torch.nn.Module):
    """CONV_2D and DEPTHWISE_CONV_2D (groups = input channels)."""

    def __init__(self, weight, bias, stride, dilation, pads, groups, act):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.stride, self.dilation, self.groups, self.act = stride, dilation, groups, act
        self.pads = pads  # (left, right, top, bottom) as F.pad wants it

    def forward(self, x):
        if any(self.pads):
            x = F.pad(x, self.pads)
        x = F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return _apply_activation(x, self.act)


class TransposeConvBias(torch.nn.Module):
    """MediaPipe's Convolution2DTransposeBias: a transposed convolution (TFLite
    TRANSPOSE_CONV semantics) plus bias.  The full scatter output is computed
    and then cropped, which covers asymmetric SAME padding."""

    def __init__(self, weight, bias, stride, crop, act):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.stride, self.act = stride, act
        self.crop = crop  # (top, left, out_h, out_w)

    def forward(self, x):
        y = F.conv_transpose2d(x, self.weight, self.bias, self.stride)
        top, left, h, w = self.crop
        y = y[:, :, top:top + h, left:left + w]
        return _apply_activation(y, self.act)


class Pool(torch.nn.Module):
    """AVERAGE_POOL_2D / MAX_POOL_2D.  TFLite averages over the in-image
    elements only, so the padded sum is divided by a pooled mask of ones."""

    def __init__(self, kind, kernel, stride, pads, in_hw, act):
        super().__init__()
        self.kind, self.kernel, self.stride, self.pads, self.act = kind, kernel, stride, pads, act
        self.padded = any(pads)
        if kind == "avg" and self.padded:
            ones = F.pad(torch.ones(1, 1, *in_hw), pads)
            self.register_buffer("count", F.avg_pool2d(ones, kernel, stride))
        else:
            self.register_buffer("count", torch.ones(1))

    def forward(self, x):
        if self.kind == "max":
            if self.padded:
                x = F.pad(x, self.pads, value=float("-inf"))
            y = F.max_pool2d(x, self.kernel, self.stride)
        else:
            if self.padded:
                y = F.avg_pool2d(F.pad(x, self.pads), self.kernel, self.stride) / self.count
            else:
                y = F.avg_pool2d(x, self.kernel, self.stride)
        return _apply_activation(y, self.act)


class Mean(torch.nn.Module):
    def __init__(self, dims, keep_dims, squeeze_nhwc):
        super().__init__()
        self.dims, self.keep_dims = dims, keep_dims
        self.squeeze_nhwc = squeeze_nhwc  # rank-4 input reduced without keep_dims

    def forward(self, x):
        if self.squeeze_nhwc is None:
            return x.mean(self.dims, keepdim=self.keep_dims)
        # Reduce in NCHW keeping dims, go back to NHWC order, then drop the
        # reduced axes: the surviving axes keep TFLite's order.
        y = x.mean(self.dims, keepdim=True).permute(0, 2, 3, 1)
        for d in sorted(self.squeeze_nhwc, reverse=True):
            y = y.squeeze(d)
        return y


class Binary(torch.nn.Module):
    """ADD / MUL / SUB with broadcasting.  `const` (already in internal
    layout) replaces the missing runtime operand; `lift` marks a runtime
    operand of rank < 4 that must be broadcast against an NCHW tensor."""

    def __init__(self, kind, const, const_pos, lift, act):
        super().__init__()
        self.kind, self.const_pos, self.lift, self.act = kind, const_pos, lift, act
        self.register_buffer("const", const if const is not None else torch.zeros(1))

    def _to_nchw(self, t):
        while t.dim() < 4:
            t = t.unsqueeze(0)
        return t.permute(0, 3, 1, 2)

    def forward(self, a, b=None):
        if self.const_pos == 0:
            a, b = self.const, a
        elif self.const_pos == 1:
            b = self.const
        if self.lift == 0:
            a = self._to_nchw(a)
        elif self.lift == 1:
            b = self._to_nchw(b)
        if self.kind == "ADD":
            y = a + b
        elif self.kind == "MUL":
            y = a * b
        else:
            y = a - b
        return _apply_activation(y, self.act)


class Unary(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        if self.kind == "RELU":
            return F.relu(x)
        if self.kind == "RELU6":
            return F.hardtanh(x, 0.0, 6.0)
        if self.kind == "LOGISTIC":
            return torch.sigmoid(x)
        if self.kind == "TANH":
            return torch.tanh(x)
        if self.kind == "HARD_SWISH":
            return F.hardswish(x)
        if self.kind == "DEQUANTIZE":
            return x.float()
        raise AssertionError(self.kind)


def _resize_table(in_size, out_size, align_corners, half_pixel):
    """Source indices and weights of TFLite's reference RESIZE_BILINEAR along
    one axis, computed in float32 as the kernel does."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    dst = np.arange(out_size, dtype=f32)
    src = ((dst + f32(0.5)) * scale - f32(0.5)) if half_pixel else dst * scale
    lo = np.maximum(np.floor(src), 0).astype(np.int64)
    hi = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
    # As in TFLite, the weight is measured from the clamped lower index; when
    # lo == hi the two terms collapse to the single source value.
    frac = (src - lo.astype(f32)).astype(f32)
    return torch.from_numpy(lo), torch.from_numpy(hi), torch.from_numpy(frac)


class ResizeBilinear(torch.nn.Module):
    """RESIZE_BILINEAR with the exact index/weight rules of TFLite for all
    three modes (legacy, align_corners, half_pixel_centers), done as two
    separable gathers."""

    def __init__(self, in_hw, out_hw, align_corners, half_pixel):
        super().__init__()
        for axis, (i, o) in zip("hw", zip(in_hw, out_hw)):
            lo, hi, frac = _resize_table(i, o, align_corners, half_pixel)
            self.register_buffer(axis + "_lo", lo)
            self.register_buffer(axis + "_hi", hi)
            self.register_buffer(axis + "_frac", frac)

    def forward(self, x):
        fh = self.h_frac.view(1, 1, -1, 1)
        x = x.index_select(2, self.h_lo) * (1 - fh) + x.index_select(2, self.h_hi) * fh
        fw = self.w_frac.view(1, 1, 1, -1)
        return x.index_select(3, self.w_lo) * (1 - fw) + x.index_select(3, self.w_hi) * fw


class Concat(torch.nn.Module):
    def __init__(self, dim, act):
        super().__init__()
        self.dim, self.act = dim, act

    def forward(self, *xs):
        return _apply_activation(torch.cat(xs, self.dim), self.act)


class Pad(torch.nn.Module):
    def __init__(self, pads):
        super().__init__()
        self.pads = pads

    def forward(self, x):
        return F.pad(x, self.pads)


class TfliteGraph(torch.nn.Module):
    """Runs the converted operators in TFLite order over a table of values
    keyed by TFLite tensor index."""

    def __init__(self, steps, input_index, output_index, input_rank, output_rank):
        super().__init__()
        self.ops = torch.nn.ModuleList([s[0] for s in steps])
        self.wiring = [(s[1], s[2]) for s in steps]
        self.input_index, self.output_index = input_index, output_index
        self.input_rank, self.output_rank = input_rank, output_rank

    def forward(self, x):
        return self.run(x)

    def run(self, x, expected_shapes=None):
        """expected_shapes (tensor index -> internal shape) turns on a check
        of every intermediate against the shapes declared in the file."""
        if self.input_rank == 4:
            x = x.permute(0, 3, 1, 2)
        values = {self.input_index: x}
        for op, (ins, out) in zip(self.ops, self.wiring):
            values[out] = op(*[values[i] for i in ins])
            if expected_shapes is not None and tuple(values[out].shape) != expected_shapes[out]:
                raise ConversionError("tensor %d: computed shape %s, file declares %s "
                                      "(internal layout)"
                                      % (out, tuple(values[out].shape), expected_shapes[out]))
        y = values[self.output_index]
        if self.output_rank == 4:
            y = y.permute(0, 2, 3, 1).contiguous()
        return y


# --------------------------------------------------------------------------
# Graph construction
# --------------------------------------------------------------------------

# MediaPipe custom op options are a raw C struct TfLiteTransposeConvParams:
# int32 padding (TfLitePadding: 1 SAME, 2 VALID), stride_width, stride_height
# and, in newer builds, an int32 fused activation.
_CUSTOM_PADDING = {1: PADDING_SAME, 2: PADDING_VALID}
_CUSTOM_ACTIVATIONS = {**ACTIVATIONS, 6: "SIGMOID"}


class _Builder:
    def __init__(self, model):
        self.m = model
        self.consts = {}     # tensor index -> numpy array in TFLite layout
        self.steps = []
        for t in model.tensors:
            if t.data is not None:
                self.consts[t.index] = t.data

    # -- helpers --------------------------------------------------------
    def shape(self, i):
        return self.m.tensors[i].shape

    def internal_shape(self, i):
        s = self.shape(i)
        return (s[0], s[3], s[1], s[2]) if len(s) == 4 else tuple(s)

    def const(self, op, i, what):
        if i not in self.consts:
            raise ConversionError("%s: %s (%s) must be a constant"
                                  % (op.where(), what, self.m.tensors[i].describe()))
        return self.consts[i]

    def runtime(self, op, i):
        if i in self.consts:
            raise ConversionError("%s: constant input %s where a computed value is expected"
                                  % (op.where(), self.m.tensors[i].describe()))
        return i

    def activation(self, op, code, table=ACTIVATIONS):
        if code not in table:
            raise ConversionError("%s: unsupported fused activation %d" % (op.where(), code))
        return table[code]

    def pads(self, op, padding, in_hw, kernel, stride, dilation):
        if padding == PADDING_VALID:
            return (0, 0, 0, 0)
        if padding != PADDING_SAME:
            raise ConversionError("%s: unknown padding %d" % (op.where(), padding))
        top, bottom = _same_padding(in_hw[0], kernel[0], stride[0], dilation[0])
        left, right = _same_padding(in_hw[1], kernel[1], stride[1], dilation[1])
        return (left, right, top, bottom)

    def add(self, module, inputs, output):
        self.steps.append((module, list(inputs), output))

    def float_const(self, op, i, what):
        a = self.const(op, i, what)
        if a.dtype != np.float32:
            raise ConversionError("%s: %s has type %s, expected float32"
                                  % (op.where(), what, a.dtype))
        return torch.from_numpy(np.ascontiguousarray(a))

    def bias(self, op, ins, channels):
        if len(ins) > 2 and ins[2] >= 0:
            return self.float_const(op, ins[2], "bias")
        return torch.zeros(channels)

    def check_float(self, op, i):
        t = self.m.tensors[i]
        if t.dtype != np.float32:
            raise ConversionError("%s: tensor %s has type %s; only float32 graphs are supported"
                                  % (op.where(), t.describe(), t.dtype))

    # -- operators ------------------------------------------------------
    def conv_2d(self, op):
        x, w_i = op.inputs[0], op.inputs[1]
        o = op.options
        w = self.float_const(op, w_i, "filter")            # O, H, W, I
        in_shape = self.shape(x)
        groups = in_shape[3] // w.shape[3]
        if groups * w.shape[3] != in_shape[3]:
            raise ConversionError("%s: filter depth %d does not divide input depth %d"
                                  % (op.where(), w.shape[3], in_shape[3]))
        stride, dil = (o["stride_h"], o["stride_w"]), (o["dilation_h"], o["dilation_w"])
        pads = self.pads(op, o["padding"], in_shape[1:3], w.shape[1:3], stride, dil)
        self.add(Conv(w.permute(0, 3, 1, 2).contiguous(), self.bias(op, op.inputs, w.shape[0]),
                      stride, dil, pads, groups, self.activation(op, o["activation"])),
                 [self.runtime(op, x)], op.outputs[0])

    def depthwise_conv_2d(self, op):
        x, w_i = op.inputs[0], op.inputs[1]
        o = op.options
        w = self.float_const(op, w_i, "filter")            # 1, H, W, C*M
        in_c = self.shape(x)[3]
        if w.shape[0] != 1 or w.shape[3] % in_c:
            raise ConversionError("%s: depthwise filter %s does not fit input %s"
                                  % (op.where(), tuple(w.shape), self.shape(x)))
        # Output channel c*M + m reads input channel c, which is exactly the
        # channel order of a grouped convolution with groups = C.
        stride, dil = (o["stride_h"], o["stride_w"]), (o["dilation_h"], o["dilation_w"])
        pads = self.pads(op, o["padding"], self.shape(x)[1:3], w.shape[1:3], stride, dil)
        self.add(Conv(w.permute(3, 0, 1, 2).contiguous(), self.bias(op, op.inputs, w.shape[3]),
                      stride, dil, pads, in_c, self.activation(op, o["activation"])),
                 [self.runtime(op, x)], op.outputs[0])

    def convolution2dtransposebias(self, op):
        x, w_i = op.inputs[0], op.inputs[1]
        raw = op.custom_options
        if len(raw) < 12 or len(raw) % 4:
            raise ConversionError("%s: custom options of %d bytes, expected a "
                                  "TfLiteTransposeConvParams struct" % (op.where(), len(raw)))
        fields = struct.unpack("<%di" % (len(raw) // 4), raw)
        padding_c, stride_w, stride_h = fields[:3]
        act = self.activation(op, fields[3], _CUSTOM_ACTIVATIONS) if len(fields) > 3 else "NONE"
        if padding_c not in _CUSTOM_PADDING:
            raise ConversionError("%s: unknown padding %d" % (op.where(), padding_c))
        w = self.float_const(op, w_i, "filter")            # O, H, W, I
        in_shape, out_shape = self.shape(x), self.shape(op.outputs[0])
        crop = []
        for d, k, s in ((1, w.shape[1], stride_h), (2, w.shape[2], stride_w)):
            full = (in_shape[d] - 1) * s + k
            if _CUSTOM_PADDING[padding_c] == PADDING_SAME:
                # Same rule as TFLite TRANSPOSE_CONV: the padding of the forward
                # convolution from output to input; the odd pixel goes last.
                before = max(full - out_shape[d], 0) // 2
            else:
                before = 0
            if before + out_shape[d] > full:
                raise ConversionError("%s: output size %d not reachable from input %d"
                                      % (op.where(), out_shape[d], in_shape[d]))
            crop.append(before)
        self.add(TransposeConvBias(w.permute(3, 0, 1, 2).contiguous(),
                                   self.bias(op, op.inputs, w.shape[0]), (stride_h, stride_w),
                                   (crop[0], crop[1], out_shape[1], out_shape[2]), act),
                 [self.runtime(op, x)], op.outputs[0])

    def _pool(self, op, kind):
        o = op.options
        x = op.inputs[0]
        in_shape = self.shape(x)
        kernel, stride = (o["filter_h"], o["filter_w"]), (o["stride_h"], o["stride_w"])
        pads = self.pads(op, o["padding"], in_shape[1:3], kernel, stride, (1, 1))
        self.add(Pool(kind, kernel, stride, pads, in_shape[1:3],
                      self.activation(op, o["activation"])), [self.runtime(op, x)], op.outputs[0])

    def average_pool_2d(self, op):
        self._pool(op, "avg")

    def max_pool_2d(self, op):
        self._pool(op, "max")

    def mean(self, op):
        x = self.runtime(op, op.inputs[0])
        rank = len(self.shape(x))
        axes = sorted({int(a) % rank for a in np.ravel(self.const(op, op.inputs[1], "axes"))})
        keep = bool(op.options["keep_dims"])
        dims = [_nhwc_to_nchw_axis(a, rank) for a in axes]
        squeeze = axes if (rank == 4 and not keep) else None
        self.add(Mean(dims, keep, squeeze), [x], op.outputs[0])

    def _binary(self, op, kind):
        a, b = op.inputs[:2]
        out_rank = len(self.shape(op.outputs[0]))
        if a in self.consts and b in self.consts:
            raise ConversionError("%s: both operands are constants" % op.where())
        const_pos, const, runtime = None, None, [a, b]
        for pos, i in enumerate((a, b)):
            if i in self.consts:
                c = self.float_const(op, i, "operand").reshape(self.shape(i))
                if out_rank == 4:
                    # Right-aligned NHWC broadcasting -> NCHW broadcasting.
                    while c.dim() < 4:
                        c = c.unsqueeze(0)
                    c = c.permute(0, 3, 1, 2).contiguous()
                const_pos, const = pos, c
                runtime = [b] if pos == 0 else [a]
        lift = None
        if out_rank == 4:
            for pos, i in enumerate((a, b)):
                if i not in self.consts and len(self.shape(i)) < 4:
                    lift = pos
        act = self.activation(op, op.options["activation"])
        self.add(Binary(kind, const, const_pos, lift, act), runtime, op.outputs[0])

    def add_(self, op):
        self._binary(op, "ADD")

    def mul(self, op):
        self._binary(op, "MUL")

    def sub(self, op):
        self._binary(op, "SUB")

    def _unary(self, op, kind):
        self.add(Unary(kind), [self.runtime(op, op.inputs[0])], op.outputs[0])

    def relu(self, op):
        self._unary(op, "RELU")

    def relu6(self, op):
        self._unary(op, "RELU6")

    def logistic(self, op):
        self._unary(op, "LOGISTIC")

    def tanh(self, op):
        self._unary(op, "TANH")

    def hard_swish(self, op):
        self._unary(op, "HARD_SWISH")

    def resize_bilinear(self, op):
        x = self.runtime(op, op.inputs[0])
        size = [int(v) for v in np.ravel(self.const(op, op.inputs[1], "size"))]
        o = op.options
        if o["align_corners"] and o["half_pixel_centers"]:
            raise ConversionError("%s: align_corners and half_pixel_centers both set" % op.where())
        if len(self.shape(x)) != 4 or len(size) != 2:
            raise ConversionError("%s: expects a rank-4 input and a size of 2" % op.where())
        self.add(ResizeBilinear(self.shape(x)[1:3], size, bool(o["align_corners"]),
                                bool(o["half_pixel_centers"])), [x], op.outputs[0])

    def concatenation(self, op):
        rank = len(self.shape(op.outputs[0]))
        ins = [self.runtime(op, i) for i in op.inputs]
        dim = _nhwc_to_nchw_axis(op.options["axis"], rank)
        self.add(Concat(dim, self.activation(op, op.options["activation"])), ins, op.outputs[0])

    def pad(self, op):
        x = self.runtime(op, op.inputs[0])
        p = np.asarray(self.const(op, op.inputs[1], "paddings")).reshape(-1, 2)
        if len(p) == 4:
            p = p[[0, 3, 1, 2]]            # NHWC rows -> NCHW order
        # F.pad lists (before, after) pairs starting from the last dimension.
        flat = tuple(int(v) for pair in p[::-1] for v in pair)
        self.add(Pad(flat), [x], op.outputs[0])

    def dequantize(self, op):
        src, dst = op.inputs[0], op.outputs[0]
        t = self.m.tensors[src]
        if src in self.consts:
            a = self.consts[src]
            # Float16 weights only; integer-quantized models are out of scope.
            if a.dtype != np.float16:
                raise ConversionError("%s: cannot dequantize constant of type %s"
                                      % (op.where(), a.dtype))
            self.consts[dst] = a.astype(np.float32)
            return
        if t.dtype != np.float16:
            raise ConversionError("%s: runtime DEQUANTIZE of %s is not supported"
                                  % (op.where(), t.dtype))
        self._unary(op, "DEQUANTIZE")


# TFLite operator name -> _Builder method.
_OP_BUILDERS = {
    "CONV_2D": _Builder.conv_2d,
    "DEPTHWISE_CONV_2D": _Builder.depthwise_conv_2d,
    "Convolution2DTransposeBias": _Builder.convolution2dtransposebias,
    "AVERAGE_POOL_2D": _Builder.average_pool_2d,
    "MAX_POOL_2D": _Builder.max_pool_2d,
    "MEAN": _Builder.mean,
    "ADD": _Builder.add_,
    "MUL": _Builder.mul,
    "SUB": _Builder.sub,
    "RELU": _Builder.relu,
    "RELU6": _Builder.relu6,
    "LOGISTIC": _Builder.logistic,
    "TANH": _Builder.tanh,
    "HARD_SWISH": _Builder.hard_swish,
    "RESIZE_BILINEAR": _Builder.resize_bilinear,
    "CONCATENATION": _Builder.concatenation,
    "PAD": _Builder.pad,
    "DEQUANTIZE": _Builder.dequantize,
}


def build_graph(model):
    """Model -> (TfliteGraph in eager mode, {tensor index: internal shape})."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConversionError("expected one input and one output, found %d and %d"
                              % (len(model.inputs), len(model.outputs)))
    b = _Builder(model)
    for op in model.operators:
        fn = _OP_BUILDERS.get(op.name)
        if fn is None:
            raise ConversionError("unsupported operator %s at operator index %d"
                                  % (op.name, op.index))
        if op.name != "DEQUANTIZE":
            for i in list(op.inputs[:1]) + list(op.outputs):
                b.check_float(op, i)
        fn(b, op)
    produced = {s[2] for s in b.steps}
    out = model.outputs[0]
    if out not in produced and out != model.inputs[0]:
        raise ConversionError("graph output %s is not computed by any operator"
                              % model.tensors[out].describe())
    shapes = {i: b.internal_shape(i) for i in produced}
    graph = TfliteGraph(b.steps, model.inputs[0], out, len(b.shape(model.inputs[0])),
                        len(b.shape(out)))
    return graph.eval(), shapes


def op_summary(model):
    counts = {}
    for op in model.operators:
        counts[op.name] = counts.get(op.name, 0) + 1
    return counts


def convert(tflite_bytes, example=None):
    """Return (frozen TorchScript module, eager module, example input).

    The eager graph is run once with every intermediate shape checked against
    the file before tracing."""
    model = read_model(tflite_bytes)
    graph, shapes = build_graph(model)
    if example is None:
        shape = model.tensors[model.inputs[0]].shape
        example = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        graph.run(example, expected_shapes=shapes)
        traced = torch.jit.trace(graph, example)
        frozen = torch.jit.freeze(traced)
    return frozen, graph, example


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="TFLite flatbuffer")
    ap.add_argument("output", nargs="?", help="TorchScript file to write")
    ap.add_argument("--list-ops", action="store_true", help="print the operators and exit")
    args = ap.parse_args(argv)

    data = open(args.input, "rb").read()
    model = read_model(data)
    inp, out = model.tensors[model.inputs[0]], model.tensors[model.outputs[0]]
    print("input  %s %s" % (inp.describe(), inp.dtype))
    print("output %s %s" % (out.describe(), out.dtype))
    for name, n in sorted(op_summary(model).items()):
        print("  %-28s %d" % (name, n))
    if args.list_ops:
        return 0
    if not args.output:
        ap.error("OUT.pt is required unless --list-ops is given")

    try:
        frozen, graph, example = convert(data)
    except ConversionError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    frozen.save(args.output)
    reloaded = torch.jit.load(args.output)
    with torch.no_grad():
        want = graph(example)
        got = reloaded(example)
    diff = (want - got).abs().max().item()
    print("saved %s; reloaded vs eager max |diff| = %.3g" % (args.output, diff))
    if diff > 1e-5 or got.shape != want.shape:
        print("error: reloaded module disagrees with the eager graph", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
