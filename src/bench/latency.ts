/**
 * Latency statistics and the repeat-until-the-median-is-stable loop, shared by the page's bench
 * worker and the CLI's `eval`. Pure: the clock and the run are passed in.
 */
import { throwIfAborted } from '../core/errors';
import { sideBySide, type SideBySide } from '../core/speedup';

export interface LatencyStats {
  /** timed runs (the first run is timed separately and not among them) */
  runs: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** items per second at the median latency: batch * 1000 / medianMs */
  throughputPerS: number;
}

/**
 * The q-quantile (0..1) of `sorted` (ascending) with linear interpolation between closest ranks
 * (NumPy's default, 'linear'): position q * (n - 1).
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantileSorted([...values].sort((a, b) => a - b), 0.5);
}

/** Statistics of run times in ms; `batch` is the items each run processed (for throughput). */
export function latencyStats(samplesMs: readonly number[], batch = 1): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const n = sorted.length;
  const med = quantileSorted(sorted, 0.5);
  return {
    runs: n,
    medianMs: med,
    p90Ms: quantileSorted(sorted, 0.9),
    p99Ms: quantileSorted(sorted, 0.99),
    meanMs: n === 0 ? NaN : sorted.reduce((s, v) => s + v, 0) / n,
    minMs: n === 0 ? NaN : sorted[0],
    maxMs: n === 0 ? NaN : sorted[n - 1],
    throughputPerS: n === 0 || !(med > 0) ? NaN : (batch * 1000) / med,
  };
}

export interface RepeatOptions {
  /** runs before stability is first judged */
  minRuns: number;
  /** the cap on runs */
  maxRuns: number;
  /** the cap on time spent in the loop, ms (checked between runs) */
  maxMs: number;
  /** never stop as stable before this much time was spent, ms (tiny models need many runs) */
  minMs: number;
  /** the median is re-taken every `checkEvery` runs */
  checkEvery: number;
  /** the median is stable when it moved by at most this fraction since the previous check ... */
  tolerance: number;
  /** ... this many checks in a row */
  stableChecks: number;
}

export const DEFAULT_REPEAT: RepeatOptions = {
  minRuns: 10,
  maxRuns: 500,
  maxMs: 10_000,
  minMs: 300,
  checkEvery: 5,
  tolerance: 0.02,
  stableChecks: 2,
};

export interface WarmUpOptions {
  /** warm up for at least this long, ms, counted from the first run's start (its time is passed as `firstMs`) */
  minMs: number;
  /** the cap on time spent warming up, ms (checked between runs) */
  maxMs: number;
  /** warm-up runs at most */
  maxRuns: number;
  /** a run counts as settled when it is not faster than the fastest before it by more than this fraction */
  improvement: number;
  /** ... this many runs in a row */
  settledRuns: number;
}

/**
 * After the first run: untimed runs until they stop getting faster, and for at least `minMs`. A
 * fresh browser worker runs onnxruntime-web's WebAssembly on its baseline code while V8 compiles
 * the optimized code on background threads (the WebGPU-capable build: 6-9 s of CPU across threads,
 * mostly in the first 1-3 s), taking cores from the runs: the PaddleOCR detector's runs 2-4 in a
 * new worker took 688, 515 and 315 ms, then 140-165 ms, and a p99 over 30 timed runs read about
 * 1 s; another worker's runs were 314-468 ms for 2.5 s before settling at 170 ms, so the
 * floor is 4 s on this 2-core machine (docs/BENCH.md, "Warm-up"). The CLI's native runtime has no
 * such phase (`NATIVE_WARM_UP`).
 */
export const DEFAULT_WARM_UP: WarmUpOptions = { minMs: 4000, maxMs: 8000, maxRuns: 100_000, improvement: 0.1, settledRuns: 2 };

/** onnxruntime-node (the CLI): compiled ahead of time; warm-up only until runs settle. */
export const NATIVE_WARM_UP: Partial<WarmUpOptions> = { minMs: 0, maxMs: 3000, maxRuns: 100 };

/** How often warmUp reports progress, ms: a tiny model warms up with thousands of runs, and a message a run flooded the page. */
const WARM_UP_PROGRESS_MS = 250;

/**
 * Runs `runOnce` (returns one run's ms) until `settledRuns` runs in a row were not `improvement`
 * faster than the fastest before them and `minMs` has passed since the first run began (`firstMs`
 * ago), or a cap; at least once. Returns each warm-up run's ms. `onProgress` gets the runs so far
 * (and no cap: 0) after the first run and then at most every WARM_UP_PROGRESS_MS.
 */
