/**
 * Magnitude pruning (unstructured): exactly round(fraction * n) of the tensor's values, those of
 * smallest magnitude, become exact zeros. Ties at the threshold magnitude are broken by position
 * (lower index pruned first), so the result is fully deterministic.
 */
import { AppError } from '../../core/errors';

export interface MagnitudePruneResult {
  values: Float32Array;
  /** how many values were selected for pruning (round(fraction * n)) */
  pruned: number;
  /** the magnitude at and below which values were zeroed */
  threshold: number;
}

/** How many of `n` values a fraction prunes. */
export function pruneCount(n: number, fraction: number): number {
  return Math.min(n, Math.max(0, Math.round(fraction * n)));
}

/**
 * A new array with the `pruneCount(n, fraction)` smallest-magnitude values set to +0. With
 * `importance` (one non-negative factor per value, e.g. the input column's norm √H_jj: Wanda's
 * criterion, Sun et al. 2023), the values of smallest |v|·importance are pruned instead: the same
 * count, ties broken by position as well.
 */
export function magnitudePrune(values: Float32Array, fraction: number, importance?: ArrayLike<number>): MagnitudePruneResult {
  if (!(fraction >= 0 && fraction <= 1)) throw new AppError('invalid-argument', `Prune fraction ${fraction} is outside 0..1.`);
  const n = values.length;
  const k = pruneCount(n, fraction);
  const out = Float32Array.from(values);
  if (k === 0) return { values: out, pruned: 0, threshold: 0 };
  if (importance && importance.length !== n) throw new AppError('invalid-argument', `Prune importance has ${importance.length} values for ${n} weights.`);
  // the score of each value (|v|, or |v|·importance) as float32 bits: for non-negative floats the
  // uint32 order is the numeric order, so the k-th smallest score is found by a two-pass radix
  // select (16 high bits, then 16 low bits) in linear time.
  const mags = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== v) throw new AppError('invalid-argument', 'The weights contain NaN values.');
    mags[i] = importance ? Math.abs(v) * importance[i] : Math.abs(v); // +0 for -0: its bits must sort first
    if (!(mags[i] >= 0)) mags[i] = 0;
  }
  const bits = new Uint32Array(mags.buffer, mags.byteOffset, n);
  const hist = new Uint32Array(65536);
  for (let i = 0; i < n; i++) hist[bits[i] >>> 16]++;
  let hi = 0;
  let before = 0;
  while (before + hist[hi] < k) before += hist[hi++];
  hist.fill(0);
  for (let i = 0; i < n; i++) if (bits[i] >>> 16 === hi) hist[bits[i] & 0xffff]++;
  let lo = 0;
  while (before + hist[lo] < k) before += hist[lo++];
  const tBits = ((hi << 16) | lo) >>> 0;
  const t = new Float32Array(new Uint32Array([tBits]).buffer)[0];
  // `before` now counts the scores strictly below t
  const below = before;
  let ties = k - below;
  for (let i = 0; i < n; i++) {
    const m = mags[i];
    if (m < t) out[i] = 0;
    else if (m === t && ties > 0) {
      out[i] = 0;
      ties--;
    }
  }
  return { values: out, pruned: k, threshold: t };
}

/** Count of exact zeros (+0 or -0). */
export function countZeros(values: ArrayLike<number>): number {
  let z = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 0) z++;
  return z;
}
