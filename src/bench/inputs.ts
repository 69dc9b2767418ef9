/**
 * Inputs for any model: the shapes it declares, symbolic dims resolved with defaults the user can
 * change, and deterministic synthesized values of every input dtype.
 */
import { AppError } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { seeded } from '../core/random';
import { allocate, elementCount, isTensorDtype, type BenchTensor, type TensorDtype } from './tensor';
import { float32ToFloat16 } from '../core/float16';

/** One model input as the benchmark sees it. */
export interface InputSpec {
  name: string;
  dtype: TensorDtype;
  /** declared dims: sizes, symbolic names, or '?' for unknown */
  shape: (number | string)[];
}

/** A symbolic (or unknown) dim and the size used for it. */
export interface SymbolicDim {
  /** the dim's name; unknown dims are named "<input>[<axis>]" */
  name: string;
  value: number;
  /** where it appears, e.g. "input[0]" */
  usedBy: string[];
}

/** Size guessed for a symbolic dim from its name: batch 1, sequence lengths 32, image sides 224, channels 3, else 1. */
export function defaultDimValue(name: string): number {
  return dimGuess(name).value;
}

/**
 * The guess behind defaultDimValue and what it rests on: `batch` (a batch dim, 1), `name` (the
 * dim's name says what it is: audio samples, a sequence, an image side, channels) or `none` (no
 * idea: 1, which a caller that must not run a model at a size nobody chose refuses).
 */
export function dimGuess(name: string): { value: number; basis: 'batch' | 'name' | 'none' } {
  const n = name.toLowerCase();
  if (/batch|^n$|^b$|^bs$/.test(n)) return { value: 1, basis: 'batch' };
  // raw audio: one second at 16 kHz (a window or a mel front end needs more than a few samples)
  if (/sample|audio|wave|pcm/.test(n)) return { value: 16000, basis: 'name' };
  if (/seq|len|token|time|step|^t$|^l$/.test(n)) return { value: 32, basis: 'name' };
  if (/height|width|^h$|^w$|size|side/.test(n)) return { value: 224, basis: 'name' };
  if (/chan|^c$/.test(n)) return { value: 3, basis: 'name' };
  return { value: 1, basis: 'none' };
}

/**
 * Whether a symbolic dim `name` at axis 0 of an input of rank `rank` is its batch: named like one,
 * unnamed (rank 2 or more), or (rank 3 or more) named by an exporter in a way that says nothing
 * else (paddle2onnx's "p2o.DynamicDimension.0", tf2onnx's "unk__12", "s0"): an image's,
 * a sequence's or a signal's leading axis. A name that says what it is (time, sequence) is not.
 */
export function leadingBatch(name: string, rank: number): boolean {
  if (rank < 2) return false;
  if (name === '?' || name === '') return true;
  const basis = dimGuess(name).basis;
  return basis === 'batch' || (basis === 'none' && rank >= 3);
}

/**
 * The model's inputs as specs. Throws a one-line AppError for an input whose type cannot be fed
 * (strings, sequences, maps, optional, sparse) or whose rank is unknown.
 */
export function inputSpecs(inputs: readonly IoSummary[]): InputSpec[] {
  return inputs.map((io) => {
    if (!isTensorDtype(io.dtype)) {
      throw new AppError('unsupported', `input "${io.name}" is ${io.dtype}; the benchmark feeds numeric and bool tensors only`);
    }
    if (!io.shape) throw new AppError('unsupported', `input "${io.name}" has no declared shape (unknown rank); give real inputs (.npy or JSON)`);
    return { name: io.name, dtype: io.dtype, shape: io.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : '?')) };
  });
}

export function dimKey(spec: InputSpec, axis: number): string | undefined {
  const d = spec.shape[axis];
  if (typeof d === 'number') return undefined;
  return d === '?' || d === '' ? `${spec.name}[${axis}]` : d;
}

