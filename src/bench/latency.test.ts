import { describe, expect, it } from 'vitest';
import { latencyStats, median, quantileSorted, repeatUntilStable, timeSideBySide, warmUp } from './latency';

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

describe('warm-up runs', () => {
  /** a run per call from `times`, the clock advancing by each run's ms (the first run, `first` ms, already on it) */
  const runner = (times: number[], first = 0) => {
    let i = 0;
    let clock = first;
    return {
      run: async () => {
        const ms = times[Math.min(i++, times.length - 1)];
        clock += ms;
        return ms;
      },
      now: () => clock,
    };
  };
  const quick = { minMs: 0 };

  it('runs until two runs in a row are not 10% faster than the fastest before them (a fresh browser worker: 688, 515, 315 ms, then ~150)', async () => {
    const r = runner([688, 515, 315, 164, 159, 216, 152, 146], 1184);
    expect(await warmUp(r.run, 1184, quick, { now: r.now })).toEqual([688, 515, 315, 164, 159, 216]);
  });

  it('and for at least minMs from the first run (a plateau while the browser still compiles is not the end of it)', async () => {
    // the compressed model's worker: 314, 341, 331 ms (settled against each other), then 170 ms from 2.5 s on
    const r = runner([314, 341, 331, 330, 320, 175, 170, 171, 169], 733);
    expect(await warmUp(r.run, 733, { minMs: 2500 }, { now: r.now })).toEqual([314, 341, 331, 330, 320, 175, 170, 171]);
  });

  it('a steady model settles in two runs; a run slower than the fastest counts as settled', async () => {
    expect(await warmUp(runner([10, 10, 10]).run, 10, quick)).toEqual([10, 10]);
    // 148 is 18% faster than the first run's 180: not settled; 151 and 150 are
    expect(await warmUp(runner([148, 151, 150, 140]).run, 180, quick)).toEqual([148, 151, 150]);
  });

  it('stops at its caps: runs, and time (a 2 s model past 8 s), at least one run', async () => {
    expect(await warmUp(runner([100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 5, 4]).run, 110, { maxRuns: 5 })).toHaveLength(5);
    const slow = runner([2000, 1500, 1000, 900], 4000);
    expect(await warmUp(slow.run, 4000, {}, { now: slow.now })).toEqual([2000, 1500, 1000]);
    expect(await warmUp(runner([5]).run, 5, { maxRuns: 0, maxMs: 0 })).toEqual([5]);
  });

  it('reports progress after the first warm-up run, then at most every 250 ms (a tiny model runs thousands)', async () => {
    const r = runner([0.1]);
    const said: number[] = [];
    const runs = await warmUp(r.run, 0.1, { minMs: 1000, maxMs: 1000 }, { now: r.now, onProgress: (done) => said.push(done) });
    expect(runs.length).toBeGreaterThan(9000);
    expect(said[0]).toBe(1);
    expect(said.length).toBe(4);
  });

  it('a cancelled signal stops it between runs', async () => {
    const c = new AbortController();
    c.abort();
    await expect(warmUp(runner([5]).run, 5, {}, { signal: c.signal })).rejects.toThrow('Cancelled.');
  });
});
