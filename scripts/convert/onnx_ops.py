"""PyTorch implementations of ONNX operators, one nn.Module per ONNX node.

Every module is written so that `torch.jit.trace` records a graph that stays
valid for other input sizes: shapes are read as traced values (`x.shape[i]`,
`torch._shape_as_tensor`) and never turned into Python ints with `.tolist()` or
`int()`; only values that are constant in the ONNX graph are read at build time.

Construction: `build_op(node, static)` where `static[i]` is the numpy value of
input i when it is a graph constant (initializer, Constant node or folded
constant sub-graph), else None. At run time the module is called with one
argument per ONNX input: the tensor for dynamic inputs, None for static or
missing ones (the module supplies static values itself, see `OnnxOp.operands`).
"""

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class UnsupportedOnnxError(NotImplementedError):
    """Raised for ops or attribute combinations this converter does not handle.

    Conversion must stop instead of producing a graph that silently computes
    something else, so every unhandled case ends here with the node named.
    """


def unsupported(node, why):
    return UnsupportedOnnxError(
        f"unsupported ONNX {node.op_type} (node '{node.name}', opset {node.opset}): {why}")


# ONNX TensorProto element types -> torch dtypes.
ONNX_DTYPES = {
    1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16,
    6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16,
    11: torch.float64,
}


class OnnxOp(nn.Module):
    """Base class: keeps static inputs that are used as tensors at run time.

    Subclasses list in `build_time_inputs` the input positions they consume
    while being built (weights folded into parameters, axes, bounds, ...);
    those are not stored again as buffers.
    """

    build_time_inputs = ()

    def __init__(self, node, static):
        super().__init__()
        self.op_name = node.name
        self._static_slots = []
        for i, value in enumerate(static):
            if value is None or i in self.build_time_inputs:
                continue
            self.register_buffer(f"const{i}", torch.from_numpy(np.array(value)))
            self._static_slots.append(i)

    def operands(self, xs):
        """Run-time inputs with static ones filled in from buffers."""
        xs = list(xs)
        for i in self._static_slots:
            xs[i] = getattr(self, f"const{i}")
        return xs


def _ints(value):
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _static_required(node, static, i, what):
    if i >= len(static) or static[i] is None:
        if i < len(node.inputs) and node.inputs[i]:
            raise unsupported(node, f"{what} (input {i}) must be a graph constant")
        return None
    return static[i]


def _split_pads(node, pads, nspatial):
    pads = list(pads) if pads else [0] * (2 * nspatial)
    if len(pads) != 2 * nspatial:
        raise unsupported(node, f"pads {pads} do not match {nspatial} spatial dims")
    return pads[:nspatial], pads[nspatial:]


def _check_auto_pad(node, attrs):
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return True
    if auto_pad not in ("NOTSET", ""):
        raise unsupported(node, f"auto_pad={auto_pad}")
    return False


# ---------------------------------------------------------------- elementwise

