/**
 * Speed of int8 activations on the CPU/WASM path:
 * `npx tsx scripts/bench-wasm-speed.ts [--runs N] [--no-browser] [--layers-only | --no-layers] [--match TEXT]`
 *
 * Models: the Conv fixture and the digits sample, each as fp32, int8 weights, int8 + activations
 * with the default cost guard (activations/cost.ts) and forced past it; then a sweep of single
 * layers (Conv 16->32 3x3 at 8x8 / 16x16 / 32x32, Conv 32->64 at 32x32; Gemm 512x64, 1024x1024,
 * 4096x4096 at batch 1 and 8) as fp32, static int8 and (Gemm) dynamic int8, forced, which is
 * what the guard's thresholds are calibrated on (docs/COMPRESS-SPEED.md). --match keeps the
 * cases whose name contains TEXT.
 *
 * For each model (the Conv-heavy fixture of src/compress/activations/testing/conv-net.ts, and the
 * built-in digits sample at batch 1 and 64), calibrates on sample inputs through onnxruntime-node,
 * compresses with target `wasm` twice (int8 weights only; int8 weights + int8 activations), and
 * times the original and both results:
 *   1. onnxruntime-node, CPU execution provider, 1 intra-op thread, sequential;
 *   2. headless Chromium (/usr/bin/chromium) running onnxruntime-web's wasm backend with 1 thread
 *      (skipped with --no-browser, or when Chromium cannot start).
 * Runs are interleaved model by model in 10 rounds; the figure is the median over the rounds of
 * each round's mean latency (the browser's clock is coarse without cross-origin isolation). Also
 * prints the integer kernels onnxruntime's optimized graph holds and the worst output cosine
 * against the original. This is a benchmark print, not a test: numbers vary with the machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserType } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { collectCalibration, type Calibration, type Sample } from '../src/compress/activations/calibrate';
import { convNet, convNetInputs, CONV_NET_INPUT } from '../src/compress/activations/testing/conv-net';
import { cosine } from '../src/core/vector';
import { opCounts, opTypes, ortRunModel, toOrtFeeds } from '../src/compress/activations/testing/ort-node';
import { compressModel } from '../src/compress/compress';
import { makeRecipe } from '../src/compress/recipe';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';
import { DataType, type Model } from '../src/onnx/types';
import { seeded } from '../src/testing/random';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 200;
const BROWSER = !args.includes('--no-browser');
const LAYERS_ONLY = args.includes('--layers-only');
const NO_LAYERS = args.includes('--no-layers');
const matchArg = args.indexOf('--match');
const MATCH = matchArg >= 0 ? args[matchArg + 1] : '';

interface Case {
  name: string;
  model: Model;
  /** a single layer of the size sweep: fp32, static int8 and (MatMul/Gemm) dynamic int8, forced past the cost guard */
  layer?: 'conv' | 'gemm';
  /** estimated multiply-adds per run */
  macs?: number;
  calibration: Sample[];
  /** inputs to time and compare outputs on */
  feeds: Sample[];
}

interface Variant {
  label: string;
  bytes: Uint8Array;
  kernels: string;
}

function digitsCases(): Case[] {
  const dir = join(root, 'public/sample');
  const model = decodeModel(new Uint8Array(readFileSync(join(dir, 'digits-cnn.onnx'))));
  const test = JSON.parse(readFileSync(join(dir, 'digits-test.json'), 'utf8')) as { inputName: string; inputs: number[][] };
  const batchOf = (rows: number[][]): Sample => {
    const data = new Float32Array(rows.length * 64);
    rows.forEach((r, i) => data.set(r, i * 64));
    return { [test.inputName]: { dtype: 'float32', dims: [rows.length, 1, 8, 8], data } };
  };
  const calibration: Sample[] = [];
  for (let i = 0; i < 100; i += 20) calibration.push(batchOf(test.inputs.slice(i, i + 20)));
  return [
    { name: 'digits CNN, batch 1', model, calibration, feeds: test.inputs.slice(100, 108).map((r) => batchOf([r])) },
    { name: 'digits CNN, batch 64', model, calibration, feeds: [batchOf(test.inputs.slice(100, 164)), batchOf(test.inputs.slice(200, 264))] },
  ];
}

function convCase(): Case {
  const { name, channels, size } = CONV_NET_INPUT;
  const sample = (data: Float32Array): Sample => ({ [name]: { dtype: 'float32', dims: [1, channels, size, size], data } });
  return { name: 'Conv fixture (5 Conv+Relu, 32-64 ch, 32x32), batch 1', model: convNet(), calibration: convNetInputs(8, 1).map(sample), feeds: convNetInputs(4, 77).map(sample) };
}

/** Seeded N(0, std) values (Box-Muller). */
function normals(rng: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng()) * std;
  return out;
}

