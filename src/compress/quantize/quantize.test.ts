import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors';
import { seeded } from '../../testing/random';
import { gaussian } from '../testing/fixtures';
import { Emitter } from '../emit';
import { NameAllocator } from '../graph-edit';
import { pack4 } from '../../onnx/tensor';
import { emitMatMulNBits, packNibbles } from './encode';
import {
  dequantizeTensor,
  groupParamShape,
  groupView,
  quantizeTensor,
  roundHalfAway,
  roundHalfEven,
  type GroupLayout,
} from './quantize';

/**
 * An independent, deliberately literal re-implementation of onnxruntime's formulas, one group at
 * a time with plain numbers (float32 steps made explicit with Math.fround), written from
 * quant_utils.py (compute_scale_zp, quantize_nparray) and MLAS q4_dq.cpp (range2scale,
 * range2scalezp, BlockwiseQDQQuantizer::QuantizeV).
 */
const f = Math.fround;
function npRound(x: number): number {
  const fl = Math.floor(x);
  const d = x - fl;
  if (d < 0.5) return fl;
  if (d > 0.5) return fl + 1;
  return fl % 2 === 0 ? fl : fl + 1;
}
function cRoundf(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}
const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function refQuantUtils(data: number[], bits: 4 | 8, symmetric: boolean): { q: number[]; scale: number; zp: number } {
  let rmin = f(Math.min(...data));
  let rmax = f(Math.max(...data));
  const [qmin, qmax] = bits === 8 ? (symmetric ? [-127, 127] : [-128, 127]) : [-8, 7];
  rmin = Math.min(rmin, 0);
  rmax = Math.max(rmax, 0);
  if (symmetric) {
    const a = Math.max(Math.abs(rmin), Math.abs(rmax));
    rmin = -a;
    rmax = a;
  }
  const scale64 = f(rmax - rmin) / (qmax - qmin);
  let scale = 1;
  let zp = 0;
  if (scale64 >= 1.1754943508222875e-38) {
    zp = symmetric ? npRound((qmin + qmax) / 2) : npRound(qmin - rmin / scale64);
    scale = f(scale64);
  }
  const [lo, hi] = bits === 8 ? [-128, 127] : [-8, 7];
  return { q: data.map((w) => clip(npRound(f(f(w) / scale)) + zp, lo, hi) + 0), scale, zp: zp + 0 };
}

function refBlockwise(block: number[], bits: 4 | 8, symmetric: boolean): { q: number[]; scale: number; zp: number } {
  const half = bits === 8 ? 128 : 8;
  let min = 3.4028234663852886e38;
  let max = -min;
  for (const v of block) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let scale: number;
  let zpu = half; // unsigned zero point
  if (symmetric) {
    const m = Math.abs(max) > Math.abs(min) ? max : min;
    scale = f(-m / half);
  } else {
    min = Math.min(min, 0);
    max = Math.max(max, 0);
    scale = f(f(max - min) / (2 * half - 1));
    let zpf = min;
    if (scale !== 0) zpf = f(0 - f(min / scale));
    zpu = zpf < 0 ? 0 : zpf > 2 * half - 1 ? 2 * half - 1 : cRoundf(zpf);
  }
  const recip = scale !== 0 ? f(1 / scale) : 0;
  const q = block.map((w) => {
    if (symmetric) return clip(cRoundf(f(w * recip)), -half, half - 1);
    return clip(cRoundf(f(w * recip)) + zpu, 0, 2 * half - 1) - half;
  });
  return { q: q.map((v) => v + 0), scale, zp: symmetric ? 0 : zpu - half };
}

describe('rounding', () => {
  it('rounds half to even like numpy.round', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4],
      [0.49999997, 0], [2.5000002, 3], [-2.4999998, -2], [126.5, 126], [127.5, 128], [7, 7],
    ];
    for (const [x, want] of cases) expect(roundHalfEven(x) + 0, String(x)).toBe(want);
  });
  it('rounds half away from zero like C roundf', () => {
    const cases: [number, number][] = [[0.5, 1], [1.5, 2], [2.5, 3], [-0.5, -1], [-2.5, -3], [0.49999997, 0], [-1.2, -1]];
    for (const [x, want] of cases) expect(roundHalfAway(x) + 0, String(x)).toBe(want);
  });
});

