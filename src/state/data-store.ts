/**
 * The Data place: the inputs the user gives once for the open model, used by every measurement
 * (int8-activation calibration, the runtime check, Benchmark, Explore). It keeps the files and
 * the description (preprocessing, sizes of symbolic dims, values of inputs the data does not feed,
 * how many samples calibrate), has the data worker prepare them, and hands consumers a `DataFeed`:
 * the calibration part, the evaluation part, the dims and one line saying what was fed.
 *
 * - Without data, consumers run random inputs: the feed says so (`random`), sizes come from the
 *   user, the batch (1) or a guess from the dim's name (said), and a dim nobody sized stops them
 *   with a message naming it (never a silent 1).
 * - Kept with the session (IndexedDB, the files as Blobs), never uploaded.
 * - `version` changes whenever what consumers get changes: results made before are stale.
 */
import { useMemo } from 'react';
import { create } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { errorMessage, isAppError } from '../core/errors';
import { AUDIO_FILE, defaultDescription, parseDataDescription, serializeDataDescription, type AudioOptions, type DataDescription, type ImageOptions } from '../bench/dataset';
import { concreteDims, describeInputs, dimChoices, statePairs } from '../bench/describe-inputs';
import { CHECK_SAMPLES } from '../compress/recovery/meta';
import type { DataPart, DataPreview, DecodedAudioFile, PreparedData } from '../workers/data-api';
import type { PortLike } from '../workers/compress-api';
import { DataClient } from '../workers/data-client';
import type { OpenedModel } from '../workers/model-api';
import { provideCompressData } from './compress-store';
import { modelHandle, useModelStore } from './model-store';
import { registerSessionPart } from './session-store';

export type { DataPart, DataPreview, PreparedData };

export type DataSourceState = { kind: 'none' } | { kind: 'sample' } | { kind: 'files'; files: File[]; paths: string[] };

export type DataStatus = { kind: 'idle' } | { kind: 'preparing'; done: number; total: number; stage?: 'feedback' } | { kind: 'ready' } | { kind: 'failed'; message: string };

/** What a consumer is fed. */
export interface DataFeed {
  /** random inputs (no data given) */
  random: boolean;
  /** one line: what is fed, e.g. "322 evaluation samples of 450 labeled samples from digits-test.json" */
  line: string;
  /** sizes of the symbolic dims (random inputs are made at these) */
  dims: Record<string, number>;
  calibration?: DataPart;
  evaluation?: DataPart;
  calibrationCount: number;
  evaluationCount: number;
  /** the same samples calibrate and evaluate (one sample) */
  overlap?: boolean;
  /** what the data is (for reports) */
  summary: string;
  /** the data worker's key for these samples (they go from it to the compress worker directly) */
  key?: number;
  /** random inputs: the sizes guessed from dims' names, said wherever they are used */
  guessed?: string;
  version: number;
}

export interface DataState {
  model: OpenedModel | undefined;
  source: DataSourceState;
  description: DataDescription;
  status: DataStatus;
  prepared: PreparedData | undefined;
  version: number;

  /** Uses these files (images, audio, .npy/.json/.csv; `paths` within a chosen folder). */
  setFiles(files: File[], paths?: string[]): void;
  useSample(): void;
  /** No data: random inputs. */
  clear(): void;
  setImage(p: Partial<ImageOptions>): void;
  setAudio(p: Partial<AudioOptions>): void;
  setDim(name: string, value: number | undefined): void;
  setInputValue(name: string, value: number | undefined): void;
  setCalibration(n: number | undefined): void;
  /** Feeds `output` of the frame before into state input `input` (undefined: not fed back). */
  setFeedback(input: string, output: string | undefined): void;
  /** The description as data.json text (what `cli --data` reads). */
  exportDescription(): string;
  /** Reads a data.json; throws a one-line error naming the key. */
  importDescription(text: string): void;
  /** Prepares the same files again (the data worker that held them was replaced). */
  prepareAgain(): void;
}

let client: DataClient | undefined;
/** The data worker holds the prepared samples for the compress worker: replaced after a crash, it has forgotten them, so they are prepared again. */
const getClient = () => (client ??= new DataClient((reason) => reason.code !== 'aborted' && useDataStore.getState().status.kind === 'ready' && useDataStore.getState().prepareAgain()));
/** A port on which a consumer worker asks the data worker for the samples it holds (src/workers/data-port.ts): Compress, the runtime check, Explore. */
export function connectData(): Promise<PortLike> {
  return getClient().connect();
}

/** Names each data set handed to the data worker (what consumers ask it for). */
let nextKey = 1;
let inFlight: AbortController | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