/** One Conv c->m 3x3 (pad 1) + Relu on [1, c, size, size]. */
function convLayerCase(c: number, m: number, size: number): Case {
  const rng = seeded(c * 1000 + m + size);
  const model = makeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      nodes: [
        makeNode('Conv', ['x', 'w', 'b'], ['y'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('kernel_shape', [3, 3])], { name: 'conv' }),
        makeNode('Relu', ['y'], ['z'], [], { name: 'relu' }),
      ],
      initializers: [makeTensor('w', DataType.FLOAT, [m, c, 3, 3], normals(rng, m * c * 9, Math.sqrt(2 / (c * 9)))), makeTensor('b', DataType.FLOAT, [m], normals(rng, m, 0.05))],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, c, size, size])],
      outputs: [makeValueInfo('z', DataType.FLOAT, [1, m, size, size])],
    }),
  });
  const sample = (): Sample => ({ x: { dtype: 'float32', dims: [1, c, size, size], data: normals(rng, c * size * size, 1) } });
  return { name: `Conv ${c}->${m} 3x3 at ${size}x${size}, batch 1`, model, layer: 'conv', macs: m * c * 9 * size * size, calibration: [0, 1, 2, 3].map(sample), feeds: [0, 1, 2, 3].map(sample) };
}

/** One Gemm [batch, k] x [n, k]^T + bias. */
function gemmLayerCase(k: number, n: number, batch: number): Case {
  const rng = seeded(k + n * 7 + batch);
  const model = makeModel({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      nodes: [makeNode('Gemm', ['x', 'w', 'b'], ['y'], [attr.int('transB', 1)], { name: 'gemm' })],
      initializers: [makeTensor('w', DataType.FLOAT, [n, k], normals(rng, n * k, Math.sqrt(1 / k))), makeTensor('b', DataType.FLOAT, [n], normals(rng, n, 0.05))],
      inputs: [makeValueInfo('x', DataType.FLOAT, [batch, k])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [batch, n])],
    }),
  });
  const sample = (): Sample => ({ x: { dtype: 'float32', dims: [batch, k], data: normals(rng, batch * k, 1) } });
  return { name: `Gemm ${k}x${n}, batch ${batch}`, model, layer: 'gemm', macs: batch * k * n, calibration: [0, 1, 2, 3].map(sample), feeds: [0, 1].map(sample) };
}

function layerCases(): Case[] {
  return [
    convLayerCase(16, 32, 8),
    convLayerCase(16, 32, 16),
    convLayerCase(16, 32, 32),
    convLayerCase(32, 64, 32),
    ...[1, 8].flatMap((b) => [gemmLayerCase(512, 64, b), gemmLayerCase(1024, 1024, b), gemmLayerCase(4096, 4096, b)]),
  ];
}

