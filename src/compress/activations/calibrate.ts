/**
 * Calibration for int8 activations: the range of every intermediate tensor, observed by running
 * the float model on sample inputs.
 *
 * This module stays pure: the caller supplies `runModel(bytes, feeds)` (onnxruntime-node in the
 * CLI and tests, onnxruntime-web in the worker). To observe intermediate tensors, a calibration
 * copy of the model lists them as extra graph outputs (untyped: onnxruntime infers the type).
 *
 * Each tensor's values go into a histogram of fixed bin count whose range doubles (merging bin
 * pairs, which is exact) whenever a value falls outside it, so samples are streamed one at a
 * time. The range handed to the quantizer is a percentile clip (default 99.99%: (100 - p) / 2
 * percent cut from each tail, never beyond the observed min and max), which keeps one outlier
 * from spending the whole 8-bit range (see ORT-FACTS.md, "Quantization lessons").
 */
import { AppError, throwIfAborted } from '../../core/errors';
import { encodeModel } from '../../onnx/codec';
import { DataType, type Model, type ValueInfo } from '../../onnx/types';
import { cloneModel } from '../graph-edit';

/** A float range per tensor name. */
export interface TensorRange {
  min: number;
  max: number;
}

export type CalibrationTable = Record<string, TensorRange>;

/**
 * What compressModel takes (collectCalibration's result): a range per tensor name, and for the
 * report where the ranges came from. Only `ranges` is required.
 */
export interface Calibration {
  ranges: CalibrationTable;
  /** 'samples': the user's inputs; 'synthesized': random inputs the user allowed */
  source?: 'samples' | 'synthesized';
  /** how many sample sets were run */
  samples?: number;
  /** the percentile the ranges were clipped at (100 = plain min/max) */
  percentile?: number;
  /** the unclipped min and max seen */
  observed?: CalibrationTable;
  /**
   * the dims of the user's samples' inputs (the first sample's), so the cost guard estimates the
   * work at the sizes the model will run at; absent for synthesized samples (their sizes are made up)
   */
  inputDims?: Record<string, number[]>;
}

/** One model input: structurally the CLI's SampleTensor (src/cli/samples.ts) and an onnxruntime tensor's fields. */
export interface SampleTensor {
  dtype: string;
  dims: number[];
  data: ArrayLike<number> | BigInt64Array | BigUint64Array;
}

/** One set of model inputs, by input name. */
export type Sample = Record<string, SampleTensor>;

/** An output as a runtime returns it; only Float32Array data is used. */
export interface OutputTensor {
  dims?: readonly number[];
  data: unknown;
}

/**
 * Runs the model (ONNX bytes) on one set of inputs and returns every graph output by name. The
 * same `bytes` object is passed for every sample of one collection, so a caller can keep its
 * session keyed by it.
 */
export type RunModel = ((bytes: Uint8Array, feeds: Sample) => Promise<Record<string, OutputTensor>>) & {
  /** frees the session kept for `bytes` (when a caller is done with those bytes), where the runner keeps sessions */
  release?: (bytes: Uint8Array) => Promise<void>;
  /**
   * true: the runner keeps a session per bytes object and never reads the bytes again after its
   * first run, so a caller may empty them then (the recovery statistics do: hessian.ts)
   */
  keepsSession?: boolean;
  /**
   * true: the runner's MatMul is native code (onnxruntime-node), several times GPTQ's WebAssembly:
   * recovery factors wide layers' H through it (recovery/factor-runtime.ts). Its feeds may be
   * views into larger buffers (subarrays) and int64.
   */
  nativeProducts?: boolean;
  /**
   * true: large weights are better fed with every run than held by a session: onnxruntime-node
   * reads float32 feeds in place, and onnxruntime-web copies them into its heap for the run only,
   * while a session holds its own copy of every weight and a prepacked copy of the MatMul ones.
   * The recovery statistics then feed the model's large weights as inputs (hessian.ts,
   * weightsAsInputs).
   */
  feedWeights?: boolean;
};

