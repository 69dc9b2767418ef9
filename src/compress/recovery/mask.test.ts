/**
 * The data-aware pruning mask (recovery with statistics and magnitude pruning, step.ts
 * `pruneImportance`): on a layer whose inputs have very different scales, pruning the smallest
 * |w|·‖x‖ (per output channel) loses less of the outputs than pruning the smallest |w|, at the
 * same count of zeros; compressModel uses it only where the layer has H, and says so.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { makeNode } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { findLayers } from '../../onnx/layers';
import { makeTensor, tensorValues } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import { layerModel } from '../../testing/layer-models';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import { magnitudePrune } from '../prune/prune';
import type { Recipe } from '../recipe';
import { collectHessians } from './hessian';
import { recoveryLayers } from './plan';
import { pruneImportance } from './step';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();
const K = 32;
const N = 16;

/** MatMul(x [1, K], W [K, N]); input column j has scale 10 (j < 8), 1 (j < 16) or 0.05 (the rest). */
const scaleOf = (j: number) => (j < 8 ? 10 : j < 16 ? 1 : 0.05);
function layer(values: Float32Array): Model {
  return layerModel([makeNode('MatMul', ['x', 'W'], ['y'], [], { name: 'mm' })], [makeTensor('W', DataType.FLOAT, [K, N], values)], [['x', [1, K]]], [['y', [1, N]]]);
}
const weights = (() => {
  const rng = seeded(3);
  return Float32Array.from({ length: K * N }, () => rng() * 2 - 1);
})();
function samples(n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  return Array.from({ length: n }, () => ({ x: { dtype: 'float32', dims: [1, K], data: Float32Array.from({ length: K }, (_, j) => scaleOf(j) * (rng() * 2 - 1)) } }));
}

/** Σ‖y − y₀‖² / Σ‖y₀‖² of the model with weights `w` against the original, on `set`. */
async function outputError(w: Float32Array, set: Sample[]): Promise<number> {
  const [a, b] = [encodeModel(layer(weights)), encodeModel(layer(w))];
  let e = 0;
  let n = 0;
  for (const s of set) {
    const [y0, y] = [(await run(a, s)).y.data as Float32Array, (await run(b, s)).y.data as Float32Array];
    for (let i = 0; i < y0.length; i++) {
      e += (y[i] - y0[i]) ** 2;
      n += y0[i] ** 2;
    }
  }
  return e / n;
}

const recipe = (recovery: 'none' | 'gptq'): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'magnitude', recovery },
  layers: {},
});

describe('data-aware pruning mask', () => {
  it('inputs of very different scales: |w|·‖x‖ per channel loses under a tenth of the output error |w| does, same zeros', async () => {
    const model = layer(weights);
    const hessians = await collectHessians(model, recoveryLayers(model, recipe('gptq')), samples(64, 1), run);
    const l = findLayers(model).find((x) => x.key === [...hessians.keys()][0]);
    const importance = pruneImportance(l!, [K, N], hessians.get(l!.key), weights);
    expect(importance).toBeDefined();
    // within a channel (a column of W) the factors are the input columns' norms √H_jj (column 0 of scale 10, column 31 of 0.05)
    const h = hessians.get(l!.key)!.h[0];
    expect(importance![0] / importance![31 * N]).toBeCloseTo(Math.sqrt(h[0] / h[31 * K + 31]), 4);
    expect(importance![0] / importance![31 * N]).toBeGreaterThan(100);
    const magnitude = magnitudePrune(weights, 0.5).values;
    const aware = magnitudePrune(weights, 0.5, importance).values;
    const zeros = (v: Float32Array) => v.filter((x) => x === 0).length;
    expect(zeros(aware)).toBe(K * N / 2);
    expect(zeros(magnitude)).toBe(K * N / 2);
    const held = samples(32, 2);
    const [eMagnitude, eAware] = [await outputError(magnitude, held), await outputError(aware, held)];
    console.log(`mask on inputs of scales 10/1/0.05: held-out relative output error magnitude ${eMagnitude.toExponential(3)}, with the inputs ${eAware.toExponential(3)}`);
    expect(eAware).toBeLessThan(eMagnitude / 10);
  });

  it('compressModel chooses the mask with the inputs only with statistics, and the row says so', async () => {
    const model = layer(weights);
    const r = recipe('gptq');
    const hessians = await collectHessians(model, recoveryLayers(model, r), samples(64, 1), run);
    const plain = compressModel(model, recipe('none'));
    const without = compressModel(model, r);
    // without statistics: magnitude's mask, the same bytes as plain pruning
    expect(Buffer.compare(Buffer.from(encodeModel(without.model)), Buffer.from(encodeModel(plain.model)))).toBe(0);
    const withInputs = compressModel(model, r, { recovery: hessians });
    const row = withInputs.report.layers[0];
    expect(row.notes.join(' ')).toMatch(/pruning mask chosen with the calibration inputs/);
    expect(row.weights[0].pruned).toBe(plain.report.layers[0].weights[0].pruned);
    expect(plain.report.layers[0].notes.join(' ')).not.toMatch(/pruning mask chosen/);
    // the zeros are where the data-aware mask puts them (repair moves only the kept weights)
    const l = findLayers(model)[0];
    const aware = magnitudePrune(weights, 0.5, pruneImportance(l, [K, N], hessians.get(l.key), weights)).values;
    const written = tensorValues(withInputs.model.graph!.initializers.find((t) => t.dims.length === 2)!) as Float32Array;
    for (let i = 0; i < K * N; i++) expect(written[i] === 0, `element ${i}`).toBe(aware[i] === 0);
    // same size as plain pruning
    expect(encodeModel(withInputs.model).length).toBe(encodeModel(plain.model).length);
  });
});
