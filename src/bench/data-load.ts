/**
 * The user's data as model inputs, the same in the page and the CLI: decoded images, decoded audio
 * or tensor files in, one full set of model inputs per sample (or a labeled set) out, with the
 * calibration / evaluation split. Decoding is the caller's (pngjs and jpeg-js in the CLI, the
 * browser's image and audio decoders in the data worker); everything after the pixels and the
 * audio samples is here, so a data set gives the same tensors in both.
 */
import { AppError } from '../core/errors';
import { frames, resample } from './audio';
import { AUDIO_FILE, IMAGE_FILE, TENSOR_FILE, describeNormalize, dimValue, fillInput, imagePrepFor, splitSamples, type DataDescription } from './dataset';
import { STATE_INPUT } from './describe-inputs';
import { imageToTensor } from './image';
import { dimGuess, inputSpecs, type InputSpec } from './inputs';
import { classIndexByFolder, type LabeledSet } from './labeled';
import { allocate, elementCount, type BenchTensor } from './tensor';
import type { IoSummary } from '../onnx/summary';

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
  /** files given that are not samples */
  ignored: string[];
  /** the input the data feeds (images, audio, labeled) */
  fed?: string;
  /** values given to the inputs the data does not feed, one line each */
  otherInputs?: string[];
  /** which stream (audio file) each set belongs to: states are fed back within a stream */
  streams?: number[];
  /** the state inputs fed from an output of the frame before (src/bench/feedback.ts) */
  feedback?: { input: string; output: string }[];
  /** audio: the dim whose size (the frame length) was guessed from its name */
  guessedDim?: string;
}

/** A decoded image: RGBA pixels. */
export interface DecodedImage {
  path: string;
  rgba: ArrayLike<number>;
  width: number;
  height: number;
}

/** Decoded audio: mono samples at a rate. */
export interface DecodedAudioFile {
  path: string;
  samples: Float32Array;
  sampleRate: number;
}

const bad = (msg: string) => new AppError('invalid-argument', msg);

export { AUDIO_FILE, IMAGE_FILE, TENSOR_FILE };
export { STATE_INPUT };

/** A number (or values) as a tensor of the input's dtype. */
export function filledTensor(spec: InputSpec, dims: number[], values: number[] | number): BenchTensor {
  const n = elementCount(dims);
  const data = allocate(spec.dtype, n);
  for (let i = 0; i < n; i++) {
    const v = Array.isArray(values) ? values[i] : values;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(Math.round(v));
    else (data as Float32Array)[i] = v;
  }
  return { name: spec.name, dtype: spec.dtype, dims, data };
}

/** Names that look like a sample-rate input. */
export const RATE_INPUT = /^(sr|sample_?rate|rate|fs)$/i;

/** Values for the inputs the data does not feed. */
export function otherInputs(specs: readonly InputSpec[], fed: string, d: DataDescription, audio: boolean): { tensors: BenchTensor[]; notes: string[] } {
  const tensors: BenchTensor[] = [];
  const notes: string[] = [];
  for (const spec of specs) {
    if (spec.name === fed) continue;
    let value = d.inputs[spec.name];
    if (value === undefined && audio && RATE_INPUT.test(spec.name)) value = d.audio.sampleRate;
    const f = fillInput(spec, value, d.dims);
    tensors.push(filledTensor(spec, f.dims, f.values));
    notes.push(f.note);
  }
  return { tensors, notes };
}

