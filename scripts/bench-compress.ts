/**
 * Quantization benchmark: `npm run bench:compress [-- --reps N] [-- --scale F]`
 *
 * A synthetic model with about 110 M float32 weights (6 MatMul weights of [4096, 4096] and 4 Conv
 * kernels of [512, 512, 3, 3]; views into one seeded random block, so generating them is cheap),
 * quantized two ways:
 *   - int8 per-channel symmetric (MatMul axis 1, Conv axis 0);
 *   - int4 block-32 symmetric (MatMul blocks along K, Conv kernels flattened to [M, C*kh*kw]).
 * Each is timed as the quantize step alone (quantizeTensor over every weight) and as the full
 * compressModel path (plan, clean-up passes, evaluate weights, quantize, write the encodings;
 * target portable, and webgpu for int4: MatMulNBits packing), and compared with copying the same
 * Float32Arrays once (Float32Array.prototype.slice, which allocates and copies), measured in the
 * same run. Figures are medians over --reps runs (default 5) with a gc before each run; each run
 * follows a run of the copy, and the ratio printed is the median of those pairs' ratios.
 * Block-wise quantization runs on WebAssembly SIMD kernels (src/compress/quantize/blockwise.wat);
 * a reference row times the scalar loops that run where SIMD is missing.
 * Goal (issue 4): within 4x of the copy.
 *
 * `-- --big [--gb N]` runs the model over 2 GB instead (scripts/big-model.ts: 3.02 GB of float32 weights in
 * an external data file, generated in the OS temp folder and deleted after): the CLI's whole
 * `compress` (runCompress: load, compressModel, write) in a fresh process per case, each right
 * after a fresh process that reads the model and data into memory once (the copy), printing the
 * time against that copy and the peak RSS against the file size (model + data).
 */
import { compressModel } from '../src/compress/compress';
import { setBlockwiseSimd } from '../src/compress/quantize/blockwise-simd';
import type { QuantBits } from '../src/compress/quantize/meta';
import { quantizeTensor, type GroupLayout } from '../src/compress/quantize/quantize';
import { makeRecipe, type PartialLayerSettings, type Recipe, type Target } from '../src/compress/recipe';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { DataType, type Model, type Tensor } from '../src/onnx/types';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCompress } from '../src/cli/compress';
import { childMain, generateBigModel, gib, inChild, mibs, removeBigModel, timeReadIntoMemory } from './big-model';
import { seeded } from '../src/testing/random';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REPS = arg('--reps', 5);
/** shrinks every weight's leading dimension (for a quick run) */
const SCALE = arg('--scale', 1);

interface Weight {
  name: string;
  op: 'MatMul' | 'Conv';
  dims: number[];
  values: Float32Array;
}


/** The weights: views at random offsets into one block of roughly normal values (sum of 3 uniforms). */
function makeWeights(): Weight[] {
  const d = Math.max(64, Math.round((4096 * SCALE) / 64) * 64);
  const m = Math.max(32, Math.round((512 * SCALE) / 32) * 32);
  const specs: Omit<Weight, 'values'>[] = [];
  for (let i = 0; i < 6; i++) specs.push({ name: `mm${i}.weight`, op: 'MatMul', dims: [d, d] });
  for (let i = 0; i < 4; i++) specs.push({ name: `conv${i}.weight`, op: 'Conv', dims: [m, m, 3, 3] });
  const largest = Math.max(...specs.map((s) => s.dims.reduce((p, x) => p * x, 1)));
  const slack = 1 << 20;
  const block = new Float32Array(largest + slack);
  const rng = seeded(7);
  for (let i = 0; i < block.length; i++) block[i] = (rng() + rng() + rng() - 1.5) * 0.05;
  return specs.map((s) => {
    const n = s.dims.reduce((p, x) => p * x, 1);
    const at = Math.floor(rng() * slack);
    return { ...s, values: block.subarray(at, at + n) };
  });
}

function makeBenchModel(weights: Weight[]): Model {
  const inits: Tensor[] = weights.map((w) => ({
    name: w.name,
    dataType: DataType.FLOAT,
    dims: w.dims,
    rawData: new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength),
    stringData: [],
    externalData: [],
    metadataProps: [],
  }) as unknown as Tensor);
  const nodes = [];
  let x = 'x';
  let c = 'image';
  for (const w of weights) {
    if (w.op === 'MatMul') {
      nodes.push(makeNode('MatMul', [x, w.name], [`${w.name}.out`], [], { name: w.name.replace('.weight', '') }));
      x = `${w.name}.out`;
    } else {
      nodes.push(makeNode('Conv', [c, w.name], [`${w.name}.out`], [attr.ints('pads', [1, 1, 1, 1])], { name: w.name.replace('.weight', '') }));
      c = `${w.name}.out`;
    }
  }
  const d = weights[0].dims[0];
  const m = weights[weights.length - 1].dims[0];
  return makeModel({
    graph: makeGraph({
      nodes,
      initializers: inits,
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, d]), makeValueInfo('image', DataType.FLOAT, [1, m, 8, 8])],
      outputs: [makeValueInfo(x, DataType.FLOAT, [1, d]), makeValueInfo(c, DataType.FLOAT, [1, m, 8, 8])],
    }),
    irVersion: 10,
    opsetImport: [{ domain: '', version: 21 }],
  });
}