/** Op types of the graph onnxruntime runs after its optimizations (dumped through optimizedModelFilePath). */
async function optimizedGraph(bytes: Uint8Array, level: 'basic' | 'extended' | 'all' = 'all'): Promise<{ ops: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ort-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, optimizedModelFilePath: path, logSeverityLevel: 3 });
    return { ops: opTypes(decodeModel(new Uint8Array(readFileSync(path))).graph?.nodes ?? []) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const KERNELS = ['QLinearConv', 'QLinearMatMul', 'QGemm', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul', 'QLinearGlobalAveragePool'];

async function variants(c: Case): Promise<Variant[]> {
  const calibration: Calibration = await collectCalibration(c.model, c.calibration, ortRunModel());
  const make = async (label: string, model: Model): Promise<Variant> => {
    const bytes = encodeModel(model);
    const counts = opCounts((await optimizedGraph(bytes)).ops.map((o) => o.replace(/^com\.microsoft\./, '')));
    const kernels = KERNELS.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(', ') || 'float kernels';
    return { label, bytes, kernels };
  };
  const int8 = makeRecipe('wasm', { weights: 'int8', activations: 'int8' });
  const forced = compressModel(c.model, int8, { calibration, activationCostGuard: false }).model;
  if (c.layer) {
    const out = [await make('fp32 (original)', c.model), await make('static int8 (QDQ, forced)', forced)];
    if (c.layer === 'gemm') out.push(await make('dynamic int8 (forced)', compressModel(c.model, int8, { activationCostGuard: false }).model));
    return out;
  }
  const weights = compressModel(c.model, makeRecipe('wasm', { weights: 'int8' })).model;
  const guarded = compressModel(c.model, int8, { calibration });
  const note = guarded.report.notes.find((n) => n.startsWith('int8 activations dropped')) ? ' (guard: weights only)' : '';
  return [
    await make('fp32 (original)', c.model),
    await make('int8 weights (wasm)', weights),
    await make(`int8 + activations, default${note}`, guarded.model),
    await make('int8 + activations, forced', forced),
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}


/** Median latency (ms) per variant in onnxruntime-node, 1 thread; rounds interleave the variants. */
async function timeNode(vs: Variant[], feeds: Sample[]): Promise<{ ms: number[]; cos: number[] }> {
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 };
  const sessions = await Promise.all(vs.map((v) => ort.InferenceSession.create(v.bytes, opts)));
  const ortFeeds = feeds.map(toOrtFeeds);
  const outputs: Float32Array[][] = [];
  for (const s of sessions) {
    const outs: Float32Array[] = [];
    for (const f of ortFeeds) outs.push(Float32Array.from((await s.run(f))[s.outputNames[0]].data as Float32Array));
    outputs.push(outs);
  }
  const cos = outputs.map((outs) => Math.min(...outs.map((o, i) => cosine(outputs[0][i], o))));
  const times: number[][] = vs.map(() => []);
  const rounds = 10;
  const per = Math.max(1, Math.ceil(RUNS / rounds));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < sessions.length; k++) {
      const t0 = performance.now();
      for (let i = 0; i < per; i++) await sessions[k].run(ortFeeds[i % ortFeeds.length]);
      times[k].push((performance.now() - t0) / per);
    }
  }
  return { ms: times.map(median), cos };
}

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.numThreads = 1;
ort.env.wasm.wasmPaths = '/ort/';
ort.env.logLevel = 'error';
window.bench = async (models, feeds, runs) => {
  const sessions = [];
  for (const m of models) sessions.push(await ort.InferenceSession.create(await (await fetch(m)).arrayBuffer(), { executionProviders: ['wasm'] }));
  const mk = () => feeds.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.from(v.data), v.dims)])));
  const times = sessions.map(() => []);
  const rounds = 10, per = Math.max(1, Math.ceil(runs / rounds));
  for (const s of sessions) for (const f of mk()) await s.run(f);
  for (let r = 0; r < rounds; r++) for (let k = 0; k < sessions.length; k++) {
    const fs = mk();
    const t0 = performance.now();
    for (let i = 0; i < per; i++) await sessions[k].run(fs[i % fs.length]);
    times[k].push((performance.now() - t0) / per);
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
};
window.ready = true;
</script>`;

/** Serves the page, onnxruntime-web's dist folder and the models; returns its base URL. */
async function serve(models: Map<string, Uint8Array>): Promise<{ server: Server; url: string }> {
  const dist = join(root, 'node_modules/onnxruntime-web/dist');
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(PAGE);
      } else if (url.pathname.startsWith('/ort/')) {
        const file = url.pathname.slice(5).replace(/[^\w.-]/g, '');
        const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
        res.writeHead(200, { 'content-type': type });
        res.end(readFileSync(join(dist, file)));
      } else if (url.pathname.startsWith('/models/') && models.has(url.pathname.slice(8))) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(models.get(url.pathname.slice(8)));
      } else {
        res.writeHead(404);
        res.end();
      }
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function timeBrowser(all: { c: Case; vs: Variant[] }[]): Promise<number[][] | string> {
  let chromium: BrowserType;
  try {
    ({ chromium } = await import('@playwright/test'));
  } catch (e) {
    return `Playwright is not available (${(e as Error).message})`;
  }
  const models = new Map<string, Uint8Array>();
  all.forEach(({ vs }, i) => vs.forEach((v, k) => models.set(`m${i}_${k}.onnx`, v.bytes)));
  const { server, url } = await serve(models);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  } catch (e) {
    server.close();
    return `Chromium did not start (${(e as Error).message.split('\n')[0]})`;
  }
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 60_000 });
    const out: number[][] = [];
    for (let i = 0; i < all.length; i++) {
      const { c, vs } = all[i];
      const feeds = c.feeds.map((f) => Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { dims: v.dims, data: Array.from(v.data as Float32Array) }])));
      const names = vs.map((_, k) => `/models/m${i}_${k}.onnx`);
      out.push(
        await page.evaluate(
          async ([m, f, r]) => (globalThis as unknown as { bench: (a: unknown, b: unknown, c: unknown) => Promise<number[]> }).bench(m, f, r),
          [names, feeds, RUNS] as const,
        ),
      );
    }
    return out;
  } finally {
    await browser.close();
    server.close();
  }
}

async function main(): Promise<void> {
  console.log(`int8 activations on the CPU/WASM path (${RUNS} runs per model, median; 1 thread)\n`);
  const all: { c: Case; vs: Variant[]; node: { ms: number[]; cos: number[] } }[] = [];
  const cases = LAYERS_ONLY ? layerCases() : [convCase(), ...digitsCases(), ...(NO_LAYERS ? [] : layerCases())];
  for (const c of cases.filter((x) => x.name.includes(MATCH))) {
    const vs = await variants(c);
    all.push({ c, vs, node: await timeNode(vs, c.feeds) });
  }
  const browser = BROWSER ? await timeBrowser(all) : 'skipped (--no-browser)';
  for (let i = 0; i < all.length; i++) {
    const { c, vs, node } = all[i];
    console.log(c.macs ? `${c.name} (${(c.macs / 1e6).toFixed(2)} M MACs per run)` : c.name);
    vs.forEach((v, k) => {
      const web = typeof browser === 'string' ? '' : `   web wasm ${browser[i][k].toFixed(3).padStart(7)} ms (${(browser[i][k] / browser[i][0]).toFixed(2)}x)`;
      console.log(
        `  ${v.label.padEnd(50)} node cpu ${node.ms[k].toFixed(3).padStart(7)} ms (${(node.ms[k] / node.ms[0]).toFixed(2)}x)${web}   worst cosine ${node.cos[k].toFixed(5)}   ${v.kernels}`,
      );
    });
  }
  if (typeof browser === 'string') console.log(`\nheadless Chromium: ${browser}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