/** Sets in the model's input order. */
function orderLike(specs: readonly InputSpec[], sets: BenchTensor[][]): BenchTensor[][] {
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

/** The input images feed: the first float input of rank 4. */
export function imageInput(specs: readonly InputSpec[]): InputSpec {
  const candidates = specs.filter((s) => s.shape.length === 4 && s.dtype.startsWith('float'));
  if (candidates.length === 0) throw bad(`images feed a float input of rank 4, and the model's inputs are ${specs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(', ')}]`).join(', ')}`);
  return candidates[0];
}

/**
 * Decoded images as model inputs: resized and normalized as the description says. Images in two
 * or more class folders make a labeled set (one-input models), else one input set each.
 */
export function assembleImages(images: readonly DecodedImage[], inputs: readonly IoSummary[], d: DataDescription, outputs?: readonly IoSummary[]): LoadedData {
  const specs = inputSpecs(inputs);
  const spec = imageInput(specs);
  const { prep, inputDims } = imagePrepFor(spec, d.image, d.dims);
  if (inputDims[0] !== 1) throw bad(`input "${spec.name}" has a fixed batch of ${inputDims[0]}; images feed batch 1`);
  const others = otherInputs(specs, spec.name, d, false);
  const per = elementCount(inputDims);
  const data = new Float32Array(per * images.length);
  images.forEach((img, i) => data.set(imageToTensor(img.rgba, img.width, img.height, prep), i * per));
  const files = images.map((i) => i.path);
  const folders = files.map((f) => f.split('/').slice(0, -1).join('/'));
  const classFolders = folders.every((x) => x !== '') && new Set(folders).size >= 2;
  const how = `${d.image.resize}, ${d.image.channels}, ${describeNormalize(d.image.normalize)}${d.image.invert ? ', inverted' : ''}`;
  const dims = dimsUsed(spec, inputDims);
  const classOf = folders.map((f) => f.split('/').pop() as string);
  const mismatch = classFolders && specs.length === 1 ? classMismatch(classOf, outputs) : undefined;
  if (classFolders && specs.length === 1 && !mismatch) {
    const { classNames, index } = classIndexByFolder(classOf);
    const labels = Int32Array.from(classOf, (x) => index.get(x) as number);
    return {
      kind: 'labeled',
      description: d,
      labeled: { source: `${files.length} images in ${classNames.length} class folders`, inputName: spec.name, sampleDims: inputDims.slice(1), classNames, labels, data },
      count: files.length,
      summary: `${files.length} images in ${classNames.length} class folders, each ${spec.name} float32[${inputDims.join(', ')}] (${how})`,
      dims,
      names: files,
      ignored: [],
      fed: spec.name,
      otherInputs: [],
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
    summary: `${files.length} image${files.length === 1 ? '' : 's'}, each ${spec.name} float32[${inputDims.join(', ')}] (${how})${others.notes.length ? `; ${others.notes.join('; ')}` : ''}${mismatch ? `; ${mismatch}` : ''}`,
    dims,
    names: files,
    ignored: [],
    fed: spec.name,
    otherInputs: others.notes,
  };
}

/**
 * Why class folders cannot label the model's outputs, or undefined when they can: folders named by
 * class index (`0/`, `281/`) always can; named folders (`cat/`, `dog/`) are numbered in sorted
 * order, which only means something when the model has exactly that many classes (an ImageNet
 * model's 1000 outputs are not "bird, cat, dog"). The images are then measured for fidelity only.
 */
export function classMismatch(classOf: readonly string[], outputs: readonly IoSummary[] | undefined): string | undefined {
  const names = [...new Set(classOf)].sort();
  if (names.every((f) => /^\d+$/.test(f))) return undefined;
  const last = outputs?.[0]?.shape?.at(-1);
  if (typeof last !== 'number' || last === names.length) return undefined;
  const shown = names.slice(0, 4).join(', ') + (names.length > 4 ? ', …' : '');
  return `not labeled: the ${names.length} class folders (${shown}) do not match the model's ${last} output classes; name the folders by class index (e.g. 281/) to measure accuracy, fidelity only until then`;
}

/** The input audio feeds: the first float32 input of rank 1 to 3 that is not a state. */
export function audioInput(specs: readonly InputSpec[]): InputSpec {
  const candidates = specs.filter((s) => s.dtype === 'float32' && s.shape.length >= 1 && s.shape.length <= 3 && !STATE_INPUT.test(s.name));
  if (candidates.length === 0) throw bad(`audio feeds a float32 input of rank 1 to 3, and the model's inputs are ${specs.map((s) => `${s.name} ${s.dtype}[${s.shape.join(', ')}]`).join(', ')}`);
  return candidates[0];
}

