/**
 * float16 compute (target webgpu, fp16 default weights) in real onnxruntime-node: the result
 * loads, matches the original (onnxruntime's CPU runs float16 nodes with upcasts, so every value
 * is rounded to float16 at each node boundary), keeps the model's signature, and really is float16
 * inside: layers read float16 weights directly and graph inputs are cast on entry.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { cosine } from '../../core/vector';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Graph, type Model, type ValueInfo } from '../../onnx/types';
import { seeded } from '../../testing/random';
import { compressModel } from '../compress';
import { usesFloat16Compute } from './compute';
import { makeRecipe } from '../recipe';
import { cnnFixture, constantsOpset9Fixture, externalFixture, gaussian, ifSubgraphFixture, mlpFixture, type Fixture } from '../testing/fixtures';

/** The worst cosine accepted for float16 compute against the float32 original. */
const FP16_COMPUTE_COSINE = 0.999;
const FP16 = makeRecipe('webgpu', { weights: 'fp16' });

type Feeds = Record<string, ort.Tensor>;

async function run(bytes: Uint8Array, sets: Feeds[]): Promise<Record<string, Float32Array>[]> {
  const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const outs = [];
  for (const f of sets) {
    const r = await s.run(f);
    outs.push(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)])));
  }
  await s.release();
  return outs;
}

async function worstCosine(a: Uint8Array, b: Uint8Array, sets: Feeds[]): Promise<number> {
  const [x, y] = [await run(a, sets), await run(b, sets)];
  let worst = 1;
  x.forEach((o, i) => {
    for (const k of Object.keys(o)) worst = Math.min(worst, cosine(o[k], y[i][k]));
  });
  return worst;
}

/** The model's signature: real inputs (not initializers) and outputs, with element types and shapes. */
function signature(m: Model): string {
  const g = m.graph as Graph;
  const inits = new Set(g.initializers.map((t) => t.name));
  const show = (v: ValueInfo) => `${v.name}:${v.type?.tensorType?.elemType}[${(v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimValue ?? d.dimParam ?? '?').join(',')}]`;
  return JSON.stringify({ inputs: g.inputs.filter((v) => !inits.has(v.name)).map(show), outputs: g.outputs.map(show) });
}

function fixtureFeeds(fx: Fixture, count = 3): Feeds[] {
  const rng = seeded(99);
  return Array.from({ length: count }, (_, k) => {
    const feeds: Feeds = {};
    for (const [name, dims] of Object.entries(fx.inputs)) feeds[name] = new ort.Tensor('float32', gaussian(rng, dims.reduce((p, d) => p * d, 1), 1), dims);
    // the If fixture's condition: both branches
    if (fx.name === 'if-subgraph') feeds.cond = new ort.Tensor('bool', [k % 2 === 0], []);
    return feeds;
  });
}

/** The original's bytes, external weights copied inline (so it loads from a buffer). */
function inline(fx: Fixture): Uint8Array {
  if (!fx.external) return encodeModel(fx.model);
  const m = structuredClone(fx.model);
  for (const t of m.graph?.initializers ?? []) {
    if (t.dataLocation !== 1) continue;
    const loc = t.externalData.find((e) => e.key === 'location')?.value ?? '';
    const off = Number(t.externalData.find((e) => e.key === 'offset')?.value ?? 0);
    const len = Number(t.externalData.find((e) => e.key === 'length')?.value ?? 0);
    const raw = fx.external[loc].slice(off, off + len);
    Object.assign(t, makeTensor(t.name ?? '', DataType.FLOAT, t.dims, new Float32Array(raw.buffer, 0, len / 4)));
    t.dataLocation = undefined;
    t.externalData = [];
  }
  return encodeModel(m);
}

