/**
 * Recovery benchmark: `npm run bench:recovery [-- --samples N]`
 *
 * Two models built here with seeded weights: a CNN of about 8 MB (four 3x3 Convs 3→64→128→256→512
 * on 64x64 images, a Gemm head) and a MatMul model of about 25 MB (four 1024/1536 layers on
 * 64-token sequences). Inputs have structure (a few smooth factors plus noise), as real data has.
 * Per model, in onnxruntime-node, in one run:
 *   - one calibration forward pass of the original over the N calibration samples (the baseline);
 *   - recovery: collecting H of every layer's inputs on those samples plus the extra time of the
 *     gptq compression over round to nearest's; printed as a ratio to the baseline (goal ≤ 10x);
 *   - quality: worst cosine against the original on 16 held-out samples, round to nearest and
 *     gptq, at int8 per-channel and int4 block-32, and the error ratio (1 - cosine).
 * Each with recovery in one pass and sequential (`--rounds 1,4`: the rounds compared; recovery/sequential.ts),
 * sequential both aiming at each layer's own weights and at the original model's outputs (recovery/teacher.ts).
 * Sequential: "H" includes the prefix models' compressions (their GPTQ codes are then reused by the
 * final file, so its "gptq" part is small).
 * The machine may be shared: compare the ratios, not the absolute times.
 *
 * Memory: each setting runs in a child process of its own (`--child`), so its peak resident
 * memory (process.resourceUsage().maxRSS, a high-water mark for the process) is that setting's
 * alone; taken right after recovery (H collected, the model compressed with them and encoded),
 * before the held-out check. Printed next to the process's RSS just before recovery (node,
 * onnxruntime, the model and the samples) and the issue's goal: 2x the model's bytes plus the
 * largest layer's H (cols² × 8 bytes per group).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../src/compress/activations/calibrate';
import { nodeRunModel, worstOutputCosine } from '../src/compress/recovery/testing/node-run';
import { compressModel } from '../src/compress/compress';
import { collectRecoveryHessians } from '../src/compress/recovery/sequential';
import type { Recipe } from '../src/compress/recipe';
import { gaussian } from '../src/compress/testing/fixtures';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { encodeModel } from '../src/onnx/codec';
import { weightMatrix } from '../src/compress/recovery/hessian';
import { attrInt } from '../src/onnx/attributes';
import { findLayers } from '../src/onnx/layers';
import { makeTensor } from '../src/onnx/tensor';
import { DataType, type Model, type Tensor } from '../src/onnx/types';
import { seeded } from '../src/testing/random';

const args = process.argv.slice(2);
const at = args.indexOf('--samples');
const SAMPLES = at >= 0 ? Number(args[at + 1]) : 128;
const ONLY = args.includes('--cnn-only');
/** `--act-order`: GPTQ in activation order (recipe key actOrder) */
const ACT_ORDER = args.includes('--act-order');
const ra = args.indexOf('--rounds');
const ROUNDS = (ra >= 0 ? args[ra + 1] : '1,4').split(',').map(Number);
const HELD = 16;
/** `--child MODEL W G ROUNDS TEACHER`: one setting in this process (the parent reads its JSON line) */
const CHILD = args.indexOf('--child');
const MiB = 2 ** 20;

function cnn(): { model: Model; input: string; dims: number[] } {
  const rng = seeded(3);
  const inits: Tensor[] = [];
  const nodes = [];
  let x = 'image';
  const chans = [3, 64, 128, 256, 512];
  for (let i = 0; i + 1 < chans.length; i++) {
    const [cin, cout] = [chans[i], chans[i + 1]];
    inits.push(makeTensor(`conv${i}.weight`, DataType.FLOAT, [cout, cin, 3, 3], gaussian(rng, cout * cin * 9, Math.sqrt(2 / (cin * 9)))));
    inits.push(makeTensor(`conv${i}.bias`, DataType.FLOAT, [cout], gaussian(rng, cout, 0.05)));
    nodes.push(makeNode('Conv', [x, `conv${i}.weight`, `conv${i}.bias`], [`c${i}`], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])], { name: `conv${i}` }));
    nodes.push(makeNode('Relu', [`c${i}`], [`r${i}`], [], { name: `relu${i}` }));
    x = `r${i}`;
  }
  inits.push(makeTensor('fc.weight', DataType.FLOAT, [1000, 512], gaussian(rng, 512000, Math.sqrt(1 / 512))));
  nodes.push(makeNode('GlobalAveragePool', [x], ['p'], [], { name: 'pool' }), makeNode('Flatten', ['p'], ['f'], [], { name: 'flatten' }));
  nodes.push(makeNode('Gemm', ['f', 'fc.weight'], ['logits'], [attr.int('transB', 1)], { name: 'fc' }));
  const graph = makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('image', DataType.FLOAT, [1, 3, 64, 64])], outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 1000])] });
  return { model: makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }), input: 'image', dims: [1, 3, 64, 64] };
}