/** The frame length audio is cut into: the input's fixed length, else the description's, else a name-based guess (said). */
export function audioFrameLength(spec: InputSpec, d: DataDescription): { length: number; dimName: string; guessed: boolean } {
  const last = spec.shape.length - 1;
  const dim = spec.shape[last];
  const dimName = typeof dim === 'string' && dim !== '?' && dim !== '' ? dim : `${spec.name}[${last}]`;
  if (typeof dim === 'number') return { length: dim, dimName, guessed: false };
  if (d.audio.frame !== undefined) return { length: d.audio.frame, dimName, guessed: false };
  if (d.dims[dimName] !== undefined) return { length: d.dims[dimName], dimName, guessed: false };
  // (a named dim given by its place: --dims input[1]=512 for "sequence")
  const byPlace = d.dims[`${spec.name}[${last}]`];
  if (byPlace !== undefined) return { length: byPlace, dimName, guessed: false };
  const g = dimGuess(dimName);
  if (g.basis !== 'name') return { length: dimValue(spec, last, d.dims), dimName, guessed: false };
  return { length: g.value, dimName, guessed: true };
}

/**
 * Decoded audio as model inputs: resampled to the description's rate and cut into frames of the
 * input's length (hop: the description's, else the frame length); each frame is one sample.
 */
export function assembleAudio(files: readonly DecodedAudioFile[], inputs: readonly IoSummary[], d: DataDescription): LoadedData {
  const specs = inputSpecs(inputs);
  const spec = audioInput(specs);
  const last = spec.shape.length - 1;
  const { length, dimName, guessed } = audioFrameLength(spec, d);
  const guessedNote = guessed ? ` (frame length guessed from the dim's name; set the size of ${dimName})` : '';
  const sized = { ...d, dims: { ...d.dims, [dimName]: length } };
  const inputDims = spec.shape.map((_, axis) => (axis === last ? length : dimValue(spec, axis, sized.dims)));
  if (elementCount(inputDims) !== length) throw bad(`input "${spec.name}" [${inputDims.join(', ')}] takes more than one frame of audio; give a batch of 1`);
  const others = otherInputs(specs, spec.name, sized, true);
  const sets: BenchTensor[][] = [];
  const names: string[] = [];
  const streams: number[] = [];
  for (const [fileIndex, f] of files.entries()) {
    const x = resample(f.samples, f.sampleRate, d.audio.sampleRate);
    for (const [k, frame] of frames(x, length, d.audio.hop ?? length).entries()) {
      names.push(`${f.path}#${k}`);
      streams.push(fileIndex);
      sets.push([{ name: spec.name, dtype: 'float32', dims: inputDims, data: frame }, ...others.tensors.map((t) => ({ ...t, data: t.data.slice() }))]);
    }
  }
  if (sets.length === 0) throw bad(`the audio is shorter than one frame of ${length} samples at ${d.audio.sampleRate} Hz`);
  return {
    kind: 'audio',
    description: d,
    ...(guessed ? { guessedDim: dimName } : {}),
    sets: orderLike(specs, sets),
    count: sets.length,
    summary: `${sets.length} frame${sets.length === 1 ? '' : 's'} of ${length} samples${guessedNote} at ${d.audio.sampleRate} Hz from ${files.length} audio file${files.length === 1 ? '' : 's'}, each ${spec.name} float32[${inputDims.join(', ')}]${others.notes.length ? `; ${others.notes.join('; ')}` : ''}`,
    dims: { ...sized.dims, ...dimsUsed(spec, inputDims) },
    names,
    ignored: [],
    fed: spec.name,
    otherInputs: others.notes,
    streams,
  };
}