describe('quantizeTensor: hand-checked vectors', () => {
  it('int8 symmetric per-tensor: scale 1 and half-even ties (0.5, 1.5, -2.5, 2.5)', () => {
    const t = quantizeTensor(Float32Array.of(127, 0.5, 1.5, -2.5, 2.5, -127), [6], { kind: 'tensor' }, 8, true);
    expect(Array.from(t.q)).toEqual([127, 0, 2, -2, 2, -127]);
    expect(Array.from(t.scales)).toEqual([1]);
    expect(t.zeroPoints).toBeUndefined();
  });

  it('int8 asymmetric per-tensor: zero point from the widened range (onnxruntime uint8 codes minus 128)', () => {
    // rmin -1, rmax 3: scale = 4/255, zp = round(-128 + 63.75) = -64 (uint8: 64)
    const t = quantizeTensor(Float32Array.of(-1, 0, 0.5, 3), [4], { kind: 'tensor' }, 8, false);
    expect(Array.from(t.q)).toEqual([-128, -64, -32, 127]);
    expect(t.scales[0]).toBe(Math.fround(4 / 255));
    expect(Array.from(t.zeroPoints as Int8Array)).toEqual([-64]);
  });

  it('int4 symmetric per-tensor uses [-8, 7] with scale 2*max/15, as quant_utils does', () => {
    // max 7.5: scale 1; 7.5 -> 8 -> clipped 7; -7.5 -> -8; ties to even
    const t = quantizeTensor(Float32Array.of(7.5, -7.5, 0.5, 1.5, 2.5, -0.5), [6], { kind: 'tensor' }, 4, true);
    expect(Array.from(t.q, (v) => v + 0)).toEqual([7, -8, 0, 2, 2, 0]);
    // float32 division matters: 0.7 / float32(0.2) is 3.5 in float32, so it rounds to 4
    const u = quantizeTensor(Float32Array.of(1.5, -1.5, 0.1, 0.7), [4], { kind: 'tensor' }, 4, true);
    expect(Array.from(u.q, (v) => v + 0)).toEqual([7, -8, 0, 4]);
    expect(u.scales[0]).toBe(Math.fround(0.2));
  });

  it('int4 block symmetric: the largest magnitude maps to -8, ties round away from zero (MLAS)', () => {
    const t = quantizeTensor(Float32Array.of(2, -1, 0.3, 0.125, -0.125, 0.375), [6], { kind: 'block', axis: 0, blockSize: 16 }, 4, true);
    expect(Array.from(t.scales)).toEqual([-0.25]);
    expect(Array.from(t.q)).toEqual([-8, 4, -1, -1, 1, -2]);
  });

  it('int4 block asymmetric: uint4 codes with a fitted zero point, kept signed (minus 8)', () => {
    const t = quantizeTensor(Float32Array.of(2, -1, 0.3, 0.125, -0.125, 0.375), [6], { kind: 'block', axis: 0, blockSize: 16 }, 4, false);
    expect(t.scales[0]).toBe(Math.fround(0.2));
    expect(Array.from(t.zeroPoints as Int8Array)).toEqual([-3]); // uint4 zero point 5
    expect(Array.from(t.q)).toEqual([7, -8, -1, -2, -4, -1]);
  });

  it('an all-zero group gets scale 1 and zero point 0 (quant_utils)', () => {
    const t = quantizeTensor(new Float32Array(4), [4], { kind: 'tensor' }, 8, false);
    expect(Array.from(t.scales)).toEqual([1]);
    expect(Array.from(t.q)).toEqual([0, 0, 0, 0]);
  });

  it('per-channel picks one scale per index along the axis', () => {
    // [2, 3] with channels on axis 1: columns (1, -4), (2, 0.5), (-127, 127)
    const t = quantizeTensor(Float32Array.of(1, 2, -127, -4, 0.5, 127), [2, 3], { kind: 'channel', axis: 1 }, 8, true);
    expect(Array.from(t.scales)).toEqual([Math.fround(8 / 254), Math.fround(4 / 254), 1]);
    expect(Array.from(t.q)).toEqual([32, 127, -127, -127, 32, 127]);
  });
});

