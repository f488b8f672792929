#!/usr/bin/python3
"""Convert a TF.js graph model (model.json + weight shards) to TorchScript.

Usage:
  /usr/bin/python3 scripts/convert/tfjs2torchscript.py MODEL.json OUT.pt \
      --outputs tower_0/keypoints,tower_0/wh [--input-shape 1,512,512,3] [--no-fuse]
  /usr/bin/python3 scripts/convert/tfjs2torchscript.py MODEL.json --list-ops

Contract with the C++ side:
  * forward() takes ONE float32 tensor in the original TF layout (NHWC);
  * it returns the requested outputs, in the order given by --outputs and in the
    original TF layout, as a tuple (a bare tensor when only one is requested).

How it works: the graph is cut to the nodes the requested outputs depend on,
nodes whose inputs are all constant are folded at conversion time, and the
rest is run by a small interpreter (`TfjsGraph`) that is traced once with
torch.jit.trace and frozen. Four-dimensional activations are kept in NCHW
inside the graph (PyTorch's fast convolution layout); every value carries a
flag saying whether it is stored permuted, and it is permuted back to TF's
NHWC only where an op needs TF's axis order (Reshape, StridedSlice, outputs,
...). An op the interpreter does not know raises ConversionError naming the
op and the node: a partial graph is never produced.

Details worth knowing:
  * The trace is specialised to one input shape (--input-shape, default the
    Placeholder's shape): paddings, resize indices and reshapes are constants.
  * A non-float Placeholder (MoveNet's int32 image) still receives float32;
    the module casts it to the declared dtype (truncation, like tf.cast).
  * Weights are dequantised exactly as TF.js does (float16 -> float32,
    uint8/uint16 -> q * scale + min), so both sides see identical weights.
  * MobileNetV3's hard-swish, (c * x) * Relu6(x + 3), becomes
    hardswish(x) * 6c (--no-fuse keeps TF's four ops).
"""

import argparse
import base64
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F


class ConversionError(Exception):
    pass


# --------------------------------------------------------------------------
# Reading model.json and the weight shards
# --------------------------------------------------------------------------

_NP_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_TF_DTYPES = {
    "DT_FLOAT": torch.float32, "DT_HALF": torch.float16, "DT_DOUBLE": torch.float64,
    "DT_INT32": torch.int32, "DT_INT64": torch.int64, "DT_INT16": torch.int16,
    "DT_INT8": torch.int8, "DT_UINT8": torch.uint8, "DT_BOOL": torch.bool,
}


def decode_weights(manifest, base_dir):
    """Return {name: np.ndarray} exactly as TF.js' io_utils.decodeWeights would.

    Each manifest group is one contiguous buffer split over `paths`; weights
    follow each other in it. Quantized weights take the quantized dtype's size
    in the buffer: float16 is widened, uint8/uint16 become q * scale + min
    (computed in double like JavaScript, then stored as float32 or rounded to
    int32)."""
    out = {}
    for group in manifest:
        buf = b""
        for p in group["paths"]:
            with open(os.path.join(base_dir, p), "rb") as f:
                buf += f.read()
        offset = 0
        for spec in group["weights"]:
            name, dtype, shape = spec["name"], spec["dtype"], [int(s) for s in spec["shape"]]
            size = int(np.prod(shape)) if shape else 1
            q = spec.get("quantization")
            if q:
                qdt = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}.get(q["dtype"])
                if qdt is None:
                    raise ConversionError(f"weight {name}: unknown quantization dtype {q['dtype']}")
                nbytes = size * np.dtype(qdt).itemsize
                raw = np.frombuffer(buf, dtype=qdt, count=size, offset=offset)
                if q["dtype"] == "float16":
                    if dtype != "float32":
                        raise ConversionError(f"weight {name}: float16 quantization of {dtype}")
                    vals = raw.astype(np.float32)
                else:
                    vals = raw.astype(np.float64) * q["scale"] + q["min"]
                    if dtype == "float32":
                        vals = vals.astype(np.float32)
                    elif dtype == "int32":
                        # JS Math.round rounds halves up, unlike numpy's half-to-even.
                        vals = np.floor(vals + 0.5).astype(np.int32)
                    else:
                        raise ConversionError(f"weight {name}: quantized dtype {dtype} unsupported")
            else:
                if dtype not in _NP_DTYPES:
                    raise ConversionError(f"weight {name}: dtype {dtype} unsupported")
                npdt = _NP_DTYPES[dtype]
                nbytes = size * np.dtype(npdt).itemsize
                vals = np.frombuffer(buf, dtype=npdt, count=size, offset=offset).copy()
            if offset + nbytes > len(buf):
                raise ConversionError(f"weight {name}: shard data too short")
            out[name] = vals.reshape(shape)
            offset += nbytes
    return out


def _decode_attr(v):
    """Turn one TF AttrValue (in TF.js' JSON form) into a plain Python value."""
    if "list" in v:
        lst = v["list"]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        if "i" in lst:
            return [int(i) for i in lst["i"]]
        if "f" in lst:
            return [float(f) for f in lst["f"]]
        return []
    if "s" in v:
        return base64.b64decode(v["s"]).decode()
    if "i" in v:
        return int(v["i"])
    if "f" in v:
        return float(v["f"])
    if "b" in v:
        return bool(v["b"])
    if "type" in v:
        return v["type"]
    return v


def _inline_const(node):
    """Value of a Const stored in the topology instead of the weight shards."""
    t = node.get("attr", {}).get("value", {}).get("tensor")
    if t is None:
        return None
    dims = [int(d.get("size", 0)) for d in t.get("tensorShape", {}).get("dim", [])]
    np_dt = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_BOOL": np.bool_}.get(t.get("dtype"))
    if np_dt is None:
        return None
    if "tensorContent" in t:
        return np.frombuffer(base64.b64decode(t["tensorContent"]), dtype=np_dt).reshape(dims).copy()
    for key in ("floatVal", "intVal", "boolVal"):
        if key in t:
            vals = np.array(t[key], dtype=np_dt)
            n = int(np.prod(dims)) if dims else 1
            return np.broadcast_to(vals if vals.size else np.zeros(1, np_dt), (n,)).reshape(dims).copy()
    return None


