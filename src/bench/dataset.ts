/**
 * A data set description: how the user's files become model inputs, given once and used by every
 * consumer (calibration, fidelity, sensitivity, search, benchmark). It carries no file contents and
 * no paths, only the preprocessing, the sizes of symbolic dims, the values of inputs the files do not
 * feed (a sample rate, a recurrent state) and how the samples split into calibration and evaluation.
 *
 * The page exports it as `data.json`; the CLI reads it with `--data data.json` and the same values as
 * flags (`--image-size`, `--normalize` …), so a result made in the page can be reproduced in a build
 * pipeline. Validation errors are one line naming the key.
 */
import { AppError } from '../core/errors';
import { IMAGENET_MEAN, IMAGENET_STD, imageTargetFromDims, type FitMode, type ImageLayout, type ImagePrep, type PixelRange } from './image';
import type { InputSpec } from './inputs';

export const DATA_FORMAT = 'onnx-studio-data';
export const DATA_VERSION = 1;

export type ResizeMode = 'stretch' | 'pad' | 'crop';
export type ChannelOrder = 'rgb' | 'bgr' | 'gray';
/** Named normalizations (applied to pixel values 0..255). */
export type NormalizePreset = '0to1' | 'minus1to1' | 'imagenet' | '0to255';
/** A custom normalization: (v / 255 - mean) / std per channel. */
export interface CustomNormalize {
  mean: number[];
  std: number[];
}
export type Normalize = NormalizePreset | CustomNormalize;

export interface ImageOptions {
  /** target size; absent: taken from the model's fixed dims */
  height?: number;
  width?: number;
  resize: ResizeMode;
  /** absent: from the model's input shape (channel axis of 1 or 3) */
  layout?: 'nchw' | 'nhwc';
  channels: ChannelOrder;
  normalize: Normalize;
  /** 255 - v before normalizing (dark ink on a light page) */
  invert: boolean;
}

export interface AudioOptions {
  /** the rate the model expects; decoded audio is resampled to it */
  sampleRate: number;
  /** samples per frame; absent: the model input's fixed length */
  frame?: number;
  /** samples between frame starts; absent: the frame length (no overlap) */
  hop?: number;
}

export interface DataDescription {
  format: typeof DATA_FORMAT;
  version: typeof DATA_VERSION;
  image: ImageOptions;
  audio: AudioOptions;
  /** sizes of symbolic dims, by name (unnamed dims as "input[axis]") */
  dims: Record<string, number>;
  /** values of inputs the data files do not feed: one number (filled) or all values */
  inputs: Record<string, number | number[]>;
  /** how many samples calibrate (the rest evaluate); absent: half of them, at most 128 */
  calibration?: number;
  /**
   * recurrent state inputs fed from an output of the frame before (input -> output,
   * src/bench/feedback.ts); absent: for audio, every state input with a matching output; {}: none
   */
  feedback?: Record<string, string>;
}

export const DEFAULT_IMAGE: Readonly<ImageOptions> = Object.freeze({ resize: 'stretch', channels: 'rgb', normalize: '0to1', invert: false });
export const DEFAULT_AUDIO: Readonly<AudioOptions> = Object.freeze({ sampleRate: 16000 });

export function defaultDescription(): DataDescription {
  return { format: DATA_FORMAT, version: DATA_VERSION, image: { ...DEFAULT_IMAGE }, audio: { ...DEFAULT_AUDIO }, dims: {}, inputs: {} };
}

/** Files the Data place reads, by kind. */
export const IMAGE_FILE = /\.(png|jpe?g|gif|bmp|webp|avif)$/i;
export const AUDIO_FILE = /\.(wav|mp3|ogg|oga|opus|flac|m4a|aac|webm)$/i;
export const TENSOR_FILE = /\.(npy|npz|json|csv)$/i;

const bad = (key: string, msg: string) => new AppError('invalid-argument', `${key}: ${msg}`);
const RESIZE: readonly ResizeMode[] = ['stretch', 'pad', 'crop'];
const CHANNELS: readonly ChannelOrder[] = ['rgb', 'bgr', 'gray'];
const PRESETS: readonly NormalizePreset[] = ['0to1', 'minus1to1', 'imagenet', '0to255'];

function wholeNumber(key: string, v: unknown, min: number, max = 1 << 30): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw bad(key, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) throw bad(key, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function finiteList(key: string, v: unknown, positive: boolean): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 4) throw bad(key, 'expected a list of 1 to 4 numbers');
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || (positive && x <= 0)) throw bad(`${key}[${i}]`, `expected a ${positive ? 'positive ' : ''}number, got ${JSON.stringify(x)}`);
    return x;
  });
}