describe('quantizeTensor: bit-exact against the reference on random tensors', () => {
  const rng = seeded(99);
  const shapes: { shape: number[]; layout: GroupLayout }[] = [
    { shape: [37], layout: { kind: 'tensor' } },
    { shape: [6, 5, 3, 3], layout: { kind: 'channel', axis: 0 } },
    { shape: [24, 10], layout: { kind: 'channel', axis: 1 } },
    { shape: [70, 9], layout: { kind: 'block', axis: 0, blockSize: 16 } },
    { shape: [5, 100], layout: { kind: 'block', axis: 1, blockSize: 32 } },
    { shape: [3, 40, 4], layout: { kind: 'block', axis: 1, blockSize: 16 } },
    // the fast paths' edges: a middle channel axis, rows not a multiple of the 4-row unroll,
    // blocks across more columns than one tile (256), a short last block
    { shape: [3, 7, 5], layout: { kind: 'channel', axis: 1 } },
    { shape: [7, 33], layout: { kind: 'channel', axis: 1 } },
    { shape: [40, 300], layout: { kind: 'block', axis: 0, blockSize: 16 } },
    { shape: [2, 3, 50], layout: { kind: 'block', axis: 2, blockSize: 16 } },
  ];
  for (const { shape, layout } of shapes) {
    for (const bits of [8, 4] as const) {
      for (const symmetric of [true, false]) {
        it(`${layout.kind} [${shape.join(',')}] int${bits} ${symmetric ? 'sym' : 'asym'}`, () => {
          const n = shape.reduce((p, d) => p * d, 1);
          const values = gaussian(rng, n, 0.3);
          // exact ties and a group of zeros exercise the edges
          values[0] = 0.5;
          const t = quantizeTensor(values, shape, layout, bits, symmetric);
          const view = groupView(shape, layout);
          // gather each group's elements in order, run the reference, compare
          const groups: number[][] = Array.from({ length: view.groups }, () => []);
          const where: number[][] = Array.from({ length: view.groups }, () => []);
          let idx = 0;
          for (let o = 0; o < view.outer; o++) {
            for (let l = 0; l < view.len; l++) {
              for (let i = 0; i < view.inner; i++, idx++) {
                const g =
                  layout.kind === 'tensor' ? 0 : layout.kind === 'channel' ? l : (o * view.blocks + Math.floor(l / layout.blockSize)) * view.inner + i;
                groups[g].push(values[idx]);
                where[g].push(idx);
              }
            }
          }
          groups.forEach((vals, g) => {
            const ref = layout.kind === 'block' ? refBlockwise(vals, bits, symmetric) : refQuantUtils(vals, bits, symmetric);
            expect(t.scales[g]).toBe(ref.scale);
            expect(t.zeroPoints ? t.zeroPoints[g] : 0).toBe(ref.zp);
            expect(where[g].map((i) => t.q[i])).toEqual(ref.q);
          });
          // dequantized error stays within half a step (plus float rounding) for in-range values
          const deq = dequantizeTensor(t);
          for (let g = 0; g < view.groups; g++) {
            const step = Math.abs(t.scales[g]);
            for (const i of where[g]) expect(Math.abs(deq[i] - values[i])).toBeLessThanOrEqual(step * 1.0001 + 1e-7);
          }
        });
      }
    }
  }
});