export async function warmUp(runOnce: () => Promise<number>, firstMs: number, options: Partial<WarmUpOptions> = {}, hooks: RepeatHooks = {}): Promise<number[]> {
  const o = { ...DEFAULT_WARM_UP, ...options };
  const now = hooks.now ?? (() => performance.now());
  const start = now() - firstMs;
  const times: number[] = [];
  let best = firstMs;
  let settled = 0;
  let said = -Infinity;
  while (times.length < Math.max(1, o.maxRuns)) {
    throwIfAborted(hooks.signal);
    const ms = await runOnce();
    times.push(ms);
    if (hooks.onProgress && now() - said >= WARM_UP_PROGRESS_MS) {
      said = now();
      hooks.onProgress(times.length, 0);
    }
    settled = ms >= best * (1 - o.improvement) ? settled + 1 : 0;
    best = Math.min(best, ms);
    const elapsed = now() - start;
    if ((settled >= o.settledRuns && elapsed >= o.minMs) || elapsed >= o.maxMs) break;
  }
  return times;
}

export type RepeatStop = 'stable' | 'max-runs' | 'max-time';

export interface RepeatResult {
  samplesMs: number[];
  stop: RepeatStop;
}

export interface RepeatHooks {
  signal?: AbortSignal;
  /** after every run: runs so far and the cap */
  onProgress?: (runs: number, maxRuns: number) => void;
  /** clock in ms (performance.now by default) */
  now?: () => number;
}

/**
 * Calls `runOnce` (which returns the time one run took, ms) until the median of all times is
 * stable (see RepeatOptions), or a cap is reached. Always runs at least once. Throws an
 * 'aborted' AppError when the signal fires between runs.
 */
export async function repeatUntilStable(
  runOnce: () => Promise<number>,
  options: Partial<RepeatOptions> = {},
  hooks: RepeatHooks = {},
): Promise<RepeatResult> {
  const o = { ...DEFAULT_REPEAT, ...options };
  const now = hooks.now ?? (() => performance.now());
  const maxRuns = Math.max(1, o.maxRuns);
  const checkEvery = Math.max(1, o.checkEvery);
  const start = now();
  const samplesMs: number[] = [];
  let previous: number | undefined;
  let calm = 0;
  for (;;) {
    throwIfAborted(hooks.signal);
    samplesMs.push(await runOnce());
    hooks.onProgress?.(samplesMs.length, maxRuns);
    const n = samplesMs.length;
    if (n >= maxRuns) return { samplesMs, stop: 'max-runs' };
    if (n >= o.minRuns && (n - o.minRuns) % checkEvery === 0) {
      const m = median(samplesMs);
      if (previous !== undefined) {
        const moved = previous === 0 ? (m === 0 ? 0 : Infinity) : Math.abs(m - previous) / previous;
        calm = moved <= o.tolerance ? calm + 1 : 0;
        if (calm >= o.stableChecks && now() - start >= o.minMs) return { samplesMs, stop: 'stable' };
      }
      previous = m;
    }
    if (now() - start >= o.maxMs) return { samplesMs, stop: 'max-time' };
  }
}

export interface SideBySideOptions {
  /** rounds before the time budget is looked at */
  minRounds: number;
  /** the cap on rounds */
  maxRounds: number;
  /** keep going until this much time has passed (ms), within maxRounds */
  minMs: number;
}

/** The page's side-by-side job uses the same numbers (docs/BENCH.md). */
export const DEFAULT_SIDE_BY_SIDE: SideBySideOptions = { minRounds: 6, maxRounds: 40, minMs: 6000 };

/**
 * Both models timed side by side: each round runs the original and the compressed model once (the
 * order alternating, so neither always runs on a warm cache); the speed-up is the median of the
 * rounds' original / compressed ratios (src/core/speedup.ts). Each `run` returns its time in ms.
 */
export async function timeSideBySide(
  runOriginal: () => Promise<number>,
  runCompressed: () => Promise<number>,
  options: Partial<SideBySideOptions> = {},
  now: () => number = () => performance.now(),
): Promise<SideBySide> {
  const o = { ...DEFAULT_SIDE_BY_SIDE, ...options };
  const ta: number[] = [];
  const tb: number[] = [];
  const t0 = now();
  for (let i = 0; i < Math.max(1, o.maxRounds) && (i < o.minRounds || now() - t0 < o.minMs); i++) {
    if (i % 2 === 0) {
      ta.push(await runOriginal());
      tb.push(await runCompressed());
    } else {
      tb.push(await runCompressed());
      ta.push(await runOriginal());
    }
  }
  return sideBySide(ta, tb);
}