describe.each([cnnFixture, () => mlpFixture(), constantsOpset9Fixture, ifSubgraphFixture, externalFixture].map((f) => [f().name, f] as const))(
  'fixture %s',
  (_name, make) => {
    it(`computes in float16, keeps its signature, and matches (cosine >= ${FP16_COMPUTE_COSINE})`, async () => {
      const fx = make();
      const external = fx.external
        ? { read: (loc: string, off: number, len?: number) => (fx.external as Record<string, Uint8Array>)[loc].subarray(off, len === undefined ? undefined : off + len) }
        : undefined;
      const { model, report } = compressModel(fx.model, FP16, { external });
      for (const row of report.layers) {
        expect(row.error, row.key).toBeUndefined();
        expect(row.compute, row.key).toEqual({ type: 'fp16' });
        expect(row.notes, row.key).toContain('computes in float16');
        for (const w of row.weights) expect(w.encoding).toBe('fp16-compute');
      }
      expect(report.fp16Compute?.converted).toBeGreaterThan(0);
      expect(signature(model)).toBe(signature(fx.model));
      // inside: every float input is cast to float16 on entry, layers read float16 tensors directly
      const g = model.graph as Graph;
      const realInputs = g.inputs.filter((v) => v.type?.tensorType?.elemType === DataType.FLOAT && !g.initializers.some((t) => t.name === v.name));
      for (const v of realInputs) {
        const readers = g.nodes.filter((n) => n.inputs.includes(v.name ?? ''));
        expect(readers.map((n) => `${n.opType} to ${n.attributes[0]?.i}`)).toEqual(readers.map(() => `Cast to ${DataType.FLOAT16}`));
      }
      // float32 initializers left: only those also declared as graph inputs (IR < 4 style: they can be fed)
      expect(g.initializers.filter((t) => t.dataType === DataType.FLOAT && !g.inputs.some((v) => v.name === t.name)).map((t) => t.name)).toEqual([]);
      const bytes = encodeModel(model);
      const cos = await worstCosine(inline(fx), bytes, fixtureFeeds(fx));
      console.log(`${fx.name}: float16 compute, worst cosine ${cos.toFixed(7)}, ${report.fp16Compute?.converted} nodes float16, ${report.fp16Compute?.casts} casts`);
      expect(cos).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
      // the same recipe gives the same bytes
      expect(Buffer.from(encodeModel(compressModel(fx.model, FP16, { external }).model)).equals(Buffer.from(bytes))).toBe(true);
    });
  },
);

interface RealRef {
  inputs: Record<string, { type: string; dims: number[]; data: number[] }>;
}

describe.each(['cnn-opset9', 'lstm-opset11', 'transformer-opset17', 'helper-opset13'])('real export %s', (name) => {
  it(`computes in float16 and matches the original (cosine >= ${FP16_COMPUTE_COSINE})`, async () => {
    const dir = new URL('../../testing/real/', import.meta.url);
    const bytes = new Uint8Array(readFileSync(new URL(`${name}.onnx`, dir)));
    const ref = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as RealRef;
    const feeds: Feeds = {};
    for (const [k, v] of Object.entries(ref.inputs)) {
      feeds[k] =
        v.type === 'float32'
          ? new ort.Tensor('float32', Float32Array.from(v.data), v.dims)
          : v.type === 'int64'
            ? new ort.Tensor('int64', BigInt64Array.from(v.data, (x) => BigInt(x)), v.dims)
            : new ort.Tensor('bool', Uint8Array.from(v.data), v.dims);
    }
    const original = decodeModel(bytes);
    const { model, report } = compressModel(original, FP16);
    expect(report.layersFailed).toBe(0);
    for (const row of report.layers) expect(row.compute, row.key).toEqual({ type: 'fp16' });
    expect(signature(model)).toBe(signature(original));
    const cos = await worstCosine(bytes, encodeModel(model), [feeds]);
    const kept = report.fp16Compute?.kept.map((k) => `${k.op} (${k.reason})`) ?? [];
    console.log(`${name}: float16 compute, worst cosine ${cos.toFixed(7)}; kept float32: ${kept.join('; ') || 'none'}`);
    expect(cos).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
  });
});

