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
import { decodeWav } from '../bench/audio';
import { assembleAudio, assembleImages, type LoadedData } from '../bench/data-load';
import { ortRunSession } from '../bench/evaluate';
import { feedBackStates, feedbackPairs } from '../bench/feedback';
import { defaultDescription, parseDataDescription, parseImageSize, parseNormalizeFlag, type DataDescription } from '../bench/dataset';
import { parseLabeledCsv, parseLabeledJson, type LabeledSet } from '../bench/labeled';
import { parseJsonText } from '../bench/parse-inputs';
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
  feedback?: string;
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
  '--feedback': 'feedback',
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

/** "state=stateN,h=hn" -> input -> output; "none" -> no feedback. */
function parseFeedback(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text.trim() === 'none') return out;
  for (const part of text.split(',')) {
    const m = /^\s*([^=]+?)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) throw bad(`--feedback: "${part}" is not INPUT=OUTPUT (or none)`);
    out[m[1]] = m[2];
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
  if (f.feedback !== undefined) d.feedback = parseFeedback(f.feedback);
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

function loadImages(root: string, files: string[], inputs: readonly IoSummary[], d: DataDescription, outputs?: readonly IoSummary[]): LoadedData {
  return withSamplesPrefix(() =>
    assembleImages(
      files.map((f) => ({ path: f, ...decodeImageFile(f, readFileBytes(path.join(root, f))) })),
      inputs,
      d,
      outputs,
    ),
  );
}

function loadAudio(root: string, files: string[], inputs: readonly IoSummary[], d: DataDescription): LoadedData {
  return withSamplesPrefix(() =>
    assembleAudio(
      files.map((f) => {
        const a = decodeWav(f, readFileBytes(path.join(root, f)));
        return { path: f, samples: a.samples, sampleRate: a.sampleRate };
      }),
      inputs,
      d,
    ),
  );
}

/** Errors from the shared data code, said as --samples errors (the flag to look at). */
function withSamplesPrefix<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AppError && !e.message.startsWith('--')) throw new AppError(e.code, `--samples: ${e.message}`);
    throw e;
  }
}

/** Every --dims key names a symbolic dim of the model, by its name or its place (`input[1]`); else a one-line error listing them. */
export function checkDims(dims: Readonly<Record<string, number>>, inputs: readonly IoSummary[]): void {
  const known: string[] = [];
  const names = new Set<string>();
  for (const io of inputs) {
    (io.shape ?? []).forEach((d, axis) => {
      if (typeof d === 'number' && d >= 0) return;
      const place = `${io.name}[${axis}]`;
      names.add(place);
      if (typeof d === 'string' && d !== '?' && d !== '') names.add(d);
      known.push(typeof d === 'string' && d !== '?' && d !== '' ? `${d} (${place})` : place);
    });
  }
  for (const key of Object.keys(dims)) {
    if (!names.has(key)) throw bad(`--dims: "${key}" names no symbolic dim of this model; ${known.length > 0 ? `its symbolic dims: ${known.join(', ')}` : 'every dim of its inputs is fixed'}`);
  }
}

/**
 * Reads `--samples` with the description. Throws a one-line AppError naming the file, input or
 * dim to change.
 */
export function loadData(samples: string, d: DataDescription, inputs: readonly IoSummary[], outputs?: readonly IoSummary[]): LoadedData {
  checkDims(d.dims, inputs);
  let st: fs.Stats;
  try {
    st = fs.statSync(samples);
  } catch {
    throw bad(`--samples: no such file or folder: ${samples}`);
  }
  const root = st.isDirectory() ? samples : path.dirname(samples);
  const files = st.isDirectory() ? listFiles(samples) : [path.basename(samples)];
  const images = files.filter((f) => IMAGE_EXT.test(f));
  const audio = files.filter((f) => AUDIO_EXT.test(f));
  if (images.length > 0 && images.length >= audio.length) return loadImages(root, images, inputs, d, outputs);
  if (audio.length > 0) return loadAudio(root, audio, inputs, d);
  const name = path.basename(samples);
  if (st.isDirectory()) {
    const { samples: read, ignored } = readSamples(samples, inputs);
    const sets = read.map((s) => inputs.map((io) => ({ name: io.name, ...s.inputs[io.name] })));
    return { kind: 'tensors', description: d, sets, count: sets.length, summary: `${sets.length} input sets from ${name}`, dims: {}, names: read.map((s) => s.name), ignored };
  }
  const lower = name.toLowerCase();
  let labeled: LabeledSet;
  if (lower.endsWith('.json')) labeled = withSamplesPrefix(() => parseLabeledJson(name, parseJsonText(name, readFileBytes(samples)), inputs));
  else if (lower.endsWith('.csv')) labeled = withSamplesPrefix(() => parseLabeledCsv(name, new TextDecoder().decode(readFileBytes(samples)), inputs));
  else throw bad(`--samples: ${name} is not a folder of samples or images, a labeled .json or .csv file, an image or a .wav file`);
  return { kind: 'labeled', description: d, labeled, count: labeled.labels.length, summary: `${labeled.labels.length} labeled samples from ${name}`, dims: {}, names: [name], ignored: [] };
}

/**
 * loadData, then recurrent states fed back between frames (src/bench/feedback.ts): the original
 * model (`model`: its bytes, or its path when external data sits beside it) runs over each audio
 * file's frames in onnxruntime-node.
 */
export async function loadDataFed(samples: string, d: DataDescription, io: { inputs: readonly IoSummary[]; outputs: readonly IoSummary[] }, model: Uint8Array | string): Promise<LoadedData> {
  const data = loadData(samples, d, io.inputs, io.outputs);
  const pairs = feedbackPairs(data, io.inputs, io.outputs);
  if (pairs.length === 0) return data;
  const ort = await import('onnxruntime-node');
  const session = await (typeof model === 'string' ? ort.InferenceSession.create(model) : ort.InferenceSession.create(model));
  try {
    return await feedBackStates(data, pairs, ortRunSession(ort.Tensor, session));
  } finally {
    await session.release();
  }
}
