#!/usr/bin/env node
// Reference runner for TF.js graph models: the original graph on TF.js' pure
// JavaScript CPU backend (no native bindings), fed raw tensors from files.
//
// Usage: node scripts/parity/tfjs_run.js JOB.json
// JOB.json: {"model": "/path/model.json", "outputs": ["node", ...],
//            "inputs": [{"file": "in0.f32", "shape": [1,512,512,3], "dtype": "float32"|"int32"}],
//            "outdir": "/tmp/dir"}
// Every input file holds little-endian float32 values (int32 inputs are
// converted here). For input i and output k it writes OUTDIR/out_i_k.f32
// (float32, TF layout) and prints one JSON line per input with the shapes
// and the inference time.
//
// Finds @tensorflow/tfjs through NODE_PATH (tfjs_parity.py sets it to
// ~/.cache/cvtool/node/node_modules).

'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// TF.js' own file loaders are browser or tfjs-node only; this IOHandler hands
// it the topology and the concatenated shards straight from disk.
function fileHandler(modelJson) {
  return {
    load: async () => {
      const j = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const dir = path.dirname(modelJson);
      const specs = [];
      const bufs = [];
      for (const group of j.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(bufs);
      return {
        modelTopology: j.modelTopology,
        format: j.format,
        generatedBy: j.generatedBy,
        convertedBy: j.convertedBy,
        signature: j.signature,
        userDefinedMetadata: j.userDefinedMetadata,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  await tf.setBackend('cpu');
  const model = await tf.loadGraphModel(fileHandler(job.model));
  job.inputs.forEach((inp, i) => {
    const data = readF32(inp.file);
    const x = inp.dtype === 'int32'
      ? tf.tensor(Int32Array.from(data), inp.shape, 'int32')
      : tf.tensor(data, inp.shape, 'float32');
    const t0 = Date.now();
    let outs = model.execute(x, job.outputs);
    if (!Array.isArray(outs)) outs = [outs];
    const shapes = outs.map((o, k) => {
      const v = Float32Array.from(o.dataSync());
      fs.writeFileSync(path.join(job.outdir, `out_${i}_${k}.f32`), Buffer.from(v.buffer));
      return o.shape;
    });
    const ms = Date.now() - t0;
    tf.dispose(outs);
    x.dispose();
    console.log(JSON.stringify({ input: i, shapes, ms }));
  });
}

main().catch((e) => { console.error(e); process.exit(1); });