/** The built-in sample, recognised by its file name and input. */
export function isSampleModel(model: OpenedModel | undefined): boolean {
  const input = model?.summary.inputs[0];
  return model?.fileName === 'digits-cnn.onnx' && model.summary.inputs.length === 1 && input?.name === 'input';
}

/** The CLI's flag names in shared messages, in the Data place's words. */
function pageWords(message: string): string {
  return message
    .replace(/give --image-size HEIGHTxWIDTH or --dims ([^\s=]+)=N/g, 'set the image size under Preprocessing (or the size of $1 under Inputs)')
    .replace(/give --image-size HEIGHTxWIDTH/g, 'set the image size under Preprocessing')
    .replace(/--image-size/g, 'image size')
    .replace(/give --dims ([^\s=]+)=N/g, 'set the size of $1 under Inputs')
    .replace(/set it with --input ([^\s=)]+)=V/g, 'set its value under Inputs')
    .replace(/give --layout nchw or nhwc/g, 'choose the layout under Preprocessing')
    .replace(/^--samples: /, '')
    .replace(/--(channels|normalize|layout)/g, '$1');
}

const AUDIO_NEEDS_BROWSER = /\.(mp3|ogg|oga|opus|flac|m4a|aac|webm)$/i;

/** Audio the worker cannot decode (everything but wav), decoded by the browser on this thread. */
async function decodeAudioFiles(files: File[], paths: string[]): Promise<DecodedAudioFile[]> {
  const out: DecodedAudioFile[] = [];
  for (const [i, f] of files.entries()) {
    const path = paths[i] ?? f.name;
    if (!AUDIO_NEEDS_BROWSER.test(path)) continue;
    if (typeof OfflineAudioContext === 'undefined') throw new Error(`${path}: this browser has no audio decoder; give .wav files`);
    const ctx = new OfflineAudioContext(1, 1, 44100);
    let buf: AudioBuffer;
    try {
      buf = await ctx.decodeAudioData(await f.arrayBuffer());
    } catch {
      throw new Error(`${path}: this browser could not decode the audio`);
    }
    const mono = new Float32Array(buf.length);
    for (let c = 0; c < buf.numberOfChannels; c++) {
      const ch = buf.getChannelData(c);
      for (let k = 0; k < mono.length; k++) mono[k] += ch[k] / buf.numberOfChannels;
    }
    out.push({ path, samples: mono, sampleRate: buf.sampleRate });
  }
  return out;
}

/**
 * The state inputs that can be fed back (input -> output), and whether each is now: the pairs
 * found by name and shape, plus any the description names.
 */
export function feedbackChoices(s: Pick<DataState, 'model' | 'description' | 'prepared' | 'source'>): { input: string; output: string; on: boolean }[] {
  if (!s.model) return [];
  const found = statePairs(s.model.summary.inputs, s.model.summary.outputs);
  const given = s.description.feedback;
  const fedNow = s.source.kind !== 'none' ? (s.prepared?.loaded.feedback ?? []) : [];
  const out = found.map((p) => ({ ...p, output: given?.[p.input] ?? p.output, on: given ? given[p.input] !== undefined : fedNow.some((q) => q.input === p.input) }));
  for (const [input, output] of Object.entries(given ?? {})) if (!out.some((p) => p.input === input)) out.push({ input, output, on: true });
  return out;
}

/** Whether the data may feed recurrent states back (the worker then needs the model): a pair given, or audio and a state with its output. */
function mayFeedBack(model: OpenedModel, source: DataSourceState, d: DataDescription): boolean {
  if (d.feedback !== undefined) return Object.keys(d.feedback).length > 0;
  if (source.kind !== 'files' || !source.paths.some((p) => AUDIO_FILE.test(p))) return false;
  return statePairs(model.summary.inputs, model.summary.outputs).length > 0;
}

