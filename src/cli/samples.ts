/**
 * `--samples DIR`: calibration inputs for int8 activations, read and checked against the model's
 * inputs before any work is done.
 *
 * A sample is one set of model inputs. In DIR (sorted by name):
 * - `NAME.json`: `{ "<input>": nested array | { "dims": [...], "data": [...] }, ... }`
 * - `NAME.npy`: the one input of a one-input model (an array stacking N samples along its first
 *   axis, where the input has a batch axis first (fixed 1 or a symbolic batch), gives N samples of
 *   batch 1: `NAME.npy[i]`)
 * - `NAME/` (a folder): `<input>.npy` for every input
 * Other files are ignored (and counted). Every sample must give every model input, with the
 * input's element type (float64 is narrowed to float32 inputs) and a shape that fits the
 * declared one (symbolic dims take any size).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import { parseNpy } from '../bench/npy';
import { checkShape, inputsFromJsonObject, listInputs, parseJsonText, setsFromNpyFile, tensorFromNpy } from '../bench/parse-inputs';
import type { BenchTensor } from '../bench/tensor';

export type SampleTensor = Omit<BenchTensor, 'name'>;

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

/** The shared parsers' errors, prefixed with the option they came from. */
function prefixed<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AppError && e.code === 'invalid-argument' && !e.message.startsWith('--samples: ')) throw bad(e.message);
    throw e;
  }
}

/** A file's bytes; a read failure is one AppError('io') line naming the file. */
export function readFileBytes(file: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new AppError('io', `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
  }
}

const SUPPORTED = new Set(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool']);

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
    let given: BenchTensor[];
    if (e.isDirectory()) {
      const files = fs.readdirSync(full).filter((n) => n.toLowerCase().endsWith('.npy'));
      if (files.length === 0) {
        ignored.push(`${e.name}/`);
        continue;
      }
      given = [];
      for (const f of files) {
        const inputName = f.slice(0, -4);
        const io = byName.get(inputName);
        const where = `${e.name}/${f}`;
        if (!io) throw bad(`${where} names no input of the model (inputs: ${listInputs(inputs)})`);
        given.push(prefixed(() => tensorFromNpy(where, inputName, parseNpy(readFileBytes(path.join(full, f)), where), io.dtype)));
      }
      for (const io of inputs) {
        const t = given.find((g) => g.name === io.name);
        if (!t) throw bad(`${e.name} gives no value for the model's input "${io.name}"`);
        prefixed(() => checkShape(`${e.name}: "${io.name}"`, t.dims, io));
      }
    } else if (lower.endsWith('.npy')) {
      // one sample, or N stacked along the first axis of a batch-1 input (setsFromNpyFile)
      const sets = prefixed(() => setsFromNpyFile(e.name, readFileBytes(full), inputs));
      if (sets.length > 1) {
        sets.forEach((set, i) => samples.push({ name: `${e.name}[${i}]`, inputs: Object.fromEntries(set.map((t) => [t.name, { dtype: t.dtype, dims: t.dims, data: t.data }])) }));
        continue;
      }
      given = sets[0];
    } else if (lower.endsWith('.json')) {
      given = prefixed(() => inputsFromJsonObject(e.name, parseJsonText(e.name, readFileBytes(full)), inputs));
    } else {
      ignored.push(e.name);
      continue;
    }
    const tensors: Record<string, SampleTensor> = {};
    for (const t of given) tensors[t.name] = { dtype: t.dtype, dims: t.dims, data: t.data };
    samples.push({ name: e.name, inputs: tensors });
  }
  if (samples.length === 0) throw bad(`${dir} holds no samples (.json, .npy, or folders of <input>.npy)`);
  return { samples, ignored };
}

