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
import { collectCalibration } from '../src/compress/activations/calibrate';
import { ortRunModel } from '../src/compress/activations/testing/ort-node';
import { cosine } from '../src/core/vector';
import { encodeModel } from '../src/onnx/codec';
import { compressorForms, conv, feedOf, FORM_LABELS, floatModel, formModel, inputDims, macs, matmul, outputDims, type Form, type FormId, type LayerSpec, type Row, sampleOf } from './web-speed/forms';
import { modelCases } from './web-speed/models';
import { serve, type Job, type JobResult } from './web-speed/page';


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

async function layerRow(s: LayerSpec, i: number): Promise<Row> {
  const f = floatModel(s);
  const feed = feedOf('x', inputDims(s), 1000 + i);
  const samples = [1, 2, 3, 4].map((k) => sampleOf(feedOf('x', inputDims(s), 50 * i + k)));
  const calibration = await collectCalibration(f, samples, ortRunModel());
  const ranges = { x: calibration.ranges.x, y: calibration.ranges.y };
  const forms: Form[] = [{ label: 'float32', bytes: encodeModel(f), feed }];
  for (const id of Object.keys(FORM_LABELS) as FormId[]) {
    forms.push({ label: FORM_LABELS[id], bytes: encodeModel(formModel(s, id, ranges)), feed });
  }
  forms.push(...compressorForms(f, calibration, feed));
  return { name: s.name, note: `${(macs(s) / 1e6).toFixed(2)} M MACs`, outputElements: outputDims(s).reduce((p, d) => p * d, 1), forms };
}

async function runRow(page: Page, row: Row, index: number, threads: number): Promise<JobResult> {
  const job: Job = { models: row.forms.map((_, k) => `/models/r${index}_${k}.onnx`), feeds: row.forms.map((f) => f.feed), rounds: ROUNDS, roundMs: 25 };
  return page.evaluate(([t, j]) => (globalThis as unknown as { runJob: (t: number, j: Job) => Promise<JobResult> }).runJob(t, j), [threads, job] as const);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[s.length >> 1] : NaN;
};

/** Median over the rounds of float32's time / the form's time in the same round (> 1: the form is faster). */
const pairedRatio = (r: JobResult, k: number) => median(r.rounds[k].map((t, i) => r.rounds[0][i] / t));

/** Prints one row; returns per form [median ms, paired ratio] (NaN when it failed). */
function printRow(row: Row, r: JobResult): [number, number][] {
  const ms = r.rounds.map((x, k) => (r.errors[k] ? NaN : median(x)));
  const ratio = r.rounds.map((_, k) => (r.errors[k] ? NaN : pairedRatio(r, k)));
  console.log(`\n${row.name} (${row.note}); float32 ${ms[0].toFixed(3)} ms`);
  row.forms.forEach((f, k) => {
    if (k === 0) return;
    const out = r.outputs[k];
    const cos = out && r.outputs[0] ? cosine(r.outputs[0], out).toFixed(5) : '';
    const cell = r.errors[k] ? `fails: ${r.errors[k]}` : `${ms[k].toFixed(3).padStart(8)} ms  ${ratio[k].toFixed(2).padStart(5)}x`;
    console.log(`  ${f.label.padEnd(44)} ${cell}${cos ? `   cosine ${cos}` : ''}`);
  });
  const qin = row.forms.findIndex((f) => f.label === FORM_LABELS['q-in']);
  if (qin > 0) {
    const extra = (k: number) => median(r.rounds[k].map((t, i) => t - r.rounds[0][i]));
    const [a, b] = [extra(qin), extra(qin + 1)];
    const [xe, ye] = [row.forms[0].feed.x.data.length, row.outputElements];
    console.log(
      `  a Q->DQ pair: ${((a * 1e6) / xe).toFixed(2)} ns per input element, ${((b * 1e6) / ye).toFixed(2)} ns per output element; ` +
        `a quantized layer between float ops pays about ${((a + b) / 2).toFixed(3)} ms (Q on its input, DQ on its output)`,
    );
  }
  return ms.map((m, k) => [m, ratio[k]]);
}

/** The summary: one markdown table per thread count, float ms and ratio per form, the passes side by side. */
function printSummary(rows: Row[], results: Map<string, [number, number][][]>): void {
  for (const threads of THREADS) {
    console.log(`\n### wasm, ${threads} thread${threads > 1 ? 's' : ''}: float32 / form (> 1 faster), passes ${Array.from({ length: REPEAT }, (_, i) => i + 1).join(' / ')}\n`);
    const layerRows = rows.filter((r) => r.note !== 'whole model');
    const modelRows = rows.filter((r) => r.note === 'whole model');
    for (const group of [layerRows, modelRows]) {
      if (!group.length) continue;
      const labels = group[0].forms.slice(1).map((f) => f.label.replace(/ \(.*\)$/, ''));
      console.log(`| shape class | float32 ms | ${labels.join(' | ')} |`);
      console.log(`| --- | ---: |${labels.map(() => ' ---: |').join('')}`);
      for (const row of group) {
        const per = results.get(`${rows.indexOf(row)}:${threads}`) ?? [];
        const cell = (k: number) => per.map((m) => (Number.isNaN(m[k][0]) ? 'fails' : (k === 0 ? m[0][0].toFixed(3) : m[k][1].toFixed(2)))).join(' / ');
        const name = `${row.name} (${row.note === 'whole model' ? row.forms.slice(1).map((f) => f.label.match(/\((.*)\)$/)?.[1] ?? '').join('; ') : row.note})`;
        console.log(`| ${name} | ${cell(0)} |${row.forms.slice(1).map((_, k) => ` ${cell(k + 1)} |`).join('')}`);
      }
      console.log('');
    }
  }
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
    const results = new Map<string, [number, number][][]>();
    for (let rep = 1; rep <= REPEAT; rep++) {
      for (const threads of THREADS) {
        console.log(`\n=== onnxruntime-web 1.30 wasm, ${threads} thread${threads > 1 ? 's' : ''}, pass ${rep} of ${REPEAT} (${ROUNDS} rounds, median; ratio = float32 / form, > 1 faster) ===`);
        for (const [i, row] of rows.entries()) {
          const r = await runRow(page, row, i, threads);
          if (i === 0 && !r.crossOriginIsolated) console.log('(not cross-origin isolated: several threads are not available)');
          const key = `${i}:${threads}`;
          results.set(key, [...(results.get(key) ?? []), printRow(row, r)]);
        }
      }
    }
    printSummary(rows, results);
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
