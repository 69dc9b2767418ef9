/**
 * Recovery benchmark: `npm run bench:recovery [-- --samples N] [--cnn-only | --matmul-only] [--small-matmul] [--rounds 1,4] [--act-order] [--runtime web] [--no-native]`
 *
 * Two models (scripts/recovery-bench-models.ts) with seeded weights: a CNN of about 8 MB (four 3x3 Convs 3→64→128→256→512
 * on 64x64 images, a Gemm head) and a MatMul model of about 100 MB, the size (four 2048/3072
 * layers on 64-token sequences; `--small-matmul`: the 25 MB one of the page's benchmark, 1024/1536). Inputs have structure (a few smooth factors plus noise), as real data has.
 * Per model, in onnxruntime-node (`--runtime web`: onnxruntime-web's wasm backend in Node, the
 * runtime the page's workers run, one thread; GPTQ's kernel is the same WebAssembly in both; in
 * onnxruntime-node its wide layers' products go through onnxruntime-node's MatMul on one thread,
 * as the CLI's do on all cores: cli/gptq-native.ts; `--no-native`: the kernel alone), in one run:
 *   - one calibration forward pass of the original over the N calibration samples (the baseline:
 *     the median of three);
 *   - recovery: collecting H of every layer's inputs on those samples plus the extra time of the
 *     gptq compression over round to nearest's; printed as a ratio to the baseline (goal ≤ 10x);
 *   - quality: worst cosine against the original on 16 held-out samples, round to nearest and
 *     gptq, at int8 per-channel and int4 block-32, and the error ratio (1 - cosine).
 * Each with recovery in one pass and sequential (`--rounds 1,4`: the rounds compared; recovery/sequential.ts),
 * sequential both aiming at each layer's own weights and at the original model's outputs (recovery/teacher.ts).
 * One pass: H is streamed into the compression (recovery/hessian.ts hessianSource), so "gptq"
 * includes collecting it and "H" is ~0. Sequential: "H" includes the prefix models' compressions
 * (their GPTQ codes are then reused by the final file, so its "gptq" part is small).
 * The machine may be shared: compare the ratios, not the absolute times.
 *
 * Memory: each setting runs in a child process of its own (`--child`), so its peak resident
 * memory (process.resourceUsage().maxRSS, a high-water mark for the process) is that setting's
 * alone; taken right after recovery (H collected, the model compressed with them and encoded),
 * before the held-out check. Printed next to the process's RSS just before recovery (node,
 * onnxruntime, the model and the samples) and the goal: 2x the model's bytes plus the
 * largest layer's H (cols² × 8 bytes per group).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../src/compress/activations/calibrate';
import { nodeRunModel, worstOutputCosine } from '../src/compress/recovery/testing/node-run';
import { compressModel, compressModelStreaming } from '../src/compress/compress';
import { recoverySource } from '../src/compress/recovery/sequential';
import type { Recipe } from '../src/compress/recipe';
import { encodeModel } from '../src/onnx/codec';
import { weightMatrix } from '../src/compress/recovery/hessian';
import { attrInt } from '../src/onnx/attributes';
import { findLayers } from '../src/onnx/layers';
import type { Model } from '../src/onnx/types';
import { startGptqNative } from '../src/cli/gptq-native';
import { pacedRunModel } from '../src/cli/gc-pace';
import { ortWebNodeRunModel } from './ort-web-node-run';
import { cnn, mlp, mlpLarge, samples } from './recovery-bench-models';

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

/** `--runtime web`: every run (the forward pass, the statistics, the held-out check) on onnxruntime-web's wasm backend in Node, the page's runtime (one thread), instead of onnxruntime-node */
const WEB = args.includes('--runtime') && args[args.indexOf('--runtime') + 1] === 'web';
// onnxruntime-node as the CLI runs it (its dead outputs collected as they pile up: cli/gc-pace.ts); onnxruntime-web as the page, unpaced
const run = WEB ? ortWebNodeRunModel() : pacedRunModel(nodeRunModel());

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
  // as the page and the CLI: one pass streams H into the compression (its statistics run there, in "gptq"), sequential rounds first
  const h = await recoverySource(m.model, undefined, rs, cal, run, { rounds, teacher });
  const hMs = performance.now() - t;
  t = performance.now();
  const gq = await compressModelStreaming(m.model, rs, h.source);
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

const MODELS = { cnn, mlp, mlpLarge } as const;

async function bench(name: string, which: keyof typeof MODELS): Promise<void> {
  const m = MODELS[which]();
  const original = encodeModel(m.model);
  const cal = samples(m.input, m.dims, SAMPLES, 1);
  await run(original, cal[0]);
  // the baseline: the median of three forward passes over the samples (one pass of the CNN is ~0.07 s: a single one is noisy)
  const passes: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    for (const s of cal) await run(original, s);
    passes.push(performance.now() - t);
  }
  const forward = passes.sort((a, b) => a - b)[1];
  const { bound, largestH } = goalBound(m.model, original.length);
  console.log(`\n${name}: ${(original.length / MiB).toFixed(1)} MiB, ${SAMPLES} calibration samples; one forward pass over them${WEB ? ' (onnxruntime-web wasm)' : ''}: ${(forward / 1000).toFixed(3)} s (median of 3); memory goal 2x the model + the largest H (${(largestH / MiB).toFixed(1)} MiB) = ${(bound / MiB).toFixed(1)} MiB`);
  for (const [w, g] of [
    ['int8', 'per-channel'],
    ['int4', 'block'],
  ] as const) {
    for (const [rounds, teacher] of ROUNDS.flatMap((k) => (k > 1 ? ([[k, false], [k, true]] as const) : ([[k, true]] as const)))) {
      const self = fileURLToPath(import.meta.url);
      const extra = [...(ACT_ORDER ? ['--act-order'] : []), ...(WEB ? ['--runtime', 'web'] : []), ...(args.includes('--no-native') ? ['--no-native'] : []), '--samples', String(SAMPLES)];
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
  if (!WEB && !args.includes('--no-native')) {
    // as the CLI: GPTQ's wide layers' products on onnxruntime-node's MatMul (one thread, as the runs here), its worker started before the clock
    const svc = startGptqNative(undefined, 1);
    for (let t = 0; t < 300 && !svc.ready(); t++) await new Promise((r) => setTimeout(r, 100));
  }
  const r = await child(MODELS[which as keyof typeof MODELS](), w as 'int8' | 'int4', g as 'per-channel' | 'block', Number(rounds), teacher === 'true');
  console.log(JSON.stringify(r));
} else {
  if (!args.includes('--matmul-only')) await bench('CNN (4 Conv 3x3 + Gemm)', 'cnn');
  // the issue's ~100 MB MatMul model; --small-matmul: the page benchmark's 25 MB one
  if (!ONLY) await (args.includes('--small-matmul') ? bench('MatMul model (4 x 1024/1536, 64 tokens)', 'mlp') : bench('MatMul model (4 x 2048/3072, 64 tokens)', 'mlpLarge'));
}