/**
 * Model bytes whose runs hold large intermediates (the recovery statistics copies, hessian.ts:
 * every copy's patches and H's products, tens of MB a run or more). onnxruntime's memory pattern
 * plans a run's intermediates as one block: with no memory arena a fresh block of fresh pages
 * every run, and with the arena a block held beside the arena's own chunks (the PaddleOCR
 * detector in the CLI: +290 MB peak, the same time). So runners make these sessions with no
 * memory pattern (each tensor its own allocation, which the allocator reuses); the CLI's with
 * onnxruntime's arena, which keeps those allocations' pages from run to run (cli/compress.ts).
 */
const largeRuns = new WeakSet<Uint8Array>();

/** Says `bytes` is a model whose runs hold large intermediates (before its first run). */
export function markLargeRuns(bytes: Uint8Array): void {
  largeRuns.add(bytes);
}

/** Whether `bytes` was marked by markLargeRuns. */
export function hasLargeRuns(bytes: Uint8Array): boolean {
  return largeRuns.has(bytes);
}

export interface CalibrateOptions {
  /** percentile to clip each tensor's range at; 100 keeps the plain min and max (default 99.99) */
  percentile?: number;
  /** tensors to observe (default: calibrationTensors(model)) */
  tensors?: readonly string[];
  /** histogram bins per tensor (default 2048) */
  bins?: number;
  /** recorded in the result (default 'samples') */
  source?: 'samples' | 'synthesized';
  signal?: AbortSignal;
  /** after each sample */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_PERCENTILE = 99.99;
const DEFAULT_BINS = 2048;

/** Ops whose outputs are never float activations worth a range. */
const NON_FLOAT_OPS = new Set([
  'Constant', 'Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual',
  'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'TopK', 'Unique', 'NonMaxSuppression', 'ConstantOfShape', 'Range',
]);

/**
 * The tensors worth observing: the main graph's inputs (not initializers) and the outputs of its
 * nodes, except ops that produce shapes, indices or booleans. Non-float ones that slip through
 * are ignored when their values come back.
 */
export function calibrationTensors(model: Model): string[] {
  const g = model.graph;
  if (!g) return [];
  const inits = new Set(g.initializers.map((t) => t.name));
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (name: string | undefined) => {
    if (name && !seen.has(name) && !inits.has(name)) {
      seen.add(name);
      out.push(name);
    }
  };
  for (const v of g.inputs) {
    const t = v.type?.tensorType?.elemType;
    if (t === undefined || t === DataType.FLOAT) add(v.name);
  }
  for (const n of g.nodes) {
    if ((!n.domain || n.domain === 'ai.onnx') && NON_FLOAT_OPS.has(n.opType ?? '')) continue;
    n.outputs.forEach(add);
  }
  return out;
}

/** A copy of the model (sharing tensor bytes) whose main graph also outputs `tensors`. */
export function calibrationModel(model: Model, tensors: readonly string[]): Model {
  const copy = cloneModel(model);
  const g = copy.graph;
  if (!g) throw new AppError('unsupported', 'The model has no graph to calibrate.');
  const present = new Set(g.outputs.map((v) => v.name));
  for (const name of tensors) {
    if (present.has(name)) continue;
    present.add(name);
    const v: ValueInfo = { name, metadataProps: [] };
    g.outputs.push(v);
  }
  return copy;
}

/**
 * A histogram over [lo, lo + width) with `bins` equal bins; the range doubles to take values
 * outside it. Also keeps the exact min, max and count.
 */
export class RangeHistogram {
  readonly counts: Float64Array;
  lo = 0;
  width = 0;
  min = Infinity;
  max = -Infinity;
  count = 0;