function relativePath(f: File): string {
  return (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
}

export const useDataStore = create<DataState>()((set, get) => {
  /** A change of what consumers get: bump the version and prepare again (soon, once). */
  const changed = (patch: Partial<DataState>) => {
    set({ ...patch, version: get().version + 1 });
    schedule();
  };
  const schedule = () => {
    if (timer !== undefined) clearTimeout(timer);
    inFlight?.abort();
    if (get().source.kind === 'none') {
      set({ status: { kind: 'idle' }, prepared: undefined });
      return;
    }
    set({ status: { kind: 'preparing', done: 0, total: 0 } });
    timer = setTimeout(() => void prepareNow(), 150);
  };
  const prepareNow = async () => {
    timer = undefined;
    const { model, source, description } = get();
    if (!model || source.kind === 'none') return;
    const controller = new AbortController();
    inFlight = controller;
    const alive = () => inFlight === controller && get().model === model;
    try {
      const audio = source.kind === 'files' ? await decodeAudioFiles(source.files, source.paths) : [];
      const bytes = mayFeedBack(model, source, description) ? await modelHandle(model)?.runnable() : undefined;
      if (!alive()) return;
      const prepared = await getClient().prepare(
        {
          key: nextKey++,
          inputs: model.summary.inputs,
          outputs: model.summary.outputs,
          description,
          source: source.kind === 'files' ? { kind: 'files', files: source.files, paths: source.paths, audio } : { kind: 'sample' },
          ...(bytes ? { model: bytes } : {}),
        },
        (p) => alive() && set({ status: { kind: 'preparing', ...p } }),
        controller.signal,
      );
      if (alive()) set({ prepared, status: { kind: 'ready' }, version: get().version + 1 });
    } catch (e) {
      if (!alive() || (isAppError(e) && e.code === 'aborted')) return;
      set({ prepared: undefined, status: { kind: 'failed', message: pageWords(errorMessage(e)) }, version: get().version + 1 });
    } finally {
      if (inFlight === controller) inFlight = undefined;
    }
  };
  const describe = (f: (d: DataDescription) => DataDescription) => changed({ description: f(get().description) });
  return {
    model: undefined,
    source: { kind: 'none' },
    description: defaultDescription(),
    status: { kind: 'idle' },
    prepared: undefined,
    version: 0,

    setFiles(files, paths) {
      if (files.length === 0) return get().clear();
      changed({ source: { kind: 'files', files, paths: paths ?? files.map(relativePath) } });
    },
    useSample() {
      changed({ source: { kind: 'sample' } });
    },
    clear() {
      changed({ source: { kind: 'none' } });
    },
    setImage(p) {
      describe((d) => ({ ...d, image: stripUndefined({ ...d.image, ...p }) }));
    },
    setAudio(p) {
      describe((d) => ({ ...d, audio: stripUndefined({ ...d.audio, ...p }) }));
    },
    setDim(name, value) {
      describe((d) => {
        const dims = { ...d.dims };
        if (value === undefined || !Number.isSafeInteger(value) || value < 1) delete dims[name];
        else dims[name] = value;
        return { ...d, dims };
      });
    },
    setInputValue(name, value) {
      describe((d) => {
        const inputs = { ...d.inputs };
        if (value === undefined || !Number.isFinite(value)) delete inputs[name];
        else inputs[name] = value;
        return { ...d, inputs };
      });
    },
    setCalibration(n) {
      describe((d) => {
        const { calibration: _old, ...rest } = d;
        return n === undefined || !Number.isSafeInteger(n) || n < 0 ? rest : { ...rest, calibration: n };
      });
    },
    setFeedback(input, output) {
      describe((d) => {
        const now = d.feedback ?? Object.fromEntries((get().prepared?.loaded.feedback ?? []).map((p) => [p.input, p.output]));
        const next = { ...now };
        if (output === undefined) delete next[input];
        else next[input] = output;
        return { ...d, feedback: next };
      });
    },
    exportDescription() {
      // the split as the page made it (its default is half, at most 128; the CLI's is every sample
      // doing both), so the CLI evaluates the same samples
      const { description, prepared, source } = get();
      const split = description.calibration === undefined && source.kind !== 'none' && prepared && !prepared.overlap ? { calibration: prepared.calibrationCount } : {};
      return serializeDataDescription({ ...description, ...split });
    },
    importDescription(text) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new Error('data.json: not JSON');
      }
      changed({ description: parseDataDescription(json) });
    },
    prepareAgain() {
      changed({});
    },
  };
});

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * What consumers are fed now, or why they cannot run: the data is still being prepared, failed,
 * or (random inputs) a dim has no size.
 */
export function dataFeed(s: DataState = useDataStore.getState()): DataFeed | { problem: string } {
  const model = s.model;
  if (!model) return { problem: 'Open a model first.' };
  if (s.source.kind !== 'none') {
    if (s.status.kind === 'failed') return { problem: `The data could not be used: ${s.status.message} (see the Data tab).` };
    const p = s.prepared;
    if (!p || s.status.kind !== 'ready') return { problem: 'The data is still being prepared (see the Data tab).' };
    const split = p.overlap ? '1 sample both calibrates and evaluates' : `${p.calibrationCount} calibrate, ${p.evaluationCount} evaluate`;
    return {
      random: false,
      line: `${p.loaded.summary}; ${split}`,
      summary: p.loaded.summary,
      key: p.key,
      dims: p.loaded.dims,
      calibration: p.calibration,
      evaluation: p.evaluation,
      calibrationCount: p.calibrationCount,
      evaluationCount: p.evaluationCount,
      ...(p.overlap ? { overlap: true } : {}),
      version: s.version,
    };
  }
  const described = describeInputs(model.summary.inputs);
  if (described.problem) return { problem: `${described.problem} (give real inputs in the Data tab)` };
  const d = dimChoices(described.specs, s.description.dims);
  if (d.missing.length > 0) {
    return { problem: `Random inputs need a size for ${d.missing.map((m) => `"${m}"`).join(', ')}: set ${d.missing.length === 1 ? 'it' : 'them'} in the Data tab, or give real data there.` };
  }
  const shapes = concreteDims(described.specs, d.dims).map((c) => `${c.name}[${c.dims?.join(', ') ?? '?'}]`);
  const guessed = d.guessed.length ? `; sizes guessed from the dims' names: ${d.guessed.join(', ')} (set them in the Data tab)` : '';
  return {
    random: true,
    line: `random inputs ${shapes.join(', ')}${guessed}`,
    summary: `random inputs ${shapes.join(', ')}`,
    ...(d.guessed.length ? { guessed: `sizes guessed from the dims' names: ${d.guessed.join(', ')} (set them in the Data tab)` } : {}),
    dims: d.dims,
    calibrationCount: 0,
    evaluationCount: 0,
    version: s.version,
  };
}