function mlp(): { model: Model; input: string; dims: number[] } {
  const rng = seeded(5);
  const dims = [1024, 1536, 1024, 1536, 1024];
  const inits: Tensor[] = [];
  const nodes = [];
  let x = 'x';
  for (let i = 0; i + 1 < dims.length; i++) {
    inits.push(makeTensor(`fc${i}.weight`, DataType.FLOAT, [dims[i], dims[i + 1]], gaussian(rng, dims[i] * dims[i + 1], Math.sqrt(2 / dims[i]))));
    nodes.push(makeNode('MatMul', [x, `fc${i}.weight`], [`m${i}`], [], { name: `fc${i}` }));
    const last = i + 2 === dims.length;
    if (!last) nodes.push(makeNode('Relu', [`m${i}`], [`h${i}`], [], { name: `relu${i}` }));
    x = last ? `m${i}` : `h${i}`;
  }
  const graph = makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('x', DataType.FLOAT, [1, 64, 1024])], outputs: [makeValueInfo(x, DataType.FLOAT, [1, 64, 1024])] });
  return { model: makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }), input: 'x', dims: [1, 64, 1024] };
}

function samples(input: string, dims: number[], n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const size = dims.reduce((p, d) => p * d, 1);
  const bases = Array.from({ length: 6 }, (_, k) => Float32Array.from({ length: size }, (_, i) => Math.sin((i * (k + 1) * 0.29) / 5 + k)));
  return Array.from({ length: n }, () => {
    const c = bases.map(() => rng() * 2 - 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      let v = 0.1 * (rng() * 2 - 1);
      for (let k = 0; k < bases.length; k++) v += c[k] * bases[k][i];
      data[i] = v;
    }
    return { [input]: { dtype: 'float32', dims, data } };
  });
}

const run = nodeRunModel();

const worstCosine = (a: Uint8Array, b: Uint8Array, held: Sample[]) => worstOutputCosine(run, a, b, held);

const recipe = (weights: 'int8' | 'int4', granularity: 'per-channel' | 'block', recovery: 'none' | 'gptq' | 'sequential'): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights, granularity, blockSize: 32, recovery, ...(ACT_ORDER ? { actOrder: true } : {}) },
  layers: {},
});

interface ChildResult {
  hMs: number;
  gMs: number;
  rtnMs: number;
  rounds: number;
  cr: number;
  cg: number;
  /** RSS just before recovery, and the process's peak through recovery (bytes) */
  rssBefore: number;
  peak: number;
}

/** One setting: round to nearest, then recovery (H, the compression with them), timed and measured. */
async function child(m: { model: Model; input: string; dims: number[] }, w: 'int8' | 'int4', g: 'per-channel' | 'block', rounds: number, teacher: boolean): Promise<ChildResult> {
  const original = encodeModel(m.model);
  const cal = samples(m.input, m.dims, SAMPLES, 1);
  const held = samples(m.input, m.dims, HELD, 2);
  await run(original, cal[0]);
  let t = performance.now();
  const rtn = compressModel(m.model, recipe(w, g, 'none'));
  const rtnMs = performance.now() - t;
  const rtnBytes = encodeModel(rtn.model);
  const rssBefore = process.memoryUsage().rss;
  const rs = recipe(w, g, rounds > 1 ? 'sequential' : 'gptq');
  t = performance.now();
  const h = await collectRecoveryHessians(m.model, undefined, rs, cal, run, { rounds, teacher });
  const hMs = performance.now() - t;
  t = performance.now();
  const gq = compressModel(m.model, rs, { recovery: h.hessians });
  const gMs = performance.now() - t;
  const gqBytes = encodeModel(gq.model);
  const peak = process.resourceUsage().maxRSS * 1024;
  const cr = await worstCosine(original, rtnBytes, held);
  const cg = await worstCosine(original, gqBytes, held);
  return { hMs, gMs, rtnMs, rounds: h.rounds, cr, cg, rssBefore, peak };
}

