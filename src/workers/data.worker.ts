/**
 * The data worker: turns the Data place's files into model inputs. Images are decoded by the
 * browser (createImageBitmap, an OffscreenCanvas for the pixels), wav files by src/bench/audio.ts;
 * the rest (resizing, normalizing, framing, other inputs, the split, the preview) is shared code
 * in src/bench, the same the CLI runs.
 */
import { AppError } from '../core/errors';
import { decodeWav } from '../bench/audio';
import { dataFromFiles } from '../bench/data-files';
import { assembleAudio, assembleImages, AUDIO_FILE, fromLabeled, fromSets, IMAGE_FILE, splitData, TENSOR_FILE, type DecodedAudioFile, type DecodedImage, type LoadedData } from '../bench/data-load';
import { previewData } from '../bench/data-preview';
import { feedBackStates, feedbackPairs } from '../bench/feedback';
import { loadOrtCpu } from './ort';
import { webRunSession } from './ort-session';
import type { DataDescription } from '../bench/dataset';
import { parseLabeledJson } from '../bench/labeled';
import { parseJsonText } from '../bench/parse-inputs';
import type { IoSummary } from '../onnx/summary';
import type { DataProgress, DataRequest, DataWorkerApi, PreparedData } from './data-api';
import { serveDataPort, type HeldData } from './data-port';
import { reportDecodes } from './kit/debug';
import { serve, type Handlers } from './kit/serve';

async function decodeImage(file: Blob, path: string): Promise<DecodedImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new AppError('invalid-argument', `${path} is not an image this browser can decode`);
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new AppError('unsupported', 'no 2D canvas in this worker to read image pixels');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { path, rgba: data, width: bitmap.width, height: bitmap.height };
  } finally {
    bitmap.close();
  }
}

async function sampleSet(inputs: IoSummary[], d: DataDescription): Promise<LoadedData> {
  const url = new URL(`${import.meta.env.BASE_URL}sample/digits-test.json`, globalThis.location.origin);
  const res = await fetch(url);
  if (!res.ok) throw new AppError('io', `The sample's labeled set could not be loaded (HTTP ${res.status}).`);
  return fromLabeled(parseLabeledJson('digits-test.json', parseJsonText('digits-test.json', new Uint8Array(await res.arrayBuffer())), inputs), d, 'digits-test.json');
}

type Progress = (p: DataProgress) => void;

/**
 * The most image or audio files, and samples, one data set holds: every sample stays in memory as
 * float32 model inputs (on the page and in each consumer's worker), so a folder of thousands of
 * photos must not exhaust the tab. What is left out is said in the summary.
 */
const MAX_FILES = 512;
const MAX_SAMPLES = 2048;

function capped<T>(list: T[], what: string, notes: string[]): T[] {
  if (list.length <= MAX_FILES) return list;
  // spread evenly over the sorted list, so every class folder stays represented
  notes.push(`${MAX_FILES} of ${list.length} ${what}, spread evenly, are used`);
  return Array.from({ length: MAX_FILES }, (_, k) => list[Math.floor((k * list.length) / MAX_FILES)]);
}

function capSamples(loaded: LoadedData, notes: string[]): LoadedData {
  if (!loaded.sets || loaded.sets.length <= MAX_SAMPLES) return loaded;
  notes.push(`the first ${MAX_SAMPLES} of ${loaded.sets.length} samples are used`);
  return { ...loaded, sets: loaded.sets.slice(0, MAX_SAMPLES), names: loaded.names.slice(0, MAX_SAMPLES), count: MAX_SAMPLES };
}

