"""Output-preserving clean-up passes on the IR (see onnx_graph.py).

Why: LibTorch 1.13 has no elementwise fuser, and `torch.jit.freeze` only
folds a constant Mul/Add into a convolution when the constant is the second
operand, while Paddle's exporter puts it first. Each standalone elementwise
op is a full pass over a feature map, so these rewrites matter for speed.

Every rewrite computes the same function up to float32 rounding of the
folded weights; onnx2torchscript.py verifies the result against the
un-rewritten graph. A rewrite only fires when the intermediate tensors it
removes have no other consumer and are not graph outputs.
"""

from collections import defaultdict

import numpy as np

from onnx_graph import Node

# HardSigmoid(x) == relu6(x + 3) / 6 only for alpha == float32(1/6) and
# beta == 0.5. Paddle writes alpha as 0.1666667, 2 float32 ulps above 1/6:
# close, but not the same function, so it stays an explicit HardSigmoid (in
# the PP-OCR models HardSigmoid only gates SE blocks, x * HardSigmoid(y),
# which is never a hardswish anyway).
_SIXTH = np.float32(1.0 / 6.0)


class _Uses:
    """Consumer lookup, rebuilt after each rewrite (graphs are small)."""

    def __init__(self, graph):
        self.consumers = defaultdict(list)
        self.producer = {}
        for node in graph.nodes:
            for i in node.inputs:
                if i:
                    self.consumers[i].append(node)
            for o in node.outputs:
                self.producer[o] = node
        self.outputs = set(graph.outputs)

    def sole_consumer(self, name):
        """The only node reading `name`, if it is also not a graph output."""
        users = self.consumers.get(name, [])
        if len(users) == 1 and name not in self.outputs:
            return users[0]
        return None


def _scalar(graph, name):
    v = graph.static.get(name)
    if v is None or np.asarray(v).size != 1:
        return None
    return float(np.asarray(v).reshape(()))


def _dynamic_and_const(graph, node):
    """For a binary node: (dynamic input name, constant value) or (None, None)."""
    a, b = node.inputs
    if a in graph.static and b not in graph.static:
        return b, graph.static[a]
    if b in graph.static and a not in graph.static:
        return a, graph.static[b]
    return None, None


def _per_channel(value, channels, out_rank):
    """Constant as a [channels] vector if it broadcasts along axis 1 only."""
    v = np.asarray(value, dtype=np.float32)
    if v.ndim > out_rank:
        return None  # would broadcast the output to a higher rank
    if v.size == 1:
        return np.full(channels, v.reshape(()), np.float32)
    # Numpy broadcasting aligns trailing axes: [C] lines up with the width,
    # [C, 1, 1] or [1, C, 1, 1] with the channels.
    shape = (1,) * (out_rank - v.ndim) + v.shape
    if shape[1] != channels or any(s != 1 for i, s in enumerate(shape) if i != 1):
        return None
    return v.reshape(channels)


def _new_const(graph, base, value):
    name = base
    k = 0
    while name in graph.static:
        k += 1
        name = f"{base}.{k}"
    graph.static[name] = value
    return name


def _conv_params(graph, conv):
    w = np.asarray(graph.static[conv.inputs[1]], np.float32)
    has_bias = len(conv.inputs) > 2 and conv.inputs[2]
    b = np.asarray(graph.static[conv.inputs[2]], np.float32) if has_bias else np.zeros(w.shape[0], np.float32)
    return w, b


def _set_conv_params(graph, conv, w, b):
    # New names: a weight constant may be shared with other nodes.
    conv.inputs = [conv.inputs[0], _new_const(graph, conv.name + ".w", w.astype(np.float32)),
                   _new_const(graph, conv.name + ".b", b.astype(np.float32))]


def _is_foldable_conv(graph, node):
    return (node is not None and node.op_type == "Conv" and node.inputs[1] in graph.static
            and (len(node.inputs) < 3 or not node.inputs[2] or node.inputs[2] in graph.static))


def _replace(graph, old_nodes, new_node):
    """Put new_node where the last removed node was (keeps topological order)."""
    gone = {id(n) for n in old_nodes}
    last = max(i for i, n in enumerate(graph.nodes) if id(n) in gone)
    graph.nodes[last] = new_node
    graph.nodes = [n for n in graph.nodes if id(n) not in gone]


def fold_batchnorm(graph):
    """Conv -> BatchNormalization  =>  Conv with scaled weights and bias."""
    uses = _Uses(graph)
    count = 0
    for bn in list(graph.nodes):
        if bn.op_type != "BatchNormalization" or any(i not in graph.static for i in bn.inputs[1:5]):
            continue
        conv = uses.producer.get(bn.inputs[0])
        if not _is_foldable_conv(graph, conv) or uses.sole_consumer(bn.inputs[0]) is not bn:
            continue
        scale, beta, mean, var = (np.asarray(graph.static[i], np.float64) for i in bn.inputs[1:5])
        k = scale / np.sqrt(var + float(bn.attrs.get("epsilon", 1e-5)))
        w, b = _conv_params(graph, conv)
        w = w * k.reshape((-1,) + (1,) * (w.ndim - 1))
        b = (b - mean) * k + beta
        _set_conv_params(graph, conv, w, b)
        conv.outputs = [bn.outputs[0]]
        graph.nodes.remove(bn)
        uses = _Uses(graph)
        count += 1
    return count