/** Input sets read from tensor files (one set each) as loaded data. */
export function fromSets(sets: BenchTensor[][], names: string[], source: string): LoadedData {
  const first = sets[0] ?? [];
  const dims: Record<string, number> = {};
  return {
    kind: 'tensors',
    description: { format: 'onnx-studio-data', version: 1, image: { resize: 'stretch', channels: 'rgb', normalize: '0to1', invert: false }, audio: { sampleRate: 16000 }, dims, inputs: {} },
    sets,
    count: sets.length,
    summary: `${sets.length} input set${sets.length === 1 ? '' : 's'} from ${source} (${first.map((t) => `${t.name} ${t.dtype}[${t.dims.join(', ')}]`).join(', ')})`,
    dims,
    names,
    ignored: [],
  };
}

/** A labeled set as loaded data. */
export function fromLabeled(labeled: LabeledSet, d: DataDescription, name: string): LoadedData {
  return {
    kind: 'labeled',
    description: d,
    labeled,
    count: labeled.labels.length,
    summary: `${labeled.labels.length} labeled samples from ${name}, each ${labeled.inputName} [${labeled.sampleDims.join(', ')}]`,
    dims: {},
    names: [name],
    ignored: [],
    fed: labeled.inputName,
  };
}

/** A part of the data: sets, or a labeled set's rows. */
export interface DataPart {
  sets?: BenchTensor[][];
  labeled?: LabeledSet;
}

/** The samples at `indices` (a labeled set's rows, or sets). */
export function subset(data: Pick<LoadedData, 'sets' | 'labeled'>, indices: readonly number[]): DataPart {
  if (data.labeled) {
    const l = data.labeled;
    const per = elementCount(l.sampleDims);
    const out = new Float32Array(per * indices.length);
    indices.forEach((i, k) => out.set(l.data.subarray(i * per, (i + 1) * per), k * per));
    return { labeled: { ...l, labels: Int32Array.from(indices, (i) => l.labels[i]), data: out } };
  }
  return { sets: indices.map((i) => (data.sets as BenchTensor[][])[i]) };
}

export interface SplitData {
  calibration: DataPart;
  evaluation: DataPart;
  calibrationCount: number;
  evaluationCount: number;
  overlap: boolean;
  line: string;
}

/**
 * The calibration and evaluation parts, and a line saying how many of each. Split when the
 * description says how many calibrate (`calibration`) or when `always`; otherwise every sample
 * does both, and the line says so.
 */
export function splitData(data: LoadedData, always = false): SplitData {
  if (data.description.calibration === undefined && !always) {
    const all = subset(data, Array.from({ length: data.count }, (_, i) => i));
    return {
      calibration: all,
      evaluation: all,
      calibrationCount: data.count,
      evaluationCount: data.count,
      overlap: true,
      line: `all ${data.count} samples (split them into calibration and evaluation with --calibration N)`,
    };
  }
  const s = splitSamples(data.count, data.description.calibration);
  return {
    calibration: subset(data, s.calibration),
    evaluation: subset(data, s.evaluation),
    calibrationCount: s.calibration.length,
    evaluationCount: s.evaluation.length,
    overlap: s.overlap,
    line: s.overlap ? '1 sample: it both calibrates and evaluates' : `${s.calibration.length} calibrate, ${s.evaluation.length} evaluate (never the same samples)`,
  };
}

/** A part's samples as input sets by input name (what calibration runs), labeled rows one sample each. */
/** How many samples a part holds (a labeled set's rows, or sets), without making them. */
export function partCount(part: DataPart | undefined): number {
  return part?.labeled ? part.labeled.labels.length : (part?.sets?.length ?? 0);
}

export function partAsSamples(part: DataPart): Record<string, BenchTensor>[] {
  if (part.sets) return part.sets.map((set) => Object.fromEntries(set.map((t) => [t.name, t])));
  const l = part.labeled;
  if (!l) return [];
  const per = elementCount(l.sampleDims);
  return Array.from(l.labels, (_, i) => ({ [l.inputName]: { name: l.inputName, dtype: 'float32' as const, dims: [1, ...l.sampleDims], data: l.data.slice(i * per, (i + 1) * per) } }));
}
