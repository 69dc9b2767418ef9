/**
 * Einsum weights (a linear layer written as `torch.einsum`): the equation says which of the
 * weight's axes is its output channel and which it sums over, so per-channel scales and blocks
 * work as for MatMul. Checked in onnxruntime-node against the original's outputs.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { findLayers } from '../onnx/layers';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model } from '../onnx/types';
import type { Sample } from './activations/calibrate';
import { compressModel } from './compress';
import { collectHessians, unrecoverableReason } from './recovery/hessian';
import { recoveryLayers } from './recovery/plan';
import { makeRecipe } from './recipe';
import { nodeRunModel } from './recovery/testing/node-run';
import { einsumAxes } from './weights';

const run = nodeRunModel();

describe('einsumAxes', () => {
  it("the weight's output channel is the letter it shares only with the output, its blocks run along the one it shares only with the other operand", () => {
    expect(einsumAxes('bti,oi->bto', 1, 2)).toEqual({ channelAxis: 0, blockAxis: 1 });
    expect(einsumAxes('bct,oc->bto', 1, 2)).toEqual({ channelAxis: 0, blockAxis: 1 });
    expect(einsumAxes('io,bti->bto', 0, 2)).toEqual({ channelAxis: 1, blockAxis: 0 });
    expect(einsumAxes('...i, io -> ...o', 1, 2)).toEqual({ channelAxis: 1, blockAxis: 0 });
    // implicit output (letters that appear once, alphabetical): "bto"
    expect(einsumAxes('bti,oi', 1, 2)).toEqual({ channelAxis: 0, blockAxis: 1 });
    // two summed letters: per-channel only; two output letters: blocks only
    expect(einsumAxes('bthd,hdo->bto', 1, 3)).toEqual({ channelAxis: 2 });
    expect(einsumAxes('bti,ihd->bthd', 1, 3)).toEqual({ blockAxis: 0 });
    // none: a repeated letter, an ellipsis in the weight, three operands, the wrong rank
    expect(einsumAxes('bti,ii->bti', 1, 2)).toEqual({});
    expect(einsumAxes('bti,...i->bt', 1, 2)).toEqual({});
    expect(einsumAxes('bi,io,oj->bj', 1, 2)).toEqual({});
    expect(einsumAxes('bti,oi->bto', 1, 3)).toEqual({});
  });

  for (const [granularity, weights] of [['per-channel', 'int8'], ['block', 'int4']] as const) {
    it(`an Einsum linear layer compresses ${weights} ${granularity}, its output close to the original`, async () => {
      const rng = seeded(2);
      const [B, TT, I, O] = [2, 5, 32, 12];
      const w = Float32Array.from({ length: O * I }, () => rng() * 2 - 1);
      const model: Model = makeModel({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: makeGraph({
          nodes: [makeNode('Einsum', ['x', 'w'], ['y'], [attr.string('equation', 'bti,oi->bto')], { name: 'lin' })],
          initializers: [makeTensor('w', DataType.FLOAT, [O, I], w)],
          inputs: [makeValueInfo('x', DataType.FLOAT, [B, TT, I])],
          outputs: [makeValueInfo('y', DataType.FLOAT, [B, TT, O])],
        }),
      });
      const r = compressModel(model, makeRecipe('portable', { weights, granularity, blockSize: 16 }));
      const row = r.report.layers[0];
      expect(row.error).toBeUndefined();
      expect(row.bytesAfter).toBeLessThan(row.bytesBefore / (weights === 'int8' ? 3 : 4));
      const x = { dtype: 'float32' as const, dims: [B, TT, I], data: Float32Array.from({ length: B * TT * I }, () => rng() * 2 - 1) };
      const [a, b] = [(await run(encodeModel(model), { x })).y.data as Float32Array, (await run(encodeModel(r.model), { x })).y.data as Float32Array];
      let [dot, na, nb] = [0, 0, 0];
      for (let i = 0; i < a.length; i++) [dot, na, nb] = [dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(weights === 'int8' ? 0.9999 : 0.99);
    });
  }
});

describe('Einsum recovery: a linear Einsum solved by GPTQ like the MatMul it is', () => {
  const [B, TT, I, O] = [2, 6, 24, 12];
  // X's summed letter last (plain rows), second last (swapped), first (a permutation); the weight first or second
  const cases = [
    { eq: 'bti,oi->bto', x: [B, TT, I], w: [O, I], wIndex: 1 },
    { eq: 'bct,oc->bto', x: [B, I, TT], w: [O, I], wIndex: 1 },
    { eq: 'cbt,co->bto', x: [I, B, TT], w: [I, O], wIndex: 1 },
    { eq: 'oi,bti->bto', x: [B, TT, I], w: [O, I], wIndex: 0 },
  ];
  for (const c of cases) {
    it(`${c.eq}: H is the sum over X's rows (the summed letter's vectors) of x·xᵀ; gptq closer than round to nearest`, async () => {
      const rng = seeded(5);
      const wv = Float32Array.from({ length: O * I }, () => rng() * 2 - 1);
      const inputs = c.wIndex === 1 ? ['x', 'w'] : ['w', 'x'];
      const model: Model = makeModel({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: makeGraph({
          nodes: [makeNode('Einsum', inputs, ['y'], [attr.string('equation', c.eq)], { name: 'lin' })],
          initializers: [makeTensor('w', DataType.FLOAT, c.w, wv)],
          inputs: [makeValueInfo('x', DataType.FLOAT, c.x)],
          outputs: [makeValueInfo('y', DataType.FLOAT, [B, TT, O])],
        }),
      });
      // rows of low rank plus noise along the summed letter's axis
      const axis = c.eq.split(',')[1 - c.wIndex].indexOf(c.wIndex === 1 ? c.eq.split(',')[1][c.w[0] === O ? 1 : 0] : 'i');
      const strides = c.x.map((_, k) => c.x.slice(k + 1).reduce((p, d) => p * d, 1));
      const basis = [0, 1, 2].map((k) => Float32Array.from({ length: I }, (_, i) => Math.sin(i * (k + 1) * 0.37 + k)));
      const make = (n: number, seed: number): Sample[] => {
        const r = seeded(seed);
        return Array.from({ length: n }, () => {
          const data = new Float32Array(B * TT * I);
          const rows = (B * TT * I) / I;
          for (let q = 0; q < rows; q++) {
            // q-th combination of the other axes
            const others = c.x.map((_, k) => k).filter((k) => k !== axis);
            let rest = q;
            let base = 0;
            for (let k = others.length - 1; k >= 0; k--) {
              base += (rest % c.x[others[k]]) * strides[others[k]];
              rest = Math.floor(rest / c.x[others[k]]);
            }
            const coef = basis.map(() => r() * 2 - 1);
            for (let i = 0; i < I; i++) data[base + i * strides[axis]] = 0.2 + basis.reduce((s, b, k) => s + coef[k] * b[i], 0) + 0.02 * (r() * 2 - 1);
          }
          return { x: { dtype: 'float32', dims: c.x, data } };
        });
      };
      const cal = make(8, 1);
      const recipe = (recovery: 'none' | 'gptq') => makeRecipe('portable', { weights: 'int4', granularity: 'block', blockSize: 8, recovery });
      const got = (await collectHessians(model, recoveryLayers(model, recipe('gptq')), cal, run)).get('lin');
      expect([got?.rows, got?.cols]).toEqual([8 * B * TT, I]);
      const h = new Float64Array(I * I);
      for (const s of cal) {
        const x = s.x.data as Float32Array;
        for (let q = 0; q < x.length; q++) {
          // each element's row: its position with the summed axis set to 0
          const idx = Math.floor(q / strides[axis]) % c.x[axis];
          if (idx !== 0) continue;
          for (let i = 0; i < I; i++) for (let j = 0; j < I; j++) h[i * I + j] += x[q + i * strides[axis]] * x[q + j * strides[axis]];
        }
      }
      const scale = Math.max(...h.map(Math.abs));
      expect(Math.max(...h.map((v, i) => Math.abs(v - got!.h[0][i]))) / scale).toBeLessThan(1e-6);
      const gptq = compressModel(model, recipe('gptq'), { recovery: new Map([['lin', got!]]) });
      const rtn = compressModel(model, recipe('none'));
      let [eg, er] = [0, 0];
      for (const s of make(4, 2)) {
        const [p, q, r] = [(await run(encodeModel(model), s)).y.data as Float32Array, (await run(encodeModel(gptq.model), s)).y.data as Float32Array, (await run(encodeModel(rtn.model), s)).y.data as Float32Array];
        for (let i = 0; i < p.length; i++) [eg, er] = [eg + (p[i] - q[i]) ** 2, er + (p[i] - r[i]) ** 2];
      }
      expect(eg).toBeLessThan(er * 0.7);
    });
  }
});

describe('Einsum recovery in a subgraph', () => {
  it("a permuted input (its summed letter neither last nor second last) in an If branch is left to round to nearest, and says why", () => {
    const w = makeTensor('w', DataType.FLOAT, [8, 4], Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)));
    const branch = (name: string, eq: string) =>
      makeGraph({ name, nodes: [makeNode('Einsum', ['x', 'w'], [`${name}_y`], [attr.string('equation', eq)], { name: `${name}_lin` })], outputs: [makeValueInfo(`${name}_y`, DataType.FLOAT)] });
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('ReduceSum', ['x'], ['s'], [attr.int('keepdims', 0)], { name: 'sum' }),
          makeNode('Greater', ['s', 'zero'], ['c'], [], { name: 'positive' }),
          makeNode('If', ['c'], ['y'], [attr.graph('then_branch', branch('then', 'cbt,co->bto')), attr.graph('else_branch', branch('else', 'btc,co->bto'))], { name: 'branch' }),
        ],
        initializers: [w, makeTensor('zero', DataType.FLOAT, [], Float32Array.of(0))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [8, 2, 3])],
        outputs: [makeValueInfo('y', DataType.FLOAT)],
      }),
    });
    const layers = findLayers(model);
    const why = Object.fromEntries(layers.map((l) => [l.key, unrecoverableReason(l)]));
    expect(why.then_lin).toBe("an Einsum in a subgraph is recovered where its input's summed letter is last or second last");
    expect(why.else_lin).toBeUndefined();
    expect(recoveryLayers(model, makeRecipe('portable', { weights: 'int8', recovery: 'gptq' })).map((l) => l.layer.key)).toEqual(['else_lin']);
  });
});