  constructor(bins = DEFAULT_BINS) {
    if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0) throw new AppError('invalid-argument', `Histogram bins must be an even integer >= 2, got ${bins}.`);
    this.counts = new Float64Array(bins);
  }

  /** Adds every finite value of `data`. */
  add(data: ArrayLike<number>): void {
    const n = data.length;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) return; // empty, or all NaN
    if (lo === -Infinity || hi === Infinity) {
      // keep only finite values
      const finite: number[] = [];
      for (let i = 0; i < n; i++) if (Number.isFinite(data[i])) finite.push(data[i]);
      if (finite.length > 0) this.add(finite);
      return;
    }
    if (this.width === 0) {
      this.lo = lo;
      // a little headroom so that the max falls inside the last bin
      this.width = hi > lo ? (hi - lo) * (1 + 1 / 1024) : Math.max(Math.abs(lo) / 1024, 1e-30);
    }
    while (lo < this.lo || hi >= this.lo + this.width) this.grow(lo < this.lo);
    const bins = this.counts.length;
    const k = bins / this.width;
    const base = this.lo;
    const counts = this.counts;
    let added = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (!(v >= base)) continue; // NaN
      let b = Math.floor((v - base) * k);
      if (b >= bins) b = bins - 1;
      counts[b]++;
      added++;
    }
    this.count += added;
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
  }

  /** Doubles the range towards lower values (`left`) or higher ones, merging bin pairs. */
  private grow(left: boolean): void {
    const c = this.counts;
    const half = c.length / 2;
    const merged = new Float64Array(half);
    for (let j = 0; j < half; j++) merged[j] = c[2 * j] + c[2 * j + 1];
    c.fill(0);
    c.set(merged, left ? half : 0);
    if (left) this.lo -= this.width;
    this.width *= 2;
  }

  /**
   * The range with (100 - percentile) / 2 percent of the values cut from each tail, at bin edges
   * and never beyond the observed min and max. percentile 100 gives [min, max].
   */
  range(percentile: number): TensorRange {
    if (this.count === 0) return { min: 0, max: 0 };
    if (percentile >= 100) return { min: this.min, max: this.max };
    const cut = ((100 - percentile) / 200) * this.count;
    const c = this.counts;
    const bw = this.width / c.length;
    let acc = 0;
    let i = 0;
    for (; i < c.length; i++) {
      acc += c[i];
      if (acc > cut) break;
    }
    acc = 0;
    let j = c.length - 1;
    for (; j >= 0; j--) {
      acc += c[j];
      if (acc > cut) break;
    }
    const min = Math.max(this.min, this.lo + i * bw);
    const max = Math.min(this.max, this.lo + (j + 1) * bw);
    return min <= max ? { min, max } : { min: this.min, max: this.max };
  }
}

/**
 * Runs the float model on every sample and returns each observed tensor's clipped range. Tensors
 * that never come back as float32 are left out. Throws AppError('invalid-argument') when there
 * are no samples or a percentile is out of (50, 100].
 */
