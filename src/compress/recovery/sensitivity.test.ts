/**
 * GPTQ weighted by a following Log's sensitivity (sensitivity.ts): which chains from a layer's
 * output to a Log count; the per-output-channel H the statistics copy computes in
 * onnxruntime-node equals H_o = Σ_r x_r x_rᵀ / z_{r,o}² written out here; and on a Linear → Add ε
 * → Log model whose outputs span orders of magnitude, the weighted GPTQ gives a lower error after
 * the log than plain GPTQ and than round to nearest (held-out samples, onnxruntime-node).
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor, tensorFloats } from '../../onnx/tensor';
import { DataType, type Model, type Node } from '../../onnx/types';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import { collectHessians, WEIGHTED_MAX_BYTES, type LayerHessian } from './hessian';
import { recoveryLayers } from './plan';
import { collectRecoveryHessians } from './sequential';
import { logInputAfter } from './sensitivity';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();
const K = 48;
const O = 8;
const EPS = 1e-4;

const scalar = (name: string, v: number) => makeTensor(name, DataType.FLOAT, [], Float32Array.of(v));

/** x [rows, K] → MatMul W [K, O] → `chain` → Log → out; W positive (a filterbank). */
function logModel(chain: Node[] = [makeNode('Add', ['y', 'eps'], ['z'], [], { name: 'add' })], extra: Node[] = [], seed = 3): Model {
  const rng = seeded(seed);
  const w = makeTensor('w', DataType.FLOAT, [K, O], Float32Array.from({ length: K * O }, () => 0.05 + rng()));
  const nodes = [makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'layer' }), ...chain, makeNode('Log', ['z'], ['out'], [], { name: 'log' }), ...extra];
  const graph = makeGraph({
    nodes,
    initializers: [w, scalar('eps', EPS), scalar('ten', 10), scalar('lo', 1e-10), makeTensor('shape', DataType.INT64, [2], BigInt64Array.of(-1n, BigInt(O)))],
    inputs: [makeValueInfo('x', DataType.FLOAT, [16, K])],
    outputs: [makeValueInfo('out', DataType.FLOAT), ...extra.map((n) => makeValueInfo(n.outputs[0], DataType.FLOAT))],
  });
  return makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
}

/**
 * Rows like a power spectrum: loud rows (a few strong, correlated bins, 10-1000x) beside quiet
 * ones (a flat noise floor, 1e-3-1e-2): the layer's outputs span six orders of magnitude.
 */
function samples(n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  return Array.from({ length: n }, () => {
    const data = new Float32Array(16 * K);
    for (let r = 0; r < 16; r++) {
      const loud = r % 2 === 0;
      const peak = Math.floor(rng() * K);
      const gain = loud ? 10 ** (1 + 2 * rng()) : 10 ** (-3 + rng());
      for (let c = 0; c < K; c++) data[r * K + c] = gain * (loud ? Math.exp(-(((c - peak) / 3) ** 2)) + 0.01 * rng() : 0.5 + rng());
    }
    return { x: { dtype: 'float32', dims: [16, K], data } };
  });
}

const recipe = (recovery: 'none' | 'gptq'): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: 'int4', granularity: 'per-channel', recovery },
  layers: {},
});

/** Σ (out − out₀)² over the held-out samples (the error after the log). */
async function logError(original: Uint8Array, other: Uint8Array, held: Sample[]): Promise<number> {
  let e = 0;
  for (const s of held) {
    const [a, b] = [(await run(original, s)).out.data as Float32Array, (await run(other, s)).out.data as Float32Array];
    for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  }
  return e;
}

describe('logInputAfter', () => {
  const find = (m: Model) => logInputAfter(m, m.graph!.nodes[0]);
  it('finds the Log through elementwise ops with one-element constants (the mel front end: Clip; a dB scale: Add ε, Mul 10; Reshape, Cast)', () => {
    expect(find(logModel())).toBe('z');
    expect(find(logModel([makeNode('Clip', ['y', 'lo', ''], ['z'], [], { name: 'clip' })]))).toBe('z');
    const chain = [makeNode('Add', ['eps', 'y'], ['a'], [], { name: 'a' }), makeNode('Mul', ['a', 'ten'], ['b'], [], { name: 'b' }), makeNode('Reshape', ['b', 'shape'], ['c'], [], { name: 'c' }), makeNode('Cast', ['c'], ['z'], [attr.int('to', DataType.FLOAT)], { name: 'd' })];
    expect(find(logModel(chain))).toBe('z');
  });
  it('refuses what is not elementwise-affine in the same element order, or is read elsewhere', () => {
    expect(find(logModel([makeNode('Transpose', ['y'], ['z'], [attr.ints('perm', [1, 0])], { name: 't' })]))).toBeUndefined();
    expect(find(logModel([makeNode('Pow', ['y', 'ten'], ['z'], [], { name: 'p' })]))).toBeUndefined();
    expect(find(logModel([makeNode('Div', ['ten', 'y'], ['z'], [], { name: 'd' })]))).toBeUndefined();
    // a tensor (not one-element) constant
    expect(find(logModel([makeNode('Add', ['y', 'w'], ['z'], [], { name: 'a' })]))).toBeUndefined();
    // y also read by another node
    expect(find(logModel(undefined, [makeNode('Relu', ['y'], ['r'], [], { name: 'r' })]))).toBeUndefined();
  });
});