describe('layouts', () => {
  it('block parameters are laid out as DequantizeLinear expects', () => {
    const layout: GroupLayout = { kind: 'block', axis: 0, blockSize: 16 };
    const view = groupView([40, 3], layout);
    expect(view).toEqual({ outer: 1, len: 40, inner: 3, blocks: 3, groups: 9 });
    expect(groupParamShape([40, 3], layout, view)).toEqual([3, 3]);
    expect(groupParamShape([40, 3], { kind: 'channel', axis: 1 }, groupView([40, 3], { kind: 'channel', axis: 1 }))).toEqual([3]);
  });

  it('multiplying by the float64 reciprocal rounds like dividing (quant_utils): near-ties across many scales', () => {
    // w / s and w * (1 / s) round to the same float32 for float32 w and s (see quantize.ts); the
    // codes then match the reference's division exactly, also for values a few ulps off k + 0.5
    const rng = seeded(17);
    const f = Math.fround;
    const bits = new Int32Array(1);
    const asFloat = new Float32Array(bits.buffer);
    for (let t = 0; t < 300; t++) {
      const amax = f(rng() * 20 + 1e-6);
      const s = f(f(2 * amax) / 254);
      const values = new Float32Array(200);
      values[0] = amax;
      for (let i = 1; i < values.length; i++) {
        asFloat[0] = f((Math.floor(rng() * 254) - 127 + 0.5) * s);
        bits[0] += Math.floor(rng() * 5) - 2;
        values[i] = Math.abs(asFloat[0]) <= amax ? asFloat[0] : 0;
      }
      for (const symmetric of [true, false]) {
        const t8 = quantizeTensor(values, [values.length], { kind: 'tensor' }, 8, symmetric);
        const ref = refQuantUtils(Array.from(values), 8, symmetric);
        expect(Array.from(t8.q)).toEqual(ref.q);
      }
    }
  });

  it('a block of subnormal values (reciprocal scale overflows to infinity) quantizes without error, zeros to code 0', () => {
    const values = Float32Array.of(-8e-39, 0, 4e-39, 0, 1e-39, 0, 0, 0);
    const t = quantizeTensor(values, [8], { kind: 'block', axis: 0, blockSize: 16 }, 4, true);
    expect(t.q[1]).toBe(0);
    expect(t.q[3]).toBe(0);
    expect(Number.isFinite(t.scales[0])).toBe(true);
  });

  it('refuses empty tensors, bad axes and non-finite values', () => {
    expect(() => quantizeTensor(new Float32Array(0), [0], { kind: 'tensor' }, 8, true)).toThrow(AppError);
    expect(() => quantizeTensor(new Float32Array(4), [4], { kind: 'channel', axis: 1 }, 8, true)).toThrow(/Axis 1/);
    expect(() => quantizeTensor(Float32Array.of(1, NaN), [2], { kind: 'tensor' }, 8, true)).toThrow(/NaN/);
    expect(() => quantizeTensor(Float32Array.of(1, Infinity), [2], { kind: 'block', axis: 0, blockSize: 16 }, 4, true)).toThrow(/infinite/);
    // on every layout's path
    const bad = (at: number, v: number) => {
      const a = gaussian(seeded(1), 64 * 40, 0.1);
      a[at] = v;
      return a;
    };
    const layouts: [number[], GroupLayout, 4 | 8][] = [
      [[64, 40], { kind: 'channel', axis: 1 }, 8],
      [[64, 40], { kind: 'channel', axis: 0 }, 8],
      [[4, 16, 40], { kind: 'channel', axis: 1 }, 8],
      [[64, 40], { kind: 'block', axis: 0, blockSize: 16 }, 4],
      [[64, 40], { kind: 'block', axis: 1, blockSize: 16 }, 4],
    ];
    for (const [shape, layout, b] of layouts) {
      for (const symmetric of [true, false]) {
        for (const v of [NaN, Infinity, -Infinity]) {
          expect(() => quantizeTensor(bad(1234, v), shape, layout, b, symmetric), `${JSON.stringify(layout)} ${v}`).toThrow(/NaN or infinite/);
        }
      }
    }
  });

  it('quantizes a million weights quickly (typed-array loops)', () => {
    const values = gaussian(seeded(3), 1 << 20, 0.1);
    const t0 = performance.now();
    quantizeTensor(values, [1024, 1024], { kind: 'channel', axis: 1 }, 8, true);
    quantizeTensor(values, [1024, 1024], { kind: 'block', axis: 0, blockSize: 32 }, 4, true);
    const ms = performance.now() - t0;
    console.log(`quantize 2 x 1M weights: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(2000);
  });
});

describe('emitMatMulNBits packing', () => {
  /** The layout from the MatMulNBits spec, element by element: B[n][block][byte], low nibble first, padding = zero point. */
  function reference(q: Int8Array, k: number, n: number, bs: number, zps?: Int8Array): Uint8Array {
    const nb = Math.ceil(k / bs);
    const out = new Uint8Array(n * nb * (bs / 2));
    for (let col = 0; col < n; col++) {
      for (let kb = 0; kb < nb; kb++) {
        for (let i = 0; i < bs; i++) {
          const row = kb * bs + i;
          const u = row < k ? q[row * n + col] + 8 : zps ? zps[kb * n + col] + 8 : 8;
          out[(col * nb + kb) * (bs / 2) + (i >> 1)] |= i & 1 ? u << 4 : u;
        }
      }
    }
    return out;
  }
  for (const [k, n, bs, symmetric] of [
    [64, 8, 32, true],
    [100, 12, 32, false],
    [96, 130, 16, true],
    [40, 7, 16, false],
    [300, 68, 128, true],
    [256, 256, 64, false],
  ] as const) {
    it(`K ${k}, N ${n}, block ${bs}, ${symmetric ? 'symmetric' : 'asymmetric'}: the bytes of the spec's layout`, () => {
      const rng = seeded(k * 1000 + n);
      const values = Float32Array.from({ length: k * n }, () => rng() * 2 - 1);
      const qt = quantizeTensor(values, [k, n], { kind: 'block', axis: 0, blockSize: bs }, 4, symmetric);
      const e = new Emitter(new NameAllocator(new Set()), 21, 'w');
      emitMatMulNBits(e, qt);
      const b = e.initializers[0];
      expect(b.dims).toEqual([n, Math.ceil(k / bs), bs / 2]);
      expect(Buffer.from(b.rawData!).equals(Buffer.from(reference(qt.q, k, n, bs, qt.zeroPoints)))).toBe(true);
    });
  }
});

describe('packNibbles', () => {
  it('writes the bytes pack4 writes (odd and even lengths, every code)', () => {
    for (const n of [1, 2, 15, 16, 1001]) {
      const a = Int8Array.from({ length: n }, (_, i) => ((i * 7) % 16) - 8);
      expect(Buffer.from(packNibbles(a)).equals(Buffer.from(pack4(a)))).toBe(true);
    }
  });
});