/** The feed, or an Error with its problem (for actions that must stop). */
export function requireFeed(): DataFeed {
  const f = dataFeed();
  if ('problem' in f) throw new Error(f.problem);
  return f;
}

// A new model starts with no data (the sample with its labeled set); a saved session puts its data back.
/** The model whose saved data the session store put back (its own model-change listener may run first). */
let restoredFor: OpenedModel | undefined;

useModelStore.subscribe((state, prev) => {
  if (state.model === prev.model) return;
  if (state.model !== undefined && restoredFor === state.model) return;
  inFlight?.abort();
  if (timer !== undefined) clearTimeout(timer);
  const sample = isSampleModel(state.model);
  useDataStore.setState({
    model: state.model,
    source: sample ? { kind: 'sample' } : { kind: 'none' },
    description: defaultDescription(),
    status: { kind: 'idle' },
    prepared: undefined,
    version: useDataStore.getState().version + 1,
  });
  if (sample) useDataStore.getState().useSample();
});

interface SavedData {
  source: DataSourceState;
  description: string;
}

registerSessionPart({
  key: 'data',
  snapshot(): SavedData | undefined {
    const s = useDataStore.getState();
    if (!s.model) return undefined;
    return { source: s.source, description: serializeDataDescription(s.description) };
  },
  restore(saved) {
    const v = saved as Partial<SavedData> | undefined;
    if (!v || !v.source || typeof v.description !== 'string') return;
    try {
      const description = parseDataDescription(JSON.parse(v.description));
      const source = v.source.kind === 'files' && Array.isArray(v.source.files) ? { kind: 'files' as const, files: v.source.files, paths: v.source.paths ?? v.source.files.map((f) => f.name) } : v.source.kind === 'sample' ? { kind: 'sample' as const } : { kind: 'none' as const };
      const model = useModelStore.getState().model;
      restoredFor = model;
      useDataStore.setState({ model, description, source });
      if (source.kind === 'files') useDataStore.getState().setFiles(source.files, source.paths);
      else if (source.kind === 'sample') useDataStore.getState().useSample();
      else useDataStore.getState().clear();
    } catch {
      // a saved description that no longer parses: start without data
    }
  },
  subscribe(changed) {
    return useDataStore.subscribe((s, prev) => {
      if (s.source !== prev.source || s.description !== prev.description) changed();
    });
  },
});

/** The feed for components: re-computed only when what it depends on changes. */
export function useDataFeed(): DataFeed | { problem: string } {
  const picked = useDataStore(useShallow((s) => ({ model: s.model, source: s.source, status: s.status, prepared: s.prepared, description: s.description, version: s.version })));
  return useMemo(() => dataFeed({ ...useDataStore.getState(), ...picked }), [picked]);
}

// Compression calibrates on the calibration part; recovery's model-level check runs the first
// CHECK_SAMPLES of the evaluation part; the runtime check runs the evaluation part. The page names
// them; the data worker, which holds them, hands them to the compress worker (src/workers/data-port.ts).
provideCompressData(
  (use) => {
    const f = dataFeed();
    if ('problem' in f) return f;
    const part = use === 'calibration' ? f.calibration : f.evaluation;
    // recovery's check runs at most CHECK_SAMPLES of them: only those travel to the worker
    const check = use === 'calibration' && f.evaluation && f.evaluationCount > 0 && !f.overlap ? CHECK_SAMPLES : undefined;
    const samples = part && f.key !== undefined ? { key: f.key, use, ...(check !== undefined ? { check } : {}) } : undefined;
    return { ...(samples ? { samples } : {}), dims: f.dims, line: f.summary, random: f.random, ...(f.guessed ? { guessed: f.guessed } : {}) };
  },
  connectData,
);