/** The goal's bound: 2x the model's bytes plus the largest layer's H (cols² float64 per group). */
function goalBound(model: Model, bytes: number): { bound: number; largestH: number } {
  let largestH = 0;
  for (const l of findLayers(model)) {
    if (!['Conv', 'Gemm', 'MatMul'].includes(l.op)) continue;
    const w = l.weights.find((v) => v.role === 'weight' && v.inputIndex === 1);
    const mat = w && weightMatrix(l, w.shape);
    if (!mat) continue;
    const groups = l.op === 'Conv' ? attrInt(l.node, 'group', 1) : 1;
    largestH = Math.max(largestH, groups * mat.cols * mat.cols * 8);
  }
  return { bound: 2 * bytes + largestH, largestH };
}

const MODELS = { cnn, mlp } as const;

async function bench(name: string, which: keyof typeof MODELS): Promise<void> {
  const m = MODELS[which]();
  const original = encodeModel(m.model);
  const cal = samples(m.input, m.dims, SAMPLES, 1);
  await run(original, cal[0]);
  const t = performance.now();
  for (const s of cal) await run(original, s);
  const forward = performance.now() - t;
  const { bound, largestH } = goalBound(m.model, original.length);
  console.log(`\n${name}: ${(original.length / MiB).toFixed(1)} MiB, ${SAMPLES} calibration samples; one forward pass over them: ${(forward / 1000).toFixed(2)} s; memory goal 2x the model + the largest H (${(largestH / MiB).toFixed(1)} MiB) = ${(bound / MiB).toFixed(1)} MiB`);
  for (const [w, g] of [
    ['int8', 'per-channel'],
    ['int4', 'block'],
  ] as const) {
    for (const [rounds, teacher] of ROUNDS.flatMap((k) => (k > 1 ? ([[k, false], [k, true]] as const) : ([[k, true]] as const)))) {
      const self = fileURLToPath(import.meta.url);
      const extra = [...(ACT_ORDER ? ['--act-order'] : []), '--samples', String(SAMPLES)];
      const c = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', which, w, g, String(rounds), String(teacher), ...extra], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const line = c.stdout.split('\n').find((l) => l.startsWith('{'));
      if (c.status !== 0 || !line) throw new Error(`child failed: ${c.stderr}`);
      const r = JSON.parse(line) as ChildResult;
      const recoveryMs = r.hMs + Math.max(0, r.gMs - r.rtnMs);
      console.log(
        `  ${w} ${g}, ${r.rounds} round${r.rounds === 1 ? '' : 's'}${r.rounds > 1 ? (teacher ? ' aiming at the original outputs' : " aiming at the layers' own weights") : ''}: recovery ${(recoveryMs / 1000).toFixed(2)} s (H ${(r.hMs / 1000).toFixed(2)} s + gptq ${((r.gMs - r.rtnMs) / 1000).toFixed(2)} s) = ${(recoveryMs / forward).toFixed(1)}x the forward pass; ` +
          `held-out worst cosine RTN ${r.cr.toFixed(6)} -> gptq ${r.cg.toFixed(6)} (error ${((1 - r.cg) / Math.max(1e-12, 1 - r.cr)).toFixed(2)}x RTN's); ` +
          `peak RSS ${(r.peak / MiB).toFixed(0)} MiB (${(r.rssBefore / MiB).toFixed(0)} MiB before recovery, +${((r.peak - r.rssBefore) / MiB).toFixed(0)} MiB = ${((r.peak - r.rssBefore) / bound).toFixed(1)}x the goal's ${(bound / MiB).toFixed(0)} MiB)`,
      );
    }
  }
}

if (CHILD >= 0) {
  const [which, w, g, rounds, teacher] = args.slice(CHILD + 1, CHILD + 6);
  const r = await child(MODELS[which as keyof typeof MODELS](), w as 'int8' | 'int4', g as 'per-channel' | 'block', Number(rounds), teacher === 'true');
  console.log(JSON.stringify(r));
} else {
  await bench('CNN (4 Conv 3x3 + Gemm)', 'cnn');
  if (!ONLY) await bench('MatMul model (4 x 1024/1536, 64 tokens)', 'mlp');
}