function layoutFor(w: Weight, mode: 'int8' | 'int4'): { shape: number[]; layout: GroupLayout } {
  if (mode === 'int8') return { shape: w.dims, layout: { kind: 'channel', axis: w.op === 'Conv' ? 0 : 1 } };
  if (w.op === 'Conv') return { shape: [w.dims[0], w.dims.slice(1).reduce((p, x) => p * x, 1)], layout: { kind: 'block', axis: 1, blockSize: 32 } };
  return { shape: w.dims, layout: { kind: 'block', axis: 0, blockSize: 32 } };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function once(fn: () => unknown): number {
  gc();
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/**
 * `fn` timed REPS times, each run right after a run of `copy` (gc before each): the median time,
 * and the median of the per-pair ratios. Pairing keeps the ratio honest on a shared machine,
 * where the load changes between the start and the end of the benchmark.
 */
function timePaired(fn: () => unknown, copy: () => unknown): { ms: number; ratio: number; copyMs: number; best: number; bestCopy: number } {
  const t: number[] = [];
  const c: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const tc = once(copy);
    const tf = once(fn);
    t.push(tf);
    c.push(tc);
    ratios.push(tf / tc);
  }
  return { ms: median(t), ratio: median(ratios), copyMs: median(c), best: Math.min(...t), bestCopy: Math.min(...c) };
}

function main(): void {
  const t0 = performance.now();
  const weights = makeWeights();
  const model = makeBenchModel(weights);
  const count = weights.reduce((n, w) => n + w.values.length, 0);
  const mib = (count * 4) / 2 ** 20;
  console.log(
    `${(count / 1e6).toFixed(1)} M float32 weights (${mib.toFixed(0)} MiB): ${weights.filter((w) => w.op === 'MatMul').length} MatMul [${weights[0].dims.join(', ')}], ` +
      `${weights.filter((w) => w.op === 'Conv').length} Conv [${weights[weights.length - 1].dims.join(', ')}]; generated in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `median of ${REPS} runs, node ${process.version}\n`,
  );

  const copyAll = () => {
    for (const w of weights) w.values.slice();
  };
  const copies: number[] = [];
  const bestCopies: number[] = [];
  const rows: [string, ReturnType<typeof timePaired>][] = [];
  const time = (fn: () => unknown) => {
    const r = timePaired(fn, copyAll);
    copies.push(r.copyMs);
    bestCopies.push(r.bestCopy);
    return r;
  };
  for (const mode of ['int8', 'int4'] as const) {
    const bits: QuantBits = mode === 'int8' ? 8 : 4;
    rows.push([
      `quantizeTensor ${mode === 'int8' ? 'int8 per-channel' : 'int4 block-32'}`,
      time(() => {
        for (const w of weights) {
          const { shape, layout } = layoutFor(w, mode);
          quantizeTensor(w.values, shape, layout, bits, true);
        }
      }),
    ]);
    if (mode === 'int4') {
      // the same step on the scalar loops (what runs where WebAssembly SIMD is missing), for reference
      rows.push([
        `  (scalar loops, no WebAssembly SIMD)`,
        time(() => {
          setBlockwiseSimd(false);
          try {
            for (const w of weights) {
              const { shape, layout } = layoutFor(w, mode);
              quantizeTensor(w.values, shape, layout, bits, true);
            }
          } finally {
            setBlockwiseSimd(true);
          }
        }),
      ]);
    }
    const settings: PartialLayerSettings = mode === 'int8' ? { weights: 'int8', granularity: 'per-channel' } : { weights: 'int4', granularity: 'block', blockSize: 32 };
    const targets: Target[] = mode === 'int8' ? ['portable'] : ['portable', 'webgpu'];
    for (const target of targets) {
      const recipe: Recipe = makeRecipe(target, settings);
      rows.push([`compressModel ${target} ${mode === 'int8' ? 'int8 per-channel' : 'int4 block-32'}`, time(() => compressModel(model, recipe))]);
      rows.push([`  (clean-up passes off)`, time(() => compressModel(model, { ...recipe, cleanup: false } as Recipe))]);
    }
  }
  const bestCopy = Math.min(...bestCopies);
  const line = (label: string, ms: number, ratio: number, best: number) =>
    `${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms ${(count / 1e3 / ms).toFixed(0).padStart(6)} M weights/s ${((mib * 1000) / ms).toFixed(0).padStart(6)} MiB/s ${ratio.toFixed(2).padStart(6)}x copy ${(best / bestCopy).toFixed(2).padStart(6)}x best`;
  console.log(`${''.padEnd(44)} ${'median'.padStart(10)} ${''.padStart(17)} ${''.padStart(13)} ${'paired'.padStart(12)} ${'best of'.padStart(12)}`);
  console.log(line('copy (Float32Array.slice of every weight)', median(copies), 1, bestCopy));
  for (const [label, r] of rows) console.log(line(label, r.ms, r.ratio, (r.best / r.bestCopy) * bestCopy));
  const worst = (pred: (l: string) => boolean, f: (r: ReturnType<typeof timePaired>) => number) => Math.max(...rows.filter(([l]) => pred(l)).map(([, r]) => f(r)));
  const paired = (r: ReturnType<typeof timePaired>) => r.ratio;
  const best = (r: ReturnType<typeof timePaired>) => r.best / r.bestCopy;
  console.log(`\n(paired: median over the runs of each run's time / the copy's time just before it; best of: the row's fastest run / the fastest of the copies run with it)`);
  console.log(`quantize step: worst ${worst((l) => l.startsWith('quantizeTensor'), paired).toFixed(2)}x paired, ${worst((l) => l.startsWith('quantizeTensor'), best).toFixed(2)}x best of`);
  const shipped = (l: string) => !l.includes('scalar');
  console.log(`every path:    worst ${worst(shipped, paired).toFixed(2)}x paired, ${worst(shipped, best).toFixed(2)}x best of (goal: within 4x; the scalar reference row excluded)`);
}

// ---------------------------------------------------------------------------------------------
// --big: 3 GB of weights in external data, through the CLI's compress

interface BigCase {
  label: string;
  settings: PartialLayerSettings;
  externalData?: string;
}
const BIG_CASES: BigCase[] = [
  { label: 'int8 per-channel, one file (default)', settings: { weights: 'int8', granularity: 'per-channel' } },
  { label: 'int8 per-channel, --external-data', settings: { weights: 'int8', granularity: 'per-channel' }, externalData: 'out.onnx.data' },
  { label: 'fp32 (unchanged): past 2 GB, <OUT>.data', settings: { weights: 'fp32' } },
];

interface BigRun {
  ms: number;
  modelBytes: number;
  dataBytes: number;
  automatic: boolean;
}

async function bigChild(name: string, arg: string): Promise<void> {
  const { model, data } = JSON.parse(arg) as { model: string; data: string };
  if (name === 'copy') return childMain(() => timeReadIntoMemory([model, data]));
  const c = BIG_CASES[Number(name)];
  const dir = fs.mkdtempSync(`${model}.out-`);
  const recipe = `${dir}/recipe.json`;
  fs.writeFileSync(recipe, JSON.stringify(makeRecipe('portable', c.settings)));
  try {
    return await childMain(async (): Promise<BigRun> => {
      const t0 = performance.now();
      const { outcome } = await runCompress({ model, recipe, out: `${dir}/out.onnx`, ...(c.externalData ? { externalData: c.externalData } : {}) });
      const ms = performance.now() - t0;
      return { ms, modelBytes: outcome.modelBytes ?? outcome.fileBytesAfter, dataBytes: outcome.data?.bytes ?? 0, automatic: outcome.data?.automatic ?? false };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function bigMain(): void {
  const big = generateBigModel(arg('--gb', 3));
  const script = fileURLToPath(import.meta.url);
  const files = JSON.stringify({ model: big.model, data: big.data });
  console.log(
    `generated ${big.model} + big.onnx.data: ${(big.bytes / 1e9).toFixed(2)} GB (${gib(big.bytes)}), ${big.tensors} MatMul weights [4096, 4096] float32 ` +
      `in ${(big.generateMs / 1000).toFixed(1)} s; node ${process.version}\n`,
  );
  try {
    console.log(`${'case'.padEnd(44)} ${'time'.padStart(9)} ${'vs copy'.padStart(8)} ${'peak RSS'.padStart(10)} ${'vs file'.padStart(8)} ${'at start'.padStart(9)}  written`);
    for (let i = -1; i < BIG_CASES.length; i++) {
      const copy = inChild<number>(script, 'copy', files);
      if (i < 0) {
        console.log(`${'copy: read model + data into memory'.padEnd(44)} ${(copy.value / 1000).toFixed(2).padStart(7)} s ${'1.00x'.padStart(8)} ${gib(copy.peakRss).padStart(10)} ${(copy.peakRss / big.bytes).toFixed(3).padStart(7)}x ${gib(copy.rssStart).padStart(9)}`);
        continue;
      }
      const r = inChild<BigRun>(script, String(i), files);
      const v = r.value;
      const written = `${mibs(v.modelBytes)}${v.dataBytes ? ` + data ${mibs(v.dataBytes)}${v.automatic ? ' (automatic)' : ''}` : ''}`;
      console.log(
        `${BIG_CASES[i].label.padEnd(44)} ${(v.ms / 1000).toFixed(2).padStart(7)} s ${(v.ms / copy.value).toFixed(2).padStart(7)}x ${gib(r.peakRss).padStart(10)} ${(r.peakRss / big.bytes).toFixed(3).padStart(7)}x ${gib(r.rssStart).padStart(9)}  ${written}`,
      );
    }
    console.log('\n(time: the whole runCompress, load to written files; vs copy: against the copy run in a fresh process just before; peak RSS: the process\'s maximum resident set, node itself included)');
  } finally {
    removeBigModel(big);
  }
}

if (args[0] === '--child') await bigChild(args[1], args[2]);
else if (args.includes('--big')) bigMain();
else main();
