/**
 * compressModel end to end, in real onnxruntime-node: every weights mode x granularity x target on
 * synthetic fixtures (CNN with BN, MLP, weights in Constant nodes at opset 9 behind shape ops, an
 * If subgraph, external data), then the real exported fixtures and the sample model's accuracy.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { decodeModel, encodeModel } from '../onnx/codec';
import { findLayers } from '../onnx/layers';
import { assignNodeNames } from '../onnx/names';
import { makeTensor, tensorFloats } from '../onnx/tensor';
import { DataType, type ExternalDataResolver, type Model, type Node } from '../onnx/types';
import { seeded } from '../testing/random';
import { compressModel, type CompressReport, type Encoding } from './compress';
import { magnitudePrune } from './prune/prune';
import { dequantizeTensor, quantizeTensor } from './quantize/quantize';
import { makeRecipe, parseRecipe, type Granularity, type PartialLayerSettings, type Recipe, type Target, type WeightMode } from './recipe';
import {
  cnnFixture,
  constantsOpset9Fixture,
  externalFixture,
  gaussian,
  ifSubgraphFixture,
  mlpFixture,
  type Fixture,
} from './testing/fixtures';
import { cosine } from '../core/vector';

// ---------------------------------------------------------------- onnxruntime helpers

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

type Outputs = Record<string, Float32Array>;

async function session(bytes: Uint8Array, files?: Record<string, Uint8Array>, options: ort.InferenceSession.SessionOptions = {}) {
  if (!files) return ort.InferenceSession.create(bytes, options);
  const dir = mkdtempSync(join(tmpdir(), 'compress-'));
  tmpDirs.push(dir);
  writeFileSync(join(dir, 'model.onnx'), bytes);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return ort.InferenceSession.create(join(dir, 'model.onnx'), options);
}

function feedSets(fx: Fixture, count = 3): Record<string, ort.Tensor>[] {
  const rng = seeded(1234);
  const sets: Record<string, ort.Tensor>[] = [];
  for (let k = 0; k < count; k++) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, dims] of Object.entries(fx.inputs)) {
      const n = dims.reduce((p, d) => p * d, 1);
      feeds[name] = new ort.Tensor('float32', Float32Array.from({ length: n }, () => rng() * 2 - 1), dims);
    }
    if (fx.name === 'if-subgraph') feeds.cond = new ort.Tensor('bool', [k % 2 === 0], []);
    sets.push(feeds);
  }
  return sets;
}

async function runAll(bytes: Uint8Array, sets: Record<string, ort.Tensor>[], files?: Record<string, Uint8Array>): Promise<Outputs[]> {
  const s = await session(bytes, files);
  const outs: Outputs[] = [];
  for (const feeds of sets) {
    const r = await s.run(feeds);
    outs.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)])));
  }
  return outs;
}


/** The worst cosine similarity over every output of every input set. */
function worstCosine(ref: Outputs[], got: Outputs[]): number {
  let worst = 1;
  ref.forEach((r, i) => {
    for (const k of Object.keys(r)) worst = Math.min(worst, cosine(r[k], got[i][k]));
  });
  return worst;
}

const externalResolver = (files: Record<string, Uint8Array>): ExternalDataResolver => ({
  read(location, offset, length) {
    const f = files[location];
    if (!f) throw new AppError('external-data', `no file ${location}`);
    return f.subarray(offset, length === undefined ? undefined : offset + length);
  },
});

/** Op types of the model onnxruntime actually runs (after its basic, constant-folding level). */
async function foldedOps(bytes: Uint8Array): Promise<{ ops: string[]; model: Model }> {
  const dir = mkdtempSync(join(tmpdir(), 'compress-opt-'));
  tmpDirs.push(dir);
  const path = join(dir, 'opt.onnx');
  await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', optimizedModelFilePath: path });
  const model = decodeModel(new Uint8Array(readFileSync(path)));
  const ops: string[] = [];
  const walk = (nodes: Node[]) => {
    for (const n of nodes) {
      ops.push(n.opType ?? '');
      for (const a of n.attributes) if (a.g) walk(a.g.nodes);
    }
  };
  walk(model.graph?.nodes ?? []);
  return { ops: ops.sort(), model };
}

// ---------------------------------------------------------------- the matrix

/** Worst-case cosine similarity each mode must reach against the original's outputs. */
const TOLERANCE: Record<string, number> = {
  fp16: 0.9999,
  /** target webgpu: float16 compute (fp16/compute.ts), run by onnxruntime-node's CPU with upcasts */
  'fp16 compute': 0.999,
  'int8 per-channel': 0.999,
  'int8 block': 0.999,
  'int8 per-tensor': 0.998,
  'int4 block': 0.98,
  'int4 per-channel': 0.95,
  'int4 per-tensor': 0.9,
};

interface Mode {
  weights: WeightMode;
  granularity: Granularity;
  symmetric: boolean;
}
const MODES: Mode[] = [{ weights: 'fp16', granularity: 'per-channel', symmetric: true }];
for (const weights of ['int8', 'int4'] as const) {
  for (const granularity of ['per-tensor', 'per-channel', 'block'] as const) {
    for (const symmetric of [true, false]) MODES.push({ weights, granularity, symmetric });
  }
}
const TARGETS: Target[] = ['portable', 'wasm', 'webgpu'];

