// Times one ONNX model on ONNX Runtime (onnxruntime-node) the way `cvtool bench model`
// times our TorchScript: fixed random input of the given shape, warm-up calls, then
// timed calls; prints one JSON line like `cvtool bench model --jsonl`.
//
//   NODE_PATH=~/.cache/cvtool/node/node_modules node scripts/bench/onnx_time.js \
//       MODEL.onnx 1x3x640x640 [--runs N] [--warmup N] [--threads N]
'use strict';

const ort = require('onnxruntime-node');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * v.length);
  return v[Math.min(v.length - 1, Math.max(0, rank - 1))];
}

async function main() {
  const [model, shapeText] = process.argv.slice(2);
  const runs = arg('--runs', 10), warmup = arg('--warmup', 2), threads = arg('--threads', 2);
  const shape = shapeText.split('x').map(Number);
  let t = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let seed = 1;
  for (let i = 0; i < data.length; ++i) {  // fixed pseudo-random 0..1
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed / 0x7fffffff;
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
  t = process.hrtime.bigint();
  await session.run(feeds);
  const firstMs = Number(process.hrtime.bigint() - t) / 1e6;
  for (let i = 1; i < warmup; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < runs; ++i) {
    t = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const p50 = percentile(ms, 50);
  console.log(JSON.stringify({
    runtime: 'onnxruntime-node', model, shape, threads, load_ms: loadMs, first_call_ms: firstMs,
    ms: { p50, p95: percentile(ms, 95), min: percentile(ms, 0) }, images_per_s: (shape[0] * 1000) / p50,
  }));
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
