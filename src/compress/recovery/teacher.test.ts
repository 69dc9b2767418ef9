/**
 * The teacher (teacher.ts): the target w* solves H̃w*ᵀ = Cwᵀ (the weights whose outputs on the
 * compressed model's inputs X̃ come closest to the original's on X), is w itself where X̃ = X, is
 * the same on the SIMD kernel and the scalar loops; the joined model runs both graphs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { encodeModel } from '../../onnx/codec';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import { mlpFixture } from '../testing/fixtures';
import { setGptqSimd } from './gptq-simd';
import { teacherModel, teacherRows } from './teacher';
import { nodeRunModel } from './testing/node-run';

const n = 12;
const rowsX = 200;
const R = 3;

function gaussianRows(rng: () => number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = Math.max(1e-12, rng());
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** X [rows, n] with correlated columns, X̃ = X + noise, H̃ = X̃ᵀX̃, C = X̃ᵀX, weights [R, n]. */
function problem(seed: number, noise: number) {
  const rng = seeded(seed);
  const z = gaussianRows(rng, rowsX * n);
  const x = new Float64Array(rowsX * n);
  for (let r = 0; r < rowsX; r++) for (let c = 0; c < n; c++) x[r * n + c] = z[r * n + c] + (c > 0 ? 0.6 * z[r * n + c - 1] : 0);
  const e = gaussianRows(rng, rowsX * n);
  const xt = x.map((v, i) => v + noise * e[i]);
  const h = new Float64Array(n * n);
  const cross = new Float64Array(n * n);
  for (let r = 0; r < rowsX; r++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        h[i * n + j] += xt[r * n + i] * xt[r * n + j];
        cross[i * n + j] += xt[r * n + i] * x[r * n + j];
      }
  const w = Float32Array.from(gaussianRows(rng, R * n));
  const m = { rows: R, cols: n, at: (r: number, c: number) => r * n + c };
  return { x, xt, h, cross, w, m };
}

/** Σ over rows of ‖X·aᵀ − X̃·bᵀ‖² for weights a, b [R, n]. */
function outputError(x: Float64Array, xt: Float64Array, a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let r = 0; r < rowsX; r++)
    for (let k = 0; k < R; k++) {
      let d = 0;
      for (let c = 0; c < n; c++) d += x[r * n + c] * a[k * n + c] - xt[r * n + c] * b[k * n + c];
      s += d * d;
    }
  return s;
}

afterEach(() => setGptqSimd(true));

describe('the teacher target', () => {
  for (const simd of [true, false]) {
    it(`solves H̃w*ᵀ = Cwᵀ and lowers the error against the original outputs (${simd ? 'SIMD' : 'scalar'})`, () => {
      setGptqSimd(simd);
      const { x, xt, h, cross, w, m } = problem(7, 0.3);
      const target = Float32Array.from(w);
      expect(teacherRows(target, m, [0, 1, 2], h, cross, 0)).toBe(true);
      for (let k = 0; k < R; k++)
        for (let i = 0; i < n; i++) {
          let lhs = 0;
          let rhs = 0;
          for (let j = 0; j < n; j++) {
            lhs += h[i * n + j] * target[k * n + j];
            rhs += cross[i * n + j] * w[k * n + j];
          }
          expect(Math.abs(lhs - rhs)).toBeLessThan(1e-3 * Math.max(1, Math.abs(rhs)));
        }
      // the least-squares optimum: below aiming at w itself, and below any step away from it
      const taught = outputError(x, xt, w, target);
      expect(taught).toBeLessThan(0.95 * outputError(x, xt, w, w));
      const rng = seeded(5);
      for (let t = 0; t < 5; t++) expect(taught).toBeLessThan(outputError(x, xt, w, target.map((v) => v + 0.01 * (rng() * 2 - 1))));
    });
  }

  it('is the weights themselves where the inputs are the original ones (C = H̃), whatever the damping', () => {
    const { h, w, m } = problem(9, 0);
    const target = Float32Array.from(w);
    expect(teacherRows(target, m, [0, 1, 2], h, Float64Array.from(h), 0.1)).toBe(true);
    for (let i = 0; i < w.length; i++) expect(target[i]).toBeCloseTo(w[i], 6);
  });

  it('the SIMD kernel and the scalar loops give the same target', () => {
    const { h, cross, w, m } = problem(11, 0.2);
    const a = Float32Array.from(w);
    const b = Float32Array.from(w);
    teacherRows(a, m, [0, 1, 2], h, cross, 0.01);
    setGptqSimd(false);
    teacherRows(b, m, [0, 1, 2], h, cross, 0.01);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
  });

  it('all-zero inputs: no target (false), nothing changed', () => {
    const { w, m } = problem(3, 0.1);
    const target = Float32Array.from(w);
    expect(teacherRows(target, m, [0, 1, 2], new Float64Array(n * n), new Float64Array(n * n), 0.01)).toBe(false);
    expect([...target]).toEqual([...w]);
  });
});

describe('the joined model', () => {
  it('runs the prefix and the original side by side on the same inputs; tensors both hold alike are shared', async () => {
    const fixture = mlpFixture(13, [16, 32, 32, 8]);
    const recipe: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int4', granularity: 'per-channel' }, layers: {} };
    const prefix = compressModel(fixture.model, { ...recipe, layers: { fc2: { weights: 'fp32' } } }).model;
    const joined = teacherModel(prefix, fixture.model);
    expect(joined).toBeDefined();
    if (!joined) return;
    const out = fixture.model.graph?.outputs[0].name as string;
    const g = joined.model.graph;
    g?.outputs.push({ name: joined.rename(out), metadataProps: [] });
    // the last layer's weight is fp32 in the prefix: the same tensor, not added twice
    const inits = g?.initializers.map((t) => t.name) ?? [];
    expect(inits.filter((name) => name?.includes('__teacher')).length).toBeGreaterThan(0);
    expect(new Set(inits).size).toBe(inits.length);
    const run = nodeRunModel();
    const rng = seeded(1);
    const x = { x: { dtype: 'float32' as const, dims: fixture.inputs.x, data: Float32Array.from({ length: fixture.inputs.x.reduce((p, d) => p * d, 1) }, () => rng() * 2 - 1) } };
    const [both, orig, pre] = [await run(encodeModel(joined.model), x), await run(encodeModel(fixture.model), x), await run(encodeModel(prefix), x)];
    const same = (a: unknown, b: unknown) => expect([...(a as Float32Array)]).toEqual([...(b as Float32Array)]);
    same(both[joined.rename(out)].data, orig[out].data);
    same(both[out].data, pre[out].data);
  });
});
