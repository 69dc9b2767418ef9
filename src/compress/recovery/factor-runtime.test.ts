/**
 * GPTQ's factor through onnxruntime-node's MatMul (factor-runtime.ts) against the WebAssembly
 * kernel's: L·Lᵀ gives back the reversed damped H to float32 rounding, a matrix that is not
 * positive definite gives none, and GPTQ with the registered factor gets the kernel's codes and
 * errors (to float32 rounding) on a layer of several blocks.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../testing/random';
import type { RunModel } from '../activations/calibrate';
import { quantizeTensor } from '../quantize/quantize';
import { prepareFactors, runtimeFactor } from './factor-runtime';
import { gptqRows, type WeightMatrix } from './gptq';
import { hasPreparedFactor, setPreparedFactor } from './gptq-simd';
import { nodeRunModel } from './testing/node-run';
import { gaussian, reluHessian } from './testing/hessian';

const run = nodeRunModel();

/** The reversed damped H as the factor sees it (float64). */
function reversedDamped(h: Float64Array, n: number, damp: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += h[i * n + i];
  mean /= n;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const v = h[(n - 1 - i) * n + (n - 1 - j)];
      a[i * n + j] = i === j ? (v > 0 ? v : 1) + damp * mean : v;
    }
  return a;
}

describe('GPTQ factor through the runtime', () => {
  it('300 columns (3 blocks, one partial), a dead input: L lower, L·Lᵀ = the reversed damped H to float32 rounding', async () => {
    const n = 300;
    const h = reluHessian(500, n, 3, [7]);
    const l = await runtimeFactor(h, n, 0.01, run);
    expect(l).toBeDefined();
    const a = reversedDamped(h, n, 0.01);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) expect(l![i * n + j]).toBe(0);
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let t = 0; t <= j; t++) s += l![i * n + t] * l![j * n + t];
        worst = Math.max(worst, Math.abs(s - a[i * n + j]));
        scale = Math.max(scale, Math.abs(a[i * n + j]));
      }
    }
    expect(worst / scale).toBeLessThan(2e-5);
  });

  it('no factor where H is all zero or, undamped, not positive definite', async () => {
    expect(await runtimeFactor(new Float64Array(200 * 200), 200, 0.01, run)).toBeUndefined();
    // rank 1 with a negative pair: x xᵀ − 2 e₀e₁ᵀ (symmetric), no damping
    const n = 160;
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] = 1;
    h[1] = h[n] = -1;
    expect(await runtimeFactor(h, n, 0, run)).toBeUndefined();
  });

  it('GPTQ on 1,100 columns with the registered factor: the kernel-factored codes, errors to float32 rounding', async () => {
    const [rows, cols] = [24, 1100];
    const h = reluHessian(1500, cols, 5, [40]);
    const rng = seeded(9);
    const w = Float32Array.from({ length: rows * cols }, () => gaussian(rng) * 0.1);
    const m: WeightMatrix = { rows, cols, at: (r, c) => r * cols + c };
    const all = Array.from({ length: rows }, (_, i) => i);
    const solve = (hh: Float64Array) => {
      const qt = quantizeTensor(w, [rows, cols], { kind: 'block', axis: 1, blockSize: 32 }, 4, true);
      return { r: gptqRows(w, qt, m, all, hh), q: qt.q };
    };
    const own = solve(h);
    const copy = Float64Array.from(h);
    await prepareFactors([copy], cols, run);
    expect(hasPreparedFactor(copy)).toBe(true);
    const viaRuntime = solve(copy);
    expect(viaRuntime.r.ok).toBe(true);
    expect(Math.abs(viaRuntime.r.errorBefore - own.r.errorBefore)).toBeLessThan(1e-6 * own.r.errorBefore);
    expect(Math.abs(viaRuntime.r.errorAfter - own.r.errorAfter)).toBeLessThan(2e-3 * own.r.errorAfter);
    expect(viaRuntime.r.errorAfter).toBeLessThan(0.6 * viaRuntime.r.errorBefore);
    // a working value near a grid midpoint may round the other way: almost every code the same
    let differ = 0;
    for (let i = 0; i < own.q.length; i++) if (own.q[i] !== viaRuntime.q[i]) differ++;
    expect(differ / own.q.length).toBeLessThan(1e-3);
  });

  it('activation order: a factor prepared in that order (in the memory, or kept in an array) gives the kernel-ordered codes to float32 rounding; one of the other order is not taken', async () => {
    const [rows, cols] = [24, 1100];
    const base = reluHessian(1500, cols, 5, [40, 700]);
    const rng = seeded(10);
    const w = Float32Array.from({ length: rows * cols }, () => gaussian(rng) * 0.1);
    const m: WeightMatrix = { rows, cols, at: (r, c) => r * cols + c };
    const all = Array.from({ length: rows }, (_, i) => i);
    const solve = (hh: Float64Array) => {
      const qt = quantizeTensor(w, [rows, cols], { kind: 'block', axis: 1, blockSize: 32 }, 4, true);
      return { r: gptqRows(w, qt, m, all, hh, { actOrder: true }), q: Array.from(qt.q) };
    };
    const own = solve(Float64Array.from(base));
    const close = (x: ReturnType<typeof solve>) => {
      expect(x.r.ok).toBe(true);
      expect(Math.abs(x.r.errorAfter - own.r.errorAfter)).toBeLessThan(2e-3 * own.r.errorAfter);
      // a code flipped near a grid midpoint moves the rest of its row (measured: 0.18% of the codes; with the factor of the other order taken: 14%, and 1.4x the error)
      expect(x.q.filter((q, i) => q !== own.q[i]).length / own.q.length).toBeLessThan(5e-3);
    };
    // the layer's one H, its ordered factor written into the workspace memory: taken once
    const inMemory = Float64Array.from(base);
    await prepareFactors([inMemory], cols, run, 0.01, false, true);
    expect(hasPreparedFactor(inMemory)).toBe(true);
    const a = solve(inMemory);
    close(a);
    expect(hasPreparedFactor(inMemory)).toBe(false);
    // kept in an array (a search): the same codes at every solve
    const kept = Float64Array.from(base);
    await prepareFactors([kept], cols, run, 0.01, true, true);
    const b = solve(kept);
    expect(hasPreparedFactor(kept)).toBe(true);
    expect(solve(kept).q).toEqual(b.q);
    expect(b.q).toEqual(a.q);
    // a factor of H in its own order: an ordered solve factors H itself
    const natural = Float64Array.from(base);
    await prepareFactors([natural], cols, run, 0.01, true, false);
    expect(hasPreparedFactor(natural)).toBe(true);
    expect(solve(natural).q).toEqual(own.q);
  });

  describe("a layer's one H: the factor written into the memory of the workspace that solves it", () => {
    const [rows, cols] = [20, 1030];
    let h: Float64Array | undefined;
    const hOnce = () => (h ??= reluHessian(1200, cols, 6, [3]));
    const rng = seeded(12);
    const w = Float32Array.from({ length: rows * cols }, () => gaussian(rng) * 0.1);
    const m: WeightMatrix = { rows, cols, at: (r, c) => r * cols + c };
    const all = Array.from({ length: rows }, (_, i) => i);
    const solve = (hh: Float64Array, damp?: number) => {
      const qt = quantizeTensor(w, [rows, cols], { kind: 'block', axis: 1, blockSize: 32 }, 4, true);
      const r = gptqRows(w, qt, m, all, hh, damp === undefined ? {} : { damp });
      return { r, q: Array.from(qt.q) };
    };

    it('taken once, with the codes of the same factor from an array of its own', async () => {
      const inMemory = Float64Array.from(hOnce());
      await prepareFactors([inMemory], cols, run);
      expect(hasPreparedFactor(inMemory)).toBe(true);
      const a = solve(inMemory);
      expect(hasPreparedFactor(inMemory)).toBe(false);
      const array = Float64Array.from(hOnce());
      setPreparedFactor(array, 0.01, (await runtimeFactor(array, cols, 0.01, run)) as Float32Array);
      const b = solve(array);
      expect(a.r.ok).toBe(true);
      expect(a.q).toEqual(b.q);
      expect(a.r.errorAfter).toBe(b.r.errorAfter);
      // H as given: its array untouched
      expect(inMemory).toEqual(hOnce());
    });

    it('another H solved in that memory meanwhile, or another damping: the workspace factors H itself (the codes of no preparation)', async () => {
      const own = solve(Float64Array.from(hOnce()));
      const prepared = Float64Array.from(hOnce());
      await prepareFactors([prepared], cols, run);
      // a layer of the same width solved in between writes its own H there
      solve(reluHessian(300, cols, 8));
      expect(hasPreparedFactor(prepared)).toBe(false);
      expect(solve(prepared).q).toEqual(own.q);
      const damped = Float64Array.from(hOnce());
      await prepareFactors([damped], cols, run);
      expect(solve(damped, 0.05).q).toEqual(solve(Float64Array.from(hOnce()), 0.05).q);
    });
  });

  it('a runner that fails registers nothing: GPTQ factors in WebAssembly, compression goes on', async () => {
    const h = reluHessian(1200, 1030, 4);
    const failing: RunModel = () => Promise.reject(new Error('out of memory'));
    failing.nativeProducts = true;
    await prepareFactors([h], 1030, failing);
    expect(hasPreparedFactor(h)).toBe(false);
  });

  it('narrow layers (under 1,024 columns) keep the kernel factor', async () => {
    const h = reluHessian(100, 64, 2);
    await prepareFactors([h], 64, run);
    expect(hasPreparedFactor(h)).toBe(false);
  });
});
