/**
 * The CLI's data: `--samples DIR|FILE` with the data description (`--data data.json` and the
 * preprocessing flags) turned into model input sets, the same way the studio's Data place does:
 *
 * - a folder (or file) of images (.png, .jpg): decoded here (pngjs, jpeg-js), then the shared pure
 *   math of src/bench/image.ts (resize, channel order, normalization, layout). Images in class
 *   sub-folders make a labeled set (accuracy).
 * - audio (.wav): decoded, resampled to the model's rate, cut into frames of the model's length;
 *   each frame is one sample.
 * - tensors (.npy, .json, folders of <input>.npy) and labeled .json/.csv files: as before.
 *
 * Inputs the files do not feed get the description's value (`--input NAME=V`), an audio model's
 * rate input gets `--sample-rate`, anything else zeros, and the run's description names each.
 * Samples split into calibration and evaluation (src/bench/dataset.ts splitSamples).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { AppError } from '../core/errors';
import { decodeWav, frames, resample } from '../bench/audio';
import {
  defaultDescription,
  describeNormalize,
  dimValue,
  fillInput,
  imagePrepFor,
  parseDataDescription,
  parseImageSize,
  parseNormalizeFlag,
  splitSamples,
  type DataDescription,
} from '../bench/dataset';
import { imageToTensor } from '../bench/image';
import { dimGuess, inputSpecs, type InputSpec } from '../bench/inputs';
import { classIndexByFolder, parseLabeledCsv, parseLabeledJson, type LabeledSet } from '../bench/labeled';
import { parseJsonText } from '../bench/parse-inputs';
import { allocate, elementCount, type BenchTensor } from '../bench/tensor';
import type { IoSummary } from '../onnx/summary';
import { readFileBytes, readSamples } from './samples';

/** The data options as given on the command line (strings, checked here). */
export interface DataFlags {
  samples?: string;
  data?: string;
  imageSize?: string;
  resize?: string;
  layout?: string;
  channels?: string;
  normalize?: string;
  sampleRate?: string;
  dims?: string;
  input?: string;
  calibration?: string;
}

/** The flags that take a value, for the argument parser. */
export const DATA_FLAGS: Readonly<Record<string, keyof DataFlags>> = {
  '--samples': 'samples',
  '--data': 'data',
  '--image-size': 'imageSize',
  '--resize': 'resize',
  '--layout': 'layout',
  '--channels': 'channels',
  '--normalize': 'normalize',
  '--sample-rate': 'sampleRate',
  '--dims': 'dims',
  '--input': 'input',
  '--calibration': 'calibration',
};

const bad = (msg: string) => new AppError('invalid-argument', msg);


/** "batch=4,seq=32" -> { batch: 4, seq: 32 } */
export function parseDims(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    const m = /^\s*([^=]+?)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) throw bad(`--dims: "${part}" is not NAME=SIZE (a whole number of at least 1)`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** "sr=16000,temperature=0.5" -> values (numbers only; a list of values goes in data.json). */
function parseInputValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([^=]+?)\s*=\s*(\S+)\s*$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v)) throw bad(`--input: "${part}" is not NAME=NUMBER`);
    out[m[1]] = v;
  }
  return out;
}

function choice<T extends string>(flag: string, v: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(v)) throw bad(`${flag} must be ${values.join(', ')}, not "${v}"`);
  return v as T;
}

/** The data description: `--data FILE` (if given), then each flag on top of it. */
export function descriptionFromFlags(f: DataFlags): DataDescription {
  let d = defaultDescription();
  if (f.data !== undefined) {
    try {
      d = parseDataDescription(parseJsonText(path.basename(f.data), readFileBytes(f.data)));
    } catch (e) {
      if (e instanceof AppError) throw new AppError(e.code, `--data ${f.data}: ${e.message}`);
      throw e;
    }
  }
  if (f.imageSize !== undefined) Object.assign(d.image, parseImageSize(f.imageSize));
  if (f.resize !== undefined) d.image.resize = choice('--resize', f.resize, ['stretch', 'pad', 'crop'] as const);
  if (f.layout !== undefined) d.image.layout = choice('--layout', f.layout, ['nchw', 'nhwc'] as const);
  if (f.channels !== undefined) d.image.channels = choice('--channels', f.channels, ['rgb', 'bgr', 'gray'] as const);
  if (f.normalize !== undefined) d.image.normalize = parseNormalizeFlag(f.normalize);
  if (f.sampleRate !== undefined) {
    const r = Number(f.sampleRate);
    if (!Number.isSafeInteger(r) || r < 1000 || r > 384000) throw bad(`--sample-rate must be a whole number of Hz from 1000 to 384000, not "${f.sampleRate}"`);
    d.audio.sampleRate = r;
  }
  Object.assign(d.dims, parseDims(f.dims));
  if (f.input !== undefined) Object.assign(d.inputs, parseInputValues(f.input));
  if (f.calibration !== undefined) {
    const c = Number(f.calibration);
    if (!Number.isSafeInteger(c) || c < 0) throw bad(`--calibration must be a whole number of samples, not "${f.calibration}"`);
    d.calibration = c;
  }
  return d;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const AUDIO_EXT = /\.wav$/i;

/** Files under `dir` (relative paths, sorted; hidden files and folders skipped), at most 4 levels deep. */
function listFiles(dir: string, depth = 0, prefix = ''): string[] {
  if (depth > 4) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, depth + 1, rel));
    else out.push(rel);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** RGBA pixels of a PNG or JPEG file. */