const modeName = (m: Mode, target?: Target) => (m.weights === 'fp16' ? (target === 'webgpu' ? 'fp16 compute' : 'fp16') : `${m.weights} ${m.granularity}`);

/** The encodings a layer may get for a target and mode (which one also depends on the model's opset). */
function allowedEncodings(target: Target, m: Mode): Encoding[] {
  if (m.weights === 'fp16') return target === 'webgpu' ? ['fp16-compute'] : ['fp16-cast'];
  const portable: Encoding = m.weights === 'int8' ? 'int8-cast-mul' : 'int4-nibbles-mul';
  if (target !== 'webgpu' || m.granularity === 'per-tensor') return [portable];
  const dq: Encoding = m.weights === 'int8' ? 'int8-dequantize-linear' : 'int4-dequantize-linear';
  return m.weights === 'int4' && m.granularity === 'block' ? [portable, dq, 'int4-matmul-nbits'] : [portable, dq];
}

const FIXTURES: (() => Fixture)[] = [cnnFixture, () => mlpFixture(), constantsOpset9Fixture, ifSubgraphFixture, externalFixture];

describe.each(FIXTURES.map((f) => [f().name, f] as const))('fixture %s', (_name, make) => {
  const fx = make();
  const sets = feedSets(fx);
  const originalBytes = encodeModel(fx.model);
  let reference: Outputs[] | undefined;
  const ref = async () => (reference ??= await runAll(originalBytes, sets, fx.external));
  const external = fx.external ? externalResolver(fx.external) : undefined;

  for (const target of TARGETS) {
    for (const m of MODES) {
      const label = `${target} ${m.weights} ${m.granularity} ${m.symmetric ? 'symmetric' : 'asymmetric'}`;
      it(`${label}: loads and matches (cosine >= ${TOLERANCE[modeName(m, target)]})`, async () => {
        const recipe = makeRecipe(target, { weights: m.weights, granularity: m.granularity, symmetric: m.symmetric, blockSize: 32 });
        const { model, report } = compressModel(fx.model, recipe, { external });
        for (const row of report.layers) {
          expect(row.error, `${row.key}: ${row.error}`).toBeUndefined();
          for (const w of row.weights) expect(allowedEncodings(target, m), `${row.key} ${w.name}`).toContain(w.encoding);
        }
        expect(report.layersChanged).toBe(report.layers.length);
        expect(report.bytesAfter).toBeLessThan(report.bytesBefore);
        const bytes = encodeModel(model);
        const got = await runAll(bytes, sets);
        const cos = worstCosine(await ref(), got);
        if (m.weights === 'fp16' && target === 'webgpu') console.log(`${fx.name} webgpu fp16 compute: worst cosine ${cos.toFixed(7)}`);
        expect(cos).toBeGreaterThanOrEqual(TOLERANCE[modeName(m, target)]);
      });
    }
  }

  for (const target of TARGETS) {
    it(`${target} pruning, magnitude 50% and channel 50%: loads, exact fraction / channel counts, outputs keep their shapes`, async () => {
      for (const pruneMethod of ['magnitude', 'channel'] as const) {
        const { model, report } = compressModel(fx.model, makeRecipe(target, { prune: 0.5, pruneMethod }), { external });
        // (a layer left as it was keeps its weights in the external file)
        const got = await runAll(encodeModel(model), sets, fx.external);
        const want = await ref();
        for (const k of Object.keys(want[0])) expect(got[0][k].length, `${pruneMethod} ${k}`).toBe(want[0][k].length);
        for (const row of report.layers) {
          if (pruneMethod === 'magnitude') {
            expect(row.error, row.key).toBeUndefined();
            for (const w of row.weights) expect(w.pruned, `${row.key} ${w.name}`).toBe(Math.round(0.5 * w.shape.reduce((p, d) => p * d, 1)));
          } else if (!row.error) {
            expect(row.applied, row.key).toBe('channel-pruned');
            expect(row.paramsAfter, row.key).toBeLessThan(row.params);
          } else expect(row.error, row.key).toMatch(/reach the graph output|graph input|subgraph/);
        }
      }
    });
  }

  it('the input model is not modified, and the same recipe gives identical bytes twice', () => {
    const recipe = makeRecipe('webgpu', { weights: 'int4', granularity: 'block', symmetric: false, prune: 0.3 });
    const a = encodeModel(compressModel(fx.model, recipe, { external }).model);
    const b = encodeModel(compressModel(fx.model, recipe, { external }).model);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(encodeModel(fx.model)).equals(Buffer.from(originalBytes))).toBe(true);
  });

  it('portable encodings fold away at load: onnxruntime runs the same ops as for the original', async () => {
    const original = await foldedOps(originalBytes.length > 0 && !fx.external ? originalBytes : encodeModel(inlineExternal(fx)));
    for (const weights of ['fp16', 'int8', 'int4'] as const) {
      const { model } = compressModel(fx.model, makeRecipe('portable', { weights, granularity: 'block', symmetric: false }), { external });
      const folded = await foldedOps(encodeModel(model));
      expect(folded.ops, weights).toEqual(original.ops);
    }
  });
});

