#!/usr/bin/python3
"""Check the TFLite -> TorchScript conversion of MediaPipe selfie segmentation.

    /usr/bin/python3 scripts/parity/tflite_check.py [--package DIR] [--out DIR] [--skip-web]

Three checks for each of the two models, all printed as numbers; exit status
1 if a parity check fails:

1. MediaPipe itself: the package's WASM/WebGL solution run in headless
   Chromium (Debian's `chromium`, SwiftShader WebGL), on the same pixels.
   Skipped with a message when chromium is missing.
2. Arm NN's TFLite parser with its reference CPU backend (Debian:
   python3-pyarmnn, libarmnn-cpuref-backend22), for everything Arm NN can
   run; numpy for the rest (see HybridReference).  Skipped with a message
   when pyarmnn is missing.
3. A semantic check on real photos: the fraction of mask > 0.5 inside and
   outside a hand-drawn person box, and on photos without people.  Mask
   overlays are written to --out for looking at.

Input convention, from the MediaPipe graph shipped in the package
(ImageToTensorCalculator: output_tensor_float_range 0..1, keep_aspect_ratio
false; TensorsToSegmentationCalculator: activation NONE): RGB, float in [0, 1],
the whole image stretched to the model size, NHWC.  The output is already a
person probability (the model ends with a sigmoid).
"""

import argparse
import copy
import logging
import os
import sys
import tempfile

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "convert"))
import tflite2torchscript as t2t  # noqa: E402

DEFAULT_PACKAGE = os.path.expanduser(
    "~/.cache/cvtool/npm/mediapipe-selfie_segmentation-0.1.1675465747/package")
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
OPENCV = "/usr/share/doc/opencv-doc/examples/data"

# Person boxes (x0, y0, x1, y1) in original image pixels, drawn by looking at
# the images.  The "outside" statistic is computed on everything else.
PERSON_PHOTOS = [
    ("astronaut", os.path.join(SKIMAGE, "astronaut.png"), (20, 15, 365, 512)),
    ("messi", os.path.join(OPENCV, "messi5.jpg"), (68, 58, 460, 336)),
    ("cameraman", os.path.join(SKIMAGE, "camera.png"), (0, 60, 330, 512)),
]
NO_PERSON_PHOTOS = [
    ("coffee", os.path.join(SKIMAGE, "coffee.png")),
    ("chelsea_cat", os.path.join(SKIMAGE, "chelsea.png")),
    ("fruits", os.path.join(OPENCV, "fruits.jpg")),
]


