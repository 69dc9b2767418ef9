import { describe, expect, it } from 'vitest';
import { latencyStats, median, quantileSorted, repeatUntilStable, timeSideBySide } from './latency';

describe('latency statistics', () => {
  it('percentiles interpolate between ranks', () => {
    // [10..50]: median at position 2 -> 30; p90 at 3.6 -> 40 + 0.6 * 10 = 46; p99 at 3.96 -> 49.6
    const s = latencyStats([50, 10, 40, 20, 30], 2);
    expect(s.runs).toBe(5);
    expect(s.medianMs).toBe(30);
    expect(s.p90Ms).toBeCloseTo(46, 12);
    expect(s.p99Ms).toBeCloseTo(49.6, 12);
    expect(s.meanMs).toBe(30);
    expect(s.minMs).toBe(10);
    expect(s.maxMs).toBe(50);
    // 2 items per run at 30 ms: 2 * 1000 / 30 = 66.67 items/s
    expect(s.throughputPerS).toBeCloseTo(2000 / 30, 10);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantileSorted([], 0.5)).toBeNaN();
    expect(latencyStats([]).throughputPerS).toBeNaN();
  });
});

describe('repeat until the median is stable', () => {
  it('stops once the median stays put for the asked checks', async () => {
    let calls = 0;
    const r = await repeatUntilStable(
      async () => {
        calls++;
        return 5;
      },
      { minRuns: 3, checkEvery: 1, tolerance: 0, stableChecks: 2, maxRuns: 100, maxMs: 1e9, minMs: 0 },
      { now: () => 0 },
    );
    // checks at run 3 (first median), 4 (calm 1), 5 (calm 2) -> stop after 5 runs
    expect(r.stop).toBe('stable');
    expect(r.samplesMs).toHaveLength(5);
    expect(calls).toBe(5);
  });

  it('keeps running a stable median until the minimum time has passed', async () => {
    let t = 0;
    const r = await repeatUntilStable(async () => ((t += 10), 5), { minRuns: 3, checkEvery: 1, tolerance: 0, stableChecks: 2, maxRuns: 100, maxMs: 1e9, minMs: 100 }, { now: () => t });
    // stable from run 5 on, but only at run 10 has 100 ms passed
    expect(r.stop).toBe('stable');
    expect(r.samplesMs).toHaveLength(10);
  });

  it('stops at the run cap when the median keeps moving', async () => {
    let n = 0;
    const seen: number[] = [];
    const r = await repeatUntilStable(async () => ++n * 10, { minRuns: 2, checkEvery: 1, maxRuns: 12, maxMs: 1e9 }, {
      now: () => 0,
      onProgress: (runs) => seen.push(runs),
    });
    expect(r.stop).toBe('max-runs');
    expect(r.samplesMs).toHaveLength(12);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('stops at the time cap, and on cancel', async () => {
    let t = 0;
    const r = await repeatUntilStable(async () => ((t += 100), 1), { minRuns: 100, maxRuns: 1000, maxMs: 250 }, { now: () => t });
    // after runs at t = 100, 200, 300: 300 >= 250
    expect(r.stop).toBe('max-time');
    expect(r.samplesMs).toHaveLength(3);
    const c = new AbortController();
    let runs = 0;
    await expect(
      repeatUntilStable(async () => (++runs === 2 && c.abort(), 1), { minRuns: 100, maxRuns: 1000, maxMs: 1e9 }, { signal: c.signal }),
    ).rejects.toThrow(/Cancelled/);
    expect(runs).toBe(2);
  });
});

describe('side by side', () => {
  it('times both models in alternating order, at least the minimum rounds, then until the time is spent', async () => {
    const order: string[] = [];
    let clock = 0;
    const s = await timeSideBySide(
      async () => (order.push('a'), (clock += 1), 4),
      async () => (order.push('b'), (clock += 1), 2),
      { minRounds: 4, maxRounds: 40, minMs: 10 },
      () => clock,
    );
    expect(order.slice(0, 8).join('')).toBe('abbaabba');
    expect(s.rounds).toBe(5); // 4 rounds = 8 ms, the fifth ends at 10 ms
    expect(s.speedup).toBe(2);
  });
});
