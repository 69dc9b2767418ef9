/**
 * The one definition of speed-up (docs/BENCH.md), shared by the Benchmark tab's table and chart,
 * the export report and `cli eval`: original time / compressed time, so more than 1 means the
 * compressed model is faster. The figure the studio trusts is measured side by side (both models
 * in one process, alternating runs): the median of the rounds' ratios. Each model's own median
 * comes from a separate run, one after the other, and can drift on a busy machine, so its ratio
 * is never shown as the speed-up.
 */

/** original / compressed (> 1: the compressed model is faster); undefined when either is missing or not positive. */
export function speedUp(originalMs: number | undefined, compressedMs: number | undefined): number | undefined {
  if (originalMs === undefined || compressedMs === undefined || !(originalMs > 0) || !(compressedMs > 0)) return undefined;
  return originalMs / compressedMs;
}

/** Both models timed side by side: `rounds` alternating runs of each. */
export interface SideBySide {
  /** the median of the rounds' original / compressed ratios */
  speedup: number;
  rounds: number;
  /** the median of the original's run times in those rounds */
  originalMs: number;
  /** the median of the compressed model's run times in those rounds (its ratio to originalMs may differ from speedup) */
  compressedMs: number;
}

/** Times to draw next to a side-by-side speed-up, so that they say the same thing. */
export interface SideBySideTimes {
  speedup: number;
  rounds: number;
  /** the original's median time in the side-by-side rounds */
  originalMs: number;
  /** originalMs / speedup: the compressed model's time at the median ratio */
  compressedMs: number;
}

/**
 * The pair of times shown beside a side-by-side speed-up (bars, report rows): the original's
 * median and that median divided by the speed-up. The medians of each model's times taken on
 * their own can point the other way than the median of the ratios when the machine is noisy
 * (65.73 ms vs 69.41 ms beside a speed-up of 1.01x); these two cannot.
 */
export function sideBySideTimes(s: SideBySide): SideBySideTimes {
  return { speedup: s.speedup, rounds: s.rounds, originalMs: s.originalMs, compressedMs: s.speedup > 0 ? s.originalMs / s.speedup : NaN };
}

/** "1.23x faster", "1.10x slower", "the same speed" (within 0.5%): the speed-up in words. */
export function speedUpWords(s: number): string {
  if (!Number.isFinite(s) || s <= 0) return 'unknown';
  if (Math.abs(s - 1) < 0.005) return 'the same speed';
  return s > 1 ? `${s.toFixed(2)}x faster` : `${(1 / s).toFixed(2)}x slower`;
}

/** Median of the ratios of paired times (original / compressed per round), NaN for none. */
export function medianRatio(originalMs: readonly number[], compressedMs: readonly number[]): number {
  const r: number[] = [];
  for (let i = 0; i < Math.min(originalMs.length, compressedMs.length); i++) {
    const v = speedUp(originalMs[i], compressedMs[i]);
    if (v !== undefined) r.push(v);
  }
  return medianOf(r);
}

function medianOf(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Side by side from per-round times: the speed-up is the median of the rounds' ratios. */
export function sideBySide(originalMs: readonly number[], compressedMs: readonly number[]): SideBySide {
  return { speedup: medianRatio(originalMs, compressedMs), rounds: Math.min(originalMs.length, compressedMs.length), originalMs: medianOf(originalMs), compressedMs: medianOf(compressedMs) };
}
