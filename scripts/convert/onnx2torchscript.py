#!/usr/bin/python3
"""Convert an ONNX model into an equivalent frozen TorchScript module.

    /usr/bin/python3 scripts/convert/onnx2torchscript.py IN.onnx OUT.pt \
        [--input-shape 1,3,640,640] [--verify-shape 2,3,672,608] [--no-cleanup]

How: the ONNX graph is loaded into a small IR (onnx_graph.py), constants are
folded, optional output-preserving clean-up passes run (onnx_cleanup.py), a
node-by-node interpreter module is traced with an example input, frozen and
saved. The saved file is then reloaded and run at a second, different input
size and compared with the eager interpreter on the un-cleaned graph: a
shape frozen during tracing or a wrong rewrite makes the conversion fail.
"""

import argparse
import copy
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from onnx_cleanup import cleanup  # noqa: E402
from onnx_graph import OnnxInterpreter, check_supported, load_graph  # noqa: E402
from onnx_ops import UnsupportedOnnxError  # noqa: E402


class VerificationError(RuntimeError):
    pass


def parse_shape(text):
    return [int(v) for v in text.replace("x", ",").split(",") if v.strip()]


def default_shapes(graph, given):
    """Tracing shapes: given ones, else the declared dims (dynamic -> 1 for
    the batch axis, 64 elsewhere)."""
    if given:
        if len(given) != len(graph.inputs):
            raise SystemExit(f"model has {len(graph.inputs)} inputs, got {len(given)} --input-shape")
        return given
    return [[d if d else (1 if i == 0 else 64) for i, d in enumerate(dims)] for _, dims, _ in graph.inputs]


def second_shapes(graph, shapes):
    """A different size for each dynamic dim: batch + 1, others + 32."""
    out = []
    for (_, dims, _), shape in zip(graph.inputs, shapes):
        out.append([s if d else (s + 1 if i == 0 else s + 32) for i, (d, s) in enumerate(zip(dims, shape))])
    return out


def example_inputs(graph, shapes, seed):
    """Uniform [-1, 1) floats (integers in [-10, 10] for integer inputs)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for (_, _, dtype), shape in zip(graph.inputs, shapes):
        if dtype.is_floating_point:
            out.append((torch.rand(shape, generator=gen) * 2 - 1).to(dtype))
        else:
            out.append(torch.randint(-10, 11, shape, generator=gen).to(dtype))
    return tuple(out)


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def max_abs_diff(a, b):
    diffs = []
    for x, y in zip(_as_tuple(a), _as_tuple(b)):
        if x.shape != y.shape:
            raise VerificationError(f"output shape {tuple(x.shape)} != reference {tuple(y.shape)}")
        if x.dtype != y.dtype:
            raise VerificationError(f"output dtype {x.dtype} != reference {y.dtype}")
        if not x.numel():
            continue
        x, y = x.double(), y.double()
        # NaN (e.g. sqrt of a random negative input) must appear in both.
        nan = torch.isnan(y)
        if not torch.equal(torch.isnan(x), nan):
            return float("inf")
        diffs.append((x - y).abs().masked_fill(nan, 0).max().item())
    return max(diffs, default=0.0)


def convert(onnx_model, out_path, input_shapes=None, verify_shapes=None, do_cleanup=True,
            tolerance=1e-4, log=print):
    """Convert and verify; returns {shape: max abs diff} of the verification."""
    graph = load_graph(onnx_model)
    check_supported(graph)
    # The reference keeps the graph exactly as exported: it checks the
    # clean-up rewrites as well as the tracing.
    reference = OnnxInterpreter(copy.deepcopy(graph)).eval()
    if do_cleanup:
        for line in cleanup(graph):
            log(f"cleanup: {line}")
    module = OnnxInterpreter(graph).eval()

    shapes = default_shapes(graph, input_shapes)
    others = verify_shapes or second_shapes(graph, shapes)
    trace_inputs = example_inputs(graph, shapes, seed=0)
    with torch.no_grad():
        traced = torch.jit.trace(module, trace_inputs, check_trace=False)
        frozen = torch.jit.freeze(traced.eval())
    torch.jit.save(frozen, out_path)

    results = {}
    try:
        loaded = torch.jit.load(out_path).eval()
        for seed, shape_set in enumerate([shapes, others]):
            inputs = example_inputs(graph, shape_set, seed=seed + 1)
            with torch.no_grad():
                want = reference(*inputs)
                got = loaded(*inputs)
            diff = max_abs_diff(got, want)
            scale = max((x.double().abs().nan_to_num(0, 0, 0).max().item()
                         for x in _as_tuple(want) if x.numel()), default=0.0)
            key = ";".join("x".join(map(str, s)) for s in shape_set)
            results[key] = diff
            log(f"verify {key}: max abs diff {diff:.3g} (reference max |y| {scale:.3g})")
            if not diff <= tolerance * max(1.0, scale):
                raise VerificationError(
                    f"TorchScript output differs from the ONNX interpreter at input {key}: "
                    f"max abs diff {diff:.3g} > {tolerance:g}")
    except Exception:
        os.remove(out_path)
        raise
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("onnx", help="input .onnx file")
    ap.add_argument("out", help="output TorchScript .pt file")
    ap.add_argument("--input-shape", action="append", type=parse_shape, default=None,
                    help="tracing shape, e.g. 1,3,640,640 (repeat once per input)")
    ap.add_argument("--verify-shape", action="append", type=parse_shape, default=None,
                    help="second shape for the dynamic-size check (default: each dynamic dim"
                         " changed: batch+1, others+32)")
    ap.add_argument("--no-cleanup", action="store_true",
                    help="skip BatchNorm/affine folding and activation fusion")
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="max abs diff allowed in verification (scaled by max |output| if > 1)")
    args = ap.parse_args(argv)
    t0 = time.time()
    try:
        convert(args.onnx, args.out, args.input_shape, args.verify_shape,
                do_cleanup=not args.no_cleanup, tolerance=args.tolerance)
    except UnsupportedOnnxError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except VerificationError as e:
        print(f"error: verification failed, {args.out} not written: {e}", file=sys.stderr)
        return 3
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB) in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
