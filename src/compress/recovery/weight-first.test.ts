/**
 * A MatMul whose weight is its first input (Y = W·X, a 1x1 convolution written as a product, as
 * `torch.matmul(self.weight, x)` exports): recovery solves W [out, in] on X's columns (X [..., in,
 * T]: its last two axes swapped, every column a row). Checked in onnxruntime-node against a direct
 * XᵀX and the original's outputs.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { findLayers } from '../../onnx/layers';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import { makeRecipe } from '../recipe';
import { collectHessians, recoveredInput, unrecoverableReason, weightMatrix } from './hessian';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();
const [C, O, O2, T] = [24, 16, 8, 10];

const gaussian = (rng: () => number, n: number, s: number) =>
  Float32Array.from({ length: n }, () => s * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()));

/** x `dims` ([..., C, T]) → MatMul(W1 [O, C], x) → Relu → MatMul(W2 [O2, O], ·) → y. */
function model(dims: number[]): Model {
  const rng = seeded(3);
  const out = [...dims.slice(0, -2), O2, T];
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      nodes: [
        makeNode('MatMul', ['W1', 'x'], ['a'], [], { name: 'w1' }),
        makeNode('Relu', ['a'], ['r'], [], { name: 'relu' }),
        makeNode('MatMul', ['W2', 'r'], ['y'], [], { name: 'w2' }),
      ],
      initializers: [makeTensor('W1', DataType.FLOAT, [O, C], gaussian(rng, O * C, 1 / Math.sqrt(C))), makeTensor('W2', DataType.FLOAT, [O2, O], gaussian(rng, O2 * O, 1 / Math.sqrt(O)))],
      inputs: [makeValueInfo('x', DataType.FLOAT, dims)],
      outputs: [makeValueInfo('y', DataType.FLOAT, out)],
    }),
  });
}

/** Columns of low rank plus a little noise, with a mean away from 0. */
function samples(dims: number[], n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const basis = [0, 1, 2].map((k) => Float32Array.from({ length: C }, (_, i) => Math.sin((i * (k + 1) * 0.41) / 2 + k)));
  const size = dims.reduce((p, d) => p * d, 1);
  return Array.from({ length: n }, () => {
    const data = new Float32Array(size);
    for (let b = 0; b < size / (C * T); b++)
      for (let t = 0; t < T; t++) {
        const coef = basis.map(() => rng() * 2 - 1);
        for (let c = 0; c < C; c++) data[(b * C + c) * T + t] = 0.3 + basis.reduce((s, v, k) => s + coef[k] * v[c], 0) + 0.02 * (rng() * 2 - 1);
      }
    return { x: { dtype: 'float32', dims, data } };
  });
}

const recipe = (recovery: 'none' | 'gptq') => makeRecipe('portable', { weights: 'int4', granularity: 'block', blockSize: 8, recovery });

