import { describe, expect, it } from 'vitest';
import { medianRatio, sideBySide, sideBySideTimes, speedUp, speedUpWords } from './speedup';

describe('speed-up: one definition', () => {
  it('is original time / compressed time, more than 1 when the compressed model is faster', () => {
    expect(speedUp(10, 5)).toBe(2);
    expect(speedUp(10149, 12416)).toBeCloseTo(0.8174, 4);
    expect(speedUp(undefined, 5)).toBeUndefined();
    expect(speedUp(10, 0)).toBeUndefined();
    expect(speedUpWords(2)).toBe('2.00x faster');
    expect(speedUpWords(0.8)).toBe('1.25x slower');
    expect(speedUpWords(1.001)).toBe('the same speed');
  });

  it('side by side is the median of the rounds’ ratios, and the times shown beside it agree with it', () => {
    // the case: medians of each model's times 65.73 vs 69.41 ms, yet most rounds favour the compressed model
    const original = [60, 62, 64, 65.73, 70, 90, 95];
    const compressed = [59, 61, 63, 69.41, 70.5, 89, 94];
    const s = sideBySide(original, compressed);
    expect(s.rounds).toBe(7);
    expect(s.originalMs).toBe(65.73);
    expect(s.compressedMs).toBe(69.41);
    expect(s.speedup).toBe(medianRatio(original, compressed));
    expect(s.speedup).toBeGreaterThan(1);
    // the medians taken apart point the other way (the contradiction the issue saw) ...
    expect(s.originalMs / s.compressedMs).toBeLessThan(1);
    // ... the times shown beside the speed-up do not
    const t = sideBySideTimes(s);
    expect(t.originalMs / t.compressedMs).toBeCloseTo(s.speedup, 12);
    expect(t.compressedMs).toBeLessThan(t.originalMs);
  });
});
