import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleWat } from '../../../scripts/wat';
import { seeded } from '../../testing/random';
import { BLOCKWISE_WASM_BASE64 } from './blockwise-wasm';
import { blockwiseSimdAvailable, setBlockwiseSimd } from './blockwise-simd';
import { quantizeTensor, type GroupLayout, type QuantizedTensor } from './quantize';

/** Quantizes once on the SIMD kernels and once on the scalar loops. */
function both(values: Float32Array, shape: number[], layout: GroupLayout, bits: 4 | 8, symmetric: boolean): [QuantizedTensor, QuantizedTensor] {
  setBlockwiseSimd(true);
  const simd = quantizeTensor(values, shape, layout, bits, symmetric);
  setBlockwiseSimd(false);
  const scalar = quantizeTensor(values, shape, layout, bits, symmetric);
  setBlockwiseSimd(true);
  return [simd, scalar];
}

/** Bit-for-bit equality of codes, scales (as float32 bits: +0 and -0 differ) and zero points. */
function expectSame(a: QuantizedTensor, b: QuantizedTensor): void {
  expect(Buffer.from(a.q.buffer, a.q.byteOffset, a.q.byteLength).equals(Buffer.from(b.q.buffer, b.q.byteOffset, b.q.byteLength))).toBe(true);
  expect(new Uint32Array(a.scales.buffer)).toEqual(new Uint32Array(b.scales.buffer));
  expect(a.zeroPoints).toEqual(b.zeroPoints);
}

/** Values with the cases rounding gets wrong: exact ties, zeros of both signs, tiny and large magnitudes, all-zero blocks. */
function tricky(n: number, seed: number): Float32Array {
  const rng = seeded(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng();
    if (u < 0.15) v[i] = Math.round((rng() - 0.5) * 16) + 0.5; // halves: ties when the block's scale is +-1
    else if (u < 0.2) v[i] = rng() < 0.5 ? 0 : -0;
    else if (u < 0.23) v[i] = (rng() - 0.5) * 1e-40; // subnormal
    else if (u < 0.25) v[i] = (rng() - 0.5) * 1e30;
    else v[i] = (rng() + rng() + rng() - 1.5) * (rng() < 0.5 ? 1 : 8);
  }
  // an all-zero stretch with mixed-sign zeros, and one of exact multiples of 0.5 with max 8 (scale -1)
  for (let i = 0; i < Math.min(n, 300); i++) v[i] = i % 3 === 0 ? -0 : 0;
  for (let i = 300; i < Math.min(n, 700); i++) v[i] = i % 50 === 0 ? 8 : Math.round((rng() - 0.5) * 14) / 2;
  return v;
}

afterEach(() => setBlockwiseSimd(true));

describe('block-wise quantization on WebAssembly SIMD', () => {
  it('the committed module is blockwise.wat assembled', async () => {
    const wat = readFileSync(new URL('./blockwise.wat', import.meta.url), 'utf8');
    const bytes = await assembleWat(wat);
    expect(Buffer.from(bytes).toString('base64')).toBe(BLOCKWISE_WASM_BASE64);
  });

  it('runs in this engine', () => {
    expect(blockwiseSimdAvailable()).toBe(true);
  });

  const cases: { shape: number[]; axis: number; bs: number }[] = [
    { shape: [256, 64], axis: 0, bs: 32 }, // MatMul [K, N], blocks along K
    { shape: [100, 37], axis: 0, bs: 32 }, // K not a multiple of the block, N not of 4
    { shape: [64, 2100], axis: 0, bs: 16 }, // N over one column tile
    { shape: [3, 40, 6], axis: 1, bs: 8 }, // a middle axis
    { shape: [300, 5], axis: 0, bs: 256 },
    { shape: [48, 128], axis: 1, bs: 32 }, // runs along the last axis
    { shape: [7, 4608], axis: 1, bs: 64 }, // Conv kernel flattened, several chunks
    { shape: [20, 1000], axis: 1, bs: 4 },
  ];
  for (const { shape, axis, bs } of cases) {
    for (const bits of [4, 8] as const) {
      for (const symmetric of [true, false]) {
        it(`[${shape.join(', ')}] blocks of ${bs} on axis ${axis}, int${bits} ${symmetric ? 'symmetric' : 'asymmetric'}: the same bits as the scalar path`, () => {
          const n = shape.reduce((p, x) => p * x, 1);
          const [a, b] = both(tricky(n, n + bits + (symmetric ? 1 : 0)), shape, { kind: 'block', axis, blockSize: bs }, bits, symmetric);
          expectSame(a, b);
        });
      }
    }
  }

  it('a tensor of ties at scale 1 rounds half away from zero', () => {
    // block max |v| = 8 -> scale -1, multiplier -1: -7.5 -> 7.5 -> 8 clamps to 7; 2.5 -> -2.5 -> -3
    const v = new Float32Array([8, 2.5, -2.5, 0.5, -0.5, 1.5, -7.5, 3]);
    setBlockwiseSimd(true);
    const t = quantizeTensor(v, [8], { kind: 'block', axis: 0, blockSize: 8 }, 4, true);
    expect(Array.from(t.q)).toEqual([-8, -3, 3, -1, 1, -2, 7, -3]);
    expect(t.scales[0]).toBe(-1);
  });

  it('NaN values and infinite ranges are refused as on the scalar path', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const [shape, axis] of [[[64, 8], 0], [[8, 64], 1]] as const) {
        const v = tricky(512, 3);
        v[77] = bad;
        expect(() => quantizeTensor(v, [...shape], { kind: 'block', axis, blockSize: 32 }, 4, true)).toThrow(/NaN or infinite/);
        expect(() => quantizeTensor(v, [...shape], { kind: 'block', axis, blockSize: 32 }, 8, false)).toThrow(/NaN or infinite/);
      }
    }
  });
});
