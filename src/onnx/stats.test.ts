import { describe, expect, it } from 'vitest';
import { tensorStats } from './stats';

describe('tensorStats', () => {
  it('computes min, max, mean, std and sparsity by hand', () => {
    // values 0, 0, 1, 2, 3, 6: sum 12, mean 2; squared deviations 4+4+1+0+1+16 = 26, var 26/6
    const s = tensorStats(Float32Array.from([0, 0, 1, 2, 3, 6]), { bins: 6 });
    expect(s.count).toBe(6);
    expect(s.sampled).toBe(6);
    expect(s.isSampled).toBe(false);
    expect(s.min).toBe(0);
    expect(s.max).toBe(6);
    expect(s.mean).toBeCloseTo(2, 12);
    expect(s.std).toBeCloseTo(Math.sqrt(26 / 6), 12);
    expect(s.zeros).toBe(2);
    expect(s.sparsity).toBeCloseTo(2 / 6, 12);
    // 6 bins of width 1 over [0, 6]: [0,1) [1,2) [2,3) [3,4) [4,5) [5,6]
    expect(s.histogram).toEqual({ min: 0, max: 6, width: 1, counts: [2, 1, 1, 1, 0, 1] });
  });

  it('counts negative zeros as zeros and keeps a large offset stable', () => {
    const s = tensorStats(Float32Array.from([-0, 1e6 + 1, 1e6 + 3]));
    expect(s.zeros).toBe(1);
    const mean = (0 + 1e6 + 1 + 1e6 + 3) / 3;
    expect(s.mean).toBeCloseTo(mean, 6);
    const v = [0, 1e6 + 1, 1e6 + 3].reduce((a, x) => a + (x - mean) ** 2, 0) / 3;
    expect(s.std).toBeCloseTo(Math.sqrt(v), 4);
  });

  it('puts the maximum in the last bin and sums every finite value', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    const s = tensorStats(values);
    expect(s.histogram.counts).toHaveLength(64);
    expect(s.histogram.counts.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(s.histogram.min).toBe(s.min);
    expect(s.histogram.max).toBe(s.max);
    expect(s.histogram.counts[63]).toBeGreaterThan(0);
    expect(s.histogram.counts[0]).toBeGreaterThan(0);
  });

  it('leaves NaN and infinities out of every figure and counts them', () => {
    const s = tensorStats(Float32Array.from([NaN, 1, Infinity, 3, -Infinity]), { bins: 2 });
    expect(s.nan).toBe(1);
    expect(s.infinite).toBe(2);
    expect(s.min).toBe(1);
    expect(s.max).toBe(3);
    expect(s.mean).toBe(2);
    expect(s.std).toBe(1);
    expect(s.histogram.counts).toEqual([1, 1]);
  });

  it('gives integer data one bin per value when the range is narrow', () => {
    const s = tensorStats(Int8Array.from([-8, -8, 0, 7, 7, 7]));
    expect(s.histogram.counts).toHaveLength(16);
    expect(s.histogram.min).toBe(-8.5);
    expect(s.histogram.max).toBe(7.5);
    expect(s.histogram.width).toBe(1);
    expect(s.histogram.counts[0]).toBe(2);
    expect(s.histogram.counts[8]).toBe(1);
    expect(s.histogram.counts[15]).toBe(3);
  });

  it('reads int64 data as numbers', () => {
    const s = tensorStats(BigInt64Array.from([1n, 2n, 3n, 0n]));
    expect(s.min).toBe(0);
    expect(s.max).toBe(3);
    expect(s.mean).toBe(1.5);
    expect(s.zeros).toBe(1);
  });

  it('handles a constant tensor and an empty one', () => {
    const c = tensorStats(Float32Array.from([5, 5, 5]));
    expect(c.std).toBe(0);
    expect(c.histogram).toEqual({ min: 5, max: 5, width: 0, counts: [3] });
    const e = tensorStats(new Float32Array(0));
    expect(e.count).toBe(0);
    expect(e.sparsity).toBe(0);
    expect(Number.isNaN(e.mean)).toBe(true);
    expect(e.histogram.counts).toEqual([0]);
  });

  it('samples big tensors at a fixed stride and says so', () => {
    // 10 values, at most 4 read: stride 3 reads indices 0, 3, 6, 9
    const values = Float32Array.from([0, 100, 100, 1, 100, 100, 2, 100, 100, 3]);
    const s = tensorStats(values, { maxSamples: 4 });
    expect(s.isSampled).toBe(true);
    expect(s.stride).toBe(3);
    expect(s.sampled).toBe(4);
    expect(s.count).toBe(10);
    expect(s.min).toBe(0);
    expect(s.max).toBe(3);
    expect(s.mean).toBe(1.5);
    expect(s.zeros).toBe(1);
    expect(s.sparsity).toBe(0.25);
    // the same for BigInt data (copied sample)
    const b = tensorStats(BigInt64Array.from([0n, 100n, 100n, 1n, 100n, 100n, 2n, 100n, 100n, 3n]), { maxSamples: 4 });
    expect(b.mean).toBe(1.5);
    expect(b.sampled).toBe(4);
  });

  it('reads 8 million values by sampling, in linear time', () => {
    const n = 8_000_000;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
    const t0 = performance.now();
    const s = tensorStats(values);
    const ms = performance.now() - t0;
    expect(s.isSampled).toBe(true);
    expect(s.sampled).toBe(4_000_000);
    // a generous bound: two linear passes over 4M samples take about 0.1 s here
    expect(ms).toBeLessThan(3000);
  });
});
