/**
 * Issue #12's docs table: `npx tsx scripts/recovery-table.ts [--only sample|cnn|matmul]`
 *
 * Per model and setting: round to nearest against recovery "bias", "gptq" (one pass) and
 * "sequential" (4 rounds, the original model as teacher): worst cosine against the original on
 * held-out samples, the file's size, and the recovery's wall time (statistics, the compression
 * less round to nearest's, and the model-level check, as `cli compress` runs them; onnxruntime-node,
 * one thread). What the check decides is what the user gets, so the cosine is of the kept model
 * ("RTN kept" when the check chose round to nearest).
 *   - the sample (public/sample/digits-CNN): its labeled set split as the Data tab splits it (128
 *     calibrate, 322 held out); accuracy on the held-out part too;
 *   - the bench models of `npm run bench:recovery` (scripts/recovery-bench-models.ts): 128
 *     calibration samples with structure, 16 held out.
 * The dev models (real exports, not committed) have their own script: recovery-dev-models.ts.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../src/compress/activations/calibrate';
import { splitSamples } from '../src/bench/dataset';
import { compressModel } from '../src/compress/compress';
import { checkRecovery, probabilityOutputs } from '../src/compress/recovery/check';
import { collectRecoveryHessians } from '../src/compress/recovery/sequential';
import { nodeRunModel, worstOutputCosine } from '../src/compress/recovery/testing/node-run';
import type { Recipe } from '../src/compress/recipe';
import { encodeModel } from '../src/onnx/codec';
import { loadModel } from '../src/onnx/load';
import type { Model } from '../src/onnx/types';
import { cnn, mlp, samples } from './recovery-bench-models';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const run = nodeRunModel();

type Method = 'none' | 'bias' | 'gptq' | 'sequential';
interface Setting {
  label: string;
  defaults: Recipe['defaults'];
}
const SETTINGS: Setting[] = [
  { label: 'int8 per-channel', defaults: { weights: 'int8', granularity: 'per-channel' } },
  { label: 'int4 block-32', defaults: { weights: 'int4', granularity: 'block', blockSize: 32 } },
  { label: 'int4 per-channel', defaults: { weights: 'int4', granularity: 'per-channel' } },
  { label: '50% magnitude pruning', defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'magnitude' } },
];

const recipe = (s: Setting, recovery: Method): Recipe => ({ format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { ...s.defaults, recovery }, layers: {} });

interface Subject {
  name: string;
  model: Model;
  cal: Sample[];
  held: Sample[];
  /** held-out accuracy of a model's bytes, where the subject has labels */
  accuracy?: (bytes: Uint8Array) => Promise<string>;
}

function sample(): Subject {
  const model = loadModel([{ name: 'digits-cnn.onnx', bytes: new Uint8Array(fs.readFileSync(`${ROOT}public/sample/digits-cnn.onnx`)) }]).model;
  const set = JSON.parse(fs.readFileSync(`${ROOT}public/sample/digits-test.json`, 'utf8')) as { inputName: string; shape: number[]; inputs: number[][]; labels: number[] };
  const toSample = (i: number): Sample => ({ [set.inputName]: { dtype: 'float32', dims: [1, ...set.shape], data: Float32Array.from(set.inputs[i]) } });
  const split = splitSamples(set.inputs.length);
  const accuracy = async (bytes: Uint8Array) => {
    let right = 0;
    for (const i of split.evaluation) {
      const out = Object.values(await run(bytes, toSample(i)))[0].data as Float32Array;
      let best = 0;
      for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
      if (best === set.labels[i]) right++;
    }
    return `${right}/${split.evaluation.length}`;
  };
  return { name: 'the sample (digits CNN)', model, cal: split.calibration.map(toSample), held: split.evaluation.map(toSample), accuracy };
}

function bench(name: string, m: ReturnType<typeof cnn>): Subject {
  return { name, model: m.model, cal: samples(m.input, m.dims, 128, 1), held: samples(m.input, m.dims, 16, 2) };
}

async function measure(s: Subject): Promise<void> {
  const original = encodeModel(s.model);
  const kib = (b: Uint8Array) => `${(b.length / 1024).toFixed(0)} KiB`;
  console.log(`\n### ${s.name}: ${kib(original)}, ${s.cal.length} calibration samples, ${s.held.length} held out${s.accuracy ? `; original ${await s.accuracy(original)} correct` : ''}\n`);
  console.log(`| setting | size | RTN | bias | gptq | sequential |`);
  console.log(`| --- | --- | --- | --- | --- | --- |`);
  for (const setting of SETTINGS) {
    const t0 = performance.now();
    const rtn = compressModel(s.model, recipe(setting, 'none'));
    const rtnMs = performance.now() - t0;
    const rtnBytes = encodeModel(rtn.model);
    const rtnCos = await worstOutputCosine(run, original, rtnBytes, s.held);
    const cells = [`${rtnCos.toFixed(6)}${s.accuracy ? ` (${await s.accuracy(rtnBytes)})` : ''}`];
    const sizes = new Set([rtnBytes.length]);
    for (const method of ['bias', 'gptq', 'sequential'] as const) {
      const r = recipe(setting, method);
      const t = performance.now();
      const h = await collectRecoveryHessians(s.model, undefined, r, s.cal, run, method === 'sequential' ? { rounds: 4 } : {});
      const out = compressModel(s.model, r, { recovery: h.hessians });
      const bytes = encodeModel(out.model);
      const check = await checkRecovery(original, rtnBytes, bytes, s.cal, run, 'calibration', probabilityOutputs(s.model));
      const ms = performance.now() - t - rtnMs;
      const kept = check.keep ? bytes : rtnBytes;
      sizes.add(kept.length);
      const cos = await worstOutputCosine(run, original, kept, s.held);
      cells.push(
        `${check.keep ? '' : 'RTN kept: '}${cos.toFixed(6)} (${((1 - cos) / Math.max(1e-12, 1 - rtnCos)).toFixed(2)}x${s.accuracy ? `, ${await s.accuracy(kept)}` : ''}), ${(ms / 1000).toFixed(1)} s`,
      );
    }
    console.log(`| ${setting.label} | ${[...sizes].map((b) => `${(b / 1024).toFixed(1)} KiB`).join(' / ')} | ${cells.join(' | ')} |`);
  }
}

const subjects: [string, () => Subject][] = [
  ['sample', sample],
  ['cnn', () => bench('bench CNN (4 Conv 3x3 + Gemm)', cnn())],
  ['matmul', () => bench('bench MatMul model (4 x 1024/1536, 64 tokens)', mlp())],
];
console.log('Cells: held-out worst cosine (error vs RTN; accuracy where labeled), recovery wall time (statistics + compression beyond RTN + the model-level check; onnxruntime-node, 1 thread).');
for (const [key, make] of subjects) if (!ONLY || ONLY === key) await measure(make());
