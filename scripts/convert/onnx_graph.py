"""ONNX graph -> small editable IR -> node-by-node interpreter nn.Module.

The IR is deliberately plain (a list of `Node` plus a dict of constant numpy
values) so clean-up passes (onnx_cleanup.py) can rewrite it before modules are
built. Constants include initializers, `Constant` nodes (PaddleOCR stores all
weights that way) and sub-graphs computed only from constants, which are
folded at load time. Anything derived from a graph input, including `Shape`,
is never folded: it must stay dynamic in the traced TorchScript.
"""

from dataclasses import dataclass, field

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from onnx_ops import ONNX_DTYPES, UnsupportedOnnxError, build_op, unsupported


@dataclass(eq=False)  # identity comparison: passes look nodes up in lists
class Node:
    op_type: str
    name: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    opset: int = 13
    domain: str = ""


@dataclass
class Graph:
    nodes: list
    inputs: list            # [(name, [dim or None, ...], torch dtype)]
    outputs: list           # [name]
    static: dict            # name -> np.ndarray, values known at conversion time


def _attr_value(attr):
    value = helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [v.decode() for v in value]
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return value


def _constant_value(node):
    if len(node.attrs) != 1:
        raise unsupported(node, f"attributes {sorted(node.attrs)}")
    (key, value), = node.attrs.items()
    if key == "value":
        return np.array(value)
    if key == "value_float":
        return np.array(value, dtype=np.float32)
    if key == "value_floats":
        return np.array(value, dtype=np.float32)
    if key in ("value_int", "value_ints"):
        return np.array(value, dtype=np.int64)
    raise unsupported(node, f"constant kind '{key}'")


def load_graph(model):
    """Read an onnx.ModelProto (or path) into the IR, folding constants."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(model)
    opsets = {o.domain or "": o.version for o in model.opset_import}
    g = model.graph
    static = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = []
    for vi in g.input:
        if vi.name in static:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in vi.type.tensor_type.shape.dim]
        inputs.append((vi.name, dims, ONNX_DTYPES.get(vi.type.tensor_type.elem_type, torch.float32)))
    nodes = []
    for i, n in enumerate(g.node):
        domain = n.domain if n.domain != "ai.onnx" else ""
        if domain not in opsets:
            opsets[domain] = 1
        node = Node(op_type=n.op_type, name=n.name or f"{n.op_type}_{i}", inputs=list(n.input),
                    outputs=list(n.output), attrs={a.name: _attr_value(a) for a in n.attribute},
                    opset=opsets.get(domain, 1), domain=domain)
        if domain != "":
            raise unsupported(node, f"custom domain '{domain}'")
        nodes.append(node)
    graph = Graph(nodes=nodes, inputs=inputs, outputs=[o.name for o in g.output], static=static)
    fold_constants(graph)
    return graph


def fold_constants(graph):
    """Evaluate nodes whose inputs are all constants and drop them."""
    kept = []
    for node in graph.nodes:
        if node.op_type == "Constant":
            graph.static[node.outputs[0]] = _constant_value(node)
            continue
        ins = [i for i in node.inputs if i]
        if ins and all(i in graph.static for i in ins):
            static = [graph.static.get(i) if i else None for i in node.inputs]
            op = build_op(node, static)
            with torch.no_grad():
                out = op(*[None] * len(node.inputs))
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for name, value in zip(node.outputs, outs):
                graph.static[name] = value.numpy()
            continue
        kept.append(node)
    graph.nodes = kept


def check_supported(graph):
    """Build every op once so unsupported ops fail before any tracing."""
    for node in graph.nodes:
        build_op(node, [graph.static.get(i) if i else None for i in node.inputs])


class OnnxInterpreter(nn.Module):
    """Runs the IR node by node; `torch.jit.trace` turns it into a graph."""

    def __init__(self, graph):
        super().__init__()
        self.input_names = [name for name, _, _ in graph.inputs]
        self.output_names = list(graph.outputs)
        missing = [o for o in self.output_names if o in graph.static]
        if missing:
            raise UnsupportedOnnxError(f"graph outputs {missing} are constants")
        self.ops = nn.ModuleList()
        self.wiring = []
        for node in graph.nodes:
            self.ops.append(build_op(node, [graph.static.get(i) if i else None for i in node.inputs]))
            self.wiring.append((list(node.inputs), list(node.outputs)))

    def forward(self, *inputs):
        env = dict(zip(self.input_names, inputs))
        for op, (ins, outs) in zip(self.ops, self.wiring):
            # Static inputs are absent from env: ops hold them as buffers.
            result = op(*[env.get(i) if i else None for i in ins])
            results = result if isinstance(result, (tuple, list)) else (result,)
            for name, value in zip(outs, results):
                if name:
                    env[name] = value
        outputs = tuple(env[o] for o in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs
