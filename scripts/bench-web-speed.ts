/**
 * Which int8 forms are faster than float32 on onnxruntime-web 1.30's wasm backend, per shape
 * class (issue #15): `npm run bench:web-speed [-- --rounds N] [--repeat N] [--threads 1,2] [--match TEXT] [--no-models]`
 *
 * For every shape class (pointwise, 3x3 and depthwise Conv, MatMul small and large) the script
 * builds one float layer with the project's builders and encoder, calibrates its input and output
 * ranges with onnxruntime-node (collectCalibration), and writes it in every form:
 *   - QDQ with uint8 / int8 activations (int8 per-channel weights, int32 bias), which onnxruntime
 *     fuses into QLinearConv / QLinearMatMul;
 *   - the QLinear op itself (QLinearConv / QLinearMatMul) with uint8 / int8 activations;
 *   - ConvInteger / MatMulInteger + DynamicQuantizeLinear (dynamic activations);
 *   - "Q+DQ at the edges only": the quantize and dequantize a quantized layer between float ops
 *     pays on its input and output, alone (the boundary cost);
 *   - what compressModel writes for target wasm with `activations: "int8"` (cost guard on, and
 *     forced past it).
 * Every form reads a float input and gives a float output, so each pays its own boundary Q/DQ.
 * Then headless Chromium (/usr/bin/chromium, cross-origin isolated by the local server's
 * COOP/COEP headers) times all forms of one class side by side in one worker, alternating:
 * rounds in which each form runs for about 25 ms in turn; the figure is the median over the
 * rounds. 1 thread and 2 threads (one worker each). The whole table is measured `--repeat` times
 * (default 2) to show its spread. Ratio = float ms / form ms (> 1: the form is faster).
 * Finally (unless --no-models) the recognizer-like and a ResNet-like model, float vs what the
 * compressor writes with the cost guard vs forced, the same way (scripts/web-speed/models.ts).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { collectCalibration, type Sample } from '../src/compress/activations/calibrate';
import { ortRunModel } from '../src/compress/activations/testing/ort-node';
import { compressModel } from '../src/compress/compress';
import { makeRecipe } from '../src/compress/recipe';
import { cosine } from '../src/core/vector';
import { gaussian } from '../src/compress/testing/fixtures';
import { encodeModel } from '../src/onnx/codec';
import type { Model } from '../src/onnx/types';
import { seeded } from '../src/testing/random';
import { conv, FORM_LABELS, floatModel, formModel, inputDims, macs, matmul, outputDims, type FormId, type LayerSpec } from './web-speed/forms';
import { modelCases } from './web-speed/models';
import { serve, type FeedTensor, type Job, type JobResult } from './web-speed/page';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const ROUNDS = Number(opt('--rounds', '15'));
const REPEAT = Number(opt('--repeat', '2'));
const THREADS = opt('--threads', '1,2').split(',').map(Number);
const MATCH = opt('--match', '');
const MODELS = !args.includes('--no-models');

export const SPECS: LayerSpec[] = [
  conv('pointwise 64->128 @40x40', 64, 128, 1, 40),
  conv('pointwise 256->256 @10x10', 256, 256, 1, 10),
  conv('pointwise 32->64 @20x20', 32, 64, 1, 20),
  conv('3x3 32->64 @40x40', 32, 64, 3, 40),
  conv('3x3 16->32 @16x16', 16, 32, 3, 16),
  conv('depthwise 3x3 128 @40x40', 128, 128, 3, 40, 128),
  matmul('MatMul [1,128,256]x[256,256]', 128, 256, 256),
  matmul('MatMul [1,64,768]x[768,3072]', 64, 768, 3072),
  matmul('MatMul [1,32,64]x[64,128]', 32, 64, 128),
];

/** A named model timed in the page against the first of its row (the float one). */
export interface Form {
  label: string;
  bytes: Uint8Array;
  feed: Record<string, FeedTensor>;
}
export interface Row {
  name: string;
  note: string;
  forms: Form[];
}

const feedOf = (name: string, dims: number[], seed: number): Record<string, FeedTensor> => ({ [name]: { dims, data: Array.from(gaussian(seeded(seed), dims.reduce((p, d) => p * d, 1), 1)) } });
const sampleOf = (f: Record<string, FeedTensor>): Sample => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { dtype: 'float32', dims: v.dims, data: Float32Array.from(v.data) }]));

/** What the compressor writes for target wasm with int8 activations: guard on, and forced past it. */
export function compressorForms(m: Model, calibration: Parameters<typeof compressModel>[2]['calibration'], feed: Record<string, FeedTensor>): Form[] {
  const recipe = makeRecipe('wasm', { weights: 'int8', activations: 'int8' });
  const guarded = compressModel(m, recipe, { calibration });
  const kept = guarded.report.layers.filter((l) => l.activations).length;
  const forced = compressModel(m, recipe, { calibration, activationCostGuard: false });
  const forcedKept = forced.report.layers.filter((l) => l.activations).length;
  return [
    { label: `compressor, guard (${kept ? `${kept} int8-act layers` : 'weights only'})`, bytes: encodeModel(guarded.model), feed },
    { label: `compressor, forced (${forcedKept} int8-act layers)`, bytes: encodeModel(forced.model), feed },
  ];
}

async function layerRow(s: LayerSpec, i: number): Promise<Row> {
  const f = floatModel(s);
  const feed = feedOf('x', inputDims(s), 1000 + i);
  const samples = [1, 2, 3, 4].map((k) => sampleOf(feedOf('x', inputDims(s), 50 * i + k)));
  const calibration = await collectCalibration(f, samples, ortRunModel());
  const ranges = { x: calibration.ranges.x, y: calibration.ranges.y };
  const forms: Form[] = [{ label: 'float32', bytes: encodeModel(f), feed }];
  for (const id of Object.keys(FORM_LABELS) as FormId[]) {
    const fd = id === 'boundary' ? { ...feed, ...feedOf('y0', outputDims(s), 7) } : feed;
    forms.push({ label: FORM_LABELS[id], bytes: encodeModel(formModel(s, id, ranges)), feed: fd });
  }
  forms.push(...compressorForms(f, calibration, feed));
  return { name: s.name, note: `${(macs(s) / 1e6).toFixed(2)} M MACs`, forms };
}

async function runRow(page: Page, row: Row, index: number, threads: number): Promise<JobResult> {
  const job: Job = { models: row.forms.map((_, k) => `/models/r${index}_${k}.onnx`), feeds: row.forms.map((f) => f.feed), rounds: ROUNDS, roundMs: 25 };
  return page.evaluate(([t, j]) => (globalThis as unknown as { runJob: (t: number, j: Job) => Promise<JobResult> }).runJob(t, j), [threads, job] as const);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
};

function printRow(row: Row, r: JobResult): void {
  const ms = r.rounds.map(median);
  console.log(`\n${row.name} (${row.note}); float32 ${ms[0].toFixed(3)} ms`);
  row.forms.forEach((f, k) => {
    if (k === 0) return;
    const out = r.outputs[k];
    const cos = out && r.outputs[0] && f.feed.y0 === undefined ? cosine(r.outputs[0], out).toFixed(5) : '';
    const cell = r.errors[k] ? `fails: ${r.errors[k]}` : `${ms[k].toFixed(3).padStart(8)} ms  ${(ms[0] / ms[k]).toFixed(2).padStart(5)}x`;
    console.log(`  ${f.label.padEnd(44)} ${cell}${cos ? `   cosine ${cos}` : ''}`);
  });
}

async function launch(): Promise<Browser> {
  const { chromium } = await import('@playwright/test');
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const [i, s] of SPECS.entries()) if (s.name.includes(MATCH)) rows.push(await layerRow(s, i));
  if (MODELS) rows.push(...(await modelCases()).filter((r) => r.name.includes(MATCH)));
  const models = new Map<string, Uint8Array>();
  rows.forEach((row, i) => row.forms.forEach((f, k) => models.set(`r${i}_${k}.onnx`, f.bytes)));
  const { server, url } = await serve(root, models);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    for (let rep = 1; rep <= REPEAT; rep++) {
      for (const threads of THREADS) {
        console.log(`\n=== onnxruntime-web 1.30 wasm, ${threads} thread${threads > 1 ? 's' : ''}, pass ${rep} of ${REPEAT} (${ROUNDS} rounds, median; ratio = float32 / form, > 1 faster) ===`);
        for (const [i, row] of rows.entries()) {
          const r = await runRow(page, row, i, threads);
          if (i === 0 && !r.crossOriginIsolated) console.log('(not cross-origin isolated: several threads are not available)');
          printRow(row, r);
        }
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