describe('GPTQ weighted by a following Log', () => {
  it("the statistics copy's per-channel H equals Σ_r x_r x_rᵀ / z_{r,o}² computed here (one sample a run and two, 3 samples)", async () => {
    const model = logModel();
    const cal = samples(3, 5);
    const w = tensorFloats(model.graph!.initializers[0]);
    const ref = Array.from({ length: O }, () => new Float64Array(K * K));
    for (const s of cal) {
      const x = s.x.data as Float32Array;
      for (let r = 0; r < 16; r++) {
        for (let o = 0; o < O; o++) {
          let y = 0;
          for (let c = 0; c < K; c++) y += x[r * K + c] * w[c * O + o];
          const s2 = 1 / (y + EPS) ** 2;
          for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) ref[o][i * K + j] += s2 * x[r * K + i] * x[r * K + j];
        }
      }
    }
    for (const copies of [1, 2]) {
      const h = (await collectHessians(model, recoveryLayers(model, recipe('gptq')), cal, run, { copies })).get('layer') as LayerHessian;
      expect(h.weighted).toHaveLength(O);
      for (let o = 0; o < O; o++) {
        const top = Math.max(...ref[o].map(Math.abs));
        for (let i = 0; i < K * K; i++) expect(Math.abs(h.weighted![o][i] - ref[o][i])).toBeLessThan(1e-4 * top);
      }
    }
  });

  it('Linear → Add ε → Log, outputs over six orders of magnitude, int4 per-channel: lower error after the log than plain GPTQ and than round to nearest', async () => {
    const model = logModel();
    const cal = samples(24, 11);
    const held = samples(12, 12);
    const original = encodeModel(model);
    const r = recipe('gptq');
    const hessians = await collectHessians(model, recoveryLayers(model, r), cal, run);
    const h = hessians.get('layer') as LayerHessian;
    expect(h.weighted).toHaveLength(O);
    const weighted = compressModel(model, r, { recovery: hessians });
    expect(weighted.report.layers[0].notes.join(' ')).toMatch(/weighted by the following Log's sensitivity/);
    const plain = compressModel(model, r, { recovery: new Map([['layer', { ...h, weighted: undefined }]]) });
    const rtn = compressModel(model, recipe('none'));
    const [eW, eP, eR] = [await logError(original, encodeModel(weighted.model), held), await logError(original, encodeModel(plain.model), held), await logError(original, encodeModel(rtn.model), held)];
    console.log(`log error: RTN ${eR.toExponential(3)}, plain GPTQ ${eP.toExponential(3)}, weighted GPTQ ${eW.toExponential(3)}`);
    expect(eW).toBeLessThan(eR * 0.8);
    expect(eW).toBeLessThan(eP * 0.8);
  });

  it('a layer whose per-channel H would exceed WEIGHTED_MAX_BYTES keeps the plain H and says so', async () => {
    // 256 output channels × 256² float64 = 128 MiB
    const k = 256;
    const rng = seeded(2);
    const w = makeTensor('w', DataType.FLOAT, [k, k], Float32Array.from({ length: k * k }, () => rng()));
    const graph = makeGraph({
      nodes: [makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'layer' }), makeNode('Add', ['y', 'eps'], ['z'], [], { name: 'add' }), makeNode('Log', ['z'], ['out'], [], { name: 'log' })],
      initializers: [w, scalar('eps', EPS)],
      inputs: [makeValueInfo('x', DataType.FLOAT, [4, k])],
      outputs: [makeValueInfo('out', DataType.FLOAT)],
    });
    const model = makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
    expect(k * k * k * 8).toBeGreaterThan(WEIGHTED_MAX_BYTES);
    const cal: Sample[] = [{ x: { dtype: 'float32', dims: [4, k], data: Float32Array.from({ length: 4 * k }, () => rng()) } }];
    const h = (await collectHessians(model, recoveryLayers(model, recipe('gptq')), cal, run)).get('layer') as LayerHessian;
    expect(h.weighted).toBeUndefined();
    expect(h.h).toHaveLength(1);
    expect(h.weightNote).toMatch(/exceed 64 MiB: plain H/);
  });

  it('sequential: the layer a Log reads, in a later round, aims at its own weights with the per-channel H (no cross term)', async () => {
    const rng = seeded(4);
    const w1 = makeTensor('w1', DataType.FLOAT, [K, K], Float32Array.from({ length: K * K }, () => (rng() < 0.2 ? rng() : 0)));
    const w = makeTensor('w', DataType.FLOAT, [K, O], Float32Array.from({ length: K * O }, () => 0.05 + rng()));
    const graph = makeGraph({
      nodes: [makeNode('MatMul', ['x', 'w1'], ['h'], [], { name: 'first' }), makeNode('MatMul', ['h', 'w'], ['y'], [], { name: 'layer' }), makeNode('Add', ['y', 'eps'], ['z'], [], { name: 'add' }), makeNode('Log', ['z'], ['out'], [], { name: 'log' })],
      initializers: [w1, w, scalar('eps', EPS)],
      inputs: [makeValueInfo('x', DataType.FLOAT, [16, K])],
      outputs: [makeValueInfo('out', DataType.FLOAT)],
    });
    const model = makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
    const r: Recipe = { ...recipe('gptq'), defaults: { ...recipe('gptq').defaults, recovery: 'sequential' } };
    const got = await collectRecoveryHessians(model, undefined, r, samples(6, 8), run, { rounds: 2 });
    expect(got.rounds).toBe(2);
    expect(got.note).toMatch(/1 layer a Log reads: at its own weights, weighted by the Log's sensitivity/);
    const h = got.hessians.get('layer') as LayerHessian;
    expect(h.weighted).toHaveLength(O);
    expect(h.cross).toBeUndefined();
    expect(got.hessians.get('first')?.weighted).toBeUndefined();
  });
});