export function decodeImageFile(where: string, bytes: Uint8Array): { rgba: Uint8Array; width: number; height: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const png = PNG.sync.read(buf);
      return { rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { rgba: img.data, width: img.width, height: img.height };
    }
  } catch (e) {
    throw bad(`${where}: cannot decode the image: ${e instanceof Error ? e.message : String(e)}`);
  }
  throw bad(`${where}: not a PNG or JPEG image`);
}

/** A number (or values) as a tensor of the input's dtype. */
function filledTensor(spec: InputSpec, dims: number[], values: number[] | number): BenchTensor {
  const n = elementCount(dims);
  const data = allocate(spec.dtype, n);
  for (let i = 0; i < n; i++) {
    const v = Array.isArray(values) ? values[i] : values;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(Math.round(v));
    else (data as Float32Array)[i] = v;
  }
  return { name: spec.name, dtype: spec.dtype, dims, data };
}

/** Loaded data: every sample as a full set of model inputs (or a labeled set), and the split. */
export interface LoadedData {
  kind: 'images' | 'audio' | 'tensors' | 'labeled';
  description: DataDescription;
  /** one set of model inputs per sample (absent for a labeled set) */
  sets?: BenchTensor[][];
  labeled?: LabeledSet;
  /** how many samples (sets, or labeled rows) */
  count: number;
  /** one line: what was read and how it was prepared */
  summary: string;
  /** the sizes every symbolic dim got (what the run reports) */
  dims: Record<string, number>;
  /** each sample's file (or file and frame) */
  names: string[];
  /** files in the folder that are not samples */
  ignored: string[];
}

/** Values for the inputs the data does not feed. */
function otherInputs(specs: InputSpec[], fed: string, d: DataDescription, audio: boolean): { tensors: BenchTensor[]; notes: string[] } {
  const tensors: BenchTensor[] = [];
  const notes: string[] = [];
  for (const spec of specs) {
    if (spec.name === fed) continue;
    let value = d.inputs[spec.name];
    if (value === undefined && audio && /^(sr|sample_?rate|rate|fs)$/i.test(spec.name)) value = d.audio.sampleRate;
    const f = fillInput(spec, value, d.dims);
    tensors.push(filledTensor(spec, f.dims, f.values));
    notes.push(f.note);
  }
  return { tensors, notes };
}

