/**
 * Real model inputs from files: `.npy` arrays and JSON (`{ "<input>": nested array | { "dims",
 * "data" } }`), checked against the model's declared inputs. Shared by the CLI's `--samples` and
 * the page's benchmark. Errors are one-line AppErrors naming the file and the input.
 */
import { unzipSync } from 'fflate';
import { AppError } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { leadingBatch } from './inputs';
import { parseNpy, type NpyArray } from './npy';
import { isTensorDtype, type BenchTensor, type TensorData, type TensorDtype } from './tensor';

const bad = (msg: string) => new AppError('invalid-argument', msg);

/** A tensor of the input's dtype from an .npy array (float64 narrows to float32 inputs, float32 widens to float64). */
export function tensorFromNpy(where: string, name: string, a: NpyArray, want: string): BenchTensor {
  if (want === 'float32' && (a.dtype === 'float32' || a.dtype === 'float64')) {
    return { name, dtype: 'float32', dims: a.shape, data: a.dtype === 'float32' ? (a.data as Float32Array) : Float32Array.from(a.data as Float64Array) };
  }
  if (want === 'float64' && a.dtype === 'float32') {
    return { name, dtype: 'float64', dims: a.shape, data: Float64Array.from(a.data as Float32Array) };
  }
  if (a.dtype === want && isTensorDtype(want)) return { name, dtype: want, dims: a.shape, data: a.data as TensorData };
  throw bad(`${where} is ${a.dtype}, the model's input needs ${want}`);
}

const INT_RANGES: Partial<Record<TensorDtype, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  bool: [0, 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** A typed array of `want` from JSON numbers (bools accepted for bool inputs). */
export function typedFromNumbers(where: string, want: string, values: readonly unknown[]): TensorData {
  const nums = values.map((v, i) => {
    if (want === 'bool' && typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where}: value ${i} is ${JSON.stringify(v)}, not a finite number`);
    return v;
  });
  const range = isTensorDtype(want) ? INT_RANGES[want] : undefined;
  if (range) {
    for (const v of nums) if (!Number.isInteger(v) || v < range[0] || v > range[1]) throw bad(`${where}: ${v} is not a ${want} value`);
  }
  switch (want) {
    case 'float32':
      return Float32Array.from(nums);
    case 'float64':
      return Float64Array.from(nums);
    case 'int8':
      return Int8Array.from(nums);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(nums);
    case 'int16':
      return Int16Array.from(nums);
    case 'uint16':
      return Uint16Array.from(nums);
    case 'int32':
      return Int32Array.from(nums);
    case 'uint32':
      return Uint32Array.from(nums);
    case 'int64':
      return BigInt64Array.from(nums.map((v) => BigInt(v)));
    case 'uint64':
      return BigUint64Array.from(nums.map((v) => BigInt(v)));
    default:
      throw bad(`${where}: the model's input is ${want}; give it as .npy`);
  }
}

/** dims and flat values of a nested JSON array (rectangular). */
export function flattenNested(where: string, v: unknown): { dims: number[]; values: unknown[] } {
  const dims: number[] = [];
  let probe = v;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    probe = probe[0];
  }
  const values: unknown[] = [];
  const walk = (x: unknown, depth: number) => {
    if (depth === dims.length) {
      if (Array.isArray(x)) throw bad(`${where} is not rectangular`);
      values.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== dims[depth]) throw bad(`${where} is not rectangular`);
    for (const y of x) walk(y, depth + 1);
  };
  walk(v, 0);
  return { dims, values };
}

/** A tensor from a JSON value: a nested array, a number, or `{ "dims": [...], "data": [...] }`. */
export function tensorFromJson(where: string, name: string, v: unknown, want: string): BenchTensor {
  let dims: number[];
  let values: unknown[];
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (!Array.isArray(o.dims) || !Array.isArray(o.data)) throw bad(`${where}: expected a nested array or {"dims": [...], "data": [...]}`);
    dims = o.dims.map((d) => {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw bad(`${where}.dims: ${JSON.stringify(d)} is not a size`);
      return d;
    });
    values = o.data;
    const n = dims.reduce((p, d) => p * d, 1);
    if (values.length !== n) throw bad(`${where}: ${values.length} values for dims [${dims.join(', ')}] (${n})`);
  } else if (Array.isArray(v) || typeof v === 'number' || typeof v === 'boolean') {
    ({ dims, values } = flattenNested(where, v));
  } else throw bad(`${where}: expected a nested array or {"dims": [...], "data": [...]}`);
  if (!isTensorDtype(want)) throw bad(`${where}: the model's input is ${want}, which cannot be given`);
  return { name, dtype: want, dims, data: typedFromNumbers(where, want, values) };
}