def load_rgb(path):
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit("cannot read %s" % path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def preprocess(rgb, hw):
    """RGB uint8 image -> 1xHxWx3 float32 in [0, 1], stretched (no letterbox)."""
    small = cv2.resize(rgb, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0)[None]


# ------------------------------------------------------ MediaPipe on the web ----
# The package is MediaPipe's own web solution (WASM + WebGL).  Headless
# Chromium with SwiftShader WebGL runs it: a page served from a temporary
# folder on 127.0.0.1 sends each image through SelfieSegmentation and posts
# the mask back.  Images are given at the model size, so MediaPipe's own
# resize is an identity and both sides see the same pixels.  The mask comes
# back through a 2D canvas: 8 bits, in the alpha channel.

PAGE = """<!doctype html><html><body>
<script src="selfie_segmentation.js"></script>
<script>
function post(path, body) { return fetch(path, {method: 'POST', body: body}); }
async function main() {
  const q = new URLSearchParams(location.search);
  const ss = new SelfieSegmentation({locateFile: (f) => f});
  ss.setOptions({modelSelection: parseInt(q.get('model')), selfieMode: false});
  let resolve = null;
  ss.onResults((r) => { if (resolve) resolve(r); });
  await ss.initialize();
  const out = {};
  for (const n of q.get('names').split(',')) {
    const img = new Image(); img.src = n + '.png'; await img.decode();
    const done = new Promise((r) => { resolve = r; });
    await ss.send({image: img});
    const m = (await done).segmentationMask;
    const c = document.createElement('canvas'); c.width = m.width; c.height = m.height;
    const ctx = c.getContext('2d'); ctx.drawImage(m, 0, 0);
    const d = ctx.getImageData(0, 0, m.width, m.height).data;
    let s = ''; for (let i = 3; i < d.length; i += 4) s += String.fromCharCode(d[i]);
    out[n] = {w: m.width, h: m.height, alpha: btoa(s)};
  }
  await post('/result', JSON.stringify(out));
}
main().catch((e) => post('/error', String(e) + '\\n' + e.stack));
</script></body></html>
"""


def mediapipe_web_masks(package, model_selection, images, timeout=180):
    """images: name -> RGB uint8 at the model size.  Returns name -> mask in
    [0, 1] (8-bit steps) from MediaPipe itself, or None with a reason."""
    import base64
    import http.server
    import json
    import shutil
    import signal
    import subprocess
    import threading
    import time

    chromium = shutil.which("chromium")
    if chromium is None:
        return None, "chromium not installed (apt-get install chromium)"
    work = tempfile.mkdtemp(prefix="mp_web_")
    for f in os.listdir(package):
        os.symlink(os.path.join(package, f), os.path.join(work, f))
    with open(os.path.join(work, "index.html"), "w") as f:
        f.write(PAGE)
    for name, rgb in images.items():
        cv2.imwrite(os.path.join(work, name + ".png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    posted = {}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=work, **kw)

        def do_POST(self):
            posted[self.path] = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/index.html?model=%d&names=%s" % (
        server.server_address[1], model_selection, ",".join(images))
    # Own process group, so the browser's helper processes end with it.
    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--use-angle=swiftshader",
         "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
         "--user-data-dir=" + os.path.join(work, "profile"), url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and not posted and proc.poll() is None:
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    if "/result" not in posted:
        reason = posted.get("/error", b"timed out or browser exited").decode("utf-8", "replace")
        return None, "MediaPipe page failed: " + reason
    masks = {}
    for name, v in json.loads(posted["/result"]).items():
        a = np.frombuffer(base64.b64decode(v["alpha"]), np.uint8).reshape(v["h"], v["w"])
        masks[name] = a.astype(np.float32) / 255.0
    return masks, None


def mediapipe_parity(package, model_selection, module, hw, photos):
    images = {name: (preprocess(rgb, hw)[0] * 255).round().astype(np.uint8)
              for name, rgb in photos}
    masks, why = mediapipe_web_masks(package, model_selection, images)
    if masks is None:
        print("MediaPipe web parity: skipped (%s)" % why)
        return True
    print("MediaPipe web parity (its WASM/WebGL solution in headless Chromium, mask read "
          "back as 8 bits):")
    print("  %-12s %9s %9s %12s %9s" % ("photo", "max|d|", "mean|d|", "|d|>2/255", "IoU>0.5"))
    ok = True
    for name, img in images.items():
        with torch.no_grad():
            x = torch.from_numpy(img.astype(np.float32)[None] / 255.0)
            ours = module(x)[0, :, :, 0].numpy()
        ref = masks[name]
        d = np.abs(ours - ref)
        a, b = ours > 0.5, ref > 0.5
        iou = (a & b).sum() / max((a | b).sum(), 1)
        print("  %-12s %9.4f %9.5f %12.5f %9.4f" % (name, d.max(), d.mean(), (d > 2 / 255).mean(),
                                                   iou))
        # 8-bit read-back gives 0.5/255 error by itself; WebGL float16
        # inference adds a little more near mask edges.
        ok &= d.mean() < 2e-3 and iou > 0.99
    return ok


# ---------------------------------------------------------------- Arm NN ----
# Arm NN (Debian's 22.0 build) lacks three things this model needs: weights
# produced by DEQUANTIZE, the custom op, and RESIZE_BILINEAR's
# half_pixel_centers (it silently runs the legacy mode; measured with a
# one-op model).  So the reference is a hybrid: float16 weights are folded
# to float32, the graph is split into segments at those ops, Arm NN runs every
# segment, and numpy runs the ops in between, written from their TFLite
# definitions independently of the converter's torch code.

NUMPY_OPS = ("RESIZE_BILINEAR", "Convolution2DTransposeBias")


def fold_weights(model):
    """Return ({tensor index: float32 constant}, operators without DEQUANTIZE)."""
    consts = {t.index: t.data for t in model.tensors if t.data is not None}
    ops = []
    for op in model.operators:
        if op.name == "DEQUANTIZE" and op.inputs[0] in consts:
            consts[op.outputs[0]] = consts[op.inputs[0]].astype(np.float32)
        else:
            ops.append(op)
    return consts, ops


def armnn_segment(model, consts, ops, inputs, outputs):
    """Compile a subgraph of `ops` with Arm NN (CpuRef); returns run(dict)->dict."""
    import pyarmnn as ann
    w = t2t.TfliteWriter()
    for t in model.tensors:
        data = consts.get(t.index)
        w.tensor(t.name, t.shape, np.float32 if data is None else data.dtype, data)
    for op in ops:
        w.op(op.name, op.inputs, op.outputs, **op.options)
    fd, path = tempfile.mkstemp(suffix=".tflite")
    with os.fdopen(fd, "wb") as f:
        f.write(w.finish(inputs, outputs))
    parser = ann.ITfLiteParser()
    net = parser.CreateNetworkFromBinaryFile(path)
    os.unlink(path)
    runtime = ann.IRuntime(ann.CreationOptions())
    opt, _ = ann.Optimize(net, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(),
                          ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(opt)
    in_infos = [parser.GetNetworkInputBindingInfo(0, model.tensors[i].name) for i in inputs]
    out_infos = [parser.GetNetworkOutputBindingInfo(0, model.tensors[i].name) for i in outputs]

    def run(values):
        arrays = [np.ascontiguousarray(values[i], np.float32) for i in inputs]
        in_t = ann.make_input_tensors(in_infos, arrays)
        out_t = ann.make_output_tensors(out_infos)
        runtime.EnqueueWorkload(net_id, in_t, out_t)
        res = ann.workload_tensors_to_ndarray(out_t)
        return {i: r.reshape(model.tensors[i].shape) for i, r in zip(outputs, res)}
    return run


def resize_bilinear_numpy(x, out_hw, align_corners, half_pixel):
    """TFLite reference RESIZE_BILINEAR, NHWC, pixel by pixel in float32."""
    n, h, w, c = x.shape
    oh, ow = out_hw
    f32 = np.float32
    sh = f32(h - 1) / f32(oh - 1) if (align_corners and oh > 1) else f32(h) / f32(oh)
    sw = f32(w - 1) / f32(ow - 1) if (align_corners and ow > 1) else f32(w) / f32(ow)
    y = np.zeros((n, oh, ow, c), np.float32)
    for oy in range(oh):
        iy = (f32(oy) + f32(0.5)) * sh - f32(0.5) if half_pixel else f32(oy) * sh
        y0, y1 = max(int(np.floor(iy)), 0), min(int(np.ceil(iy)), h - 1)
        dy = f32(iy - f32(y0))
        for ox in range(ow):
            ix = (f32(ox) + f32(0.5)) * sw - f32(0.5) if half_pixel else f32(ox) * sw
            x0, x1 = max(int(np.floor(ix)), 0), min(int(np.ceil(ix)), w - 1)
            dx = f32(ix - f32(x0))
            y[:, oy, ox] = (x[:, y0, x0] * (1 - dy) * (1 - dx) + x[:, y1, x0] * dy * (1 - dx)
                            + x[:, y0, x1] * (1 - dy) * dx + x[:, y1, x1] * dy * dx)
    return y


def transpose_conv_bias_numpy(x, weight, bias, stride, out_hw, pad_before):
    """Scatter definition of a transposed convolution (NHWC input, OHWI
    weight) plus bias."""
    n, h, w_, c = x.shape
    o, kh, kw, _ = weight.shape
    full = np.zeros((n, (h - 1) * stride[0] + kh, (w_ - 1) * stride[1] + kw, o), np.float64)
    for ky in range(kh):
        for kx in range(kw):
            contrib = x.astype(np.float64) @ weight[:, ky, kx, :].T.astype(np.float64)
            full[:, ky:ky + (h - 1) * stride[0] + 1:stride[0],
                 kx:kx + (w_ - 1) * stride[1] + 1:stride[1], :] += contrib
    top, left = pad_before
    return (full[:, top:top + out_hw[0], left:left + out_hw[1], :] + bias).astype(np.float32)


def numpy_op(model, consts, op, values):
    x = values[op.inputs[0]]
    out_shape = model.tensors[op.outputs[0]].shape
    if op.name == "RESIZE_BILINEAR":
        return resize_bilinear_numpy(x, out_shape[1:3], op.options["align_corners"],
                                     op.options["half_pixel_centers"])
    # Convolution2DTransposeBias: options are int32 padding (1 SAME, 2 VALID),
    # stride_w, stride_h.
    padding, sw, sh = np.frombuffer(op.custom_options[:12], "<i4")
    weight, bias = consts[op.inputs[1]], consts[op.inputs[2]]
    pads = []
    for d, k, s in ((1, weight.shape[1], sh), (2, weight.shape[2], sw)):
        total = (x.shape[d] - 1) * s + k - out_shape[d]
        pads.append(max(total, 0) // 2 if padding == 1 else 0)
    return transpose_conv_bias_numpy(x, weight, bias, (sh, sw), out_shape[1:3], pads)


class HybridReference:
    def __init__(self, model):
        self.model = model
        self.consts, ops = fold_weights(model)
        # Split into ("armnn", [ops]) runs and ("numpy", op) items.
        items, run = [], []
        for op in ops:
            if op.name in NUMPY_OPS:
                if run:
                    items.append(("armnn", run))
                    run = []
                items.append(("numpy", op))
            else:
                run.append(op)
        if run:
            items.append(("armnn", run))
        self.steps = []
        for k, (kind, payload) in enumerate(items):
            if kind == "numpy":
                self.steps.append((kind, payload))
                continue
            produced = {o for op in payload for o in op.outputs}
            needed_later = {i for _, p in items[k + 1:]
                            for op in (p if isinstance(p, list) else [p]) for i in op.inputs}
            needed_later |= set(model.outputs)
            ins = sorted({i for op in payload for i in op.inputs
                          if i >= 0 and i not in produced and i not in self.consts})
            outs = sorted(produced & needed_later)
            self.steps.append((kind, armnn_segment(model, self.consts, payload, ins, outs)))
        self.n_armnn = sum(1 for k, _ in self.steps if k == "armnn")

    def __call__(self, x):
        values = {self.model.inputs[0]: x}
        for kind, step in self.steps:
            if kind == "numpy":
                values[step.outputs[0]] = numpy_op(self.model, self.consts, step, values)
            else:
                values.update(step(values))
        return values[self.model.outputs[0]]


def armnn_parity(path, module, graph, inputs):
    """Max |difference| of the converted module against the hybrid Arm NN
    reference, and against the same graph evaluated in float64 (the float32
    rounding noise floor that any two correct runtimes can differ by)."""
    ref = HybridReference(t2t.read_model(open(path, "rb").read()))
    graph64 = copy.deepcopy(graph).double()
    worst = noise = 0.0
    for x in inputs:
        xt = torch.from_numpy(x.copy())
        with torch.no_grad():
            ours = module(xt).numpy()
            exact = graph64(xt.double()).numpy()
        worst = max(worst, float(np.abs(ref(x) - ours).max()))
        noise = max(noise, float(np.abs(exact - ours).max()))
    return worst, noise, ref.n_armnn


# -------------------------------------------------------------- semantic ----

def overlay(rgb, mask, box, path):
    """Image dimmed where the mask is low, mask beside it, box in green."""
    vis = (rgb.astype(np.float32) * (0.2 + 0.8 * mask[..., None])).astype(np.uint8)
    vis = cv2.cvtColor(vis, cv2.COLOR_RGB2BGR)
    if box is not None:
        cv2.rectangle(vis, box[:2], (box[2] - 1, box[3] - 1), (0, 255, 0), 2)
    gray = cv2.cvtColor((mask * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(path, np.hstack([vis, gray]))


def predict(module, rgb, hw):
    with torch.no_grad():
        out = module(torch.from_numpy(preprocess(rgb, hw)))[0, :, :, 0].numpy()
    return cv2.resize(out, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", default=DEFAULT_PACKAGE)
    ap.add_argument("--out", default="/tmp/tflite_check")
    ap.add_argument("--skip-web", action="store_true",
                    help="do not run MediaPipe's web solution in headless Chromium")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    failures = 0
    for fname in ("selfie_segmentation.tflite", "selfie_segmentation_landscape.tflite"):
        path = os.path.join(args.package, fname)
        data = open(path, "rb").read()
        module, graph, _ = t2t.convert(data)
        model = t2t.read_model(data)
        hw = model.tensors[model.inputs[0]].shape[1:3]
        print("== %s (input 1x%dx%dx3 RGB [0,1])" % (fname, hw[0], hw[1]))

        photos = [(n, load_rgb(p)) for n, p, _ in PERSON_PHOTOS] + \
                 [(n, load_rgb(p)) for n, p in NO_PERSON_PHOTOS]
        if not args.skip_web:
            # modelSelection 0 is the square model, 1 the landscape one.
            if not mediapipe_parity(args.package, int("landscape" in fname), module, hw, photos):
                failures += 1
                print("FAIL: converted model disagrees with MediaPipe")
        try:
            # pyarmnn logs a warning per parser missing from Debian's build.
            logging.getLogger("pyarmnn").setLevel(logging.ERROR)
            import pyarmnn  # noqa: F401  (only probing whether it is installed)
        except ImportError:
            print("Arm NN parity: skipped (python3-pyarmnn not installed)")
        else:
            rng = np.random.default_rng(0)
            inputs = [preprocess(rgb, hw) for _, rgb in photos]
            inputs += [rng.random((1, hw[0], hw[1], 3), dtype=np.float32) for _ in range(2)]
            worst, noise, segments = armnn_parity(path, module, graph, inputs)
            print("Arm NN parity (%d Arm NN segments + numpy resize/custom op) on %d inputs: "
                  "max |mask diff| = %.2e (float32 vs float64 of our graph: %.2e)"
                  % (segments, len(inputs), worst, noise))
            # A wrong layout, padding or weight order shows up as differences
            # of order 0.1-1 (seen while building this check); float32
            # rounding through ~250 ops stays near 1e-4.
            if worst > 1e-3:
                failures += 1
                print("FAIL: converted model disagrees with Arm NN")

        print("%-12s %11s %12s %12s %7s" % ("photo", "in-box>0.5", "out-box>0.5",
                                             "fg-in-box", "mean p"))
        for name, p, box in PERSON_PHOTOS:
            rgb = load_rgb(p)
            mask = predict(module, rgb, hw)
            inside = np.zeros(mask.shape, bool)
            inside[box[1]:box[3], box[0]:box[2]] = True
            fg = mask > 0.5
            print("%-12s %11.3f %12.3f %12.3f %7.3f"
                  % (name, fg[inside].mean(), fg[~inside].mean(),
                     fg[inside].sum() / max(fg.sum(), 1), mask.mean()))
            overlay(rgb, mask, box, os.path.join(args.out, "%s_%s.png" % (fname[:-7], name)))
        for name, p in NO_PERSON_PHOTOS:
            rgb = load_rgb(p)
            mask = predict(module, rgb, hw)
            print("%-12s %11s %12.3f %12s %7.3f" % (name, "-", (mask > 0.5).mean(), "-",
                                                    mask.mean()))
            overlay(rgb, mask, None, os.path.join(args.out, "%s_%s.png" % (fname[:-7], name)))
    print("overlays in %s" % args.out)
    print("parity: %s" % ("FAILED (%d)" % failures if failures else "all run checks passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