function loadImages(root: string, files: string[], specs: InputSpec[], d: DataDescription): LoadedData {
  const candidates = specs.filter((s) => s.shape.length === 4 && s.dtype.startsWith('float'));
  if (candidates.length === 0) throw bad(`--samples: images feed a float input of rank 4, and the model's inputs are ${specs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(', ')}]`).join(', ')}`);
  const spec = candidates[0];
  const { prep, inputDims } = imagePrepFor(spec, d.image, d.dims);
  if (inputDims[0] !== 1) throw bad(`--samples: input "${spec.name}" has a fixed batch of ${inputDims[0]}; image folders feed batch 1`);
  const others = otherInputs(specs, spec.name, d, false);
  const per = elementCount(inputDims);
  const data = new Float32Array(per * files.length);
  files.forEach((f, i) => {
    const { rgba, width, height } = decodeImageFile(f, readFileBytes(path.join(root, f)));
    data.set(imageToTensor(rgba, width, height, prep), i * per);
  });
  const folders = files.map((f) => f.split('/').slice(0, -1).join('/'));
  const classFolders = folders.every((x) => x !== '') && new Set(folders).size >= 2;
  const how = `${d.image.resize}, ${d.image.channels}, ${describeNormalize(d.image.normalize)}${d.image.invert ? ', inverted' : ''}`;
  const dims = dimsUsed(spec, inputDims);
  if (classFolders && specs.length === 1) {
    const { classNames, index } = classIndexByFolder(folders);
    const labels = Int32Array.from(folders, (x) => index.get(x) as number);
    return {
      kind: 'labeled',
      description: d,
      labeled: { source: `${files.length} images in ${classNames.length} class folders`, inputName: spec.name, sampleDims: inputDims.slice(1), classNames, labels, data },
      count: files.length,
      summary: `${files.length} images in ${classNames.length} class folders, each ${spec.name} float32[${inputDims.join(', ')}] (${how})`,
      dims,
      names: files,
      ignored: [],
    };
  }
  const sets = files.map((_, i) => [
    { name: spec.name, dtype: 'float32' as const, dims: inputDims, data: data.slice(i * per, (i + 1) * per) },
    ...others.tensors.map((t) => ({ ...t, data: t.data.slice() })),
  ]);
  return {
    kind: 'images',
    description: d,
    sets: orderLike(specs, sets),
    count: files.length,
    summary: `${files.length} images, each ${spec.name} float32[${inputDims.join(', ')}] (${how})${others.notes.length ? `; ${others.notes.join('; ')}` : ''}`,
    dims,
    names: files,
    ignored: [],
  };
}

function loadAudio(root: string, files: string[], specs: InputSpec[], d: DataDescription): LoadedData {
  const stateLike = /state|hidden|^h0?$|^c0?$|^h_|^c_|cache|past/i;
  const candidates = specs.filter((s) => s.dtype === 'float32' && s.shape.length >= 1 && s.shape.length <= 3 && !stateLike.test(s.name));
  if (candidates.length === 0) throw bad(`--samples: audio feeds a float32 input of rank 1 to 3, and the model's inputs are ${specs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(', ')}]`).join(', ')}`);
  const spec = candidates[0];
  const last = spec.shape.length - 1;
  let length: number;
  let guessedNote = '';
  const lastName = typeof spec.shape[last] === 'string' && spec.shape[last] !== '?' && spec.shape[last] !== '' ? (spec.shape[last] as string) : `${spec.name}[${last}]`;
  if (typeof spec.shape[last] === 'number') length = spec.shape[last] as number;
  else if (d.audio.frame !== undefined) length = d.audio.frame;
  else if (d.dims[lastName] !== undefined) length = d.dims[lastName];
  else {
    const g = dimGuess(lastName);
    if (g.basis !== 'name') length = dimValue(spec, last, d.dims);
    else {
      length = g.value;
      guessedNote = ` (frame length guessed from the dim's name; set it with --dims ${lastName}=N)`;
    }
  }
  const inputDims = spec.shape.map((_, axis) => (axis === last ? length : dimValue(spec, axis, d.dims)));
  const dims = { ...d.dims, [lastName]: length };
  if (elementCount(inputDims) !== length) throw bad(`--samples: input "${spec.name}" [${inputDims.join(', ')}] takes more than one frame of audio; give a batch of 1`);
  const others = otherInputs(specs, spec.name, d, true);
  const sets: BenchTensor[][] = [];
  const names: string[] = [];
  for (const f of files) {
    const a = decodeWav(f, readFileBytes(path.join(root, f)));
    const x = resample(a.samples, a.sampleRate, d.audio.sampleRate);
    for (const [k, frame] of frames(x, length, d.audio.hop ?? length).entries()) {
      names.push(`${f}#${k}`);
      sets.push([{ name: spec.name, dtype: 'float32', dims: inputDims, data: frame }, ...others.tensors.map((t) => ({ ...t, data: t.data.slice() }))]);
    }
  }
  return {
    kind: 'audio',
    description: d,
    sets: orderLike(specs, sets),
    count: sets.length,
    summary: `${sets.length} frames of ${length} samples${guessedNote} at ${d.audio.sampleRate} Hz from ${files.length} audio file${files.length === 1 ? '' : 's'}, each ${spec.name} float32[${inputDims.join(', ')}]${others.notes.length ? `; ${others.notes.join('; ')}` : ''}`,
    dims: { ...dims, ...dimsUsed(spec, inputDims) },
    names,
    ignored: [],
  };
}