class Node:
    def __init__(self, d):
        self.name = d["name"]
        self.op = d["op"]
        # "^x" inputs are control dependencies: no data flows through them.
        self.inputs = [i for i in d.get("input", []) if not i.startswith("^")]
        self.attr = {k: _decode_attr(v) for k, v in d.get("attr", {}).items()}
        self.raw = d


def _split_ref(ref):
    """'node:1' -> ('node', 1); 'node' -> ('node', 0)."""
    if ":" in ref:
        name, idx = ref.rsplit(":", 1)
        if idx.isdigit():
            return name, int(idx)
    return ref, 0


def load_graph(model_json):
    with open(model_json) as f:
        model = json.load(f)
    if "modelTopology" not in model or "node" not in model["modelTopology"]:
        raise ConversionError(f"{model_json}: not a TF.js graph model (no modelTopology.node)")
    lib = model["modelTopology"].get("library", {})
    if lib.get("function"):
        raise ConversionError("graph uses control-flow functions (library.function): unsupported")
    nodes = {}
    for d in model["modelTopology"]["node"]:
        n = Node(d)
        nodes[n.name] = n
    weights = decode_weights(model.get("weightsManifest", []), os.path.dirname(os.path.abspath(model_json)))
    return nodes, weights


# --------------------------------------------------------------------------
# Values flowing through the interpreter
# --------------------------------------------------------------------------

class Val:
    """A tensor plus its layout.

    nchw=True means the TF value is 4-D NHWC but `t` holds it permuted to NCHW.
    `const` is the numpy value when it is known at conversion time (used for
    shape-like operands: axes, sizes, paddings, ...)."""

    __slots__ = ("t", "nchw", "const", "_other")

    def __init__(self, t, nchw=False, const=None):
        self.t, self.nchw, self.const, self._other = t, nchw, const, None

    @property
    def rank(self):
        return self.t.dim()

    def plain(self):
        if not self.nchw:
            return self.t
        if self._other is None:
            self._other = self.t.permute(0, 2, 3, 1)
        return self._other

    def as_nchw(self):
        if self.nchw:
            return self.t
        if self.t.dim() != 4:
            raise ConversionError(f"expected a 4-D tensor, got shape {tuple(self.t.shape)}")
        # Cached: a value feeding several convolutions is permuted only once.
        if self._other is None:
            self._other = self.t.permute(0, 3, 1, 2)
        return self._other


def _tf_to_nchw_axis(a):
    return (0, 2, 3, 1)[a]


def _norm_axis(a, rank):
    a = int(a)
    return a + rank if a < 0 else a


def _same_pads(size, k, s, d):
    """TF SAME padding: the odd extra pixel goes after (bottom/right)."""
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def _activation(name, x, node, alpha=None):
    if name == "Relu":
        return F.relu(x)
    if name == "Relu6":
        return torch.clamp(x, 0.0, 6.0)
    if name == "Sigmoid":
        return torch.sigmoid(x)
    if name == "Tanh":
        return torch.tanh(x)
    if name == "Elu":
        return F.elu(x)
    if name == "LeakyRelu":
        return F.leaky_relu(x, node.attr.get("leakyrelu_alpha", node.attr.get("alpha", 0.2)))
    if name == "Prelu":
        return torch.where(x >= 0, x, x * alpha)
    raise ConversionError(f"node {node.name} ({node.op}): fused activation {name} unsupported")


# --------------------------------------------------------------------------
# The interpreter
# --------------------------------------------------------------------------

