// Run ONNX models with ONNX Runtime (onnxruntime-node) on raw float32 inputs.
//
//   node scripts/parity/onnx_run.js JOBS.json
//
// JOBS.json: [{"model": "a.onnx", "input": "x.f32", "shape": [1,3,48,320],
//              "output": "y.f32", "threads": 2}, ...]
// Each input/output file is raw little-endian float32; the output shape is
// written next to it as "<output>.json". One session per model is reused.
// The module is found through NODE_PATH (e.g. ~/.cache/cvtool/node/node_modules).
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const sessions = new Map();
  for (const job of jobs) {
    let session = sessions.get(job.model);
    if (!session) {
      session = await ort.InferenceSession.create(job.model, {
        intraOpNumThreads: job.threads || 1,
        graphOptimizationLevel: 'all',
      });
      sessions.set(job.model, session);
    }
    const buf = fs.readFileSync(job.input);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, job.shape) };
    const result = await session.run(feeds);
    const out = result[session.outputNames[0]];
    fs.writeFileSync(job.output, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    fs.writeFileSync(job.output + '.json', JSON.stringify(out.dims));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