describe('a MatMul with its weight first (W·X)', () => {
  for (const dims of [[2, C, T], [C, T]]) {
    it(`X [${dims.join(', ')}]: H is the sum over X's columns of x·xᵀ; W [out, in] is rows already`, async () => {
      const m = model(dims);
      const layer = findLayers(m).find((l) => l.key === 'w1')!;
      expect(recoveredInput(layer)).toBe(0);
      expect(unrecoverableReason(layer)).toBeUndefined();
      expect(weightMatrix(layer, [O, C])).toMatchObject({ rows: O, cols: C, strides: [C, 1] });
      const cal = samples(dims, 3, 1);
      const got = (await collectHessians(m, recoveryLayers(m, recipe('gptq')), cal, run)).get('w1');
      const columns = (dims.length === 3 ? dims[0] : 1) * T;
      expect([got?.rows, got?.cols]).toEqual([3 * columns, C]);
      const h = new Float64Array(C * C);
      for (const s of cal) {
        const x = s.x.data as Float32Array;
        for (let b = 0; b < columns / T; b++)
          for (let t = 0; t < T; t++)
            for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) h[i * C + j] += x[(b * C + i) * T + t] * x[(b * C + j) * T + t];
      }
      const scale = Math.max(...h.map(Math.abs));
      expect(Math.max(...h.map((v, i) => Math.abs(v - got!.h[0][i]))) / scale).toBeLessThan(1e-6);
    });
  }

  it('int4 block: gptq closer to the original than round to nearest on held-out inputs, both layers solved, the same bytes', async () => {
    const dims = [2, C, T];
    const m = model(dims);
    const hessians = await collectHessians(m, recoveryLayers(m, recipe('gptq')), samples(dims, 16, 2), run);
    expect([...hessians.keys()].sort()).toEqual(['w1', 'w2']);
    const gptq = compressModel(m, recipe('gptq'), { recovery: hessians });
    const rtn = compressModel(m, recipe('none'));
    expect(gptq.report.bytesAfter).toBe(rtn.report.bytesAfter);
    const held = samples(dims, 6, 3);
    const err = async (c: Model) => {
      let e = 0;
      for (const s of held) {
        const [p, q] = [(await run(encodeModel(m), s)).y.data as Float32Array, (await run(encodeModel(c), s)).y.data as Float32Array];
        for (let i = 0; i < p.length; i++) e += (p[i] - q[i]) ** 2;
      }
      return e;
    };
    const [eg, er] = [await err(gptq.model), await err(rtn.model)];
    console.log(`W·X int4 block8, held-out squared error: gptq ${eg.toExponential(3)}, round to nearest ${er.toExponential(3)}`);
    expect(eg).toBeLessThan(er * 0.5);
  });
});

describe('a Gemm with transA (its input A [K, M] read by its columns)', () => {
  it('H is the sum over A\'s columns of a·aᵀ; gptq closer than round to nearest on held-out inputs', async () => {
    const rng = seeded(8);
    const [K, M, N] = [24, 10, 16];
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [makeNode('Gemm', ['a', 'b'], ['y'], [attr.int('transA', 1), attr.int('transB', 1)], { name: 'gemm' })],
        initializers: [makeTensor('b', DataType.FLOAT, [N, K], gaussian(rng, N * K, 1 / Math.sqrt(K)))],
        inputs: [makeValueInfo('a', DataType.FLOAT, [K, M])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [M, N])],
      }),
    });
    // columns of low rank: the same generator as W·X's (X [C, T] is A [K, M])
    const set = (n: number, seed: number) => samples([C, T], n, seed).map((s) => ({ a: { ...s.x } }));
    const cal = set(12, 4);
    const got = (await collectHessians(model, recoveryLayers(model, recipe('gptq')), cal, run)).get('gemm');
    expect([got?.rows, got?.cols]).toEqual([12 * M, K]);
    const h = new Float64Array(K * K);
    for (const s of cal) {
      const a = s.a.data as Float32Array;
      for (let m = 0; m < M; m++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) h[i * K + j] += a[i * M + m] * a[j * M + m];
    }
    const scale = Math.max(...h.map(Math.abs));
    expect(Math.max(...h.map((v, i) => Math.abs(v - got!.h[0][i]))) / scale).toBeLessThan(1e-6);
    const gptq = compressModel(model, recipe('gptq'), { recovery: new Map([['gemm', got!]]) });
    const rtn = compressModel(model, recipe('none'));
    let [eg, er] = [0, 0];
    for (const s of set(6, 5)) {
      const [p, q, r] = [(await run(encodeModel(model), s)).y.data as Float32Array, (await run(encodeModel(gptq.model), s)).y.data as Float32Array, (await run(encodeModel(rtn.model), s)).y.data as Float32Array];
      for (let i = 0; i < p.length; i++) [eg, er] = [eg + (p[i] - q[i]) ** 2, er + (p[i] - r[i]) ** 2];
    }
    expect(eg).toBeLessThan(er);
  });
});