/** The symbolic dims of the inputs (one entry per distinct name), with default sizes. */
export function symbolicDims(specs: readonly InputSpec[]): SymbolicDim[] {
  const byName = new Map<string, SymbolicDim>();
  for (const spec of specs) {
    spec.shape.forEach((_, axis) => {
      const key = dimKey(spec, axis);
      if (key === undefined) return;
      let dim = byName.get(key);
      if (!dim) byName.set(key, (dim = { name: key, value: defaultDimValue(key.replace(/\[\d+\]$/, '')), usedBy: [] }));
      dim.usedBy.push(`${spec.name}[${axis}]`);
    });
  }
  return [...byName.values()];
}

/**
 * The sizes tensor input sets give the symbolic dims: a dim every set gives one size (where the
 * sets differ, or a set lacks the input or has another rank, the dim is left out).
 */
export function dimsOfSets(specs: readonly InputSpec[], sets: readonly (readonly { name: string; dims: readonly number[] }[])[]): Record<string, number> {
  const seen = new Map<string, number | undefined>();
  for (const spec of specs) {
    spec.shape.forEach((_, axis) => {
      const key = dimKey(spec, axis);
      if (key === undefined) return;
      for (const set of sets) {
        const t = set.find((x) => x.name === spec.name);
        const size = t && t.dims.length === spec.shape.length ? t.dims[axis] : undefined;
        if (size === undefined || (seen.has(key) && seen.get(key) !== size)) seen.set(key, undefined);
        else seen.set(key, size);
        if (seen.get(key) === undefined) break;
      }
    });
  }
  const out: Record<string, number> = {};
  for (const [k, v] of seen) if (v !== undefined) out[k] = v;
  return out;
}

/** Concrete dims of an input; `values` sizes its symbolic dims (missing ones take their default). */
export function resolveDims(spec: InputSpec, values: Readonly<Record<string, number>> = {}): number[] {
  return spec.shape.map((d, axis) => {
    if (typeof d === 'number') return d;
    const key = dimKey(spec, axis)!;
    // (a named dim may be given by its place too: "input[1]" for "sequence")
    const v = values[key] ?? values[`${spec.name}[${axis}]`] ?? defaultDimValue(key.replace(/\[\d+\]$/, ''));
    if (!Number.isSafeInteger(v) || v < 1) throw new AppError('invalid-argument', `dim "${key}" of input "${spec.name}" must be a whole number of at least 1, not ${v}`);
    return v;
  });
}

/** Largest input the synthesizer makes (elements), so a typo in a dim does not exhaust memory. */
export const MAX_SYNTH_ELEMENTS = 1 << 28;

/**
 * Deterministic values for the inputs: floats uniform in [-1, 1); int8/uint8 uniform over their
 * range; other integers 0 (safe as indices and lengths); bools false.
 */
export function synthesizeTensor(spec: InputSpec, dims: number[], seed: number): BenchTensor {
  const n = elementCount(dims);
  if (n > MAX_SYNTH_ELEMENTS) {
    throw new AppError('too-large', `input "${spec.name}" would have ${n} elements ([${dims.join(', ')}]); choose smaller symbolic dims`);
  }
  const rng = seeded(seed);
  const data = allocate(spec.dtype, n);
  switch (spec.dtype) {
    case 'float32':
    case 'float64':
      for (let i = 0; i < n; i++) (data as Float32Array)[i] = rng() * 2 - 1;
      break;
    case 'float16':
      for (let i = 0; i < n; i++) (data as Uint16Array)[i] = float32ToFloat16(rng() * 2 - 1);
      break;
    case 'int8':
      for (let i = 0; i < n; i++) (data as Int8Array)[i] = Math.floor(rng() * 256) - 128;
      break;
    case 'uint8':
      for (let i = 0; i < n; i++) (data as Uint8Array)[i] = Math.floor(rng() * 256);
      break;
    default:
      break;
  }
  return { name: spec.name, dtype: spec.dtype, dims, data };
}

/** One set of synthesized inputs for the model (see synthesizeTensor), seeded per input. */
export function synthesizeInputs(
  inputs: readonly IoSummary[],
  seed: number,
  dimValues: Readonly<Record<string, number>> = {},
): BenchTensor[] {
  return inputSpecs(inputs).map((spec, k) => synthesizeTensor(spec, resolveDims(spec, dimValues), seed * 7919 + k));
}