/** The fixture with its external weights copied inline (for onnxruntime loads from a buffer). */
function inlineExternal(fx: Fixture): Model {
  const m = structuredClone(fx.model);
  for (const t of m.graph?.initializers ?? []) {
    if (t.dataLocation !== 1) continue;
    const values = tensorFloats(t, externalResolver(fx.external ?? {}));
    Object.assign(t, makeTensor(t.name ?? '', DataType.FLOAT, t.dims, values));
    t.dataLocation = undefined;
    t.externalData = [];
  }
  return m;
}

// ---------------------------------------------------------------- sizes and exact values

/** Bytes the stored bits of one [K, N] MatMul weight take, by encoding (scales float32). */
function predictedBytes(k: number, n: number, m: Mode, bs: number, encoding: Encoding): number {
  const count = k * n;
  if (m.weights === 'fp16') return 2 * count;
  const groups = m.granularity === 'per-tensor' ? 1 : m.granularity === 'per-channel' ? n : Math.ceil(k / bs) * n;
  const bits = m.weights === 'int8' ? 8 : 4;
  let codes = Math.ceil((count * bits) / 8);
  let zps = m.symmetric ? 0 : groups;
  if (encoding === 'int4-dequantize-linear' && !m.symmetric) zps = Math.ceil(groups / 2);
  if (encoding === 'int4-matmul-nbits') {
    codes = n * Math.ceil(k / bs) * (bs / 2);
    zps = m.symmetric ? 0 : n * Math.ceil(Math.ceil(k / bs) / 2);
  }
  return codes + 4 * groups + zps;
}

describe('file size follows the stored bits', () => {
  const fx = mlpFixture();
  const original = encodeModel(fx.model);
  const dims = [256, 512, 512, 96];
  for (const target of TARGETS) {
    for (const m of MODES) {
      it(`${target} ${m.weights} ${m.granularity} ${m.symmetric ? 'sym' : 'asym'}: within 2% of the prediction`, () => {
        const { model, report } = compressModel(fx.model, makeRecipe(target, { ...m, blockSize: 32 }));
        let predicted = original.length;
        report.layers.forEach((row, i) => {
          const [k, n] = [dims[i], dims[i + 1]];
          predicted += predictedBytes(k, n, m, 32, row.weights[0].encoding) - 4 * k * n;
          expect(row.bytesAfter).toBeLessThan(row.bytesBefore);
        });
        const actual = encodeModel(model).length;
        expect(Math.abs(actual - predicted) / predicted).toBeLessThan(0.02);
      });
    }
  }
});

describe('values', () => {
  it('the weights onnxruntime folds are exactly our dequantized values (bit for bit)', async () => {
    const fx = mlpFixture();
    const w0 = tensorFloats(fx.model.graph!.initializers.find((t) => t.name === 'fc0.weight')!);
    for (const [settings, layout] of [
      [{ weights: 'int8', granularity: 'per-channel', symmetric: true }, { kind: 'channel', axis: 1 }],
      [{ weights: 'int4', granularity: 'block', symmetric: false, blockSize: 32 }, { kind: 'block', axis: 0, blockSize: 32 }],
      [{ weights: 'int8', granularity: 'per-tensor', symmetric: false }, { kind: 'tensor' }],
    ] as const) {
      const { model } = compressModel(fx.model, makeRecipe('portable', settings));
      const folded = (await foldedOps(encodeModel(model))).model;
      const init = folded.graph!.initializers.find((t) => t.dims.join() === '256,512');
      expect(init, JSON.stringify(settings)).toBeDefined();
      const bits = settings.weights === 'int8' ? 8 : 4;
      const expected = dequantizeTensor(quantizeTensor(w0, [256, 512], layout, bits, settings.symmetric));
      const got = tensorFloats(init!);
      let mismatches = 0;
      for (let i = 0; i < expected.length; i++) if (!Object.is(got[i], expected[i])) mismatches++;
      expect(mismatches, JSON.stringify(settings)).toBe(0);
    }
  });

  it('magnitude pruning zeroes exactly the requested fraction of each layer', async () => {
    const fx = mlpFixture();
    for (const fraction of [0.25, 0.5, 0.9]) {
      const { model, report } = compressModel(fx.model, makeRecipe('portable', { prune: fraction }));
      const folded = (await foldedOps(encodeModel(model))).model;
      for (const row of report.layers) {
        expect(row.weights[0].encoding).toBe('pruned');
        const src = tensorFloats(fx.model.graph!.initializers.find((t) => t.name === `${row.key}.weight`)!);
        expect(row.weights[0].pruned).toBe(Math.round(fraction * src.length));
      }
      // count zeros in each folded weight
      for (const t of folded.graph!.initializers) {
        if (t.dims.length !== 2) continue;
        const v = tensorFloats(t);
        let zeros = 0;
        for (const x of v) if (x === 0) zeros++;
        expect(zeros, t.name).toBe(Math.round(fraction * v.length));
      }
    }
  });

  it('pruning composes with quantization: pruned positions dequantize to exact zeros', async () => {
    const fx = mlpFixture();
    for (const mode of [
      { weights: 'int8', granularity: 'per-channel', symmetric: false },
      { weights: 'int4', granularity: 'block', symmetric: true },
      { weights: 'fp16', granularity: 'per-channel', symmetric: true },
    ] as const) {
      const { model } = compressModel(fx.model, makeRecipe('portable', { ...mode, prune: 0.5 }));
      const folded = (await foldedOps(encodeModel(model))).model;
      const w0 = tensorFloats(fx.model.graph!.initializers.find((t) => t.name === 'fc0.weight')!);
      const pruned = magnitudePrune(w0, 0.5).values;
      const got = tensorFloats(folded.graph!.initializers.find((t) => t.dims.join() === '256,512')!);
      let zeros = 0;
      for (let i = 0; i < w0.length; i++) {
        if (pruned[i] === 0) expect(got[i] === 0, `${mode.weights} ${i}: ${got[i]}`).toBe(true);
        if (got[i] === 0) zeros++;
      }
      expect(zeros).toBeGreaterThanOrEqual(Math.round(0.5 * w0.length));
    }
  });
});