function object(key: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(key, 'expected an object');
  return v as Record<string, unknown>;
}

function onlyKeys(key: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(key ? `${key}.${k}` : k, `unknown key (known: ${allowed.join(', ')})`);
}

export function parseNormalize(key: string, v: unknown): Normalize {
  if (typeof v === 'string') return oneOf(key, v, PRESETS);
  const o = object(key, v);
  onlyKeys(key, o, ['mean', 'std']);
  const mean = finiteList(`${key}.mean`, o.mean, false);
  const std = finiteList(`${key}.std`, o.std, true);
  if (mean.length !== std.length) throw bad(key, `mean has ${mean.length} values and std ${std.length}`);
  return { mean, std };
}

function parseImage(v: unknown): ImageOptions {
  const o = object('image', v);
  onlyKeys('image', o, ['height', 'width', 'resize', 'layout', 'channels', 'normalize', 'invert']);
  const out: ImageOptions = { ...DEFAULT_IMAGE };
  if (o.height !== undefined) out.height = wholeNumber('image.height', o.height, 1, 16384);
  if (o.width !== undefined) out.width = wholeNumber('image.width', o.width, 1, 16384);
  if (o.resize !== undefined) out.resize = oneOf('image.resize', o.resize, RESIZE);
  if (o.layout !== undefined) out.layout = oneOf('image.layout', o.layout, ['nchw', 'nhwc'] as const);
  if (o.channels !== undefined) out.channels = oneOf('image.channels', o.channels, CHANNELS);
  if (o.normalize !== undefined) out.normalize = parseNormalize('image.normalize', o.normalize);
  if (o.invert !== undefined) {
    if (typeof o.invert !== 'boolean') throw bad('image.invert', `expected true or false, got ${JSON.stringify(o.invert)}`);
    out.invert = o.invert;
  }
  return out;
}

function parseAudio(v: unknown): AudioOptions {
  const o = object('audio', v);
  onlyKeys('audio', o, ['sampleRate', 'frame', 'hop']);
  const out: AudioOptions = { ...DEFAULT_AUDIO };
  if (o.sampleRate !== undefined) out.sampleRate = wholeNumber('audio.sampleRate', o.sampleRate, 1000, 384000);
  if (o.frame !== undefined) out.frame = wholeNumber('audio.frame', o.frame, 1);
  if (o.hop !== undefined) out.hop = wholeNumber('audio.hop', o.hop, 1);
  return out;
}