/** Throws unless `dims` fits the input's declared shape (symbolic dims take any size). */
export function checkShape(where: string, dims: readonly number[], io: IoSummary): void {
  if (!io.shape) return;
  if (dims.length !== io.shape.length) {
    throw bad(`${where} has shape [${dims.join(', ')}], the model's input "${io.name}" has rank ${io.shape.length} ([${io.shape.join(', ')}])`);
  }
  io.shape.forEach((d, i) => {
    if (typeof d === 'number' && d >= 0 && dims[i] !== d) {
      throw bad(`${where} has shape [${dims.join(', ')}], the model's input "${io.name}" needs [${io.shape!.join(', ')}]`);
    }
  });
}

export function listInputs(inputs: readonly IoSummary[]): string {
  return inputs.map((i) => i.name).join(', ');
}

/** One set of inputs from a JSON object of input name -> value; every input must be given. */
export function inputsFromJsonObject(file: string, json: unknown, inputs: readonly IoSummary[]): BenchTensor[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad(`${file}: expected an object of input name -> values`);
  const byName = new Map(inputs.map((io) => [io.name, io]));
  const given = new Map<string, BenchTensor>();
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    const io = byName.get(k);
    if (!io) throw bad(`${file}: "${k}" names no input of the model (inputs: ${listInputs(inputs)})`);
    given.set(k, tensorFromJson(`${file}: "${k}"`, k, v, io.dtype));
  }
  return inputs.map((io) => {
    const t = given.get(io.name);
    if (!t) throw bad(`${file} gives no value for the model's input "${io.name}"`);
    checkShape(`${file}: "${io.name}"`, t.dims, io);
    return t;
  });
}

export function parseJsonText(file: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw bad(`${file} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** One set of inputs from a single .npy file (a one-input model). */
export function inputsFromNpyFile(file: string, bytes: Uint8Array, inputs: readonly IoSummary[]): BenchTensor[] {
  if (inputs.length !== 1) {
    throw bad(`${file}: a bare .npy file fits only a one-input model; this one has ${inputs.length} inputs (use a folder of <input>.npy per sample, or .json)`);
  }
  const io = inputs[0];
  const t = tensorFromNpy(file, io.name, parseNpy(bytes, file), io.dtype);
  checkShape(`${file}: "${io.name}"`, t.dims, io);
  return [t];
}

/**
 * Input sets from a single .npy file (a one-input model): one set, or, where the model's input
 * has a batch axis first (a fixed 1, or a symbolic dim that is a batch: inputs.ts leadingBatch, as
 * describe-inputs sizes it) and the array stacks N samples along
 * it ([N, ...] with the rest of the input's shape), N sets of batch 1 (numpy.stack of the samples,
 * as people save them). The batch's size is then the Data tab's choice, as for images.
 */
export function setsFromNpyFile(file: string, bytes: Uint8Array, inputs: readonly IoSummary[]): BenchTensor[][] {
  if (inputs.length !== 1) return [inputsFromNpyFile(file, bytes, inputs)];
  const io = inputs[0];
  const t = tensorFromNpy(file, io.name, parseNpy(bytes, file), io.dtype);
  const first = io.shape?.[0];
  const batch = first === 1 || (typeof first === 'string' && leadingBatch(first, io.shape?.length ?? 0));
  const n = t.dims[0];
  if (io.shape && batch && t.dims.length === io.shape.length && n > 1) {
    const one = [1, ...t.dims.slice(1)];
    checkShape(`${file}: "${io.name}" (${n} samples of [${one.join(', ')}])`, one, io);
    const per = t.data.length / n;
    return Array.from({ length: n }, (_, i) => [{ ...t, dims: one, data: t.data.slice(i * per, (i + 1) * per) as BenchTensor['data'] }]);
  }
  checkShape(`${file}: "${io.name}"`, t.dims, io);
  return [[t]];
}

/**
 * One input set from a NumPy .npz archive (numpy.savez): one array per model input, named after
 * it (`<input>.npy` in the zip); a one-input model also takes an archive holding one array of any name.
 */
export function inputsFromNpzFile(file: string, bytes: Uint8Array, inputs: readonly IoSummary[]): BenchTensor[] {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw bad(`${file}: not a readable .npz archive (${e instanceof Error ? e.message : String(e)})`);
  }
  const arrays = new Map(Object.entries(entries).map(([k, v]) => [k.replace(/\.npy$/i, ''), v]));
  if (inputs.length === 1 && arrays.size === 1 && !arrays.has(inputs[0].name)) {
    const [[k, v]] = [...arrays];
    arrays.delete(k);
    arrays.set(inputs[0].name, v);
  }
  return inputs.map((io) => {
    const a = arrays.get(io.name);
    if (!a) throw bad(`${file}: no array named "${io.name}" (the archive holds ${[...arrays.keys()].join(', ') || 'nothing'}; inputs: ${listInputs(inputs)})`);
    const t = tensorFromNpy(`${file}:${io.name}.npy`, io.name, parseNpy(a, `${io.name}.npy`), io.dtype);
    checkShape(`${file}: "${io.name}"`, t.dims, io);
    return t;
  });
}
