/**
 * Tensor statistics for the inspector: min, max, mean, standard deviation, sparsity (fraction of
 * exact zeros) and a histogram, over any numeric typed array.
 *
 * Two linear passes over typed arrays (moments and zeros first, then the histogram over the
 * range found), no sorting and no per-element allocation. Tensors above `maxSamples` values are
 * read at a fixed stride (deterministic) and the result says so. NaN and infinite values are
 * counted and left out of every other figure.
 */
import type { TensorValues } from './tensor';

export interface Histogram {
  /** left edge of the first bin and right edge of the last */
  min: number;
  max: number;
  /** bin width ((max - min) / counts.length); 0 when every value is the same */
  width: number;
  counts: number[];
}

export interface TensorStats {
  /** values in the tensor */
  count: number;
  /** values the figures were computed from (= count unless sampled) */
  sampled: number;
  /** true when only every `stride`-th value was read */
  isSampled: boolean;
  stride: number;
  /** over the finite values read; NaN when there are none */
  min: number;
  max: number;
  mean: number;
  /** population standard deviation */
  std: number;
  /** exact zeros among the values read */
  zeros: number;
  /** zeros / sampled (0 for an empty tensor) */
  sparsity: number;
  nan: number;
  infinite: number;
  histogram: Histogram;
}

export interface StatsOptions {
  /** histogram bins (default 64); integer data with a narrower range gets one bin per integer */
  bins?: number;
  /** above this many values, a strided sample of about this size is read (default 4M) */
  maxSamples?: number;
}

export const DEFAULT_BINS = 64;
export const DEFAULT_MAX_SAMPLES = 4_000_000;

type NumericArray = Exclude<TensorValues, BigInt64Array | BigUint64Array>;

/** BigInt arrays are read as doubles (exact below 2^53), in one copy of the sampled values. */
function asNumbers(values: TensorValues | ArrayLike<number>, stride: number, sampled: number): ArrayLike<number> {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const out = new Float64Array(sampled);
    for (let i = 0, j = 0; j < sampled; i += stride, j++) out[j] = Number(values[i]);
    return out;
  }
  return values as NumericArray | ArrayLike<number>;
}

function isIntegerArray(values: unknown): boolean {
  return (
    values instanceof Int8Array ||
    values instanceof Uint8Array ||
    values instanceof Int16Array ||
    values instanceof Uint16Array ||
    values instanceof Int32Array ||
    values instanceof Uint32Array ||
    values instanceof BigInt64Array ||
    values instanceof BigUint64Array
  );
}

/** Statistics of `values` (any typed array or array of numbers). */
export function tensorStats(values: TensorValues | ArrayLike<number>, options: StatsOptions = {}): TensorStats {
  const bins = Math.max(1, Math.floor(options.bins ?? DEFAULT_BINS));
  const maxSamples = Math.max(1, Math.floor(options.maxSamples ?? DEFAULT_MAX_SAMPLES));
  const count = values.length;
  const stride = count > maxSamples ? Math.ceil(count / maxSamples) : 1;
  const sampled = stride === 1 ? count : Math.ceil(count / stride);
  const bigint = values instanceof BigInt64Array || values instanceof BigUint64Array;
  const data = asNumbers(values, stride, sampled);
  // after the BigInt copy the data is already the sample
  const step = bigint ? 1 : stride;
  const end = bigint ? sampled : count;

  // Pass 1: range, moments (shifted by the first finite value for stability), zeros.
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  let nan = 0;
  let infinite = 0;
  let finite = 0;
  let shift = NaN;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < end; i += step) {
    const v = data[i];
    if (v !== v) {
      nan++;
      continue;
    }
    if (v === Infinity || v === -Infinity) {
      infinite++;
      continue;
    }
    if (v === 0) zeros++;
    if (v < min) min = v;
    if (v > max) max = v;
    if (shift !== shift) shift = v;
    const d = v - shift;
    sum += d;
    sumSq += d * d;
    finite++;
  }
  let mean = NaN;
  let std = NaN;
  if (finite > 0) {
    const m = sum / finite;
    mean = shift + m;
    std = Math.sqrt(Math.max(0, sumSq / finite - m * m));
  } else {
    min = NaN;
    max = NaN;
  }

  // Pass 2: histogram over [min, max]. Integer data whose range is narrower than the bins gets
  // one bin per integer, centred on it.
  let lo = min;
  let hi = max;
  let nBins = bins;
  if (finite === 0) {
    lo = 0;
    hi = 0;
    nBins = 1;
  } else if (isIntegerArray(values) && max - min + 1 <= bins) {
    nBins = max - min + 1;
    lo = min - 0.5;
    hi = max + 0.5;
  } else if (max === min) {
    nBins = 1;
  }
  const counts = new Float64Array(nBins);
  const width = hi > lo ? (hi - lo) / nBins : 0;
  if (finite > 0) {
    if (width === 0) counts[0] = finite;
    else {
      const scale = nBins / (hi - lo);
      const last = nBins - 1;
      for (let i = 0; i < end; i += step) {
        const v = data[i];
        if (v !== v || v === Infinity || v === -Infinity) continue;
        let b = Math.floor((v - lo) * scale);
        if (b > last) b = last;
        else if (b < 0) b = 0;
        counts[b]++;
      }
    }
  }

  return {
    count,
    sampled,
    isSampled: stride > 1,
    stride,
    min,
    max,
    mean,
    std,
    zeros,
    sparsity: sampled > 0 ? zeros / sampled : 0,
    nan,
    infinite,
    histogram: { min: lo, max: hi, width, counts: Array.from(counts) },
  };
}