class TfjsGraph(torch.nn.Module):
    def __init__(self, nodes, weights, outputs, fuse=True, conv_impl="aten"):
        super().__init__()
        if conv_impl not in ("aten", "mkldnn"):
            raise ConversionError(f"conv_impl must be aten or mkldnn, not {conv_impl!r}")
        self.conv_impl = conv_impl
        self.outputs = [_split_ref(o) for o in outputs]
        for name, _ in self.outputs:
            if name not in nodes:
                raise ConversionError(f"output node {name!r} not in the graph")
        self.order = self._topo_order(nodes, [n for n, _ in self.outputs])
        placeholders = [n for n in self.order if n.op == "Placeholder"]
        if len(placeholders) != 1:
            raise ConversionError(
                f"need exactly one Placeholder feeding the outputs, found {[p.name for p in placeholders]}")
        self.input_node = placeholders[0]
        unknown = [n for n in self.order if not _supported(n.op)]
        if unknown:
            n = unknown[0]
            raise ConversionError(
                f"unsupported op {n.op!r} at node {n.name!r}"
                + (f" (and {len(unknown) - 1} more unsupported nodes: "
                   f"{sorted(set(u.op for u in unknown))})" if len(unknown) > 1 else ""))
        self.op_counts = {}
        for n in self.order:
            self.op_counts[n.op] = self.op_counts.get(n.op, 0) + 1

        # Constants, including everything computable from constants alone.
        self.consts = {}
        for n in self.order:
            if n.op == "Const":
                if n.name in weights:
                    v = weights[n.name]
                else:
                    v = _inline_const(n.raw)
                    if v is None:
                        raise ConversionError(f"Const node {n.name!r} has no value in the weights")
                self.consts[n.name + ":0"] = np.asarray(v)
        self.runtime = []
        for n in self.order:
            if n.op in ("Const", "Placeholder"):
                continue
            if n.inputs and all(self._ref(i) in self.consts for i in n.inputs) and n.op in _FOLDABLE:
                args = [self._const_val(self._ref(i)) for i in n.inputs]
                with torch.no_grad():
                    res = _HANDLERS[n.op](self, n, args)
                for k, r in enumerate(res if isinstance(res, (list, tuple)) else [res]):
                    self.consts[f"{n.name}:{k}"] = r.plain().detach().numpy()
            else:
                self.runtime.append(n)
        if fuse:
            self._fuse_hard_swish()

        # Weights that need a layout change are converted once here.
        self.prepared = {}
        for n in self.runtime:
            prep = _PREPARE.get(n.op)
            if prep is not None:
                prep(self, n)
        # Register the constants the runtime reads as buffers so freeze() can
        # fold them (conv + bias / mul / add folding works on frozen weights).
        self._buf_names = {}
        used = set()
        for n in self.runtime:
            # Convolution filters and biases were already converted above.
            ins = n.inputs[:1] + n.inputs[3:] if n.op in _PREPARE else n.inputs
            used.update(self._ref(i) for i in ins)
        for ref in sorted(used):
            if ref in self.consts:
                self._register(ref, torch.from_numpy(np.ascontiguousarray(self.consts[ref])))

    # -- graph rewrites -----------------------------------------------------
    def _scalar_const(self, ref):
        v = self.consts.get(self._ref(ref))
        return float(v) if v is not None and v.size == 1 and v.dtype.kind == "f" else None

    def _fuse_hard_swish(self):
        """Rewrite MobileNetV3's hard-swish, TF-style (c * x) * Relu6(x + 3),
        as one hardswish(x) * 6c.

        Four full-size elementwise passes become two; the constant is kept
        (6c, not 1) because these models store c = 1/6 as float16 (0.16663),
        so plain hardswish would be off by 7e-5 relative."""
        by_name = {n.name: n for n in self.runtime}
        consumers = {}
        for n in self.runtime:
            for i in n.inputs:
                consumers.setdefault(_split_ref(i)[0], []).append(n.name)
        for name, _ in self.outputs:
            consumers.setdefault(name, []).append("<output>")

        def only_feeds(node, target):
            return consumers.get(node.name) == [target]

        def split_const(node, want=None):
            # (other input, scalar) when exactly one input is a float scalar const.
            a, b = node.inputs
            for x, c in ((a, b), (b, a)):
                v = self._scalar_const(c)
                if v is not None and self._ref(x) not in self.consts and (want is None or v == want):
                    return x, v
            return None, None

        dropped = set()
        for m2 in self.runtime:
            if m2.op != "Mul" or len(m2.inputs) != 2:
                continue
            ins = [by_name.get(_split_ref(i)[0]) for i in m2.inputs]
            if any(n is None or _split_ref(i)[1] != 0 for n, i in zip(ins, m2.inputs)):
                continue
            for m1, r in (ins, ins[::-1]):
                if m1.op != "Mul" or r.op != "Relu6" or m1.name in dropped or r.name in dropped:
                    continue
                a = by_name.get(_split_ref(r.inputs[0])[0])
                if a is None or a.op not in ("Add", "AddV2"):
                    continue
                x1, c = split_const(m1)
                x2, _ = split_const(a, want=3.0)
                if x1 is None or x2 is None or self._ref(x1) != self._ref(x2):
                    continue
                if not (only_feeds(m1, m2.name) and only_feeds(r, m2.name) and only_feeds(a, r.name)):
                    continue
                fused = Node({"name": m2.name, "op": "_HardSwishScaled", "input": [x1]})
                fused.attr["scale"] = 6.0 * c
                by_name[m2.name] = fused
                dropped.update([m1.name, r.name, a.name])
                break
        self.runtime = [by_name[n.name] for n in self.runtime if n.name not in dropped]

    # -- graph helpers ------------------------------------------------------
    @staticmethod
    def _topo_order(nodes, targets):
        order, state = [], {}
        for t in targets:
            stack = [(t, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    if state.get(name) != 2:
                        state[name] = 2
                        order.append(nodes[name])
                    continue
                if state.get(name):
                    continue
                if name not in nodes:
                    raise ConversionError(f"graph references missing node {name!r}")
                state[name] = 1
                stack.append((name, True))
                for i in reversed(nodes[name].inputs):
                    dep = _split_ref(i)[0]
                    if not state.get(dep):
                        stack.append((dep, False))
        return order

    @staticmethod
    def _ref(i):
        name, k = _split_ref(i)
        return f"{name}:{k}"

    def _register(self, ref, tensor):
        bname = "c%d" % len(self._buf_names)
        self.register_buffer(bname, tensor)
        self._buf_names[ref] = bname

    def _const_val(self, ref):
        v = self.consts[ref]
        return Val(torch.from_numpy(np.ascontiguousarray(v)), const=v)

    def const_arg(self, node, idx):
        """Input `idx` of `node` as numpy; it must be known at conversion time."""
        ref = self._ref(node.inputs[idx])
        if ref not in self.consts:
            raise ConversionError(
                f"node {node.name} ({node.op}): input {idx} ({node.inputs[idx]}) must be constant")
        return self.consts[ref]

    # -- execution ----------------------------------------------------------
    def forward(self, x):
        dt = _TF_DTYPES.get(self.input_node.attr.get("dtype", "DT_FLOAT"), torch.float32)
        # A non-float placeholder (MoveNet's int32 image) gets TF's cast
        # semantics (truncation), as if the caller had fed that dtype.
        env = {self.input_node.name + ":0": Val(x.to(dt) if dt != x.dtype else x)}
        for ref, bname in self._buf_names.items():
            env[ref] = Val(getattr(self, bname), const=self.consts[ref])
        for n in self.runtime:
            # Inputs consumed at conversion time (conv filters) are None here.
            args = [env.get(self._ref(i)) for i in n.inputs]
            res = _HANDLERS[n.op](self, n, args)
            for k, r in enumerate(res if isinstance(res, (list, tuple)) else [res]):
                env[f"{n.name}:{k}"] = r
        outs = []
        for name, k in self.outputs:
            ref = f"{name}:{k}"
            if ref in env:
                # Contiguous NHWC: the C++ side may read data_ptr() directly.
                outs.append(env[ref].plain().contiguous())
            else:  # the output itself folded to a constant
                outs.append(torch.from_numpy(np.ascontiguousarray(self.consts[ref])))
        return outs[0] if len(outs) == 1 else tuple(outs)


# --------------------------------------------------------------------------
# Op handlers: handler(graph, node, args: list[Val]) -> Val | list[Val]
# --------------------------------------------------------------------------

_HANDLERS = {}
_PREPARE = {}
# Ops only created by the converter's own rewrites; a model.json using these
# names is not what the handlers expect.
_INTERNAL = {"_HardSwishScaled"}


def _supported(op_name):
    return op_name in ("Const", "Placeholder") or (op_name in _HANDLERS and op_name not in _INTERNAL)


# Ops that may be evaluated at conversion time when all inputs are constant.
_FOLDABLE = set()


def op(*names, fold=True):
    def deco(fn):
        for n in names:
            _HANDLERS[n] = fn
            if fold:
                _FOLDABLE.add(n)
        return fn
    return deco


@op("Identity", "Snapshot", "StopGradient")
def _identity(g, n, a):
    return a[0]


# ---- convolutions ---------------------------------------------------------

def _check_nhwc(n):
    fmt = n.attr.get("data_format", "NHWC")
    if fmt not in ("NHWC", ""):
        raise ConversionError(f"node {n.name} ({n.op}): data_format {fmt} unsupported")


def _prep_conv(g, n):
    _check_nhwc(n)
    w = g.const_arg(n, 1).astype(np.float32)          # HWIO (or HW,C,mult for depthwise)
    if "Depthwise" in n.op:
        kh, kw, cin, mult = w.shape
        # TF output channel c*mult + m reads input channel c: grouped conv with
        # groups=cin where output o belongs to group o // mult.
        wt = w.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]
        groups = cin
    else:
        wt = w.transpose(3, 2, 0, 1)                   # OIHW
        groups = 1
    fused = n.attr.get("fused_ops", []) if n.op.startswith(("_Fused", "Fused")) else []
    bias, act = None, None
    if fused:
        # TF.js only fuses BiasAdd optionally followed by one activation.
        if fused[0] != "BiasAdd" or len(fused) > 2:
            raise ConversionError(f"node {n.name} ({n.op}): fused_ops {fused} unsupported")
        if g._ref(n.inputs[2]) not in g.consts:
            raise ConversionError(f"node {n.name} ({n.op}): non-constant bias")
        bias = g.const_arg(n, 2).astype(np.float32)
        if len(fused) == 2:
            act = fused[1]
            _activation(act, torch.zeros(1), n, alpha=torch.zeros(1))  # rejects unknown names now
    # Buffers, so that freeze() turns them into constants of the graph.
    wname = "w%d" % len(g.prepared)
    g.register_buffer(wname, torch.from_numpy(np.ascontiguousarray(wt)))
    bname = None
    if bias is not None:
        bname = wname + "b"
        g.register_buffer(bname, torch.from_numpy(np.ascontiguousarray(bias)))
    g.prepared[n.name] = (wname, bname, groups, act, tuple(wt.shape[2:]))


def _conv(g, n, a):
    wname, bname, groups, act, (kh, kw) = g.prepared[n.name]
    x = a[0].as_nchw()
    w = getattr(g, wname)
    b = getattr(g, bname) if bname else None
    st = n.attr.get("strides", [1, 1, 1, 1])
    dl = n.attr.get("dilations", [1, 1, 1, 1]) or [1, 1, 1, 1]
    sh, sw = int(st[1]), int(st[2])
    dh, dw = int(dl[1]), int(dl[2])
    pad = n.attr.get("padding", "VALID")
    if pad == "SAME":
        ph = _same_pads(int(x.shape[2]), kh, sh, dh)
        pw = _same_pads(int(x.shape[3]), kw, sw, dw)
    elif pad == "VALID":
        ph = pw = (0, 0)
    elif pad == "EXPLICIT":
        e = [int(v) for v in n.attr.get("explicit_paddings", [])]
        ph, pw = (e[2], e[3]), (e[4], e[5])
    else:
        raise ConversionError(f"node {n.name} ({n.op}): padding {pad} unsupported")
    if ph[0] != ph[1] or pw[0] != pw[1]:
        # Asymmetric (TF SAME with an odd total): pad explicitly, zeros like TF.
        x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        ph = pw = (0, 0)
    if g.conv_impl == "mkldnn":
        # LibTorch 1.13 sends 1x1 convolutions at one thread to a slow
        # im2col path; calling oneDNN directly skips that heuristic
        # (PERF-NOTES.md), at the price of freeze() no longer folding ops into
        # these convolutions.
        y = torch.mkldnn_convolution(x, w, b, [ph[0], pw[0]], [sh, sw], [dh, dw], groups)
    else:
        y = F.conv2d(x, w, b, (sh, sw), (ph[0], pw[0]), (dh, dw), groups)
    if act is not None:
        alpha = None
        if act == "Prelu":
            alpha = _to_nchw_operand(a[3])
        y = _activation(act, y, n, alpha)
    return Val(y, nchw=True)


for _name in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
    _HANDLERS[_name] = _conv
    _PREPARE[_name] = _prep_conv


# ---- matmul -----------------------------------------------------------------

@op("MatMul", "_FusedMatMul", "BatchMatMul", "BatchMatMulV2")
def _matmul(g, n, a):
    x, y = a[0].plain(), a[1].plain()
    if n.attr.get("transpose_a") or n.attr.get("adj_x"):
        x = x.transpose(-1, -2)
    if n.attr.get("transpose_b") or n.attr.get("adj_y"):
        y = y.transpose(-1, -2)
    fused = n.attr.get("fused_ops", []) if n.op == "_FusedMatMul" else []
    if not fused:
        return Val(torch.matmul(x, y))
    if fused[0] != "BiasAdd" or len(fused) > 2:
        raise ConversionError(f"node {n.name} ({n.op}): fused_ops {fused} unsupported")
    out = torch.matmul(x, y) + a[2].plain()
    if len(fused) == 2:
        out = _activation(fused[1], out, n, a[3].plain() if len(a) > 3 else None)
    return Val(out)


# ---- elementwise --------------------------------------------------------------

def _to_nchw_operand(v):
    """v as an operand broadcastable against an NCHW-stored 4-D value, or None."""
    if v.nchw:
        return v.t
    if v.rank > 4:
        return None
    t = v.t
    if v.rank < 4:
        # TF broadcasting aligns trailing axes: left-pad to NHWC, then permute.
        t = t.reshape([1] * (4 - v.rank) + list(t.shape))
    return t.permute(0, 3, 1, 2)


def _binary(fn, a, b):
    if a.nchw or b.nchw:
        ta, tb = _to_nchw_operand(a), _to_nchw_operand(b)
        if ta is not None and tb is not None:
            return Val(fn(ta, tb), nchw=True)
    return Val(fn(a.plain(), b.plain()))


def _commutative(fn):
    def h(g, n, a):
        x, y = a
        # Constant second: freeze() folds "conv(x) op const" only in that order.
        if x.const is not None and y.const is None:
            x, y = y, x
        return _binary(fn, x, y)
    return h


def _floordiv(x, y):
    if x.is_floating_point() or y.is_floating_point():
        return torch.floor(x / y)
    return torch.div(x, y, rounding_mode="floor")


def _realdiv(x, y):
    if not (x.is_floating_point() or y.is_floating_point()):
        # TF's Div on integers truncates toward zero.
        return torch.div(x, y, rounding_mode="trunc")
    return x / y


_BINARY = {
    "Add": (torch.add, True), "AddV2": (torch.add, True), "BiasAdd": (torch.add, False),
    "Mul": (torch.mul, True), "Sub": (torch.sub, False), "RealDiv": (_realdiv, False),
    "Div": (_realdiv, False), "FloorDiv": (_floordiv, False), "FloorMod": (torch.remainder, False),
    "Maximum": (torch.maximum, True), "Minimum": (torch.minimum, True),
    "SquaredDifference": (lambda x, y: (x - y) * (x - y), False), "Pow": (torch.pow, False),
    "Equal": (torch.eq, False), "NotEqual": (torch.ne, False), "Greater": (torch.gt, False),
    "GreaterEqual": (torch.ge, False), "Less": (torch.lt, False), "LessEqual": (torch.le, False),
}
for _name, (_fn, _comm) in _BINARY.items():
    _HANDLERS[_name] = _commutative(_fn) if _comm else (lambda fn: lambda g, n, a: _binary(fn, a[0], a[1]))(_fn)
    _FOLDABLE.add(_name)


@op("AddN")
def _addn(g, n, a):
    acc = a[0]
    for b in a[1:]:
        acc = _binary(torch.add, acc, b)
    return acc


_UNARY = {
    "Relu": F.relu, "Relu6": lambda x: torch.clamp(x, 0.0, 6.0), "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh, "Elu": F.elu, "Selu": F.selu, "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt,
    "Exp": torch.exp, "Log": torch.log, "Neg": torch.neg, "Abs": torch.abs,
    "Square": lambda x: x * x, "Reciprocal": torch.reciprocal, "Softplus": F.softplus,
    "Floor": torch.floor, "Ceil": torch.ceil,
}
for _name, _fn in _UNARY.items():
    _HANDLERS[_name] = (lambda fn: lambda g, n, a: Val(fn(a[0].t), a[0].nchw))(_fn)
    _FOLDABLE.add(_name)


@op("_HardSwishScaled", fold=False)
def _hard_swish_scaled(g, n, a):
    # Produced by TfjsGraph._fuse_hard_swish, never present in model.json.
    y = F.hardswish(a[0].t)
    sc = n.attr["scale"]
    return Val(y if sc == 1.0 else y * sc, a[0].nchw)


@op("LeakyRelu")
def _leaky(g, n, a):
    return Val(F.leaky_relu(a[0].t, n.attr.get("alpha", 0.2)), a[0].nchw)


@op("Prelu")
def _prelu(g, n, a):
    return _binary(lambda x, al: torch.where(x >= 0, x, x * al), a[0], a[1])


@op("Cast")
def _cast(g, n, a):
    dt = _TF_DTYPES.get(n.attr.get("DstT"))
    if dt is None:
        raise ConversionError(f"node {n.name} (Cast): DstT {n.attr.get('DstT')} unsupported")
    if dt == torch.int64:
        dt = torch.int32  # TF.js has no int64; it computes those in int32
    return Val(a[0].t.to(dt), a[0].nchw)


# ---- reductions ---------------------------------------------------------------

def _reduce(fn):
    def h(g, n, a):
        x = a[0]
        axes = np.atleast_1d(g.const_arg(n, 1)).tolist()
        keep = bool(n.attr.get("keep_dims", False))
        axes = sorted(set(_norm_axis(ax, x.rank) for ax in axes))
        if not axes:
            return x
        if x.nchw:
            y = fn(x.t, [_tf_to_nchw_axis(ax) for ax in axes])
            v = Val(y, nchw=True)
            if keep:
                return v
            t = v.plain()
            for ax in reversed(axes):
                t = t.squeeze(ax)
            return Val(t)
        y = fn(x.t, axes)
        if not keep:
            for ax in reversed(axes):
                y = y.squeeze(ax)
        return Val(y)
    return h


def _multi_dim(f):
    def r(t, dims):
        for d in sorted(dims, reverse=True):
            t = f(t, d)
        return t
    return r


_HANDLERS["Mean"] = _reduce(lambda t, d: torch.mean(t, dim=d, keepdim=True))
_HANDLERS["Sum"] = _reduce(lambda t, d: torch.sum(t, dim=d, keepdim=True))
_HANDLERS["Max"] = _reduce(_multi_dim(lambda t, d: torch.amax(t, dim=d, keepdim=True)))
_HANDLERS["Min"] = _reduce(_multi_dim(lambda t, d: torch.amin(t, dim=d, keepdim=True)))
_HANDLERS["Prod"] = _reduce(_multi_dim(lambda t, d: torch.prod(t, dim=d, keepdim=True)))
_FOLDABLE.update(["Mean", "Sum", "Max", "Min", "Prod"])


@op("ArgMax", "ArgMin")
def _argmax(g, n, a):
    x = a[0].plain()
    axis = _norm_axis(int(np.asarray(g.const_arg(n, 1)).reshape(-1)[0]), x.dim())
    # Ties: torch and TF both return the first index.
    idx = torch.argmax(x, dim=axis) if n.op == "ArgMax" else torch.argmin(x, dim=axis)
    return Val(idx.to(torch.int32))


@op("Softmax", "LogSoftmax")
def _softmax(g, n, a):
    x = a[0].plain()
    return Val(F.softmax(x, dim=-1) if n.op == "Softmax" else F.log_softmax(x, dim=-1))


# ---- resizing -------------------------------------------------------------------

def _resize_coords(in_size, out_size, align_corners, half_pixel):
    """Source coordinates of each output pixel, as TF.js' CPU kernels compute them."""
    if align_corners and out_size > 1:
        scale = (in_size - 1) / (out_size - 1)
    else:
        scale = in_size / out_size
    dst = np.arange(out_size, dtype=np.float64)
    return scale * (dst + 0.5) - 0.5 if half_pixel else scale * dst


@op("ResizeBilinear")
def _resize_bilinear(g, n, a):
    x = a[0].as_nchw()
    oh, ow = [int(v) for v in g.const_arg(n, 1)]
    ih, iw = int(x.shape[2]), int(x.shape[3])
    ac = bool(n.attr.get("align_corners", False))
    hp = bool(n.attr.get("half_pixel_centers", False))
    if ac and hp:
        raise ConversionError(f"node {n.name}: align_corners and half_pixel_centers both set")
    if ac or hp:
        # These two conventions are exactly PyTorch's align_corners=True/False
        # (including the clamp of negative source coordinates to 0).
        return Val(F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=ac), nchw=True)
    # TF's legacy "asymmetric" mode (src = dst * in/out) has no PyTorch
    # equivalent: gather the two neighbours per axis and blend, columns first
    # then rows, as TF.js does.
    def axis(in_size, out_size):
        src = _resize_coords(in_size, out_size, False, False)
        lo = np.maximum(np.floor(src), 0).astype(np.int64)
        hi = np.minimum(np.ceil(src), in_size - 1).astype(np.int64)
        frac = (src - lo).astype(np.float32)
        return torch.from_numpy(lo), torch.from_numpy(hi), torch.from_numpy(frac)
    ylo, yhi, yf = axis(ih, oh)
    xlo, xhi, xf = axis(iw, ow)
    left = x.index_select(3, xlo)
    right = x.index_select(3, xhi)
    cols = left + (right - left) * xf.view(1, 1, 1, -1)
    top = cols.index_select(2, ylo)
    bot = cols.index_select(2, yhi)
    return Val(top + (bot - top) * yf.view(1, 1, -1, 1), nchw=True)


