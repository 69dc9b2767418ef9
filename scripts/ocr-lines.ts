/**
 * A text recognizer's task-level check: how many text lines a compressed model reads exactly as
 * the original does (CTC greedy decoding of both models' outputs with the model's character list),
 * on images prepared by the studio's own data pipeline (the CLI's `--samples` with
 * `--image-size 48x320 --resize pad --channels bgr --normalize minus1to1`, PaddleOCR's recognizer
 * input).
 *
 * `npx tsx scripts/ocr-lines.ts ORIGINAL.onnx KEYS.txt IMAGES_DIR --from N COMPRESSED.onnx ...`
 *
 * `--from N` skips the first N images (a `--calibration N` run calibrated on those: the rest are
 * held out). KEYS.txt: one character per line, index 1 onwards (0 is CTC's blank), then a space,
 * as PaddleOCR's `ppocr_keys_v1.txt` is read. The OCR models and the images are not in the
 * repository: docs/RECIPE-NOTES.md, "Session 19", says how to get and make them.
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { summarizeModel } from '../src/onnx/summary';
import { loadModelFromPath } from '../src/cli/fs-model';
import { descriptionFromFlags, loadData } from '../src/cli/data';

const [original, keysFile, images, ...rest] = process.argv.slice(2);
const at = rest.indexOf('--from');
const from = at >= 0 ? Number(rest[at + 1]) : 0;
const compressed = rest.filter((_, i) => i !== at && i !== at + 1);
if (!original || !keysFile || !images || compressed.length === 0) {
  console.error('usage: npx tsx scripts/ocr-lines.ts ORIGINAL.onnx KEYS.txt IMAGES_DIR [--from N] COMPRESSED.onnx ...');
  process.exit(2);
}
const keys = ['', ...fs.readFileSync(keysFile, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== ''), ' '];

const loaded = loadModelFromPath(original);
const { inputs, outputs } = summarizeModel(loaded);
loaded.external.close();
const description = descriptionFromFlags({ samples: images, imageSize: '48x320', resize: 'pad', channels: 'bgr', normalize: 'minus1to1' });
const data = loadData(images, description, inputs, outputs);
const sets = (data.sets ?? []).slice(from);
console.log(`${data.summary}; reading ${sets.length} of them (from ${from})`);

/** Each set's text: per time step the likeliest class, repeats merged, blanks dropped. */
async function read(file: string): Promise<string[]> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out: string[] = [];
    for (const set of sets) {
      const feeds = Object.fromEntries(set.map((t) => [t.name, new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]));
      const y = (await session.run(feeds))[session.outputNames[0]];
      const [, steps, classes] = y.dims;
      const v = y.data as Float32Array;
      let text = '';
      let prev = 0;
      for (let t = 0; t < steps; t++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (v[t * classes + c] > v[t * classes + best]) best = c;
        if (best !== 0 && best !== prev) text += keys[best] ?? '?';
        prev = best;
      }
      out.push(text);
    }
    return out;
  } finally {
    await session.release();
  }
}

const reference = await read(original);
for (const file of compressed) {
  const got = await read(file);
  const same = got.filter((t, i) => t === reference[i]).length;
  console.log(`${file}: ${same}/${got.length} lines read as the original reads them`);
}
