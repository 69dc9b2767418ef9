import { describe, expect, it } from 'vitest';
import { seeded } from '../../testing/random';
import { gaussian } from '../testing/fixtures';
import { countZeros, magnitudePrune, pruneCount } from './prune';

describe('magnitudePrune', () => {
  it('zeroes exactly round(fraction * n) values, the smallest magnitudes', () => {
    const values = gaussian(seeded(7), 10_001, 1);
    for (const fraction of [0, 0.1, 0.25, 0.5, 0.9, 0.95]) {
      const r = magnitudePrune(values, fraction);
      const k = Math.round(fraction * values.length);
      expect(r.pruned).toBe(k);
      expect(countZeros(r.values)).toBe(k);
      // every kept value is at least as large as every pruned one
      let maxPruned = 0;
      let minKept = Infinity;
      for (let i = 0; i < values.length; i++) {
        if (r.values[i] === 0) maxPruned = Math.max(maxPruned, Math.abs(values[i]));
        else {
          minKept = Math.min(minKept, Math.abs(values[i]));
          expect(r.values[i]).toBe(values[i]);
        }
      }
      if (k > 0) expect(maxPruned).toBeLessThanOrEqual(minKept);
    }
  });

  it('breaks ties by position, lowest index first', () => {
    const r = magnitudePrune(Float32Array.of(1, -1, 3, 1, 1, -2), 0.5);
    expect(Array.from(r.values, (v) => v + 0)).toEqual([0, 0, 3, 0, 1, -2]);
    expect(r.threshold).toBe(1);
  });

  it('with importance: prunes the smallest |v|·importance, the same count, ties by position', () => {
    // scores 10, 2, 3, 0.4, 2, 6: the two smallest (0.4 at 3, then 2 at 1 before 2 at 4) and one more tie
    const r = magnitudePrune(Float32Array.of(1, -2, 3, 4, 2, -6), 0.5, [10, 1, 1, 0.1, 1, 1]);
    expect(Array.from(r.values, (v) => v + 0)).toEqual([1, 0, 3, 0, 0, -6]);
    expect(r.pruned).toBe(3);
    expect(r.threshold).toBe(2);
    // all importance 1: magnitude's mask exactly
    const v = Float32Array.of(0.5, -3, 2, 7, -1, 4, 0.25, 9);
    expect(magnitudePrune(v, 0.5, new Float32Array(8).fill(1)).values).toEqual(magnitudePrune(v, 0.5).values);
    expect(() => magnitudePrune(v, 0.5, [1, 2])).toThrow(/importance/);
  });

  it('counts existing zeros among the smallest and never touches the input', () => {
    const input = Float32Array.of(0, 0, 5, -4, 3, 2);
    const copy = Float32Array.from(input);
    const r = magnitudePrune(input, 0.5);
    expect(Array.from(r.values, (v) => v + 0)).toEqual([0, 0, 5, -4, 3, 0]);
    expect(countZeros(r.values)).toBe(3);
    expect(input).toEqual(copy);
  });

  it('selects the same values as a full sort, with -0, duplicates and tiny values', () => {
    const rng = seeded(17);
    const values = Float32Array.from({ length: 5000 }, () => {
      const r = rng();
      if (r < 0.05) return -0;
      if (r < 0.1) return 0.25 * (rng() < 0.5 ? -1 : 1);
      if (r < 0.15) return 1e-40; // subnormal
      return (rng() * 2 - 1) * 3;
    });
    for (const fraction of [0.03, 0.1, 0.33, 0.5, 0.77]) {
      const k = Math.round(fraction * values.length);
      const order = Array.from(values.keys()).sort((a, b) => Math.abs(values[a]) - Math.abs(values[b]) || a - b);
      const expected = Float32Array.from(values);
      for (const i of order.slice(0, k)) expected[i] = 0;
      const got = magnitudePrune(values, fraction).values;
      expect(Array.from(got, (v) => v + 0)).toEqual(Array.from(expected, (v) => v + 0));
    }
  });

  it('rounds the count to the nearest integer and refuses NaN', () => {
    expect(pruneCount(10, 0.25)).toBe(3);
    expect(pruneCount(7, 0.5)).toBe(4);
    expect(() => magnitudePrune(Float32Array.of(1, NaN, 2), 0.5)).toThrow(/NaN/);
  });
});
