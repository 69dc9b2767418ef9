import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { encodeModel } from '../../onnx/codec';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import { bnNet } from '../testing/bn-net';
import { gaussian } from '../testing/fixtures';
import { batchNormMeans, dataFreeRecovery, reluMean } from './bn-stats';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();

describe('reluMean', () => {
  it('is E[max(0, y)] for y ~ N(mu, sigma²) (numerical integration)', () => {
    for (const [mu, sigma] of [
      [0, 1],
      [1.5, 0.5],
      [-2, 1],
      [0.3, 3],
    ]) {
      let s = 0;
      const step = sigma / 2000;
      for (let y = 0; y < mu + 12 * sigma; y += step) s += y * Math.exp(-0.5 * ((y - mu) / sigma) ** 2) * step;
      expect(reluMean(mu, sigma)).toBeCloseTo(s / (sigma * Math.sqrt(2 * Math.PI)), 5);
    }
    expect(reluMean(2, 0)).toBe(2);
    expect(reluMean(-2, 0)).toBe(0);
  });
});

const recipe: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int4', granularity: 'per-channel' }, layers: { conv2: { recovery: 'bias' } } };

/** The largest per-channel mean output error against the original, over samples and positions. */
async function meanError(original: Uint8Array, compressed: Uint8Array, xs: Sample[]): Promise<number> {
  const sums = new Float64Array(6);
  let count = 0;
  for (const x of xs) {
    const [a, b] = [(await run(original, x)).y.data as Float32Array, (await run(compressed, x)).y.data as Float32Array];
    for (let i = 0; i < a.length; i++) sums[Math.floor(i / 100)] += b[i] - a[i];
    count += 100;
  }
  return Math.max(...Array.from(sums, (s) => Math.abs(s / count)));
}

describe('data-free bias correction from BatchNorm statistics', () => {
  const rng = seeded(5);
  const xs: Sample[] = Array.from({ length: 24 }, () => ({ x: { dtype: 'float32', dims: [1, 4, 12, 12], data: gaussian(rng, 4 * 144, 1) } }));

  for (const activation of ['Relu', 'Clip', 'none'] as const) {
    it(`${activation}: the layer's mean output error on real inputs drops without any samples given`, async () => {
      const model = bnNet(activation);
      const original = encodeModel(model);
      const free = dataFreeRecovery(model, recoveryLayers(model, recipe));
      expect(free.needsSamples).toBe(false);
      expect([...free.means.keys()]).toEqual(['conv2']);
      expect(free.note).toBe('recovery bias without samples: 1 of 1 layer corrected from the BatchNorm statistics before it (data-free)');
      const rtn = encodeModel(compressModel(model, { ...recipe, layers: {} }).model);
      const corrected = encodeModel(compressModel(model, recipe, { recovery: free.means }).model);
      const [eRtn, eFree] = [await meanError(original, rtn, xs), await meanError(original, corrected, xs)];
      console.log(`BatchNorm → ${activation} → int4 Conv: largest per-channel mean output error RTN ${eRtn.toExponential(2)}, data-free bias correction ${eFree.toExponential(2)}`);
      expect(eFree).toBeLessThan(0.35 * eRtn);
    });
  }

  it('a layer whose BatchNorm was folded away keeps round to nearest, and the note says why; gptq still needs samples', () => {
    const model = bnNet('Relu', true);
    const free = dataFreeRecovery(model, recoveryLayers(model, recipe));
    expect(free.means.size).toBe(0);
    expect(free.note).toMatch(/0 of 1 layer corrected .*; 1 reads no BatchNorm output \(none before it, or one folded into the Conv before it, as most exports do\): round to nearest kept/);
    const gptq = dataFreeRecovery(model, recoveryLayers(model, { ...recipe, layers: { conv2: { recovery: 'gptq' } } }));
    expect(gptq.needsSamples).toBe(true);
    expect(batchNormMeans(bnNet('Relu'), recoveryLayers(bnNet('Relu'), recipe)).means.get('conv2')?.mean[0].length).toBe(72);
  });
});
