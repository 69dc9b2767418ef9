/**
 * Recovery on the real dev models (`bash ../shared/tools/dev-models.sh DIR`, never committed):
 * `npx tsx scripts/recovery-dev-models.ts DIR`
 *
 * The wake-word pipeline these three exports form, fed with synthetic speech-like audio (voiced
 * harmonics with a moving pitch, formant-like bands, pauses and noise): the melspectrogram front
 * end gives [frames, 32] features; 76-frame windows (scaled x / 10 + 2, as the pipeline does) feed
 * the embedding CNN; 16 consecutive embeddings feed the hey-jarvis MLP. Each model then gets real
 * inputs from the stage before it. Per model: int8 per-channel and int4 block-32 (per-channel where
 * a layer is too small for blocks), round to nearest against recovery "gptq" on up to 64 calibration
 * samples with the model-level check (recovery/check.ts), worst cosine against the original on up
 * to 32 held-out samples (onnxruntime-node); for hey-jarvis (one probability per sample, a
 * Sigmoid's) the largest absolute error of its log-odds (the check compares it in log-odds too).
 *
 * Options: `--rounds b,1,4o,4` (bias correction alone; one pass; sequential aiming at the layers' own weights; sequential
 * aiming at the original outputs), `--only NAME.onnx`, `--settings prune50,int8` (of int8,
 * int4-block, int4, prune50, channel30; default all); env PROBE_LAYERS=1: int4 block with gptq on
 * one layer at a time (the others round to nearest); DEBUG_LAYERS=1: each layer's recovery errors;
 * NO_VARIANCE=1: without the output variance re-estimation after the repair (CompressOptions.varianceMatch);
 * `--order activation|both`: GPTQ's column order (actOrder; orderSearch: both, each row the better);
 * `--no-native`: GPTQ on its WebAssembly kernel alone (by default its wide layers' products run on
 * onnxruntime-node's MatMul, as the CLI's: cli/gptq-native.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Sample } from '../src/compress/activations/calibrate';
import { startGptqNative } from '../src/cli/gptq-native';
import { nodeRunModel } from '../src/compress/recovery/testing/node-run';
import { compressModel } from '../src/compress/compress';
import { collectRecoveryHessians } from '../src/compress/recovery/sequential';
import { checkRecovery, logOdds, probabilityOutputs } from '../src/compress/recovery/check';
import type { Recipe } from '../src/compress/recipe';
import { cosine } from '../src/core/vector';
import { encodeModel } from '../src/onnx/codec';
import { loadModel } from '../src/onnx/load';
import { seeded } from '../src/testing/random';

const dir = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '../dev-models';
const read = (name: string) => new Uint8Array(fs.readFileSync(path.join(dir, name)));

const run = nodeRunModel();
if (!process.argv.includes('--no-native')) {
  // GPTQ's wide layers on onnxruntime-node's MatMul, as the CLI's (cli/gptq-native.ts)
  const svc = startGptqNative(undefined, 1);
  for (let t = 0; t < 300 && !svc.ready(); t++) await new Promise((r) => setTimeout(r, 100));
}
/** `--rounds b,1,4o,4`: the recovery rounds compared (b: recovery "bias" alone; 1: one pass, H from the original model; `o`: sequential aiming at the layers' own weights, not the original outputs) */
const at = process.argv.indexOf('--rounds');
const st = process.argv.indexOf('--settings');
/** `--settings prune50,int8`: only these settings */
const SETTINGS = st >= 0 ? process.argv[st + 1].split(',') : undefined;
const ROUNDS = (at >= 0 ? process.argv[at + 1] : '1,4').split(',').map((s) => ({ rounds: s === 'b' ? 1 : Number(s.replace(/o$/, '')), teacher: !s.endsWith('o'), bias: s === 'b' }));

