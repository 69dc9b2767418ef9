/**
 * The fair speed-up: both models in one place, timed in alternating runs on the latency inputs.
 * Each round runs the original and the compressed model once (the order alternating), and the
 * speed-up is the median of the rounds' ratios. Separate workers measured one after the other can
 * differ by tens of percent on a busy machine (the same file measured 247 and 397 ms in two
 * workers); side by side, both see the same conditions.
 */
import type { RunSession } from './evaluate';
import type { BenchTensor } from './tensor';

export interface PairedResult {
  /** median over rounds of original time / compressed time (each round runs both, the order alternating) */
  speedup: number;
  rounds: number;
  originalMs: number;
  compressedMs: number;
}

export interface PairedOptions {
  /** rounds at least, then until `ms` have passed, at most `max` */
  min?: number;
  max?: number;
  ms?: number;
  now?: () => number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `a` (the original) and `b` (the compressed model) side by side, after one warm-up run each. */
export async function pairedRounds(a: RunSession, b: RunSession, feeds: readonly BenchTensor[], options: PairedOptions = {}): Promise<PairedResult> {
  const { min = 6, max = 40, ms = 6000, now = () => performance.now() } = options;
  await a.run(feeds);
  await b.run(feeds);
  const ta: number[] = [];
  const tb: number[] = [];
  const ratios: number[] = [];
  const t0 = now();
  for (let i = 0; i < max && (i < min || now() - t0 < ms); i++) {
    let x: number;
    let y: number;
    if (i % 2 === 0) {
      x = (await a.run(feeds)).ms;
      y = (await b.run(feeds)).ms;
    } else {
      y = (await b.run(feeds)).ms;
      x = (await a.run(feeds)).ms;
    }
    ta.push(x);
    tb.push(y);
    if (y > 0) ratios.push(x / y);
  }
  return { speedup: median(ratios), rounds: ta.length, originalMs: median(ta), compressedMs: median(tb) };
}