export async function collectCalibration(
  model: Model,
  samples: readonly Sample[],
  runModel: RunModel,
  options: CalibrateOptions = {},
): Promise<Required<Omit<Calibration, 'inputDims'>> & Pick<Calibration, 'inputDims'>> {
  const percentile = options.percentile ?? DEFAULT_PERCENTILE;
  if (!(percentile > 50 && percentile <= 100)) throw new AppError('invalid-argument', `percentile: expected a number above 50 and at most 100, got ${percentile}`);
  if (samples.length === 0) throw new AppError('invalid-argument', 'Calibration needs at least one sample.');
  throwIfAborted(options.signal);
  const tensors = options.tensors ?? calibrationTensors(model);
  const bytes = encodeModel(calibrationModel(model, tensors));
  const wanted = new Set(tensors);
  const hists = new Map<string, RangeHistogram>();
  for (let s = 0; s < samples.length; s++) {
    throwIfAborted(options.signal);
    const sample = samples[s];
    const outputs = await runModel(bytes, sample);
    // graph inputs are observed from the feeds themselves
    const seen: [string, unknown][] = Object.entries(outputs).map(([k, v]) => [k, v.data]);
    for (const [k, v] of Object.entries(sample)) if (wanted.has(k)) seen.push([k, v.data]);
    for (const [name, data] of seen) {
      if (!wanted.has(name) || !(data instanceof Float32Array)) continue;
      let h = hists.get(name);
      if (!h) hists.set(name, (h = new RangeHistogram(options.bins)));
      h.add(data);
    }
    options.onProgress?.(s + 1, samples.length);
  }
  const ranges: CalibrationTable = {};
  const observed: CalibrationTable = {};
  for (const name of tensors) {
    const h = hists.get(name);
    if (!h || h.count === 0) continue;
    ranges[name] = h.range(percentile);
    observed[name] = { min: h.min, max: h.max };
  }
  const source = options.source ?? 'samples';
  const inputDims = source === 'samples' ? Object.fromEntries(Object.entries(samples[0]).map(([k, v]) => [k, [...v.dims]])) : undefined;
  return { ranges, source, samples: samples.length, percentile, observed, ...(inputDims ? { inputDims } : {}) };
}

export interface SynthesizeOptions {
  /** sample sets to make (default 8) */
  count?: number;
  seed?: number;
  /** standard deviation of the normal distribution (default 1); values are clipped at 3 of them */
  std?: number;
  /** size of every symbolic or unknown dimension not in `dims` (default 1) */
  dynamicDim?: number;
  /** sizes of symbolic dims by name (unnamed ones as "input[axis]"), as the Data place gives them */
  dims?: Readonly<Record<string, number>>;
}

/**
 * Random inputs for calibration, only for a user who allows it (the ranges then describe random
 * data, not the user's): every float input filled with normal values N(0, std) clipped at
 * +-3 std, symbolic dimensions set to `dynamicDim`. Throws AppError('unsupported') naming an
 * input that is not float32 (token ids, masks: nothing sensible to invent).
 */
export function synthesizeSamples(model: Model, options: SynthesizeOptions = {}): Sample[] {
  const { count = 8, seed = 1, std = 1, dynamicDim = 1, dims: named = {} } = options;
  const g = model.graph;
  if (!g) throw new AppError('unsupported', 'The model has no graph.');
  const inits = new Set(g.initializers.map((t) => t.name));
  const inputs = g.inputs.filter((v) => v.name && !inits.has(v.name));
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const specs = inputs.map((v) => {
    const tt = v.type?.tensorType;
    if (!tt || tt.elemType !== DataType.FLOAT) {
      throw new AppError('unsupported', `Cannot synthesize calibration inputs: input ${v.name} is not float32.`);
    }
    const dims = (tt.shape?.dim ?? []).map((d, axis) => {
      const n = d.dimValue === undefined ? NaN : Number(d.dimValue);
      if (Number.isInteger(n) && n > 0) return n;
      const key = d.dimParam ? d.dimParam : `${v.name}[${axis}]`;
      return named[key] ?? dynamicDim;
    });
    return { name: v.name as string, dims };
  });
  const out: Sample[] = [];
  for (let k = 0; k < count; k++) {
    const sample: Sample = {};
    for (const { name, dims } of specs) {
      const n = dims.reduce((p, d) => p * d, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i += 2) {
        const r = Math.sqrt(-2 * Math.log(Math.max(uniform(), 1e-12)));
        const a = 2 * Math.PI * uniform();
        data[i] = Math.max(-3, Math.min(3, r * Math.cos(a))) * std;
        if (i + 1 < n) data[i + 1] = Math.max(-3, Math.min(3, r * Math.sin(a))) * std;
      }
      sample[name] = { dtype: 'float32', dims, data };
    }
    out.push(sample);
  }
  return out;
}