@op("ResizeNearestNeighbor")
def _resize_nearest(g, n, a):
    x = a[0].as_nchw()
    oh, ow = [int(v) for v in g.const_arg(n, 1)]
    ac = bool(n.attr.get("align_corners", False))
    hp = bool(n.attr.get("half_pixel_centers", False))

    def idx(in_size, out_size):
        # TF.js CPU kernel: half-pixel adds 0.5 but does not subtract it back,
        # align_corners rounds, otherwise floor; clamp to the image.
        scale = ((in_size - 1) / (out_size - 1)) if (ac and out_size > 1) else in_size / out_size
        src = scale * (np.arange(out_size, dtype=np.float64) + (0.5 if hp else 0.0))
        i = np.floor(src + 0.5) if ac else np.floor(src)
        i = np.minimum(i, in_size - 1)
        if hp:
            i = np.maximum(i, 0)
        return torch.from_numpy(i.astype(np.int64))
    y = x.index_select(2, idx(int(x.shape[2]), oh)).index_select(3, idx(int(x.shape[3]), ow))
    return Val(y, nchw=True)


# ---- pooling ----------------------------------------------------------------------

def _pool_pads(n, x, kh, kw, sh, sw):
    pad = n.attr.get("padding", "VALID")
    if pad == "SAME":
        return _same_pads(int(x.shape[2]), kh, sh, 1), _same_pads(int(x.shape[3]), kw, sw, 1)
    if pad == "VALID":
        return (0, 0), (0, 0)
    raise ConversionError(f"node {n.name} ({n.op}): padding {pad} unsupported")