/** Parses and validates untrusted JSON (a `data.json`). */
export function parseDataDescription(json: unknown): DataDescription {
  const o = object('data', json);
  onlyKeys('', o, ['format', 'version', 'image', 'audio', 'dims', 'inputs', 'calibration', 'feedback']);
  if (o.format !== DATA_FORMAT) throw bad('format', `expected "${DATA_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (o.version !== DATA_VERSION) throw bad('version', `expected ${DATA_VERSION}, got ${JSON.stringify(o.version)}`);
  const out = defaultDescription();
  if (o.image !== undefined) out.image = parseImage(o.image);
  if (o.audio !== undefined) out.audio = parseAudio(o.audio);
  if (o.dims !== undefined) {
    for (const [k, v] of Object.entries(object('dims', o.dims))) out.dims[k] = wholeNumber(`dims["${k}"]`, v, 1);
  }
  if (o.inputs !== undefined) {
    for (const [k, v] of Object.entries(object('inputs', o.inputs))) {
      if (typeof v === 'number' && Number.isFinite(v)) out.inputs[k] = v;
      else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) out.inputs[k] = v as number[];
      else throw bad(`inputs["${k}"]`, 'expected a number or a non-empty list of numbers');
    }
  }
  if (o.calibration !== undefined) out.calibration = wholeNumber('calibration', o.calibration, 0);
  if (o.feedback !== undefined) {
    out.feedback = {};
    for (const [k, v] of Object.entries(object('feedback', o.feedback))) {
      if (typeof v !== 'string' || v === '') throw bad(`feedback["${k}"]`, 'expected the name of the output fed back into this input');
      out.feedback[k] = v;
    }
  }
  return out;
}

/** Stable JSON (keys in a fixed order; absent optional keys left out). */
export function serializeDataDescription(d: DataDescription): string {
  const image: Record<string, unknown> = {};
  for (const k of ['height', 'width', 'resize', 'layout', 'channels', 'normalize', 'invert'] as const) if (d.image[k] !== undefined) image[k] = d.image[k];
  const audio: Record<string, unknown> = {};
  for (const k of ['sampleRate', 'frame', 'hop'] as const) if (d.audio[k] !== undefined) audio[k] = d.audio[k];
  const sorted = <T>(r: Record<string, T>) => Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]]));
  return `${JSON.stringify(
    {
      format: d.format,
      version: d.version,
      image,
      audio,
      dims: sorted(d.dims),
      inputs: sorted(d.inputs),
      ...(d.calibration !== undefined ? { calibration: d.calibration } : {}),
      ...(d.feedback !== undefined ? { feedback: sorted(d.feedback) } : {}),
    },
    null,
    2,
  )}\n`;
}

/** The flag form of a normalization: `0to1`, `minus1to1`, `imagenet`, `0to255` or `mean=a,b,c,std=x,y,z` (on values 0..1). */
export function parseNormalizeFlag(text: string): Normalize {
  const t = text.trim();
  if ((PRESETS as readonly string[]).includes(t)) return t as NormalizePreset;
  const m = /^mean=([^=]+),std=([^=]+)$/.exec(t);
  if (!m) throw bad('--normalize', `expected 0to1, minus1to1, imagenet, 0to255 or mean=A,B,C,std=X,Y,Z, got "${text}"`);
  const nums = (s: string) => s.split(',').map((x) => Number(x));
  return parseNormalize('--normalize', { mean: nums(m[1]), std: nums(m[2]) });
}

/** `48x320` -> height 48, width 320. */
export function parseImageSize(text: string): { height: number; width: number } {
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(text);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw bad('--image-size', `expected HEIGHTxWIDTH, e.g. 48x320, got "${text}"`);
  return { height: Number(m[1]), width: Number(m[2]) };
}

/** The range, mean and std of a normalization (mean/std per channel, applied after the range). */
export function normalization(n: Normalize): { range: PixelRange; mean: number[]; std: number[] } {
  if (typeof n === 'object') return { range: '0-1', mean: n.mean, std: n.std };
  switch (n) {
    case '0to1':
      return { range: '0-1', mean: [0], std: [1] };
    case 'minus1to1':
      return { range: '-1-1', mean: [0], std: [1] };
    case 'imagenet':
      return { range: '0-1', mean: IMAGENET_MEAN, std: IMAGENET_STD };
    case '0to255':
      return { range: '0-255', mean: [0], std: [1] };
  }
}

export function describeNormalize(n: Normalize): string {
  if (typeof n === 'string') return n;
  return `mean=${n.mean.join(',')},std=${n.std.join(',')}`;
}

const FIT: Record<ResizeMode, FitMode> = { stretch: 'stretch', pad: 'letterbox', crop: 'center-crop' };

/**
 * Where images go in a model input, and how: the image size from the options, else from the
 * model's fixed dims. A side that is neither fixed by the model nor given is an error naming the
 * dim and the option that sets it (never a silent default).
 */
export function imagePrepFor(spec: InputSpec, options: ImageOptions, dims: Readonly<Record<string, number>> = {}): { prep: ImagePrep; inputDims: number[] } {
  const shape = spec.shape;
  if (shape.length !== 4) throw bad('image', `input "${spec.name}" has rank ${shape.length}; images feed inputs of rank 4 ([N, C, H, W] or [N, H, W, C])`);
  const at = (axis: number): number | undefined => {
    const d = shape[axis];
    if (typeof d === 'number') return d;
    const key = d === '?' || d === '' ? `${spec.name}[${axis}]` : d;
    return dims[key];
  };
  let layout: ImageLayout;
  if (options.layout) layout = options.layout === 'nchw' ? 'NCHW' : 'NHWC';
  else {
    const c1 = at(1);
    const c3 = at(3);
    if (c1 === 1 || c1 === 3) layout = 'NCHW';
    else if (c3 === 1 || c3 === 3) layout = 'NHWC';
    else throw bad('image.layout', `cannot tell where the channels of input "${spec.name}" [${shape.join(', ')}] are; give --layout nchw or nhwc`);
  }
  const [cAxis, hAxis, wAxis] = layout === 'NCHW' ? [1, 2, 3] : [3, 1, 2];
  const dimName = (axis: number) => (typeof shape[axis] === 'string' && shape[axis] !== '?' && shape[axis] !== '' ? `"${shape[axis]}"` : `${spec.name}[${axis}]`);
  const side = (axis: number, given: number | undefined, what: string): number => {
    const fixed = at(axis);
    if (given !== undefined) {
      if (typeof shape[axis] === 'number' && shape[axis] !== given) {
        throw bad('--image-size', `the model's input "${spec.name}" has a fixed ${what} of ${shape[axis]}, not ${given}`);
      }
      return given;
    }
    if (fixed !== undefined) return fixed;
    const key = typeof shape[axis] === 'string' && shape[axis] !== '?' && shape[axis] !== '' ? (shape[axis] as string) : `${spec.name}[${axis}]`;
    throw bad('--image-size', `the ${what} of input "${spec.name}" (dim ${dimName(axis)}) is not fixed by the model; give --image-size HEIGHTxWIDTH or --dims ${key}=N`);
  };
  const height = side(hAxis, options.height, 'height');
  const width = side(wAxis, options.width, 'width');
  const declaredC = at(cAxis);
  const channels: 1 | 3 = options.channels === 'gray' ? 1 : declaredC === 1 ? 1 : 3;
  if (declaredC !== undefined && declaredC !== channels) {
    throw bad('--channels', `input "${spec.name}" takes ${declaredC} channel${declaredC === 1 ? '' : 's'}, and ${options.channels} gives ${channels}`);
  }
  const { range, mean, std } = normalization(options.normalize);
  if (mean.length !== 1 && mean.length !== channels) throw bad('--normalize', `${mean.length} means for ${channels} channels`);
  const prep: ImagePrep = { width, height, channels, layout, fit: FIT[options.resize], range, mean, std, invert: options.invert, ...(options.channels === 'bgr' ? { bgr: true } : {}) };
  const batch = at(0) ?? 1;
  const inputDims = layout === 'NCHW' ? [batch, channels, height, width] : [batch, height, width, channels];
  const check = imageTargetFromDims(inputDims);
  if (!check) throw bad('image', `input "${spec.name}" [${inputDims.join(', ')}] does not look like an image`);
  return { prep, inputDims };
}