/** Sets in the model's input order. */
function orderLike(specs: InputSpec[], sets: BenchTensor[][]): BenchTensor[][] {
  return sets.map((set) => specs.map((s) => set.find((t) => t.name === s.name) as BenchTensor));
}

/** name -> size for the symbolic dims of `spec` at `dims`. */
function dimsUsed(spec: InputSpec, dims: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  spec.shape.forEach((d, axis) => {
    if (typeof d !== 'number') out[d === '?' || d === '' ? `${spec.name}[${axis}]` : d] = dims[axis];
  });
  return out;
}

/**
 * Reads `--samples` with the description. Throws a one-line AppError naming the file, input or
 * dim to change.
 */
export function loadData(samples: string, d: DataDescription, inputs: readonly IoSummary[]): LoadedData {
  let st: fs.Stats;
  try {
    st = fs.statSync(samples);
  } catch {
    throw bad(`--samples: no such file or folder: ${samples}`);
  }
  const specs = inputSpecs(inputs);
  const root = st.isDirectory() ? samples : path.dirname(samples);
  const files = st.isDirectory() ? listFiles(samples) : [path.basename(samples)];
  const images = files.filter((f) => IMAGE_EXT.test(f));
  const audio = files.filter((f) => AUDIO_EXT.test(f));
  if (images.length > 0 && images.length >= audio.length) return loadImages(root, images, specs, d);
  if (audio.length > 0) return loadAudio(root, audio, specs, d);
  const name = path.basename(samples);
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof AppError && !e.message.startsWith('--samples')) throw new AppError(e.code, `--samples: ${e.message}`);
      throw e;
    }
  };
  if (st.isDirectory()) {
    const { samples: read, ignored } = readSamples(samples, inputs);
    const sets = read.map((s) => inputs.map((io) => ({ name: io.name, ...s.inputs[io.name] })));
    return { kind: 'tensors', description: d, sets, count: sets.length, summary: `${sets.length} input sets from ${name}`, dims: {}, names: read.map((s) => s.name), ignored };
  }
  const lower = name.toLowerCase();
  let labeled: LabeledSet;
  if (lower.endsWith('.json')) labeled = wrap(() => parseLabeledJson(name, parseJsonText(name, readFileBytes(samples)), inputs));
  else if (lower.endsWith('.csv')) labeled = wrap(() => parseLabeledCsv(name, new TextDecoder().decode(readFileBytes(samples)), inputs));
  else throw bad(`--samples: ${name} is not a folder of samples or images, a labeled .json or .csv file, an image or a .wav file`);
  return { kind: 'labeled', description: d, labeled, count: labeled.labels.length, summary: `${labeled.labels.length} labeled samples from ${name}`, dims: {}, names: [name], ignored: [] };
}

/** The samples at `indices` (a labeled set's rows, or sets). */
export function subset(data: LoadedData, indices: readonly number[]): { sets?: BenchTensor[][]; labeled?: LabeledSet } {
  if (data.labeled) {
    const l = data.labeled;
    const per = elementCount(l.sampleDims);
    const out = new Float32Array(per * indices.length);
    indices.forEach((i, k) => out.set(l.data.subarray(i * per, (i + 1) * per), k * per));
    return { labeled: { ...l, labels: Int32Array.from(indices, (i) => l.labels[i]), data: out } };
  }
  return { sets: indices.map((i) => (data.sets as BenchTensor[][])[i]) };
}

/**
 * The calibration and evaluation parts, and a line saying how many of each. Split when the
 * description says how many calibrate (`--calibration N`, or `calibration` in data.json) or when
 * one command both calibrates and evaluates (`always`); otherwise every sample does both, and the
 * line says so.
 */
export function splitData(
  data: LoadedData,
  always = false,
): {
  calibration: { sets?: BenchTensor[][]; labeled?: LabeledSet };
  evaluation: { sets?: BenchTensor[][]; labeled?: LabeledSet };
  line: string;
} {
  if (data.description.calibration === undefined && !always) {
    const all = subset(data, Array.from({ length: data.count }, (_, i) => i));
    return { calibration: all, evaluation: all, line: `all ${data.count} samples (split them into calibration and evaluation with --calibration N)` };
  }
  const s = splitSamples(data.count, data.description.calibration);
  return {
    calibration: subset(data, s.calibration),
    evaluation: subset(data, s.evaluation),
    line: s.overlap
      ? '1 sample: it both calibrates and evaluates'
      : `${s.calibration.length} calibrate, ${s.evaluation.length} evaluate (never the same samples)`,
  };
}