@op("MaxPool", "AvgPool")
def _pool(g, n, a):
    _check_nhwc(n)
    x = a[0].as_nchw()
    k = n.attr.get("ksize", [1, 1, 1, 1])
    s = n.attr.get("strides", [1, 1, 1, 1])
    if int(k[0]) != 1 or int(k[3]) != 1:
        raise ConversionError(f"node {n.name} ({n.op}): pooling over batch/channels unsupported")
    kh, kw, sh, sw = int(k[1]), int(k[2]), int(s[1]), int(s[2])
    ph, pw = _pool_pads(n, x, kh, kw, sh, sw)
    padded = any(ph) or any(pw)
    if n.op == "MaxPool":
        if padded:
            # TF ignores padded cells: pad with -inf so they never win.
            x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]), value=float("-inf"))
        return Val(F.max_pool2d(x, (kh, kw), (sh, sw)), nchw=True)
    if not padded:
        return Val(F.avg_pool2d(x, (kh, kw), (sh, sw)), nchw=True)
    # TF averages over the valid cells only; with asymmetric padding torch's
    # count_include_pad=False cannot express that, so divide by a count map.
    pads = (pw[0], pw[1], ph[0], ph[1])
    total = F.avg_pool2d(F.pad(x, pads), (kh, kw), (sh, sw))
    ones = torch.ones((1, 1, int(x.shape[2]), int(x.shape[3])), dtype=x.dtype)
    frac = F.avg_pool2d(F.pad(ones, pads), (kh, kw), (sh, sw))
    return Val(total / frac, nchw=True)


