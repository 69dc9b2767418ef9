/**
 * `--samples DIR`: calibration inputs for int8 activations, read and checked against the model's
 * inputs before any work is done.
 *
 * A sample is one set of model inputs. In DIR (sorted by name):
 * - `NAME.json`: `{ "<input>": nested array | { "dims": [...], "data": [...] }, ... }`
 * - `NAME.npy`: the one input of a one-input model
 * - `NAME/` (a folder): `<input>.npy` for every input
 * Other files are ignored (and counted). Every sample must give every model input, with the
 * input's element type (float64 is narrowed to float32 inputs) and a shape that fits the
 * declared one (symbolic dims take any size).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { parseNpy, type NpyArray } from './npy';

export type SampleDtype = 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';

export interface SampleTensor {
  dtype: SampleDtype;
  dims: number[];
  /** float16 as raw bits (Uint16Array); bool as 0/1 bytes */
  data: Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;
}

export interface CalibrationSample {
  /** the file or folder it came from */
  name: string;
  inputs: Record<string, SampleTensor>;
}

export interface SampleSet {
  samples: CalibrationSample[];
  /** files in DIR that are not samples */
  ignored: string[];
}

const bad = (msg: string) => new AppError('invalid-argument', `--samples: ${msg}`);

function readFile(file: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new AppError('io', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
  }
}

/** A typed array of the input's type from an .npy array (float64 narrows to float32). */
function fromNpy(where: string, a: NpyArray, want: string): SampleTensor {
  if (want === 'float32' && (a.dtype === 'float32' || a.dtype === 'float64')) {
    return { dtype: 'float32', dims: a.shape, data: a.dtype === 'float32' ? (a.data as Float32Array) : Float32Array.from(a.data as Float64Array) };
  }
  const same: Partial<Record<string, SampleDtype>> = {
    float64: 'float64',
    float16: 'float16',
    int8: 'int8',
    uint8: 'uint8',
    int32: 'int32',
    int64: 'int64',
    bool: 'bool',
  };
  const dt = same[a.dtype];
  if (dt && dt === want) return { dtype: dt, dims: a.shape, data: a.data as SampleTensor['data'] };
  throw bad(`${where} is ${a.dtype}, the model's input needs ${want}`);
}

function typedFromNumbers(where: string, want: string, values: unknown[]): SampleTensor['data'] {
  const nums = values.map((v, i) => {
    if (want === 'bool' && typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where}: value ${i} is ${JSON.stringify(v)}, not a finite number`);
    return v;
  });
  const ints = (lo: number, hi: number) => {
    for (const v of nums) if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`${where}: ${v} is not a ${want} value`);
  };
  switch (want) {
    case 'float32':
      return Float32Array.from(nums);
    case 'float64':
      return Float64Array.from(nums);
    case 'int8':
      ints(-128, 127);
      return Int8Array.from(nums);
    case 'uint8':
      ints(0, 255);
      return Uint8Array.from(nums);
    case 'bool':
      ints(0, 1);
      return Uint8Array.from(nums);
    case 'int32':
      ints(-(2 ** 31), 2 ** 31 - 1);
      return Int32Array.from(nums);
    case 'int64':
      ints(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      return BigInt64Array.from(nums.map((v) => BigInt(v)));
    default:
      throw bad(`${where}: the model's input is ${want}; give it as .npy`);
  }
}

/** dims and flat values of a nested JSON array (rectangular). */
function flatten(where: string, v: unknown): { dims: number[]; values: unknown[] } {
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

function fromJson(where: string, v: unknown, want: string): SampleTensor {
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
    ({ dims, values } = flatten(where, v));
  } else throw bad(`${where}: expected a nested array or {"dims": [...], "data": [...]}`);
  return { dtype: want as SampleDtype, dims, data: typedFromNumbers(where, want, values) };
}

function checkShape(where: string, t: SampleTensor, io: IoSummary): void {
  if (!io.shape) return;
  if (t.dims.length !== io.shape.length) {
    throw bad(`${where} has shape [${t.dims.join(', ')}], the model's input "${io.name}" has rank ${io.shape.length} ([${io.shape.join(', ')}])`);
  }
  io.shape.forEach((d, i) => {
    if (typeof d === 'number' && d >= 0 && t.dims[i] !== d) {
      throw bad(`${where} has shape [${t.dims.join(', ')}], the model's input "${io.name}" needs [${io.shape!.join(', ')}]`);
    }
  });
}

const SUPPORTED = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool']);

/** Reads and checks the samples in `dir` against the model's inputs. Throws AppError naming the file. */
export function readSamples(dir: string, inputs: readonly IoSummary[]): SampleSet {
  let entries: fs.Dirent[];
  try {
    if (!fs.statSync(dir).isDirectory()) throw bad(`${dir} is not a folder`);
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e instanceof AppError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? bad(`no such folder: ${dir}`) : new AppError('io', `Cannot read ${dir}: ${code ?? String(e)}.`);
  }
  if (inputs.length === 0) throw bad('the model has no inputs to calibrate with');
  for (const io of inputs) {
    if (!SUPPORTED.has(io.dtype)) throw bad(`the model's input "${io.name}" is ${io.dtype}, which samples cannot give`);
  }
  const byName = new Map(inputs.map((io) => [io.name, io]));
  const samples: CalibrationSample[] = [];
  const ignored: string[] = [];
  const sorted = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of sorted) {
    const full = path.join(dir, e.name);
    const lower = e.name.toLowerCase();
    const tensors: Record<string, SampleTensor> = {};
    if (e.isDirectory()) {
      const files = fs.readdirSync(full).filter((n) => n.toLowerCase().endsWith('.npy'));
      if (files.length === 0) {
        ignored.push(`${e.name}/`);
        continue;
      }
      for (const f of files) {
        const inputName = f.slice(0, -4);
        const io = byName.get(inputName);
        const where = `${e.name}/${f}`;
        if (!io) throw bad(`${where} names no input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
        tensors[inputName] = fromNpy(where, parseNpy(readFile(path.join(full, f)), where), io.dtype);
      }
    } else if (lower.endsWith('.npy')) {
      if (inputs.length !== 1) {
        throw bad(`${e.name}: a bare .npy file fits only a one-input model; this one has ${inputs.length} inputs (use a folder of <input>.npy per sample, or .json)`);
      }
      tensors[inputs[0].name] = fromNpy(e.name, parseNpy(readFile(full), e.name), inputs[0].dtype);
    } else if (lower.endsWith('.json')) {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(readFile(full)));
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw bad(`${e.name} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      }
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw bad(`${e.name}: expected an object of input name -> values`);
      for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
        const io = byName.get(k);
        if (!io) throw bad(`${e.name}: "${k}" names no input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`);
        tensors[k] = fromJson(`${e.name}: "${k}"`, v, io.dtype);
      }
    } else {
      ignored.push(e.name);
      continue;
    }
    for (const io of inputs) {
      const t = tensors[io.name];
      if (!t) throw bad(`${e.name} gives no value for the model's input "${io.name}"`);
      checkShape(`${e.name}: "${io.name}"`, t, io);
    }
    samples.push({ name: e.name, inputs: tensors });
  }
  if (samples.length === 0) throw bad(`${dir} holds no samples (.json, .npy, or folders of <input>.npy)`);
  return { samples, ignored };
}