def fold_affine_after_conv(graph):
    """Conv -> Mul/Add by a per-channel constant (either operand order)."""
    count = 0
    changed = True
    while changed:
        changed = False
        uses = _Uses(graph)
        for node in graph.nodes:
            if node.op_type not in ("Mul", "Add"):
                continue
            dyn, const = _dynamic_and_const(graph, node)
            conv = uses.producer.get(dyn) if dyn else None
            if not _is_foldable_conv(graph, conv) or uses.sole_consumer(dyn) is not node:
                continue
            w, b = _conv_params(graph, conv)
            c = _per_channel(const, w.shape[0], w.ndim)
            if c is None:
                continue
            if node.op_type == "Mul":
                w = w * c.reshape((-1,) + (1,) * (w.ndim - 1))
                b = b * c
            else:
                b = b + c
            _set_conv_params(graph, conv, w, b)
            conv.outputs = [node.outputs[0]]
            graph.nodes.remove(node)
            count += 1
            changed = True
            break
    return count


def fold_affine_before_conv(graph):
    """Mul/Add by a scalar constant -> Conv without padding.

    conv(a*x + c) = conv_{a*W}(x) + c * sum(W): exact only when no padding is
    involved (padded zeros would not be shifted by c), hence pads == 0.
    """
    count = 0
    changed = True
    while changed:
        changed = False
        uses = _Uses(graph)
        for node in graph.nodes:
            if node.op_type not in ("Mul", "Add"):
                continue
            dyn, const = _dynamic_and_const(graph, node)
            if dyn is None or np.asarray(const).size != 1:
                continue
            conv = uses.sole_consumer(node.outputs[0])
            if (not _is_foldable_conv(graph, conv) or conv.inputs[0] != node.outputs[0]
                    or any(conv.attrs.get("pads", [0])) or conv.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID")):
                continue
            c = float(np.asarray(const).reshape(()))
            w, b = _conv_params(graph, conv)
            if node.op_type == "Mul":
                w = w * c
            else:
                b = b + c * w.reshape(w.shape[0], -1).sum(axis=1)
            _set_conv_params(graph, conv, w, b)
            conv.inputs[0] = dyn
            graph.nodes.remove(node)
            count += 1
            changed = True
            break
    return count


def drop_identity_arith(graph):
    """x * 1 and x + 0 with a scalar constant (Paddle's swish writes x * 1.0)."""
    uses = _Uses(graph)
    rename = {}
    kept = []
    for node in graph.nodes:
        node.inputs = [rename.get(i, i) for i in node.inputs]
        dyn, const = _dynamic_and_const(graph, node) if node.op_type in ("Mul", "Add") else (None, None)
        neutral = 1.0 if node.op_type == "Mul" else 0.0
        if (dyn is not None and np.asarray(const).size == 1 and np.asarray(const).ndim == 0
                and float(const) == neutral and node.outputs[0] not in uses.outputs):
            rename[node.outputs[0]] = dyn
            continue
        kept.append(node)
    graph.nodes = kept
    return len(rename)


def _fused(op_type, name, x, out):
    return Node(op_type=op_type, name=name, inputs=[x], outputs=[out], domain="cvtool")


def fuse_hardswish(graph):
    """x * Clip(x + 3, 0, 6) / 6  and  x * HardSigmoid(x) (alpha == 1/6) => hardswish."""
    count = 0
    uses = _Uses(graph)
    for node in list(graph.nodes):
        if node not in graph.nodes:
            continue
        if node.op_type == "Add":
            # Paddle: Add(x, 3) -> Clip(0, 6) -> Mul(x, .) -> Div(., 6)
            x, three = _dynamic_and_const(graph, node)
            if x is None or np.asarray(three).size != 1 or float(three) != 3.0:
                continue
            clip = uses.sole_consumer(node.outputs[0])
            if clip is None or clip.op_type != "Clip" or not _clip_is_relu6(graph, clip):
                continue
            mul = uses.sole_consumer(clip.outputs[0])
            if mul is None or mul.op_type != "Mul" or sorted(mul.inputs) != sorted([x, clip.outputs[0]]):
                continue
            div = uses.sole_consumer(mul.outputs[0])
            if div is None or div.op_type != "Div" or div.inputs[0] != mul.outputs[0] or _scalar(graph, div.inputs[1]) != 6.0:
                continue
            _replace(graph, [node, clip, mul, div], _fused("HardSwish", div.name, x, div.outputs[0]))
        elif node.op_type == "HardSigmoid":
            alpha = np.float32(node.attrs.get("alpha", 0.2))
            beta = np.float32(node.attrs.get("beta", 0.5))
            if alpha != _SIXTH or beta != np.float32(0.5):
                continue
            x = node.inputs[0]
            mul = uses.sole_consumer(node.outputs[0])
            if mul is None or mul.op_type != "Mul" or sorted(mul.inputs) != sorted([x, node.outputs[0]]):
                continue
            _replace(graph, [node, mul], _fused("HardSwish", mul.name, x, mul.outputs[0]))
        else:
            continue
        count += 1
        uses = _Uses(graph)
    return count


def _clip_is_relu6(graph, clip):
    if clip.opset < 11:
        return clip.attrs.get("min") == 0.0 and clip.attrs.get("max") == 6.0
    return (len(clip.inputs) == 3 and _scalar(graph, clip.inputs[1]) == 0.0
            and _scalar(graph, clip.inputs[2]) == 6.0)


def fuse_silu(graph):
    """x * Sigmoid(x) => silu."""
    count = 0
    uses = _Uses(graph)
    for node in list(graph.nodes):
        if node.op_type != "Sigmoid" or node not in graph.nodes:
            continue
        x = node.inputs[0]
        mul = uses.sole_consumer(node.outputs[0])
        if mul is None or mul.op_type != "Mul" or sorted(mul.inputs) != sorted([x, node.outputs[0]]):
            continue
        _replace(graph, [node, mul], _fused("Silu", mul.name, x, mul.outputs[0]))
        count += 1
        uses = _Uses(graph)
    return count


def conv_transpose_to_pixel_shuffle(graph):
    """ConvTranspose with kernel == stride and no padding => 1x1 Conv + pixel_shuffle.

    Each input pixel then writes its own disjoint s x s output block:
    y[n, o, s*i + a, s*j + b] = sum_c x[n, c, i, j] * W[c, o, a, b] + bias[o],
    which is a 1x1 convolution to O*s*s channels ordered (o, a, b) followed by
    pixel_shuffle(s). The plain-convolution path is much faster in LibTorch.
    """
    count = 0
    for k, node in enumerate(list(graph.nodes)):
        if node.op_type != "ConvTranspose" or node.inputs[1] not in graph.static:
            continue
        a = node.attrs
        w = np.asarray(graph.static[node.inputs[1]], np.float32)
        if w.ndim != 4:
            continue
        kernel = list(w.shape[2:])
        stride = list(a.get("strides", [1, 1]))
        if (kernel != stride or kernel[0] != kernel[1] or a.get("group", 1) != 1
                or any(a.get("pads", [0])) or any(a.get("output_padding", [0]))
                or any(d != 1 for d in a.get("dilations", [1])) or "output_shape" in a
                or a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID")):
            continue
        has_bias = len(node.inputs) > 2 and node.inputs[2]
        if has_bias and node.inputs[2] not in graph.static:
            continue
        s = kernel[0]
        cin, cout = w.shape[:2]
        w1 = w.transpose(1, 2, 3, 0).reshape(cout * s * s, cin, 1, 1)
        b = np.asarray(graph.static[node.inputs[2]], np.float32) if has_bias else np.zeros(cout, np.float32)
        mid = node.outputs[0] + ".blocks"
        conv = Node(op_type="Conv", name=node.name + ".conv1x1", inputs=[node.inputs[0]], outputs=[mid],
                    attrs={"kernel_shape": [1, 1]}, opset=node.opset)
        conv.inputs += [_new_const(graph, conv.name + ".w", np.ascontiguousarray(w1)),
                        _new_const(graph, conv.name + ".b", np.repeat(b, s * s))]
        shuffle = Node(op_type="PixelShuffle", name=node.name + ".shuffle", inputs=[mid],
                       outputs=list(node.outputs), attrs={"factor": s}, domain="cvtool")
        i = next(i for i, n in enumerate(graph.nodes) if n is node)
        graph.nodes[i:i + 1] = [conv, shuffle]
        count += 1
    return count


def cleanup(graph):
    """Run all passes; returns human-readable lines of what changed."""
    report = []
    for name, fn in [("x*1 / x+0 removed", drop_identity_arith),
                     ("BatchNormalization folded into Conv", fold_batchnorm),
                     ("Mul/Add folded into preceding Conv", fold_affine_after_conv),
                     ("scalar Mul/Add folded into following unpadded Conv", fold_affine_before_conv),
                     ("ConvTranspose rewritten as 1x1 Conv + pixel_shuffle", conv_transpose_to_pixel_shuffle),
                     ("hardswish fused", fuse_hardswish),
                     ("silu fused", fuse_silu)]:
        n = fn(graph)
        if n:
            report.append(f"{name}: {n}")
    return report
