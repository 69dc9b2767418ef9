import * as fs from 'node:fs';
import { loadModel } from '../src/onnx/load';
import { encodeModel } from '../src/onnx/codec';
import { compressModel } from '../src/compress/compress';
import { collectHessians } from '../src/compress/recovery/hessian';
import { recoveryLayers } from '../src/compress/recovery/plan';
import { nodeRunModel, worstOutputCosine } from '../src/compress/recovery/testing/node-run';
import type { Sample } from '../src/compress/activations/calibrate';
import { seeded } from '../src/testing/random';
const file = process.argv[2];
const N = Number(process.argv[3] ?? 24);
const bytes = new Uint8Array(fs.readFileSync(file));
const model = loadModel([{ name: 'r', bytes }]).model;
const rng = seeded(1);
// images with structure: a few smooth blobs per channel plus noise
const img = (k: number) => {
  const d = new Float32Array(3 * 224 * 224);
  const cx = [rng() * 224, rng() * 224, rng() * 224];
  const cy = [rng() * 224, rng() * 224, rng() * 224];
  for (let c = 0; c < 3; c++) for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) {
    let v = 0;
    for (let b = 0; b < 3; b++) v += Math.exp(-(((x - cx[b]) ** 2 + (y - cy[b]) ** 2) / (800 + 300 * b + 100 * c)));
    d[(c * 224 + y) * 224 + x] = (v - 0.45) / 0.25 + 0.2 * (rng() - 0.5) + 0.3 * Math.sin((x + k * 7) / 9);
  }
  return d;
};
const cal: Sample[] = Array.from({ length: N }, (_, k) => ({ input: { dtype: 'float32', dims: [1, 3, 224, 224], data: img(k) } }));
const held: Sample[] = Array.from({ length: 8 }, (_, k) => ({ input: { dtype: 'float32', dims: [1, 3, 224, 224], data: img(100 + k) } }));
const run = nodeRunModel();
const orig = encodeModel(model);
await run(orig, cal[0]);
let t = performance.now(); for (const s of cal) await run(orig, s); const fwd = performance.now() - t;
const recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int4', granularity: 'per-channel', recovery: 'gptq' }, layers: {} } as never;
const rtn = compressModel(model, { ...(recipe as object), defaults: { weights: 'int4', granularity: 'per-channel' } } as never);
console.log(`forward over ${N}: ${(fwd / 1000).toFixed(2)} s; RTN held-out worst cosine ${(await worstOutputCosine(run, orig, encodeModel(rtn.model), held)).toFixed(6)}`);
for (const per of (process.argv[4] ?? "Infinity,128").split(",").map(Number)) {
  t = performance.now();
  const h = await collectHessians(model, recoveryLayers(model, recipe), cal, run, { rowsPerColumn: per });
  const hMs = performance.now() - t;
  const out = compressModel(model, recipe, { recovery: h }).model;
  console.log(`rows per column ${per}: H ${(hMs / 1000).toFixed(2)} s (${(hMs / fwd).toFixed(1)}x); held-out worst cosine ${(await worstOutputCosine(run, orig, encodeModel(out), held)).toFixed(6)}`);
}