# ---- padding ----------------------------------------------------------------------

@op("Pad", "PadV2", "MirrorPad")
def _pad(g, n, a):
    x = a[0]
    p = np.asarray(g.const_arg(n, 1)).reshape(-1, 2).astype(np.int64)
    value = 0.0
    if n.op == "PadV2":
        value = float(np.asarray(g.const_arg(n, 2)).reshape(-1)[0])
    mode = "constant"
    if n.op == "MirrorPad":
        m = n.attr.get("mode", "REFLECT")
        if m != "REFLECT":
            raise ConversionError(f"node {n.name} (MirrorPad): mode {m} unsupported")
        mode = "reflect"
    if x.nchw or (x.rank == 4 and mode == "reflect"):
        t = x.as_nchw()
        p = p[[0, 3, 1, 2]]
        nchw = True
    else:
        t = x.plain()
        nchw = False
    # F.pad lists (before, after) from the last axis backwards; stop at the
    # first padded axis so reflect mode only sees the spatial axes.
    padded_axes = [i for i in range(len(p)) if p[i].any()]
    first = padded_axes[0] if padded_axes else len(p) - 1
    pads = []
    for i in range(len(p) - 1, first - 1, -1):
        pads += [int(p[i][0]), int(p[i][1])]
    if mode == "reflect":
        if not nchw or p[0].any() or p[1].any():
            raise ConversionError(f"node {n.name} (MirrorPad): only spatial padding supported")
        return Val(F.pad(t, pads, mode="reflect"), nchw=True)
    return Val(F.pad(t, pads, value=value), nchw=nchw)


