/**
 * Output variance re-estimation (variance.ts): a channel scaled by it has, on the calibration
 * inputs, exactly the original channel's output variance and mean; a channel is scaled only where
 * that lowers its output error; compressModel writes it for one-pass gptq after magnitude pruning,
 * checked in onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { makeNode } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import { layerModel } from '../../testing/layer-models';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import type { WeightMatrix } from './gptq';
import { collectHessians, type LayerHessian } from './hessian';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';
import { matchVariance } from './variance';

const run = nodeRunModel();

/** Rows of x (n × k) with correlated columns and a nonzero mean; their statistics as a LayerHessian. */
function data(n: number, k: number, seed: number): { x: Float64Array[]; hessian: LayerHessian } {
  const rng = seeded(seed);
  const x = Array.from({ length: n }, () => {
    const f = rng() * 2 - 1;
    return Float64Array.from({ length: k }, (_, j) => 0.5 + f * Math.sin(j + 1) + 0.3 * (rng() * 2 - 1));
  });
  const h = new Float64Array(k * k);
  const mean = new Float64Array(k);
  for (const r of x)
    for (let i = 0; i < k; i++) {
      mean[i] += r[i] / n;
      for (let j = 0; j < k; j++) h[i * k + j] += r[i] * r[j];
    }
  return { x, hessian: { key: 'l', op: 'Gemm', cols: k, h: [h], mean: [mean], rows: n } };
}

const meanVar = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean: m, variance: v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length };
};

