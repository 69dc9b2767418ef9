/**
 * GPTQ on the WebAssembly SIMD kernel (float32) against the scalar loops of gptq.ts (float64): the
 * committed bytes are gptq.wat's; the same codes, the same repaired values and errors to float32
 * rounding (a working value within float32's rounding of a grid midpoint could round the other way:
 * none does here), for odd and even sizes, more rows than one block, dead inputs and a singular H.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleWat, sharedMemoryVariant } from '../../../scripts/wat';
import { seeded } from '../../testing/random';
import { quantizeTensor, type GroupLayout } from '../quantize/quantize';
import { gptqRows, repairPrunedRows, type GptqResult, type WeightMatrix } from './gptq';
import { GPTQ_SHARED_WASM_BASE64, GPTQ_WASM_BASE64 } from './gptq-wasm';
import { gptqSimdAvailable, setGptqSimd } from './gptq-simd';
import { gaussian, reluHessian as hessian } from './testing/hessian';

const matrix = (rows: number, cols: number): WeightMatrix => ({ rows, cols, at: (r, c) => r * cols + c });

function both<T>(f: () => T): [T, T] {
  setGptqSimd(true);
  const simd = f();
  setGptqSimd(false);
  const scalar = f();
  setGptqSimd(true);
  return [simd, scalar];
}

/** float32 sums of up to a few hundred products, against float64's */
const F32 = 2e-5;

function expectClose(a: GptqResult, b: GptqResult): void {
  expect(a.ok).toBe(b.ok);
  expect(a.note).toBe(b.note);
  expect(Math.abs(a.errorBefore - b.errorBefore)).toBeLessThanOrEqual(F32 * Math.abs(b.errorBefore) + 1e-15);
  expect(Math.abs(a.errorAfter - b.errorAfter)).toBeLessThanOrEqual(F32 * Math.abs(b.errorAfter) + 1e-15);
}

describe('GPTQ on WebAssembly SIMD', () => {
  afterEach(() => setGptqSimd(true));

  it('runs here, from bytes that match gptq.wat', async () => {
    expect(gptqSimdAvailable()).toBe(true);
    const wat = readFileSync(new URL('./gptq.wat', import.meta.url), 'utf8');
    expect(Buffer.from(await assembleWat(wat)).toString('base64')).toBe(GPTQ_WASM_BASE64);
    // the threads' build: the same text on an imported shared memory
    expect(Buffer.from(await assembleWat(sharedMemoryVariant(wat), { validate: false })).toString('base64')).toBe(GPTQ_SHARED_WASM_BASE64);
  });

  const shapes: [number, number, number[], number][] = [
    // rows, cols, dead columns, samples (fewer than cols: a singular H, damped more)
    [11, 37, [], 200],
    [70, 300, [3, 150], 400],
    [9, 64, [5, 9], 10],
  ];
  const layouts: [GroupLayout, 4 | 8][] = [
    [{ kind: 'channel', axis: 0 }, 8],
    [{ kind: 'block', axis: 1, blockSize: 32 }, 4],
  ];
  for (const [rows, cols, dead, samples] of shapes) {
    const h = hessian(samples, cols, rows + cols, dead);
    const rng = seeded(cols);
    const w = Float32Array.from({ length: rows * cols }, () => gaussian(rng) * 0.1);
    const all = Array.from({ length: rows }, (_, i) => i);
    for (const [layout, bits] of layouts) {
      it(`gptqRows ${rows}x${cols} int${bits} ${layout.kind}${samples < cols ? ', singular H' : ''}: the scalar loops' codes`, () => {
        const [a, b] = both(() => {
          const qt = quantizeTensor(w, [rows, cols], layout, bits, true);
          const r = gptqRows(w, qt, matrix(rows, cols), all, h, samples < cols ? { damp: 0 } : {});
          return { r, q: Array.from(qt.q) };
        });
        expectClose(a.r, b.r);
        expect(a.r.errorAfter).toBeLessThan(a.r.errorBefore);
        expect(a.q).toEqual(b.q);
      });
    }
    it(`repairPrunedRows ${rows}x${cols}: the scalar loops' values`, () => {
      const [a, b] = both(() => {
        const v = Float32Array.from(w, (x) => (Math.abs(x) < 0.06 ? 0 : x));
        const r = repairPrunedRows(w, v, matrix(rows, cols), all, h, { damp: 0.05 });
        return { r, v };
      });
      expectClose(a.r, b.r);
      // a least-squares refit: float32's rounding grows with H's condition
      const most = b.v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      for (let i = 0; i < a.v.length; i++) {
        expect(a.v[i] === 0).toBe(b.v[i] === 0);
        expect(Math.abs(a.v[i] - b.v[i])).toBeLessThanOrEqual(1e-4 * Math.abs(b.v[i]) + 1e-5 * most);
      }
    });
  }

  it('all-zero inputs: the same note', () => {
    const w = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const [a, b] = both(() => gptqRows(w, quantizeTensor(w, [4, 16], { kind: 'channel', axis: 0 }, 8, true), matrix(4, 16), [0, 1, 2, 3], new Float64Array(256)));
    expectClose(a, b);
    expect(a.ok).toBe(false);
  });
});