# ---- shape manipulation ----------------------------------------------------------

@op("ConcatV2", "Concat")
def _concat(g, n, a):
    if n.op == "ConcatV2":
        vals, axis = a[:-1], g.const_arg(n, len(n.inputs) - 1)
    else:
        vals, axis = a[1:], g.const_arg(n, 0)
    rank = vals[0].rank
    axis = _norm_axis(int(np.asarray(axis).reshape(-1)[0]), rank)
    if rank == 4 and any(v.nchw for v in vals):
        return Val(torch.cat([v.as_nchw() for v in vals], dim=_tf_to_nchw_axis(axis)), nchw=True)
    return Val(torch.cat([v.plain() for v in vals], dim=axis))


@op("Pack")
def _pack(g, n, a):
    axis = _norm_axis(n.attr.get("axis", 0), a[0].rank + 1)
    return Val(torch.stack([v.plain() for v in a], dim=axis))


@op("Unpack")
def _unpack(g, n, a):
    x = a[0].plain()
    axis = _norm_axis(n.attr.get("axis", 0), x.dim())
    return [Val(t) for t in torch.unbind(x, dim=axis)]


@op("Reshape")
def _reshape(g, n, a):
    shape = [int(s) for s in np.asarray(g.const_arg(n, 1)).reshape(-1)]
    return Val(a[0].plain().reshape(shape))


@op("Squeeze")
def _squeeze(g, n, a):
    x = a[0].plain()
    dims = n.attr.get("squeeze_dims", n.attr.get("axis", [])) or []
    dims = sorted({_norm_axis(d, x.dim()) for d in dims}) or [i for i, s in enumerate(x.shape) if int(s) == 1]
    for d in reversed(dims):
        if int(x.shape[d]) != 1:
            raise ConversionError(f"node {n.name} (Squeeze): axis {d} has size {x.shape[d]}")
        x = x.squeeze(d)
    return Val(x)


@op("ExpandDims")
def _expand_dims(g, n, a):
    x = a[0].plain()
    d = int(np.asarray(g.const_arg(n, 1)).reshape(-1)[0])
    if d < 0:
        d += x.dim() + 1
    return Val(x.unsqueeze(d))


@op("Transpose")
def _transpose(g, n, a):
    perm = [int(p) for p in np.asarray(g.const_arg(n, 1)).reshape(-1)]
    return Val(a[0].plain().permute(perm))


@op("StridedSlice")
def _strided_slice(g, n, a):
    x = a[0].plain()
    begin, end, strides = (np.asarray(g.const_arg(n, i)).reshape(-1).tolist() for i in (1, 2, 3))
    bm, em = n.attr.get("begin_mask", 0), n.attr.get("end_mask", 0)
    elm, nam, sam = n.attr.get("ellipsis_mask", 0), n.attr.get("new_axis_mask", 0), n.attr.get("shrink_axis_mask", 0)
    spec = []
    for i in range(len(begin)):
        bit = 1 << i
        if elm & bit:
            spec.append(Ellipsis)
        elif nam & bit:
            spec.append(None)
        elif sam & bit:
            spec.append(int(begin[i]))
        else:
            if strides[i] <= 0:
                raise ConversionError(f"node {n.name} (StridedSlice): non-positive stride {strides[i]}")
            spec.append(slice(None if bm & bit else int(begin[i]),
                              None if em & bit else int(end[i]), int(strides[i])))
    return Val(x[tuple(spec)])