// ---------------------------------------------------------------- behaviour

describe('compressModel', () => {
  it('fails naming a recipe layer key that names no layer, before doing anything', () => {
    const fx = cnnFixture();
    const recipe = parseRecipe({ format: 'onnx-compression-recipe', version: 1, defaults: { weights: 'int8' }, layers: { convX: { weights: 'int4' } } });
    expect(() => compressModel(fx.model, recipe)).toThrow('layers["convX"]: names no layer of this model');
  });

  it('applies per-layer overrides and leaves a layer that cannot take its settings as it was, saying why', async () => {
    const fx = cnnFixture();
    const layers: Record<string, PartialLayerSettings> = {
      conv1: { weights: 'fp32' },
      conv2: { activations: 'int8' },
      fc: { weights: 'int4', granularity: 'block', blockSize: 16, prune: 0.5, pruneMethod: 'channel' },
    };
    const { model, report } = compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }, layers));
    const byKey = Object.fromEntries(report.layers.map((r) => [r.key, r]));
    expect(byKey.conv1.applied).toBe('unchanged');
    expect(byKey.conv1.error).toBeUndefined();
    // int8 activations are for target wasm: conv2 takes its weight settings only, and says why
    expect(byKey.conv2.error).toBeUndefined();
    expect(byKey.conv2.applied).toBe('int8-cast-mul');
    expect(byKey.conv2.notes).toContain('int8 activations: they are for target wasm (integer kernels on the CPU path), not portable; weights only');
    // the last layer's output channels are the model's output: refused, left as it was (not quantized either)
    expect(byKey.fc.error).toBe('its channels reach the graph output logits');
    expect(report.layersFailed).toBe(1);
    // untouched layers still read their original initializers (bn1 was folded into conv1.weight, in place)
    const names = new Set(model.graph!.initializers.map((t) => t.name));
    for (const n of ['conv1.weight', 'fc.weight']) expect(names.has(n), n).toBe(true);
    expect(names.has('bn1.var')).toBe(false);
    expect(report.cleanup!.passes.find((p) => p.pass === 'foldBatchNorm')!.count).toBe(1);
    const ref = await runAll(encodeModel(fx.model), feedSets(fx));
    expect(worstCosine(ref, await runAll(encodeModel(model), feedSets(fx)))).toBeGreaterThan(0.999);
  });

  it('reports per-layer rows with sizes, params and encodings, and totals', () => {
    const fx = cnnFixture();
    const { report } = compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }));
    const conv2 = report.layers.find((r) => r.key === 'conv2')!;
    expect(conv2).toMatchObject({ op: 'Conv', graphPath: 'main', applied: 'int8-cast-mul', params: 16 * 8 * 9 + 16 });
    expect(conv2.weights).toEqual([
      { name: 'conv2.weight', input: 1, shape: [16, 8, 3, 3], encoding: 'int8-cast-mul', bytesBefore: 4608, bytesAfter: expect.any(Number) },
    ]);
    expect(conv2.bytesBefore).toBe(4608 + 64);
    expect(conv2.bytesAfter).toBe(conv2.bytesBefore - 4608 + conv2.weights[0].bytesAfter);
    expect(conv2.weights[0].bytesAfter).toBe(16 * 8 * 9 + 16 * 4); // int8 codes + one float scale per channel
    expect(report.bytesAfter).toBeLessThan(report.bytesBefore);
    expect(report.opset).toEqual({ before: 13, after: 13 });
  });

  it('reports progress per layer and stops when aborted', () => {
    const fx = cnnFixture();
    const calls: [number, number, string][] = [];
    compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }), { onProgress: (d, t, k) => calls.push([d, t, k]) });
    expect(calls).toEqual([[0, 3, ''], [1, 3, 'conv1'], [2, 3, 'conv2'], [3, 3, 'fc']]);

    const ac = new AbortController();
    ac.abort();
    expect(() => compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }), { signal: ac.signal })).toThrow(
      expect.objectContaining({ code: 'aborted' }),
    );
    const ac2 = new AbortController();
    expect(() =>
      compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }), { signal: ac2.signal, onProgress: (d) => d === 1 && ac2.abort() }),
    ).toThrow(expect.objectContaining({ code: 'aborted' }));
  });

  it('webgpu: raises the opset to 21 (IR 10) for blocked DequantizeLinear when every node allows it', async () => {
    const fx = mlpFixture();
    const { model, report } = compressModel(fx.model, makeRecipe('webgpu', { weights: 'int8', granularity: 'block', blockSize: 32 }));
    expect(report.opset).toEqual({ before: 13, after: 21, note: 'raised from 13 to 21 for DequantizeLinear' });
    expect(model.irVersion).toBe(10);
    expect(report.layers.every((r) => r.applied === 'int8-dequantize-linear')).toBe(true);
    expect(model.graph!.nodes.filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(3);
    expect(model.graph!.initializers.filter((t) => t.dataType === DataType.INT8)).toHaveLength(3);
  });

  it('says that portable int8/int4 weights are decoded to float32 at load (memory at run time), and only then', () => {
    const fx = mlpFixture();
    const note = (r: ReturnType<typeof compressModel>) => r.report.notes.some((n) => n.startsWith('memory: the int8/int4 weights of the portable encoding'));
    expect(note(compressModel(fx.model, makeRecipe('portable', { weights: 'int4', granularity: 'per-channel' })))).toBe(true);
    expect(note(compressModel(fx.model, makeRecipe('portable', { weights: 'fp16' })))).toBe(false);
    expect(note(compressModel(fx.model, makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 32 })))).toBe(false);
  });

  it('webgpu: int4 outside MatMulNBits gets the portable encoding (onnxruntime-web has no WebGPU int4 DequantizeLinear), saying so; the opset stays', () => {
    const fx = mlpFixture();
    const { model, report } = compressModel(fx.model, makeRecipe('webgpu', { weights: 'int4', granularity: 'per-channel' }));
    expect(report.opset).toEqual({ before: 13, after: 13 });
    expect(report.layers.every((r) => r.applied === 'int4-nibbles-mul')).toBe(true);
    expect(report.layers.every((r) => r.notes.some((n) => n.includes('no int4 kernel')))).toBe(true);
    expect(model.graph!.nodes.filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(0);
  });

  it('webgpu: keeps opset 9 when a node would change, and falls back to the portable encoding, saying so', () => {
    const fx = constantsOpset9Fixture();
    const { model, report } = compressModel(fx.model, makeRecipe('webgpu', { weights: 'int8', granularity: 'per-channel' }));
    expect(report.opset.after).toBe(9);
    expect(report.opset.note).toMatch(/^kept: opset 13: node "Unsqueeze_\d+" \(Unsqueeze\) would change at opset 13: axes became an input/);
    for (const row of report.layers) {
      expect(row.applied).toBe('int8-cast-mul');
      expect(row.notes.join()).toMatch(/DequantizeLinear needs opset 13 and the model \(opset 9\) cannot be raised/);
    }
    expect(model.opsetImport).toEqual([{ domain: '', version: 9 }]);
  });

  it('webgpu: int4 block MatMul becomes MatMulNBits (com.microsoft)', () => {
    const fx = mlpFixture();
    const { model, report } = compressModel(fx.model, makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 64 }));
    expect(report.layers.map((r) => r.applied)).toEqual(['int4-matmul-nbits', 'int4-matmul-nbits', 'int4-matmul-nbits']);
    const node = model.graph!.nodes.find((n) => n.name === 'fc1')!;
    expect(node).toMatchObject({ opType: 'MatMulNBits', domain: 'com.microsoft' });
    expect(Object.fromEntries(node.attributes.map((a) => [a.name, a.i]))).toEqual({ K: 512, N: 512, bits: 4, block_size: 64 });
    const b = model.graph!.initializers.find((t) => t.name === node.inputs[1])!;
    expect(b.dims).toEqual([512, 8, 32]);
    expect(model.opsetImport).toContainEqual({ domain: 'com.microsoft', version: 1 });
    expect(model.graph!.initializers.some((t) => t.name === 'fc1.weight')).toBe(false);
  });

  it('moves Constant-held weights to initializers and removes the Constant nodes and shape-op chains', () => {
    const fx = constantsOpset9Fixture();
    const { model } = compressModel(fx.model, makeRecipe('portable', { weights: 'int8', granularity: 'per-tensor' }));
    const ops = model.graph!.nodes.map((n) => n.opType);
    // the Gemm bias moved to an initializer (clean-up); the Transpose/Reshape/Unsqueeze/Squeeze chains are gone
    expect(ops.filter((o) => o === 'Constant')).toHaveLength(0);
    // with clean-up off, only the Gemm bias stays a Constant
    const kept = compressModel(fx.model, { ...makeRecipe('portable', { weights: 'int8', granularity: 'per-tensor' }), cleanup: false }).model;
    expect(kept.graph!.nodes.filter((n) => n.opType === 'Constant')).toHaveLength(1);
    for (const op of ['Transpose', 'Unsqueeze', 'Squeeze']) expect(ops).not.toContain(op);
    expect(model.graph!.initializers.filter((t) => t.dataType === DataType.INT8)).toHaveLength(4);
    // IR 3 file: new initializers are listed as inputs too, as that IR expects
    const inputs = new Set(model.graph!.inputs.map((v) => v.name));
    for (const t of model.graph!.initializers) expect(inputs.has(t.name)).toBe(true);
  });

  it('writes new tensors into the subgraph that uses them and drops the outer weight', () => {
    const fx = ifSubgraphFixture();
    const { model, report } = compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }));
    expect(report.layers.map((r) => [r.key, r.graphPath])).toEqual([
      ['then_mm', 'branch/then_branch'],
      ['else_mm', 'branch/else_branch'],
    ]);
    const ifNode = model.graph!.nodes[0];
    const elseG = ifNode.attributes.find((a) => a.name === 'else_branch')!.g!;
    expect(elseG.initializers.map((t) => t.name)).toEqual(['w_outer_int8', 'w_outer_scale']);
    expect(model.graph!.initializers).toHaveLength(0);
  });

  it('reads external weights through the resolver, and without it leaves the layer as it was', async () => {
    const fx = externalFixture();
    const ok = compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }), { external: externalResolver(fx.external!) });
    expect(ok.report.layers[0].error).toBeUndefined();
    expect(ok.model.graph!.initializers.some((t) => t.dataLocation === 1)).toBe(false);
    const sets = feedSets(fx);
    const ref = await runAll(encodeModel(fx.model), sets, fx.external);
    expect(worstCosine(ref, await runAll(encodeModel(ok.model), sets))).toBeGreaterThan(0.999);

    const missing = compressModel(fx.model, makeRecipe('portable', { weights: 'int8' }));
    expect(missing.report.layers[0].error).toMatch(/external data file that was not provided/);
    expect(missing.model.graph!.initializers[0].dataLocation).toBe(1);
  });

  it('fp16 keeps a tensor with values beyond 65504 in float32 and says so', async () => {
    const w = gaussian(seeded(5), 32 * 8, 1);
    w[3] = 70000;
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })],
        initializers: [makeTensor('w', DataType.FLOAT, [32, 8], w)],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2, 32])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2, 8])],
      }),
    });
    const { model: out, report } = compressModel(model, makeRecipe('portable', { weights: 'fp16' }));
    expect(report.layers[0].applied).toBe('unchanged');
    expect(report.layers[0].notes[0]).toMatch(/^w: 1 value beyond the float16 range \(max \|w\| 70000\); kept in float32$/);
    expect(encodeModel(out)).toEqual(encodeModel(model));
  });

  it('handles an embedding Gather, a float16 weight behind Cast, a Loop body, and blocks longer than the axis', async () => {
    const rng = seeded(77);
    const emb = gaussian(rng, 50 * 24, 0.5);
    const w16 = gaussian(rng, 24 * 16, 0.2);
    const wl = gaussian(rng, 16 * 16, 0.25);
    const body = makeGraph({
      name: 'body',
      nodes: [
        makeNode('Identity', ['cond_in'], ['cond_out'], [], { name: 'loop_cond' }),
        makeNode('MatMul', ['h_in', 'w_loop'], ['h_mm'], [], { name: 'loop_mm' }),
        makeNode('Tanh', ['h_mm'], ['h_out'], [], { name: 'loop_tanh' }),
      ],
      inputs: [makeValueInfo('iter', DataType.INT64, []), makeValueInfo('cond_in', DataType.BOOL, []), makeValueInfo('h_in', DataType.FLOAT, [5, 16])],
      outputs: [makeValueInfo('cond_out', DataType.BOOL, []), makeValueInfo('h_out', DataType.FLOAT, [5, 16])],
    });
    const model = makeModel({
      graph: makeGraph({
        nodes: [
          makeNode('Gather', ['emb', 'ids'], ['e'], [], { name: 'embed' }),
          makeNode('Cast', ['w16'], ['w16f'], [attr.int('to', DataType.FLOAT)], { name: 'upcast' }),
          makeNode('MatMul', ['e', 'w16f'], ['h0'], [], { name: 'proj' }),
          makeNode('Loop', ['trips', '', 'h0'], ['y'], [attr.graph('body', body)], { name: 'loop' }),
        ],
        initializers: [
          makeTensor('emb', DataType.FLOAT, [50, 24], emb),
          makeTensor('w16', DataType.FLOAT16, [24, 16], w16),
          makeTensor('w_loop', DataType.FLOAT, [16, 16], wl),
          makeTensor('trips', DataType.INT64, [], [2]),
        ],
        inputs: [makeValueInfo('ids', DataType.INT64, [5])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [5, 16])],
      }),
    });
    const feeds = { ids: new ort.Tensor('int64', BigInt64Array.from([0, 7, 49, 3, 21], BigInt), [5]) };
    const run = async (m: Model) => (await (await ort.InferenceSession.create(encodeModel(m))).run(feeds)).y.data as Float32Array;
    const ref = await run(model);
    const cases: [Target, PartialLayerSettings, Encoding[], number][] = [
      ['portable', { weights: 'int8', granularity: 'per-channel' }, ['int8-cast-mul'], 0.999],
      ['portable', { weights: 'int4', granularity: 'block', blockSize: 32 }, ['int4-nibbles-mul'], 0.98],
      ['webgpu', { weights: 'int8', granularity: 'block', blockSize: 32 }, ['int8-dequantize-linear'], 0.999],
      ['webgpu', { weights: 'int4', granularity: 'block', blockSize: 32 }, ['int4-nibbles-mul', 'int4-matmul-nbits', 'int4-matmul-nbits'], 0.98],
      ['portable', { weights: 'fp16' }, ['fp16-cast', 'unchanged', 'fp16-cast'], 0.9999],
    ];
    for (const [target, settings, encodings, tolerance] of cases) {
      const { model: out, report } = compressModel(model, makeRecipe(target, settings));
      const label = `${target} ${JSON.stringify(settings)}`;
      expect(report.layers.map((r) => [r.key, r.error]), label).toEqual([
        ['embed', undefined],
        ['proj', undefined],
        ['loop_mm', undefined],
      ]);
      const got = report.layers.map((r) => r.weights[0].encoding);
      expect(got, label).toEqual(encodings.length === 1 ? [encodings[0], encodings[0], encodings[0]] : encodings);
      // the float16 weight's Cast went with it (unless the weight was left as it was)
      if (got[1] !== 'unchanged') expect(out.graph!.nodes.some((n) => n.name === 'upcast'), label).toBe(false);
      expect(cosine(ref, await run(out)), label).toBeGreaterThanOrEqual(tolerance);
    }
    // fp16 on a weight already stored as float16 leaves it alone and says so
    const fp16 = compressModel(model, makeRecipe('portable', { weights: 'fp16' }));
    expect(fp16.report.layers[1].notes).toEqual(['w16: already float16']);
  });

  it('quantizes ConvTranspose kernels per output channel (axis 1) and in blocks along the input channels (axis 0)', async () => {
    const rng = seeded(88);
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('ConvTranspose', ['x', 'wt', 'bt'], ['y'], [attr.ints('strides', [2, 2])], { name: 'up' })],
        initializers: [makeTensor('wt', DataType.FLOAT, [40, 6, 3, 3], gaussian(rng, 40 * 6 * 9, 0.1)), makeTensor('bt', DataType.FLOAT, [6], gaussian(rng, 6, 0.1))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 40, 5, 5])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [1, 6, 11, 11])],
      }),
    });
    const x = new ort.Tensor('float32', gaussian(rng, 40 * 25, 1), [1, 40, 5, 5]);
    const run = async (m: Model) => (await (await ort.InferenceSession.create(encodeModel(m))).run({ x })).y.data as Float32Array;
    const ref = await run(model);
    for (const [target, settings, tolerance] of [
      ['portable', { weights: 'int8', granularity: 'per-channel' }, 0.999],
      ['webgpu', { weights: 'int8', granularity: 'per-channel', symmetric: false }, 0.999],
      ['portable', { weights: 'int4', granularity: 'block', blockSize: 16 }, 0.98],
      ['webgpu', { weights: 'int4', granularity: 'block', blockSize: 16 }, 0.98],
    ] as [Target, PartialLayerSettings, number][]) {
      const { model: out, report } = compressModel(model, makeRecipe(target, settings));
      expect(report.layers[0].error).toBeUndefined();
      const scale = out.graph!.initializers.find((t) => t.name === 'wt_scale')!;
      // one scale per output channel (6), or per block of 16 input channels (3 blocks x 6 x 3 x 3)
      expect(scale.dims.reduce((p, d) => p * d, 1)).toBe(settings.granularity === 'per-channel' ? 6 : 3 * 6 * 9);
      expect(cosine(ref, await run(out)), `${target} ${JSON.stringify(settings)}`).toBeGreaterThanOrEqual(tolerance);
    }
  });

  it('names layers of an unnamed model the way the loader does (assignNodeNames), so recipes address them', () => {
    const fx = constantsOpset9Fixture();
    const named = structuredClone(fx.model);
    assignNodeNames(named);
    const keys = findLayers(named).map((l) => l.key);
    expect(keys).toEqual(['Conv_1', 'MatMul_6', 'MatMul_11', 'Gemm_17']);
    const recipe: Recipe = makeRecipe('portable', { weights: 'fp32' }, { MatMul_6: { weights: 'int8' } });
    const { report } = compressModel(fx.model, recipe);
    expect(report.layers.map((r) => r.applied)).toEqual(['unchanged', 'int8-cast-mul', 'unchanged', 'unchanged']);
  });
});

