/**
 * GPTQ's solves kept per layer statistics (step.ts): a search compresses the same layer at the
 * same few settings in many candidates from one H per layer (Explore, `cli autotune --recovery
 * gptq`). A setting solved before, with other settings solved since, gives the same codes again
 * without solving; past SOLVES_PER_LAYER settings the oldest is solved anew. Shown by releasing
 * the statistics' H after the solves (releaseSolved): a setting whose codes are kept still gets
 * its GPTQ result, one not kept says its statistics were released.
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
import { releaseSolved, setSolvedBudget, SOLVED_BUDGET, solveCounts, SOLVES_PER_LAYER } from './step';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();

function samples(dims: number[], n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const size = dims.reduce((p, d) => p * d, 1);
  return Array.from({ length: n }, () => ({ x: { dtype: 'float32', dims, data: Float32Array.from({ length: size }, () => rng() * 2 - 1) } }));
}

/** SOLVES_PER_LAYER + 1 settings that each solve differently; the first two and the last unpruned. */
const SETTINGS: PartialLayerSettings[] = [
  { weights: 'int8' },
  { weights: 'int4' },
  { weights: 'int8', granularity: 'per-tensor' },
  { weights: 'int4', granularity: 'per-tensor' },
  { weights: 'int4', granularity: 'block', blockSize: 8 },
  { weights: 'int4', granularity: 'block', blockSize: 16 },
  ...(['int8', 'int4'] as const).flatMap((weights) => [0.25, 0.5, 0.75].map((prune): PartialLayerSettings => ({ weights, prune, pruneMethod: 'magnitude' }))),
  // (unpruned: a pruning mask is chosen with H's diagonal, which releasing it changes)
  { weights: 'int4', granularity: 'block', blockSize: 32 },
];

describe("GPTQ's kept solves", () => {
  const fixture = mlpFixture(13, [32, 48, 16]);

  async function statistics() {
    const layers = recoveryLayers(fixture.model, makeRecipe('portable', { weights: 'int8', recovery: 'gptq' }));
    return collectHessians(fixture.model, layers, samples(fixture.inputs.x, 24, 3), run);
  }
  const compress = (h: Awaited<ReturnType<typeof statistics>>, s: PartialLayerSettings) => compressModel(fixture.model, makeRecipe('portable', { ...s, recovery: 'gptq' }), { recovery: h });
  const released = (r: ReturnType<typeof compress>) => r.report.layers.filter((l) => l.notes.join(' ').includes('statistics were released')).length;

  it('a setting solved before others gives the same bytes again without solving', async () => {
    const h = await statistics();
    expect(h.size).toBe(2);
    expect(SETTINGS).toHaveLength(SOLVES_PER_LAYER + 1);
    const first = compress(h, SETTINGS[0]);
    const others = SETTINGS.slice(1, SOLVES_PER_LAYER).map((s) => compress(h, s));
    for (const r of [first, ...others]) expect(released(r)).toBe(0);
    for (const stats of h.values()) expect(releaseSolved(stats)).toBe(true);
    // kept: the same codes, the same report (GPTQ's errors), nothing solved (H is gone)
    const again = compress(h, SETTINGS[0]);
    expect(released(again)).toBe(0);
    expect(encodeModel(again.model)).toEqual(encodeModel(first.model));
    const gptq = (r: ReturnType<typeof compress>) => r.report.layers.map((l) => l.weights.find((w) => w.recovery)?.recovery);
    expect(gptq(again)).toEqual(gptq(first));
    expect(gptq(again).every((x) => x?.method === 'gptq' && x.errorAfter < x.errorBefore)).toBe(true);
    // never solved: nothing to reuse, and H is gone
    expect(released(compress(h, SETTINGS[SOLVES_PER_LAYER]))).toBe(2);
  });

  it('pruned float weights repaired at a ratio before: the same bytes again, nothing solved (GPTQ\'s and the repair\'s solves counted)', async () => {
    const h = await statistics();
    const prune = (p: number): PartialLayerSettings => ({ prune: p, pruneMethod: 'magnitude' });
    const c0 = solveCounts();
    const first = compress(h, prune(0.5));
    compress(h, prune(0.25));
    compress(h, SETTINGS[1]);
    const c1 = solveCounts();
    expect(c1.solved - c0.solved).toBe(6);
    expect(c1.reused - c0.reused).toBe(0);
    const again = compress(h, prune(0.5));
    const int4 = compress(h, SETTINGS[1]);
    const c2 = solveCounts();
    expect(c2.solved - c1.solved).toBe(0);
    expect(c2.reused - c1.reused).toBe(4);
    expect(encodeModel(again.model)).toEqual(encodeModel(first.model));
    expect(again.report.layers.map((l) => l.weights.find((w) => w.recovery)?.recovery?.method)).toEqual(['gptq', 'gptq']);
    expect(int4.report.layers.every((l) => l.notes.join(' ').includes('released') === false)).toBe(true);
  });

  it("past the bytes budget the earlier solves go, each layer's latest stays", async () => {
    const h = await statistics();
    setSolvedBudget(1);
    try {
      compress(h, SETTINGS[0]);
      const latest = compress(h, SETTINGS[1]);
      for (const stats of h.values()) releaseSolved(stats);
      expect(released(compress(h, SETTINGS[0]))).toBe(2);
      const again = compress(h, SETTINGS[1]);
      expect(released(again)).toBe(0);
      expect(encodeModel(again.model)).toEqual(encodeModel(latest.model));
    } finally {
      setSolvedBudget(SOLVED_BUDGET);
    }
  });

  it(`past ${SOLVES_PER_LAYER} settings a layer's oldest solve is forgotten`, async () => {
    const h = await statistics();
    for (const s of SETTINGS) compress(h, s);
    for (const stats of h.values()) releaseSolved(stats);
    expect(released(compress(h, SETTINGS[0]))).toBe(2);
    expect(released(compress(h, SETTINGS[1]))).toBe(0);
    expect(released(compress(h, SETTINGS[SETTINGS.length - 1]))).toBe(0);
  });
});