@op("Slice")
def _slice(g, n, a):
    x = a[0].plain()
    begin = np.asarray(g.const_arg(n, 1)).reshape(-1).tolist()
    size = np.asarray(g.const_arg(n, 2)).reshape(-1).tolist()
    spec = tuple(slice(int(b), None if s == -1 else int(b) + int(s)) for b, s in zip(begin, size))
    return Val(x[spec])


@op("GatherV2")
def _gather(g, n, a):
    x, idx = a[0].plain(), a[1].plain()
    if int(n.attr.get("batch_dims", 0)) != 0:
        raise ConversionError(f"node {n.name} (GatherV2): batch_dims != 0 unsupported")
    axis = _norm_axis(int(np.asarray(g.const_arg(n, 2)).reshape(-1)[0]), x.dim())
    flat = x.index_select(axis, idx.reshape(-1).long())
    xs, ids = [int(s) for s in x.shape], [int(s) for s in idx.shape]
    return Val(flat.reshape(xs[:axis] + ids + xs[axis + 1:]))


@op("GatherNd")
def _gather_nd(g, n, a):
    x, idx = a[0].plain(), a[1].plain().long()
    k = idx.shape[-1]
    # Linearise the first k axes: one flat index per gathered slice.
    shape = [int(s) for s in x.shape]
    k = int(k)
    strides = [int(np.prod(shape[i + 1:k])) for i in range(k)]
    lin = (idx * torch.tensor(strides, dtype=torch.long)).sum(-1)
    flat = x.reshape([-1] + shape[k:])
    return Val(flat[lin])


@op("Shape")
def _shape(g, n, a):
    # Shapes are static in the traced module (one input shape per trace).
    return Val(torch.tensor([int(d) for d in a[0].plain().shape], dtype=torch.int32))


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def _max_abs_diff(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return max(float((x.float() - y.float()).abs().max()) if x.numel() else 0.0 for x, y in zip(a, b))


def convert(model_json, outputs, input_shape=None, log=print, fuse=True, conv_impl="aten"):
    """Build the interpreter, trace, freeze. Returns (frozen, eager module, example input)."""
    nodes, weights = load_graph(model_json)
    graph = TfjsGraph(nodes, weights, outputs, fuse=fuse, conv_impl=conv_impl).eval()
    if input_shape is None:
        dims = graph.input_node.attr.get("shape", {}).get("shape", {}).get("dim", [])
        input_shape = [max(int(d.get("size", -1)), 1) for d in dims]
        if not input_shape:
            raise ConversionError("input shape unknown: pass --input-shape")
    log("ops up to the requested outputs: " + ", ".join(f"{k}×{v}" for k, v in sorted(graph.op_counts.items())))
    gen = torch.Generator().manual_seed(0)
    example = torch.rand(input_shape, generator=gen) * 255.0
    with torch.no_grad():
        eager = graph(example)
        with warnings.catch_warnings():
            # Shapes become constants on purpose: one module per input shape.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            traced = torch.jit.trace(graph, example, check_trace=False)
        frozen = torch.jit.freeze(traced)
        diff = _max_abs_diff(frozen(example), eager)
    log(f"frozen vs eager on the example input: max abs diff {diff:.3g}")
    return frozen, graph, example


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_json")
    ap.add_argument("out_pt", nargs="?")
    ap.add_argument("--outputs", help="comma-separated node names (name or name:index)")
    ap.add_argument("--input-shape", help="NHWC, e.g. 1,512,512,3 (default: the Placeholder's shape)")
    ap.add_argument("--no-fuse", action="store_true", help="keep hard-swish as TF's four ops")
    ap.add_argument("--conv", choices=("aten", "mkldnn"), default="aten",
                    help="aten: F.conv2d (PyTorch picks the backend); mkldnn: call oneDNN directly")
    ap.add_argument("--list-ops", action="store_true",
                    help="print the op set of the whole graph (unsupported ops marked) and exit")
    args = ap.parse_args(argv)
    if args.list_ops:
        nodes, _ = load_graph(args.model_json)
        counts = {}
        for n in nodes.values():
            counts[n.op] = counts.get(n.op, 0) + 1
        for k in sorted(counts):
            print(f"{k:32s} {counts[k]:5d}{'' if _supported(k) else '  UNSUPPORTED'}")
        return 0
    if not args.out_pt or not args.outputs:
        ap.error("OUT.pt and --outputs are required")
    outputs = [o.strip() for o in args.outputs.split(",") if o.strip()]
    shape = [int(s) for s in args.input_shape.split(",")] if args.input_shape else None
    try:
        frozen, graph, example = convert(args.model_json, outputs, shape, fuse=not args.no_fuse,
                                         conv_impl=args.conv)
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    torch.jit.save(frozen, args.out_pt)
    reloaded = torch.jit.load(args.out_pt)
    with torch.no_grad():
        got = reloaded(example)
        ref = graph(example)
    diff = _max_abs_diff(got, ref)
    got = got if isinstance(got, tuple) else (got,)
    for name, t in zip(outputs, got):
        print(f"output {name}: shape {list(t.shape)} dtype {t.dtype}")
    print(f"saved {args.out_pt}; reloaded vs eager max abs diff {diff:.3g}")
    if not diff <= 1e-4 * max(1.0, max(float(t.float().abs().max()) for t in got)):
        print("error: reloaded module disagrees with the eager interpreter", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