// ---------------------------------------------------------------- real exported models

interface RealCase {
  file: string;
  feeds: Record<string, { type: string; dims: number[]; data: number[] }>;
  outputs: Record<string, { dims: number[]; data: number[] }>;
}

function realCase(name: string): { bytes: Uint8Array; ref: RealCase } {
  const dir = new URL('../testing/real/', import.meta.url);
  const bytes = new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));
  const json = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'));
  return { bytes, ref: { file: name, feeds: json.inputs, outputs: json.outputs } };
}

describe.each(['cnn-opset9', 'lstm-opset11', 'transformer-opset17', 'helper-opset13'])('real model %s', (name) => {
  const { bytes, ref } = realCase(name);
  const feeds = Object.fromEntries(Object.entries(ref.feeds).map(([k, v]) => [k, new ort.Tensor('float32', Float32Array.from(v.data), v.dims)]));
  const cases: [Target, PartialLayerSettings, number][] = [
    ['portable', { weights: 'fp16' }, 0.9999],
    ['portable', { weights: 'int8', granularity: 'per-channel' }, 0.999],
    ['wasm', { weights: 'int8', granularity: 'per-tensor', symmetric: false }, 0.998],
    ['portable', { weights: 'int4', granularity: 'block', blockSize: 16 }, 0.97],
    ['webgpu', { weights: 'int4', granularity: 'block', blockSize: 16 }, 0.97],
    ['webgpu', { weights: 'int8', granularity: 'per-channel' }, 0.999],
    ['portable', { weights: 'fp32', prune: 0.3 }, 0.9],
    ['portable', { weights: 'int8', prune: 0.3 }, 0.9],
  ];
  for (const [target, settings, tolerance] of cases) {
    it(`${target} ${JSON.stringify(settings)}: loads and matches the exporter's outputs (cosine >= ${tolerance})`, async () => {
      const model = decodeModel(bytes);
      const { model: out, report } = compressModel(model, makeRecipe(target, settings));
      const errors = report.layers.filter((r) => r.error).map((r) => `${r.key}: ${r.error}`);
      expect(errors).toEqual([]);
      expect(report.layersChanged).toBeGreaterThan(0);
      const s = await ort.InferenceSession.create(encodeModel(out));
      const got = await s.run(feeds);
      for (const [k, v] of Object.entries(ref.outputs)) {
        expect(cosine(Float32Array.from(v.data), got[k].data as Float32Array), k).toBeGreaterThanOrEqual(tolerance);
      }
      logReport(`${name} ${target} ${JSON.stringify(settings)}`, report, bytes.length, encodeModel(out).length);
    });
  }
});