describe('what stays float32', () => {
  const rng = seeded(5);
  const x = () => new ort.Tensor('float32', gaussian(rng, 2 * 8, 1), [2, 8]);

  it('a constant beyond float16 range stays float32 with its reader, and the report says so', async () => {
    const model = makeModel({
      graph: makeGraph({
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['h'], [], { name: 'fc' }),
          makeNode('Mul', ['h', 'big'], ['hb'], [], { name: 'scale_up' }),
          makeNode('Div', ['hb', 'big'], ['y'], [], { name: 'scale_down' }),
        ],
        initializers: [makeTensor('w', DataType.FLOAT, [8, 4], gaussian(rng, 32, 0.3)), makeTensor('big', DataType.FLOAT, [], [1e6])],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2, 8])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2, 4])],
      }),
    });
    const { model: out, report } = compressModel(model, FP16);
    expect(report.fp16Compute?.overflow).toEqual([{ name: 'big', count: 1, maxAbs: 1e6 }]);
    expect(report.fp16Compute?.kept.map((k) => k.node).sort()).toEqual(['scale_down', 'scale_up']);
    expect(report.fp16Compute?.kept[0].reason).toMatch(/reads big, which has values beyond float16's range/);
    expect(report.notes.join('\n')).toMatch(/beyond float16's range, kept float32 with their readers: big \(1 value, max \|v\| 1000000\)/);
    expect(report.layers[0].compute).toEqual({ type: 'fp16' });
    expect(out.graph?.initializers.find((t) => t.name === 'big')?.dataType).toBe(DataType.FLOAT);
    // without the guard, 1e6 would be inf in float16 and y would be nan
    const feeds = [{ x: x() }];
    const [got] = await run(encodeModel(out), feeds);
    expect(got.y.every(Number.isFinite)).toBe(true);
    expect(await worstCosine(encodeModel(model), encodeModel(out), feeds)).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
  });

  it('shape computations and Resize scales stay float32; a graph output read by another node keeps its name and type', async () => {
    // y = Resize(conv(x), scales = [1, 1, s, s]) with s computed from Shape in float; z = Relu(y) also an output
    const model = makeModel({
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('Conv', ['x', 'k'], ['c'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv' }),
          makeNode('Shape', ['c'], ['c_shape'], [], { name: 'shape' }),
          makeNode('Gather', ['c_shape', 'i3'], ['w_dim'], [attr.int('axis', 0)], { name: 'width' }),
          makeNode('Cast', ['w_dim'], ['w_f'], [attr.int('to', DataType.FLOAT)], { name: 'width_float' }),
          makeNode('Div', ['target_w', 'w_f'], ['s'], [], { name: 'ratio' }),
          makeNode('Concat', ['ones', 's', 's'], ['scales'], [attr.int('axis', 0)], { name: 'scales' }),
          makeNode('Resize', ['c', '', 'scales'], ['y'], [attr.string('mode', 'nearest')], { name: 'resize' }),
          makeNode('Relu', ['y'], ['z'], [], { name: 'relu' }),
        ],
        initializers: [
          makeTensor('k', DataType.FLOAT, [3, 2, 3, 3], gaussian(rng, 54, 0.3)),
          makeTensor('i3', DataType.INT64, [1], [3]),
          makeTensor('target_w', DataType.FLOAT, [1], [9]),
          makeTensor('ones', DataType.FLOAT, [2], [1, 1]),
        ],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 2, 3, 3])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [1, 3, 9, 9]), makeValueInfo('z', DataType.FLOAT, [1, 3, 9, 9])],
      }),
    });
    const { model: out, report } = compressModel(model, FP16);
    const kept = Object.fromEntries((report.fp16Compute?.kept ?? []).map((k) => [k.node, k.reason]));
    expect(Object.keys(kept).sort()).toEqual(['ratio', 'resize', 'scales', 'width_float']);
    expect(kept.resize).toMatch(/onnxruntime's own float16 converter/);
    expect(kept.ratio).toMatch(/computes shapes or scales/);
    expect(report.layers[0].compute).toEqual({ type: 'fp16' });
    expect(signature(out)).toBe(signature(model));
    const feeds = [{ x: new ort.Tensor('float32', gaussian(rng, 18, 1), [1, 2, 3, 3]) }];
    const [a] = await run(encodeModel(model), feeds);
    const [b] = await run(encodeModel(out), feeds);
    expect(b.y.length).toBe(a.y.length);
    expect(cosine(a.y, b.y)).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
    expect(cosine(a.z, b.z)).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
  });

  it('Split stays float32 (onnxruntime-web places a float16 Split on the CPU); the MatMuls around it go float16', async () => {
    // a fused QKV projection split in three, as transformer exports do
    const model = makeModel({
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['qkv'], [], { name: 'qkv' }),
          makeNode('Split', ['qkv', 'sizes'], ['q', 'k', 'v'], [attr.int('axis', -1)], { name: 'split' }),
          makeNode('Mul', ['q', 'k'], ['qk'], [], { name: 'qk' }),
          makeNode('Add', ['qk', 'v'], ['h'], [], { name: 'mix' }),
          makeNode('MatMul', ['h', 'w2'], ['y'], [], { name: 'out' }),
        ],
        initializers: [makeTensor('w', DataType.FLOAT, [8, 12], gaussian(rng, 96, 0.3)), makeTensor('sizes', DataType.INT64, [3], [4, 4, 4]), makeTensor('w2', DataType.FLOAT, [4, 4], gaussian(rng, 16, 0.3))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2, 8])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2, 4])],
      }),
    });
    const { model: out, report } = compressModel(model, FP16);
    expect(report.fp16Compute?.kept).toEqual([{ node: 'split', op: 'Split', reason: "onnxruntime-web's WebGPU kernel takes float32 only" }]);
    expect(report.layers.map((r) => r.compute)).toEqual([{ type: 'fp16' }, { type: 'fp16' }]);
    const nodes = out.graph?.nodes ?? [];
    const splitIn = nodes.find((n) => n.name === 'split')?.inputs[0];
    expect(nodes.find((n) => n.outputs.includes(splitIn ?? ''))?.opType).toBe('Cast');
    const feeds = [{ x: x() }];
    expect(await worstCosine(encodeModel(model), encodeModel(out), feeds)).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
  });

  it('a layer asking for int8 keeps float32 compute (with its decode chain); the others go float16', async () => {
    const fx = mlpFixture();
    const recipe = makeRecipe('webgpu', { weights: 'fp16' }, { fc1: { weights: 'int8', granularity: 'per-channel' } });
    const { model, report } = compressModel(fx.model, recipe);
    const byKey = Object.fromEntries(report.layers.map((r) => [r.key, r]));
    expect(byKey.fc1.compute).toEqual({ type: 'fp32', reason: 'the recipe asks for int8 weights here' });
    expect(byKey.fc1.applied).toBe('int8-dequantize-linear');
    expect(byKey.fc0.compute).toEqual({ type: 'fp16' });
    expect(byKey.fc2.compute).toEqual({ type: 'fp16' });
    expect(report.fp16Compute?.kept.some((k) => k.op === 'DequantizeLinear')).toBe(true);
    const feeds = fixtureFeeds(fx);
    expect(await worstCosine(encodeModel(fx.model), encodeModel(model), feeds)).toBeGreaterThanOrEqual(FP16_COMPUTE_COSINE);
  });

  it('portable and wasm targets keep float32 compute; webgpu fp16 on a few layers only says why compute stays float32', () => {
    const fx = mlpFixture();
    for (const target of ['portable', 'wasm'] as const) {
      const { report } = compressModel(fx.model, makeRecipe(target, { weights: 'fp16' }));
      expect(report.fp16Compute).toBeUndefined();
      expect(report.layers.every((r) => r.weights.every((w) => w.encoding === 'fp16-cast'))).toBe(true);
      expect(usesFloat16Compute(compressModel(fx.model, makeRecipe(target, { weights: 'fp16' })).model)).toBe(false);
    }
    expect(usesFloat16Compute(fx.model)).toBe(false);
    expect(usesFloat16Compute(compressModel(fx.model, FP16).model)).toBe(true);
    const { report } = compressModel(fx.model, makeRecipe('webgpu', {}, { fc0: { weights: 'fp16' } }));
    expect(report.fp16Compute).toBeUndefined();
    expect(report.notes.join('\n')).toMatch(/float16 compute applies when the recipe's default weights are fp16/);
  });
});