class Binary(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        if node.attrs.get("broadcast") or "axis" in node.attrs:
            # Pre-opset-7 broadcasting aligned on an axis, not numpy style.
            raise unsupported(node, "legacy 'broadcast'/'axis' attributes")
        self.kind = node.op_type

    def forward(self, a, b):
        a, b = self.operands([a, b])
        if self.kind == "Add":
            return a + b
        if self.kind == "Sub":
            return a - b
        if self.kind == "Mul":
            return a * b
        if self.kind == "Div":
            if a.is_floating_point():
                return a / b
            # ONNX integer Div truncates toward zero (C semantics), not floor.
            return torch.div(a, b, rounding_mode="trunc")
        # Pow: ONNX keeps the type of the base.
        return torch.pow(a, b).to(a.dtype)


class Unary(OnnxOp):
    FUNCS = {
        "Relu": torch.relu,
        "Sigmoid": torch.sigmoid,
        "Sqrt": torch.sqrt,
        "Identity": lambda x: x,
    }

    def __init__(self, node, static):
        super().__init__(node, static)
        self.kind = node.op_type

    def forward(self, x):
        (x,) = self.operands([x])
        return self.FUNCS[self.kind](x)


class Clip(OnnxOp):
    build_time_inputs = (1, 2)

    def __init__(self, node, static):
        super().__init__(node, static)
        if node.opset < 11:
            # Bounds were attributes before opset 11 (defaults: no bound).
            self.lo = node.attrs.get("min")
            self.hi = node.attrs.get("max")
        else:
            lo = _static_required(node, static, 1, "min")
            hi = _static_required(node, static, 2, "max")
            self.lo = None if lo is None else np.asarray(lo).item()
            self.hi = None if hi is None else np.asarray(hi).item()
        # Pre-11 defaults were the float extremes: treat them as "no bound".
        if self.lo is not None and self.lo <= -3.4e38:
            self.lo = None
        if self.hi is not None and self.hi >= 3.4e38:
            self.hi = None

    def forward(self, x, lo=None, hi=None):
        (x,) = self.operands([x])
        if self.lo is None and self.hi is None:
            return x  # ONNX: no bounds is identity; torch.clamp would throw.
        return torch.clamp(x, self.lo, self.hi)


class HardSigmoid(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        # Kept as given: Paddle's alpha 0.1666667 is not float32(1/6), so
        # F.hardsigmoid is not a drop-in replacement.
        self.alpha = float(node.attrs.get("alpha", 0.2))
        self.beta = float(node.attrs.get("beta", 0.5))

    def forward(self, x):
        (x,) = self.operands([x])
        return torch.clamp(x * self.alpha + self.beta, 0.0, 1.0)


class Cast(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        to = node.attrs["to"]
        if to not in ONNX_DTYPES:
            raise unsupported(node, f"cast to ONNX type {to}")
        self.dtype = ONNX_DTYPES[to]

    def forward(self, x):
        (x,) = self.operands([x])
        return x.to(self.dtype)


class MatMul(OnnxOp):
    def forward(self, a, b):
        a, b = self.operands([a, b])
        return torch.matmul(a, b)


# ------------------------------------------------------------ convolutions

def _conv_weights(node, static, kind):
    """The build-time weight and optional bias of a (transposed) convolution, and its
    number of spatial dimensions."""
    w = _static_required(node, static, 1, "weight")
    if w is None:
        raise unsupported(node, "missing weight")
    b = _static_required(node, static, 2, "bias")
    nspatial = w.ndim - 2
    if nspatial not in (1, 2, 3):
        raise unsupported(node, f"{nspatial}-D {kind}")
    return w, b, nspatial


class Conv(OnnxOp):
    build_time_inputs = (1, 2)

    def __init__(self, node, static):
        super().__init__(node, static)
        w, b, self.nspatial = _conv_weights(node, static, "convolution")
        a = node.attrs
        valid = _check_auto_pad(node, a)
        begin, end = _split_pads(node, None if valid else a.get("pads"), self.nspatial)
        self.weight = nn.Parameter(torch.from_numpy(np.array(w, dtype=np.float32)), requires_grad=False)
        self.bias = None if b is None else nn.Parameter(
            torch.from_numpy(np.array(b, dtype=np.float32)), requires_grad=False)
        self.stride = list(a.get("strides", [1] * self.nspatial))
        self.dilation = list(a.get("dilations", [1] * self.nspatial))
        self.groups = int(a.get("group", 1))
        if begin == end:
            self.padding, self.extra_pad = list(begin), None
        else:
            # torch convs pad symmetrically; asymmetric pads go through F.pad
            # (F.pad wants the last dimension first).
            self.padding = [0] * self.nspatial
            self.extra_pad = [p for i in reversed(range(self.nspatial)) for p in (begin[i], end[i])]

    def forward(self, x, w=None, b=None):
        (x,) = self.operands([x])
        if self.extra_pad is not None:
            x = F.pad(x, self.extra_pad)
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.nspatial - 1]
        return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose(OnnxOp):
    build_time_inputs = (1, 2)

    def __init__(self, node, static):
        super().__init__(node, static)
        w, b, self.nspatial = _conv_weights(node, static, "transposed convolution")
        a = node.attrs
        if "output_shape" in a:
            raise unsupported(node, "output_shape attribute")
        valid = _check_auto_pad(node, a)
        self.begin, self.end = _split_pads(node, None if valid else a.get("pads"), self.nspatial)
        self.weight = nn.Parameter(torch.from_numpy(np.array(w, dtype=np.float32)), requires_grad=False)
        self.bias = None if b is None else nn.Parameter(
            torch.from_numpy(np.array(b, dtype=np.float32)), requires_grad=False)
        self.stride = list(a.get("strides", [1] * self.nspatial))
        self.dilation = list(a.get("dilations", [1] * self.nspatial))
        self.output_padding = list(a.get("output_padding", [0] * self.nspatial))
        self.groups = int(a.get("group", 1))

    def forward(self, x, w=None, b=None):
        (x,) = self.operands([x])
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.nspatial - 1]
        if self.begin == self.end:
            return conv(x, self.weight, self.bias, self.stride, self.begin,
                        self.output_padding, self.groups, self.dilation)
        # ONNX pads crop the full output; with asymmetric pads crop explicitly.
        y = conv(x, self.weight, self.bias, self.stride, 0, self.output_padding,
                 self.groups, self.dilation)
        for i in range(self.nspatial):
            if self.begin[i] or self.end[i]:
                end = -self.end[i] if self.end[i] else None
                y = _slice_axis(y, 2 + i, self.begin[i], end)
        return y


def _slice_axis(x, axis, start, end, step=1):
    index = [slice(None)] * x.dim()
    index[axis] = slice(start, end, step)
    return x[tuple(index)]


class BatchNormalization(OnnxOp):
    build_time_inputs = (1, 2, 3, 4)

    def __init__(self, node, static):
        super().__init__(node, static)
        if len([o for o in node.outputs if o]) > 1:
            raise unsupported(node, "training-mode outputs (mean/var)")
        if node.attrs.get("training_mode", 0):
            raise unsupported(node, "training_mode=1")
        names = ("scale", "bias", "mean", "var")
        for i, name in enumerate(names, start=1):
            v = _static_required(node, static, i, name)
            self.register_buffer(name, torch.from_numpy(np.array(v, dtype=np.float32)))
        self.eps = float(node.attrs.get("epsilon", 1e-5))

    def forward(self, x, *unused):
        (x,) = self.operands([x])
        return F.batch_norm(x, self.mean, self.var, self.scale, self.bias, False, 0.0, self.eps)


# ------------------------------------------------------------------ pooling

class GlobalAveragePool(OnnxOp):
    def forward(self, x):
        (x,) = self.operands([x])
        return torch.mean(x, dim=list(range(2, x.dim())), keepdim=True)


class Pool(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        a = node.attrs
        self.kind = node.op_type
        self.kernel = list(a["kernel_shape"])
        self.nspatial = len(self.kernel)
        if self.nspatial not in (1, 2, 3):
            raise unsupported(node, f"{self.nspatial}-D pooling")
        valid = _check_auto_pad(node, a)
        begin, end = _split_pads(node, None if valid else a.get("pads"), self.nspatial)
        self.stride = list(a.get("strides", [1] * self.nspatial))
        self.ceil_mode = bool(a.get("ceil_mode", 0))
        self.dilation = list(a.get("dilations", [1] * self.nspatial))
        # ONNX default count_include_pad=0, torch's default is True.
        self.count_include_pad = bool(a.get("count_include_pad", 0))
        if len([o for o in node.outputs if o]) > 1:
            raise unsupported(node, "Indices output")
        if a.get("storage_order", 0):
            raise unsupported(node, "storage_order=1")
        self.extra_pad = None
        if begin == end and all(2 * p <= k for p, k in zip(begin, self.kernel)):
            self.padding = begin
        elif self.kind == "MaxPool":
            # Padding with -inf never wins a max, so explicit padding is exact.
            self.padding = [0] * self.nspatial
            self.extra_pad = [p for i in reversed(range(self.nspatial)) for p in (begin[i], end[i])]
        else:
            raise unsupported(node, f"asymmetric or oversized pads {begin + end}")
        if self.kind == "AveragePool" and any(d != 1 for d in self.dilation):
            raise unsupported(node, "dilated AveragePool")

    def forward(self, x):
        (x,) = self.operands([x])
        n = self.nspatial - 1
        if self.kind == "MaxPool":
            if self.extra_pad is not None:
                x = F.pad(x, self.extra_pad, value=-math.inf)
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[n]
            return fn(x, self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode)
        fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n]
        return fn(x, self.kernel, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


# ---------------------------------------------------------------- reductions

class ReduceMean(OnnxOp):
    build_time_inputs = (1,)

    def __init__(self, node, static):
        super().__init__(node, static)
        if node.opset >= 18:
            axes = _static_required(node, static, 1, "axes")
        else:
            axes = node.attrs.get("axes")
        self.axes = None if axes is None else _ints(axes)
        self.keepdims = bool(node.attrs.get("keepdims", 1))
        if node.attrs.get("noop_with_empty_axes", 0) and not self.axes:
            raise unsupported(node, "noop_with_empty_axes=1 without axes")

    def forward(self, x, axes=None):
        (x,) = self.operands([x])
        dims = self.axes if self.axes else list(range(x.dim()))
        return torch.mean(x, dim=dims, keepdim=self.keepdims)


class Softmax(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        self.legacy = node.opset < 13
        self.axis = int(node.attrs.get("axis", 1 if self.legacy else -1))

    def forward(self, x):
        (x,) = self.operands([x])
        axis = self.axis % x.dim()
        if not self.legacy or axis == x.dim() - 1:
            return torch.softmax(x, dim=axis)
        # Before opset 13 the input is viewed as 2-D [prod(d[:axis]), prod(d[axis:])]
        # and normalised over the whole second part, not over one axis.
        return torch.softmax(x.flatten(axis), dim=-1).reshape(x.shape)


# ------------------------------------------------------------------- resize

class Resize(OnnxOp):
    build_time_inputs = (1, 2, 3)

    def __init__(self, node, static):
        super().__init__(node, static)
        a = node.attrs
        self.mode = a.get("mode", "nearest")
        if node.op_type == "Upsample" or node.opset < 11:
            scales = _static_required(node, static, 1, "scales")
            if scales is None:
                scales = a.get("scales")
            sizes = None
            # Opset 10 had no coordinate attributes; ORT keeps the original
            # rule: x = dst / scale, truncated, but ceil'ed when downsampling.
            self.coord = "asymmetric"
            self.nearest_mode = "legacy"
        else:
            scales = _static_required(node, static, 2, "scales") if len(node.inputs) > 2 else None
            sizes = _static_required(node, static, 3, "sizes") if len(node.inputs) > 3 else None
            self.coord = a.get("coordinate_transformation_mode", "half_pixel")
            self.nearest_mode = a.get("nearest_mode", "round_prefer_floor")
            if a.get("antialias", 0):
                raise unsupported(node, "antialias=1")
            if a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
                raise unsupported(node, "keep_aspect_ratio_policy")
            if "axes" in a:
                raise unsupported(node, "axes attribute")
        if scales is not None and np.asarray(scales).size == 0:
            scales = None
        if sizes is not None and np.asarray(sizes).size == 0:
            sizes = None
        if (scales is None) == (sizes is None):
            raise unsupported(node, "exactly one of scales/sizes must be a non-empty constant")
        self.scales = None if scales is None else [float(s) for s in np.asarray(scales, np.float32)]
        self.sizes = None if sizes is None else _ints(sizes)
        if self.mode not in ("nearest", "linear"):
            raise unsupported(node, f"mode={self.mode}")
        if self.mode == "nearest":
            if self.coord not in ("asymmetric", "half_pixel", "pytorch_half_pixel", "align_corners",
                                  "tf_half_pixel_for_nn"):
                raise unsupported(node, f"coordinate_transformation_mode={self.coord}")
            if self.nearest_mode not in ("legacy", "floor", "ceil", "round_prefer_floor",
                                         "round_prefer_ceil"):
                raise unsupported(node, f"nearest_mode={self.nearest_mode}")
        else:
            # Linear maps onto F.interpolate only for these coordinate rules.
            if self.coord not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
                raise unsupported(node, f"linear with coordinate_transformation_mode={self.coord}")
        rank = len(self.scales if self.scales is not None else self.sizes)
        self.rank = rank
        if self.scales is not None and any(s != 1.0 for s in self.scales[:2]):
            raise unsupported(node, "resizing batch or channel axes")
        if self.mode == "linear" and rank - 2 not in (1, 2, 3):
            raise unsupported(node, "linear resize needs 1-3 spatial axes")

    def _out_len(self, x, axis):
        """Output length of `axis` as a traced value (stays dynamic)."""
        if self.sizes is not None:
            return self.sizes[axis]
        # ONNX: output = floor(input * scale).
        return torch.floor(torch._shape_as_tensor(x)[axis].to(torch.float32)
                           * self.scales[axis]).to(torch.int64)

    def _scale(self, x, axis, out_len):
        if self.scales is not None:
            return self.scales[axis]  # a Python float, applied in float32
        # With `sizes`, the ONNX scale is output / input.
        return float(out_len) / torch._shape_as_tensor(x)[axis].to(torch.float32)

    def forward(self, x, roi=None, scales=None, sizes=None):
        (x,) = self.operands([x])
        if self.mode == "linear":
            return self._linear(x)
        spatial_scales = self.scales[2:] if self.scales is not None else None
        if (self.coord == "asymmetric" and self.nearest_mode in ("floor", "legacy")
                and spatial_scales is not None and len(spatial_scales) in (1, 2, 3)
                and all(s >= 1 and s == int(s) for s in spatial_scales)):
            # Integer upscale: torch's "nearest" (src = floor(dst / s)) is the
            # same mapping, and much faster than gathering.
            return F.interpolate(x, scale_factor=spatial_scales, mode="nearest")
        for axis in range(2, self.rank):
            if self.scales is not None and self.scales[axis] == 1.0:
                continue
            x = self._nearest_axis(x, axis)
        return x

    def _nearest_axis(self, x, axis):
        in_len = torch._shape_as_tensor(x)[axis]
        out_len = self._out_len(x, axis)
        scale = self._scale(x, axis, out_len)
        dst = torch.arange(out_len, dtype=torch.float32)
        coord = self.coord
        if coord == "asymmetric":
            src = dst / scale
        elif coord == "half_pixel":
            src = (dst + 0.5) / scale - 0.5
        elif coord == "pytorch_half_pixel":
            src = (dst + 0.5) / scale - 0.5
            src = torch.where(torch.as_tensor(out_len) > 1, src, torch.zeros_like(src))
        elif coord == "tf_half_pixel_for_nn":
            src = (dst + 0.5) / scale
        else:  # align_corners
            in_f = in_len.to(torch.float32)
            out_f = torch.as_tensor(out_len).to(torch.float32)
            src = torch.where(out_f > 1, dst * (in_f - 1) / (out_f - 1), torch.zeros_like(dst))
        mode = self.nearest_mode
        if mode == "floor":
            idx = torch.floor(src)
        elif mode == "ceil":
            idx = torch.ceil(src)
        elif mode == "round_prefer_floor":
            idx = torch.ceil(src - 0.5)
        elif mode == "round_prefer_ceil":
            idx = torch.floor(src + 0.5)
        else:  # legacy opset-10 rule
            idx = torch.ceil(src) if self.scales[axis] < 1 else torch.trunc(src)
        idx = idx.to(torch.int64)
        idx = torch.minimum(torch.clamp(idx, min=0), in_len - 1)
        return torch.index_select(x, axis, idx)

    def _linear(self, x):
        align = self.coord == "align_corners"
        nsp = self.rank - 2
        mode = ("linear", "bilinear", "trilinear")[nsp - 1]
        if self.sizes is not None:
            return F.interpolate(x, size=self.sizes[2:], mode=mode, align_corners=align)
        # pytorch_half_pixel differs from half_pixel only for 1-pixel outputs.
        return F.interpolate(x, scale_factor=self.scales[2:], mode=mode, align_corners=align,
                             recompute_scale_factor=False)


# ------------------------------------------------------------ shape / layout

class Shape(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        self.start = node.attrs.get("start", 0)
        self.end = node.attrs.get("end")

    def forward(self, x):
        (x,) = self.operands([x])
        # A traced tensor, so shape arithmetic downstream stays symbolic.
        s = torch._shape_as_tensor(x)
        if self.start or self.end is not None:
            s = s[self.start:self.end]
        return s


class Concat(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        self.axis = int(node.attrs["axis"])

    def forward(self, *xs):
        xs = self.operands(xs)
        return torch.cat(xs, dim=self.axis)


class Reshape(OnnxOp):
    build_time_inputs = (1,)

    def __init__(self, node, static):
        super().__init__(node, static)
        self.allowzero = bool(node.attrs.get("allowzero", 0))
        shape = static[1] if len(static) > 1 else None
        self.shape = None if shape is None else _ints(shape)
        if node.opset < 5:
            self.shape = list(node.attrs["shape"])

    def forward(self, x, shape=None):
        (x,) = self.operands([x])
        if self.shape is not None:
            # Reshape's 0 copies the input dimension (read as a traced size).
            dims = [x.shape[i] if (d == 0 and not self.allowzero) else d
                    for i, d in enumerate(self.shape)]
            return x.reshape(dims)
        with warnings.catch_warnings():
            # The length of a shape vector is the output rank, which is static
            # in a valid graph; only its values may vary with the input size.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            n = int(shape.shape[0])
        if not self.allowzero:
            in_shape = torch._shape_as_tensor(x)
            if n > x.dim():
                in_shape = torch.cat([in_shape, torch.zeros(n - x.dim(), dtype=torch.int64)])
            shape = torch.where(shape == 0, in_shape[:n], shape)
        return x.reshape([shape[i] for i in range(n)])


class Transpose(OnnxOp):
    def __init__(self, node, static):
        super().__init__(node, static)
        self.perm = node.attrs.get("perm")

    def forward(self, x):
        (x,) = self.operands([x])
        perm = self.perm if self.perm is not None else list(reversed(range(x.dim())))
        return x.permute(perm)


def _axes_from(node, static, what="axes"):
    if node.opset >= 13:
        axes = _static_required(node, static, 1, what)
        return None if axes is None else _ints(axes)
    axes = node.attrs.get("axes")
    return None if axes is None else list(axes)


class Squeeze(OnnxOp):
    build_time_inputs = (1,)

    def __init__(self, node, static):
        super().__init__(node, static)
        self.axes = _axes_from(node, static)

    def forward(self, x, axes=None):
        (x,) = self.operands([x])
        if not self.axes:
            return x.squeeze()
        for a in sorted((a % x.dim() for a in self.axes), reverse=True):
            x = x.squeeze(a)
        return x


class Unsqueeze(OnnxOp):
    build_time_inputs = (1,)

    def __init__(self, node, static):
        super().__init__(node, static)
        self.axes = _axes_from(node, static)
        if self.axes is None:
            raise unsupported(node, "missing axes")

    def forward(self, x, axes=None):
        (x,) = self.operands([x])
        out_rank = x.dim() + len(self.axes)
        # Axes index the output; insert in increasing order.
        for a in sorted(a % out_rank for a in self.axes):
            x = x.unsqueeze(a)
        return x


class Slice(OnnxOp):
    build_time_inputs = (1, 2, 3, 4)

    def __init__(self, node, static):
        super().__init__(node, static)
        if node.opset < 10:
            starts = node.attrs["starts"]
            ends = node.attrs["ends"]
            axes = node.attrs.get("axes")
            steps = None
        else:
            starts = _static_required(node, static, 1, "starts")
            ends = _static_required(node, static, 2, "ends")
            axes = _static_required(node, static, 3, "axes") if len(node.inputs) > 3 else None
            steps = _static_required(node, static, 4, "steps") if len(node.inputs) > 4 else None
        self.starts, self.ends = _ints(starts), _ints(ends)
        self.axes = None if axes is None else _ints(axes)
        self.steps = [1] * len(self.starts) if steps is None else _ints(steps)
        if any(s <= 0 for s in self.steps):
            raise unsupported(node, f"non-positive steps {self.steps}")

    def forward(self, x, *unused):
        (x,) = self.operands([x])
        axes = self.axes if self.axes is not None else list(range(len(self.starts)))
        index = [slice(None)] * x.dim()
        for a, s, e, st in zip(axes, self.starts, self.ends, self.steps):
            # Python slicing clamps out-of-range starts/ends like ONNX, and
            # traces as aten::slice so negative bounds stay relative to the size.
            index[a % x.dim()] = slice(s, e, st)
        return x[tuple(index)]


class Gather(OnnxOp):
    build_time_inputs = ()

    def __init__(self, node, static):
        super().__init__(node, static)
        self.axis = int(node.attrs.get("axis", 0))
        idx = static[1] if len(static) > 1 else None
        # A constant non-negative scalar index is a plain select.
        self.scalar_index = None
        if idx is not None and np.asarray(idx).ndim == 0 and int(idx) >= 0:
            self.scalar_index = int(idx)

    def forward(self, data, indices):
        data, indices = self.operands([data, indices])
        axis = self.axis % data.dim()
        if self.scalar_index is not None:
            return data.select(axis, self.scalar_index)
        indices = indices.to(torch.int64)
        indices = torch.where(indices < 0, indices + data.shape[axis], indices)
        flat = torch.index_select(data, axis, indices.reshape(-1))
        out_shape = list(data.shape[:axis]) + list(indices.shape) + list(data.shape[axis + 1:])
        return flat.reshape(out_shape)


# --------------------------------------------------- fused ops (clean-up)

class HardSwish(OnnxOp):
    """x * relu6(x + 3) / 6, produced by the clean-up pass (not an ONNX op)."""

    def forward(self, x):
        (x,) = self.operands([x])
        return F.hardswish(x)


class Silu(OnnxOp):
    """x * sigmoid(x), produced by the clean-up pass (not an ONNX op)."""

    def forward(self, x):
        (x,) = self.operands([x])
        return F.silu(x)


class PixelShuffle(OnnxOp):
    """Depth-to-space with torch's channel order, from the ConvTranspose rewrite."""

    def __init__(self, node, static):
        super().__init__(node, static)
        self.factor = int(node.attrs["factor"])

    def forward(self, x):
        (x,) = self.operands([x])
        return F.pixel_shuffle(x, self.factor)


OPS = {
    "Add": Binary, "Sub": Binary, "Mul": Binary, "Div": Binary, "Pow": Binary,
    "Relu": Unary, "Sigmoid": Unary, "Sqrt": Unary, "Identity": Unary,
    "Clip": Clip, "HardSigmoid": HardSigmoid, "Cast": Cast, "MatMul": MatMul,
    "Conv": Conv, "ConvTranspose": ConvTranspose, "BatchNormalization": BatchNormalization,
    "GlobalAveragePool": GlobalAveragePool, "AveragePool": Pool, "MaxPool": Pool,
    "ReduceMean": ReduceMean, "Softmax": Softmax, "Resize": Resize, "Upsample": Resize,
    "Shape": Shape, "Concat": Concat, "Reshape": Reshape, "Transpose": Transpose,
    "Squeeze": Squeeze, "Unsqueeze": Unsqueeze, "Slice": Slice, "Gather": Gather,
    # Internal ops emitted by onnx_cleanup; domain "cvtool".
    "cvtool.HardSwish": HardSwish, "cvtool.Silu": Silu, "cvtool.PixelShuffle": PixelShuffle,
}


def build_op(node, static):
    key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
    cls = OPS.get(key)
    if cls is None:
        raise unsupported(node, "no converter for this op type")
    return cls(node, static)