function logReport(title: string, r: CompressReport, before: number, after: number): void {
  const rows = r.layers.map((l) => `${l.key}=${l.applied}${l.error ? ` (${l.error})` : ''}`).join(', ');
  console.log(`${title}: ${before} -> ${after} bytes, opset ${r.opset.before}->${r.opset.after}; ${rows}`);
}

describe('the sample model (digits CNN) keeps its accuracy', () => {
  const dir = new URL('../../public/sample/', import.meta.url);
  const bytes = new Uint8Array(readFileSync(new URL('digits-cnn.onnx', dir)));
  const test = JSON.parse(readFileSync(new URL('digits-test.json', dir), 'utf8')) as {
    inputName: string;
    shape: number[];
    labels: number[];
    inputs: number[][];
  };
  async function accuracy(b: Uint8Array): Promise<number> {
    const s = await ort.InferenceSession.create(b);
    const n = test.labels.length;
    const x = new Float32Array(n * 64);
    test.inputs.forEach((row, i) => x.set(row, i * 64));
    const out = await s.run({ [test.inputName]: new ort.Tensor('float32', x, [n, ...test.shape]) });
    const logits = out[s.outputNames[0]].data as Float32Array;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
      if (best === test.labels[i]) correct++;
    }
    return correct / n;
  }
  const cases: [string, Target, PartialLayerSettings, number][] = [
    ['fp16', 'portable', { weights: 'fp16' }, 447],
    ['fp16 compute (webgpu)', 'webgpu', { weights: 'fp16' }, 447],
    ['int8 per-channel', 'portable', { weights: 'int8' }, 445],
    ['int8 per-channel (webgpu)', 'webgpu', { weights: 'int8' }, 445],
    ['int4 block 16', 'portable', { weights: 'int4', granularity: 'block', blockSize: 16 }, 440],
    // unstructured pruning without fine-tuning costs accuracy on a model this small
    ['30% magnitude pruning', 'portable', { prune: 0.3 }, 440],
    ['50% magnitude pruning', 'portable', { prune: 0.5 }, 400],
  ];
  for (const [label, target, settings, minCorrect] of cases) {
    it(`${label}: at least ${minCorrect}/450 correct (float: 447)`, async () => {
      const { model, report } = compressModel(decodeModel(bytes), makeRecipe(target, settings));
      expect(report.layers.every((r) => !r.error)).toBe(true);
      const out = encodeModel(model);
      const acc = await accuracy(out);
      console.log(`digits ${label}: ${Math.round(acc * 450)}/450, ${bytes.length} -> ${out.length} bytes`);
      expect(Math.round(acc * 450)).toBeGreaterThanOrEqual(minCorrect);
    });
  }
});