describe('output variance re-estimation', () => {
  it("a scaled channel's output has the original's variance and mean on the calibration inputs, and a lower error", () => {
    const k = 12;
    const rows = 3;
    const { x, hessian } = data(200, k, 4);
    const rng = seeded(9);
    const target = Float32Array.from({ length: rows * k }, () => rng() * 2 - 1);
    // pruned: half of each row zeroed (variance shrinks); row 2 keeps everything but is scaled by 2 (variance grows)
    const written = Float32Array.from(target, (v, e) => (Math.floor(e / k) === 2 ? 2 * v : e % k < k / 2 ? 0 : v));
    const m: WeightMatrix = { rows, cols: k, at: (r, c) => r * k + c };
    const v = matchVariance(target, (e) => written[e], m, hessian)!;
    expect(v).toBeDefined();
    // row 2: a pure scale, undone exactly
    expect(v.scale[2]).toBeCloseTo(0.5, 10);
    expect(v.changed).toBeGreaterThan(0);
    for (let r = 0; r < rows; r++) {
      if (v.scale[r] === 1) continue;
      const orig = meanVar(x.map((row) => row.reduce((s, xi, c) => s + target[r * k + c] * xi, 0)));
      const got = meanVar(x.map((row) => v.scale[r] * row.reduce((s, xi, c) => s + written[r * k + c] * xi, 0) + v.delta[r]));
      expect(got.variance / orig.variance).toBeCloseTo(1, 9);
      expect(got.mean - orig.mean).toBeCloseTo(0, 9);
    }
    expect(v.errorAfter).toBeLessThan(v.errorBefore);
    // an unchanged channel's delta is the bias correction (a − b)·μ
    const same = matchVariance(target, (e) => target[e], m, hessian)!;
    expect(same.changed).toBe(0);
    for (let r = 0; r < rows; r++) expect(same.delta[r]).toBeCloseTo(0, 12);
  });

  it('a channel whose scaling would raise its error keeps its weights', () => {
    const k = 8;
    const { hessian } = data(100, k, 2);
    const target = Float32Array.from({ length: k }, (_, c) => Math.cos(c));
    // written: −½ the original (its output anti-correlated, a quarter of the variance): scaling it by 2
    // to the original's variance doubles the error it has (4·var against 2.25·var)
    const written = Float32Array.from(target, (w) => -0.5 * w);
    const v = matchVariance(target, (e) => written[e], { rows: 1, cols: k, at: (_, c) => c }, hessian)!;
    expect(v.scale[0]).toBe(1);
    expect(v.errorAfter).toBe(v.errorBefore);
    // with the teacher's inputs (no H of the original's inputs) it does not run
    expect(matchVariance(target, (e) => written[e], { rows: 1, cols: k, at: (_, c) => c }, { ...hessian, cross: [new Float64Array(k * k)] })).toBeUndefined();
  });

  it('compressModel: one-pass gptq after 50% magnitude pruning writes it (the row says so), closer to the original on held-out samples; varianceMatch false leaves it out', async () => {
    const K = 24;
    const N = 8;
    const rng = seeded(11);
    const w = Float32Array.from({ length: N * K }, () => rng() * 2 - 1);
    const b = Float32Array.from({ length: N }, () => rng() - 0.5);
    const model: Model = layerModel(
      [makeNode('Gemm', ['x', 'W', 'B'], ['y'], [{ name: 'transB', type: 2, i: 1, floats: [], ints: [], strings: [], tensors: [], graphs: [] } as never], { name: 'fc' })],
      [makeTensor('W', DataType.FLOAT, [N, K], w), makeTensor('B', DataType.FLOAT, [N], b)],
      [['x', [1, K]]],
      [['y', [1, N]]],
    );
    const samples = (n: number, seed: number): Sample[] => {
      const r = seeded(seed);
      return Array.from({ length: n }, () => {
        const f = [r() * 2 - 1, r() * 2 - 1];
        return { x: { dtype: 'float32', dims: [1, K], data: Float32Array.from({ length: K }, (_, j) => 0.3 + f[0] * Math.sin(j) + f[1] * Math.cos(2 * j) + 0.2 * (r() * 2 - 1)) } };
      });
    };
    const recipe: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'magnitude', recovery: 'gptq' }, layers: {} };
    const hessians = await collectHessians(model, recoveryLayers(model, recipe), samples(16, 1), run);
    const on = compressModel(model, recipe, { recovery: hessians });
    const off = compressModel(model, recipe, { recovery: hessians, varianceMatch: false });
    expect(on.report.layers[0].notes.join(' ')).toMatch(/output variance re-estimated: [1-9]\d* of 8 channels scaled/);
    expect(off.report.layers[0].notes.join(' ')).not.toMatch(/variance/);
    const err = async (m: Model) => {
      const [a, c] = [encodeModel(model), encodeModel(m)];
      let e = 0;
      for (const s of samples(32, 2)) {
        const [y0, y] = [(await run(a, s)).y.data as Float32Array, (await run(c, s)).y.data as Float32Array];
        for (let i = 0; i < N; i++) e += (y[i] - y0[i]) ** 2;
      }
      return e;
    };
    const [eOn, eOff] = [await err(on.model), await err(off.model)];
    console.log(`variance re-estimation, 50% pruned Gemm 24 -> 8, 16 calibration rows: held-out squared error ${eOff.toExponential(3)} -> ${eOn.toExponential(3)}`);
    expect(eOn).toBeLessThan(eOff);
    // int8: per-channel scales belong to one channel each and take the factor; a per-tensor scale cannot
    const q = (granularity: 'per-channel' | 'per-tensor'): Recipe => ({ ...recipe, defaults: { ...recipe.defaults, weights: 'int8', granularity } });
    const perChannel = compressModel(model, q('per-channel'), { recovery: hessians });
    expect(perChannel.report.layers[0].notes.join(' ')).toMatch(/output variance re-estimated: [1-9]\d* of 8 channels scaled/);
    const perChannelOff = compressModel(model, q('per-channel'), { recovery: hessians, varianceMatch: false });
    expect(encodeModel(perChannel.model).length).toBe(encodeModel(perChannelOff.model).length);
    expect(await err(perChannel.model)).toBeLessThan(await err(perChannelOff.model));
    const perTensor = compressModel(model, q('per-tensor'), { recovery: hessians });
    expect(perTensor.report.layers[0].notes.join(' ')).toMatch(/output variance not re-estimated: every channel shares its scale/);
  });
});
