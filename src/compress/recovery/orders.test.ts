/**
 * GPTQ's column order through the recipe (`actOrder`, `orderSearch`), on a model compressed end to
 * end: both orders give each layer an output error at or below either order's, and the kept solves
 * (step.ts) tell the three apart (a solve in one order is never reused for another).
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { encodeModel } from '../../onnx/codec';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import { makeRecipe, type PartialLayerSettings } from '../recipe';
import { mlpFixture } from '../testing/fixtures';
import { collectHessians } from './hessian';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();

/** Inputs with a few outlier features (where the order matters). */
function samples(dims: number[], n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const size = dims.reduce((p, d) => p * d, 1);
  const cols = dims[dims.length - 1];
  return Array.from({ length: n }, () => ({
    x: { dtype: 'float32', dims, data: Float32Array.from({ length: size }, (_, i) => (rng() * 2 - 1) * ([3, 17, 40].includes(i % cols) ? 8 : 1)) },
  }));
}

describe('GPTQ column order in the recipe', () => {
  const fixture = mlpFixture(13, [48, 64, 16]);

  it('orderSearch: every layer at or below both single orders; each order solved on its own', async () => {
    const stats = () => collectHessians(fixture.model, recoveryLayers(fixture.model, makeRecipe('portable', { weights: 'int4', recovery: 'gptq' })), samples(fixture.inputs.x, 24, 5), run);
    const h = await stats();
    const compress = (s: PartialLayerSettings) => compressModel(fixture.model, makeRecipe('portable', { weights: 'int4', recovery: 'gptq', ...s }), { recovery: h });
    const errors = (r: ReturnType<typeof compress>) => r.report.layers.map((l) => l.weights.find((w) => w.recovery)?.recovery?.errorAfter as number);
    const both = compress({ orderSearch: true });
    const natural = compress({});
    const activation = compress({ actOrder: true });
    // orderSearch overrides actOrder
    expect(encodeModel(compress({ orderSearch: true, actOrder: true }).model)).toEqual(encodeModel(both.model));
    const [eb, en, ea] = [errors(both), errors(natural), errors(activation)];
    expect(eb).toHaveLength(2);
    for (let i = 0; i < eb.length; i++) expect(eb[i]).toBeLessThanOrEqual(Math.min(en[i], ea[i]) * (1 + 1e-9));
    expect(eb.some((e, i) => e < Math.min(en[i], ea[i]))).toBe(true);
    // the same results as on fresh statistics (nothing reused across orders)
    const fresh = await stats();
    for (const s of [{}, { actOrder: true }] as PartialLayerSettings[]) {
      const again = compressModel(fixture.model, makeRecipe('portable', { weights: 'int4', recovery: 'gptq', ...s }), { recovery: fresh });
      expect(encodeModel(again.model)).toEqual(encodeModel((s.actOrder ? activation : natural).model));
    }
  });
});