/**
 * Which samples calibrate and which evaluate: `calibration` samples (default half, at most 128)
 * spread evenly over the list (so a list sorted by class folder calibrates on every class), the
 * rest evaluate. With one sample it does both, and `overlap` says so.
 */
export function splitSamples(n: number, calibration?: number): { calibration: number[]; evaluation: number[]; overlap: boolean } {
  if (n <= 0) return { calibration: [], evaluation: [], overlap: false };
  if (n === 1) return { calibration: [0], evaluation: [0], overlap: true };
  const c = Math.min(n - 1, calibration ?? Math.min(128, Math.floor(n / 2)));
  const chosen = new Set<number>();
  for (let k = 0; k < c; k++) chosen.add(Math.floor(((k + 0.5) * n) / c));
  const cal = [...chosen].sort((a, b) => a - b);
  const evaluation: number[] = [];
  for (let i = 0; i < n; i++) if (!chosen.has(i)) evaluation.push(i);
  return { calibration: cal, evaluation, overlap: false };
}

/** A symbolic dim's size: the user's, else 1 for a batch dim; anything else must be given. */
export function dimValue(spec: InputSpec, axis: number, dims: Readonly<Record<string, number>>): number {
  const d = spec.shape[axis];
  if (typeof d === 'number') return d;
  const key = d === '?' || d === '' ? `${spec.name}[${axis}]` : d;
  // (a named dim may be given by its place too: --dims input[1]=512 for "sequence")
  const v = dims[key] ?? dims[`${spec.name}[${axis}]`];
  if (v !== undefined) return v;
  if (axis === 0 || /batch|^n$|^b$|^bs$/i.test(key)) return 1;
  throw bad('--dims', `the size of dim "${key}" (input "${spec.name}" axis ${axis}) is not fixed by the model; give --dims ${key}=N`);
}

/**
 * A value for an input the data does not feed: the given number (filled) or values, else zeros
 * (a recurrent state at rest). `note` says which, for the run's description.
 */
export function fillInput(spec: InputSpec, value: number | number[] | undefined, dims: Readonly<Record<string, number>>): { dims: number[]; values: number[] | number; note: string } {
  const shape = spec.shape.map((_, axis) => dimValue(spec, axis, dims));
  const n = shape.reduce((p, d) => p * d, 1);
  if (Array.isArray(value)) {
    if (value.length !== n) throw bad(`inputs["${spec.name}"]`, `${value.length} values given; the input [${shape.join(', ')}] takes ${n}`);
    return { dims: shape, values: value, note: `${spec.name} = given values` };
  }
  if (value !== undefined) return { dims: shape, values: value, note: `${spec.name} = ${value}` };
  return { dims: shape, values: 0, note: `${spec.name} = zeros [${shape.join(', ')}] (set it with --input ${spec.name}=V)` };
}