/** Two seconds of speech-like audio at 16 kHz. */
function utterance(seed: number): Float32Array {
  const rng = seeded(seed);
  const n = 32000;
  const x = new Float32Array(n);
  let phase = 0;
  const f0 = 90 + rng() * 150;
  for (let i = 0; i < n; i++) {
    const t = i / 16000;
    const syllable = Math.sin(Math.PI * ((t * (3 + rng() * 0.01)) % 1)) ** 2;
    const voiced = Math.sin(2 * Math.PI * 1.3 * t + seed) > -0.3 ? 1 : 0;
    const pitch = f0 * (1 + 0.15 * Math.sin(2 * Math.PI * 0.7 * t + seed));
    phase += (2 * Math.PI * pitch) / 16000;
    let v = 0;
    for (let h = 1; h <= 12; h++) {
      const f = pitch * h;
      const formant = Math.exp(-(((f - 700) / 300) ** 2)) + 0.6 * Math.exp(-(((f - 1200 - 400 * Math.sin(t)) / 400) ** 2)) + 0.3;
      v += (formant / h) * Math.sin(h * phase);
    }
    x[i] = 0.3 * voiced * syllable * v + 0.01 * (rng() * 2 - 1);
  }
  return x;
}

const sample = (name: string, dims: number[], data: Float32Array): Sample => ({ [name]: { dtype: 'float32', dims, data } });

async function outputs(bytes: Uint8Array, s: Sample): Promise<Float32Array> {
  const r = await run(bytes, s);
  return Object.values(r)[0].data as Float32Array;
}

/**
 * The error over held-out samples: 1 − the worst cosine; for a model with one value per sample, the
 * largest absolute error, of the log-odds where that value is a probability (`odds`: a Sigmoid's
 * output, check.ts probabilityOutputs; printed as "log-odds"), else of the value.
 */
async function worstError(a: Uint8Array, b: Uint8Array, held: Sample[], odds: boolean): Promise<number> {
  let w = 1;
  let abs = 0;
  let scalar = false;
  for (const s of held) {
    const [x, y] = [await outputs(a, s), await outputs(b, s)];
    if (x.length === 1) {
      scalar = true;
      abs = Math.max(abs, odds ? Math.abs(logOdds(x[0]) - logOdds(y[0])) : Math.abs(x[0] - y[0]));
    } else w = Math.min(w, cosine(x, y));
  }
  return scalar ? abs : 1 - w;
}

const recipe = (weights: 'fp32' | 'int8' | 'int4', granularity: 'per-channel' | 'block' | 'prune50' | 'channel30', recovery: 'none' | 'bias' | 'gptq' | 'sequential'): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults:
    granularity === 'prune50'
      ? { weights, prune: 0.5, pruneMethod: 'magnitude', recovery }
      : granularity === 'channel30'
        ? { weights, prune: 0.3, pruneMethod: 'channel', recovery }
        : { weights, granularity, blockSize: 32, recovery },
  layers: {},
});

/** --order activation|both: GPTQ's column order (recipe keys actOrder, orderSearch; default natural) */
const ORDER = process.argv.indexOf('--order') >= 0 ? process.argv[process.argv.indexOf('--order') + 1] : 'natural';
const withOrder = (r: Recipe): Recipe =>
  r.defaults.recovery === 'gptq' || r.defaults.recovery === 'sequential' ? { ...r, defaults: { ...r.defaults, ...(ORDER === 'activation' ? { actOrder: true } : ORDER === 'both' ? { orderSearch: true } : {}) } } : r;