async function fromFiles(files: File[], paths: string[], audio: DecodedAudioFile[], inputs: IoSummary[], outputs: IoSummary[], d: DataDescription, progress: Progress): Promise<LoadedData> {
  const entries = files.map((file, i) => ({ file, path: paths[i] ?? file.name })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const notes: string[] = [];
  const images = capped(entries.filter((e) => IMAGE_FILE.test(e.path)), 'images', notes);
  const sounds = capped(entries.filter((e) => AUDIO_FILE.test(e.path)), 'audio files', notes);
  const tensors = entries.filter((e) => TENSOR_FILE.test(e.path));
  const ignored = entries.filter((e) => !IMAGE_FILE.test(e.path) && !AUDIO_FILE.test(e.path) && !TENSOR_FILE.test(e.path)).map((e) => e.path);
  let loaded: LoadedData;
  if (images.length > 0 && images.length >= sounds.length && images.length >= tensors.length) {
    const decoded: DecodedImage[] = [];
    for (const [i, e] of images.entries()) {
      decoded.push(await decodeImage(e.file, e.path));
      progress({ done: i + 1, total: images.length });
    }
    loaded = assembleImages(decoded, inputs, d, outputs);
    ignored.push(...sounds.map((e) => e.path), ...tensors.map((e) => e.path));
  } else if (sounds.length > 0 && sounds.length >= tensors.length) {
    const decoded: DecodedAudioFile[] = [];
    for (const [i, e] of sounds.entries()) {
      const given = audio.find((a) => a.path === e.path);
      if (given) decoded.push(given);
      else if (/\.wav$/i.test(e.path)) {
        const a = decodeWav(e.path, new Uint8Array(await e.file.arrayBuffer()));
        decoded.push({ path: e.path, samples: a.samples, sampleRate: a.sampleRate });
      } else throw new AppError('invalid-argument', `${e.path}: this browser could not decode the audio`);
      progress({ done: i + 1, total: sounds.length });
    }
    loaded = assembleAudio(decoded, inputs, d);
    ignored.push(...images.map((e) => e.path), ...tensors.map((e) => e.path));
  } else if (tensors.length > 0) {
    const read = await Promise.all(tensors.map(async (e) => ({ name: e.path, bytes: new Uint8Array(await e.file.arrayBuffer()) })));
    const data = dataFromFiles(read, inputs);
    loaded = data.labeled ? fromLabeled(data.labeled, d, tensors[0].path) : fromSets(data.sets ?? [], tensors.map((e) => e.path), `${tensors.length} file${tensors.length === 1 ? '' : 's'}`);
    loaded.description = d;
    ignored.push(...images.map((e) => e.path), ...sounds.map((e) => e.path));
  } else {
    throw new AppError('invalid-argument', `none of the ${files.length} chosen files is an image, audio or tensor file (.png .jpg .wav .mp3 .ogg .npy .json .csv)`);
  }
  loaded = capSamples(loaded, notes);
  return { ...loaded, ignored, summary: notes.length ? `${loaded.summary} (${notes.join('; ')})` : loaded.summary };
}

/** States fed back between frames: the original model runs over the frames (wasm, this worker's threads). */
async function fedBack(loaded: LoadedData, pairs: ReturnType<typeof feedbackPairs>, model: ArrayBuffer | undefined, progress: Progress): Promise<LoadedData> {
  if (!model) throw new AppError('unsupported', 'feeding states back needs the model, and none was given to the data worker');
  const ort = await loadOrtCpu();
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(new Uint8Array(model), { executionProviders: ['wasm'] });
  } catch (e) {
    throw new AppError('invalid-argument', `the model does not load in onnxruntime-web to feed its state back: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return await feedBackStates(loaded, pairs, webRunSession(ort, session), { onProgress: (done, total) => progress({ done, total, stage: 'feedback' }) });
  } finally {
    await session.release();
  }
}

/** The last data set prepared, for consumers that connect (the compress worker); dropped when the next prepare starts. */
let held: HeldData | undefined;

async function prepare(req: DataRequest, progress: Progress): Promise<PreparedData> {
  held = undefined;
  const t0 = performance.now();
  let loaded = req.source.kind === 'sample' ? await sampleSet(req.inputs, req.description) : await fromFiles(req.source.files, req.source.paths, req.source.audio, req.inputs, req.outputs, req.description, progress);
  if (loaded.count === 0) throw new AppError('invalid-argument', 'the files hold no samples');
  const pairs = feedbackPairs(loaded, req.inputs, req.outputs);
  if (pairs.length > 0) loaded = await fedBack(loaded, pairs, req.model, progress);
  const split = splitData(loaded, true);
  held = { key: req.key, calibration: split.calibration, evaluation: split.evaluation };
  return {
    key: req.key,
    loaded,
    calibration: split.calibration,
    evaluation: split.evaluation,
    calibrationCount: split.calibrationCount,
    evaluationCount: split.evaluationCount,
    overlap: split.overlap,
    preview: previewData(loaded),
    ms: performance.now() - t0,
  };
}

const handlers: Handlers<DataWorkerApi> = {
  prepare: (ctx, req) => prepare(req, ctx.progress),
  connect: (_ctx, port) => serveDataPort(port, () => held),
};

reportDecodes('data');
serve(handlers);