async function measure(name: string, bytes: Uint8Array, cal: Sample[], held: Sample[]): Promise<void> {
  const model = loadModel([{ name, bytes }]).model;
  const original = encodeModel(model);
  const odds = probabilityOutputs(model).length > 0;
  /** what a cell prints: the worst cosine (1 − the error), or the largest log-odds error of a probability */
  const shown = (e: number) => (odds ? `log-odds ${e.toFixed(4)}` : (1 - e).toFixed(6));
  const worst = async (a: Uint8Array, b: Uint8Array, held: Sample[]) => shown(await worstError(a, b, held, odds));
  if (process.env.PROBE_LAYERS) {
    // recovery on one layer at a time, the others round to nearest
    const base = recipe('int4', 'block', 'none');
    const h = await collectRecoveryHessians(model, undefined, recipe('int4', 'block', 'gptq'), cal, run);
    console.log(`${name} int4 block RTN: ${await worst(original, encodeModel(compressModel(model, base).model), held)}`);
    for (const key of h.hessians.keys()) {
      const r = { ...base, layers: { [key]: { recovery: 'gptq' as const } } };
      console.log(`  gptq on ${key} only: ${await worst(original, encodeModel(compressModel(model, r, { recovery: h.hessians }).model), held)}`);
    }
    return;
  }
  for (const [w, g, id] of [
    ['int8', 'per-channel', 'int8'],
    ['int4', 'block', 'int4-block'],
    ['int4', 'per-channel', 'int4'],
    ['fp32', 'prune50', 'prune50'],
    ['fp32', 'channel30', 'channel30'],
  ] as const) {
    if (SETTINGS && !SETTINGS.includes(id)) continue;
    try {
      const rtn = compressModel(model, recipe(w, g, 'none'));
      const r = recipe(w, g, 'gptq');
      const cr = await worstError(original, encodeModel(rtn.model), held, odds);
      const parts: string[] = [];
      for (const { rounds, teacher, bias } of ROUNDS) {
        const t0 = performance.now();
        const rs = withOrder(bias ? recipe(w, g, 'bias') : rounds > 1 ? recipe(w, g, 'sequential') : r);
        const h = await collectRecoveryHessians(model, undefined, rs, cal, run, { rounds, teacher });
        let gq = compressModel(model, rs, { recovery: h.hessians, ...(process.env.NO_VARIANCE ? { varianceMatch: false } : {}) });
        if (process.env.DEBUG_LAYERS)
          for (const l of gq.report.layers)
            for (const x of l.weights)
              if (x.recovery) console.log(`  ${l.key} rows ${x.recovery.rows} before ${x.recovery.errorBefore.toExponential(2)} after ${x.recovery.errorAfter.toExponential(2)} cross ${h.hessians.get(l.key)?.cross ? 'yes' : 'no'} ${l.notes.join('; ')}`);
        if (process.env.DEBUG_LAYERS) console.log(`  without the check: ${await worst(original, encodeModel(gq.model), held)}`);
        const check = await checkRecovery(original, encodeModel(rtn.model), encodeModel(gq.model), cal, run, 'calibration', probabilityOutputs(model));
        if (process.env.DEBUG_LAYERS) console.log(`  the check on ${check.samples} calibration samples: relative squared error ${check.errorRtn.toExponential(3)} pruned/RTN, ${check.errorRecovered.toExponential(3)} recovered`);
        if (!check.keep) gq = rtn;
        const ms = performance.now() - t0;
        const cg = await worstError(original, encodeModel(gq.model), held, odds);
        const recovered = gq.report.layers.filter((l) => l.weights.some((x) => x.recovery)).length;
        parts.push(`${bias ? 'bias' : `${h.rounds} round${h.rounds === 1 ? '' : 's'}`}${h.rounds > 1 && !teacher ? ' (own weights)' : ''}: ${check.keep ? '' : '(check kept RTN) '}${recovered}/${gq.report.layers.length} recovered in ${(ms / 1000).toFixed(1)} s, ${shown(cg)} (error ${(cg / Math.max(1e-12, cr)).toFixed(2)}x)`);
      }
      console.log(`${name} ${w} ${g}: held-out ${odds ? 'largest log-odds error' : 'worst cosine'} RTN ${shown(cr)}; gptq ${parts.join('; ')}`);
    } catch (e) {
      console.log(`${name} ${w} ${g}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

const mel = read('melspectrogram.onnx');
const emb = read('embedding.onnx');
const kws = read('hey-jarvis.onnx');

/** The three models' inputs from `clips` (each stage's inputs are the stage before it's outputs). */
async function pipeline(clips: Float32Array[]): Promise<{ mel: Sample[]; emb: Sample[]; kws: Sample[] }> {
  const melSamples = clips.map((c) => sample('input', [1, c.length], c));
  // features: [frames, 32] per clip
  const feats: Float32Array[] = [];
  for (const s of melSamples) feats.push(await outputs(mel, s));
  const embSamples: Sample[] = [];
  for (const f of feats) {
    const frames = f.length / 32;
    for (let start = 0; start + 76 <= frames; start += 8) {
      const win = Float32Array.from(f.subarray(start * 32, (start + 76) * 32), (v) => v / 10 + 2);
      embSamples.push(sample('input_1', [1, 76, 32, 1], win));
    }
  }
  const embOut: Float32Array[] = [];
  for (const s of embSamples) embOut.push(await outputs(emb, s));
  const kwsSamples: Sample[] = [];
  for (let i = 0; i + 16 <= embOut.length; i += 3) {
    const x = new Float32Array(16 * 96);
    for (let k = 0; k < 16; k++) x.set(embOut[i + k], k * 96);
    kwsSamples.push(sample('x.1', [1, 16, 96], x));
  }
  return { mel: melSamples, emb: embSamples, kws: kwsSamples };
}

const base = await pipeline(Array.from({ length: 24 }, (_, k) => utterance(k + 1)));
console.log(`data: 24 clips of 2 s; ${base.mel.length} mel, ${base.emb.length} embedding, ${base.kws.length} hey-jarvis samples`);
/**
 * `--calibration N` (default 64): up to N calibration samples per model. Beyond what the 24 clips
 * give (every other sample), the rest come from further clips of their own (other seeds, never
 * the held-out clips' audio), so the held-out samples stay exactly those of the default run. Without
 * the option: 64 at most, none from further clips.
 */
const ca = process.argv.indexOf('--calibration');
const only = process.argv.indexOf('--only');
const CAL = ca >= 0 ? Number(process.argv[ca + 1]) : 64;
const split = (all: Sample[]) => ({ cal: all.filter((_, i) => i % 2 === 0).slice(0, CAL), held: all.filter((_, i) => i % 2 === 1).slice(0, 32) });
const extra = { mel: [] as Sample[], emb: [] as Sample[], kws: [] as Sample[] };
const wanted = (k: 'mel' | 'emb' | 'kws') => only < 0 || process.argv[only + 1] === { mel: 'melspectrogram.onnx', emb: 'embedding.onnx', kws: 'hey-jarvis.onnx' }[k];
for (let seed = 1001; ca >= 0 && (['mel', 'emb', 'kws'] as const).some((k) => wanted(k) && split(base[k]).cal.length + extra[k].length < CAL) && seed < 1001 + 512; seed += 8) {
  const more = await pipeline(Array.from({ length: 8 }, (_, k) => utterance(seed + k)));
  for (const k of ['mel', 'emb', 'kws'] as const) extra[k].push(...more[k]);
}
if (ca >= 0) console.log(`calibration: up to ${CAL} samples a model, ${extra.mel.length} extra clips`);
for (const [name, bytes, key] of [
  ['melspectrogram.onnx', mel, 'mel'],
  ['embedding.onnx', emb, 'emb'],
  ['hey-jarvis.onnx', kws, 'kws'],
] as const) {
  if (only >= 0 && process.argv[only + 1] !== name) continue;
  const { cal, held } = split(base[key]);
  cal.push(...extra[key].slice(0, Math.max(0, CAL - cal.length)));
  console.log(`${name}: ${cal.length} calibration, ${held.length} held-out samples`);
  await measure(name, bytes, cal, held);
}
