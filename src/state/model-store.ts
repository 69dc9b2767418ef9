/**
 * The studio's state: which model is open, what is being opened, and the last error.
 * Actions call the model worker through its client; components select small slices.
 */
import { create } from 'zustand';
import { AppError, errorMessage, isAppError } from '../core/errors';
import { estimateOpenMemory } from '../core/memory-estimate';
import type { OpenedModel, RuntimeReport } from '../workers/model-api';
import { ModelClient, type ModelHandle } from '../workers/model-client';
import { checkMemory } from './memory-check';

export interface LoadingState {
  fileNames: string[];
  totalBytes: number;
  fraction: number;
  stage: string;
}

export type RuntimeState =
  | { kind: 'unknown' }
  | { kind: 'checking' }
  | { kind: 'done'; report: RuntimeReport }
  | { kind: 'failed'; message: string };

export interface ModelState {
  model: OpenedModel | undefined;
  loading: LoadingState | undefined;
  /** One line naming the problem with the last thing the user tried. */
  error: string | undefined;
  /** Set when the user cancelled; cleared by the next open. */
  notice: string | undefined;
  /** Set when the files are likely to need more memory than the tab has (the open goes on); cleared by the next open. */
  memoryWarning: string | undefined;
  runtimes: RuntimeState;

  openFiles(files: readonly File[]): Promise<void>;
  /** Opens the built-in sample model (public/sample), served from our own origin. */
  openSample(): Promise<void>;
  cancelOpen(): void;
  dismissError(): void;
  dismissMemoryWarning(): void;
  checkRuntimes(): Promise<void>;
}

/** The built-in sample: a small CNN trained on 8x8 digits (docs/SAMPLE.md). */
export const SAMPLE_URL = `${import.meta.env.BASE_URL}sample/digits-cnn.onnx`;

let client: ModelClient | undefined;
function getClient(): ModelClient {
  client ??= new ModelClient();
  return client;
}

/** The files each opened model was read from (File objects are handles: no bytes are kept here). */
const filesOfModel = new WeakMap<OpenedModel, readonly File[]>();

/** The files `model` was opened from (the model and its external data files), for workers that re-read them. */
export function modelFiles(model: OpenedModel): readonly File[] | undefined {
  return filesOfModel.get(model);
}

/** The handle of each opened model: how views and the other workers reach the parsed model. */
const handles = new WeakMap<OpenedModel, ModelHandle>();

/** The model worker's handle of `model` (default: the open model); undefined when none is open. */
export function modelHandle(model: OpenedModel | undefined = useModelStore.getState().model): ModelHandle | undefined {
  return model && handles.get(model);
}

let inFlight: AbortController | undefined;
/** The worker generation that holds the shown model; a replaced worker has forgotten it. */
let modelGeneration = -1;
/** Settles when the open in flight has finished (successfully or not). */
let settled: Promise<void> = Promise.resolve();

export const useModelStore = create<ModelState>()((set, get) => ({
  model: undefined,
  loading: undefined,
  error: undefined,
  notice: undefined,
  memoryWarning: undefined,
  runtimes: { kind: 'unknown' },

  async openFiles(files) {
    if (files.length === 0) return;
    // One open at a time: a new drop cancels the one in flight and waits for it to end.
    inFlight?.abort(new AppError('aborted', 'Cancelled.'));
    const controller = new AbortController();
    inFlight = controller;
    let done!: () => void;
    const previous = settled;
    settled = new Promise((resolve) => (done = resolve));
    await previous;
    if (inFlight !== controller) return done();
    const c = getClient();
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    // the estimate before any byte is read: a warning, and the open goes on
    const memory = checkMemory('open', estimateOpenMemory({ fileBytes: totalBytes }));
    set({
      error: undefined,
      notice: undefined,
      memoryWarning: memory.likelyOut ? memory.message : undefined,
      loading: { fileNames: files.map((f) => f.name), totalBytes, fraction: 0, stage: 'reading' },
    });
    try {
      const model = await c.open(files, {
        signal: controller.signal,
        onProgress: (fraction, stage) => {
          if (inFlight !== controller) return;
          const loading = get().loading;
          if (loading) set({ loading: { ...loading, fraction, stage } });
        },
      });
      if (inFlight !== controller) return;
      modelGeneration = c.generation;
      filesOfModel.set(model, [...files]);
      handles.set(model, c.handle(model, [...files]));
      set({ model, loading: undefined });
    } catch (e) {
      if (inFlight !== controller && isAppError(e) && e.code === 'aborted') return;
      // A replaced worker has forgotten the previous model, so the page must forget it too
      // (unless its handle has opened it again since, after a crash).
      const shown = get().model;
      const lost = c.generation !== modelGeneration && !(shown && modelHandle(shown)?.live);
      if (isAppError(e) && e.code === 'aborted') {
        set({ loading: undefined, notice: 'Opening was cancelled.', ...(lost ? { model: undefined } : {}) });
      } else {
        set({ loading: undefined, error: errorMessage(e), ...(lost ? { model: undefined } : {}) });
      }
    } finally {
      if (inFlight === controller) inFlight = undefined;
      done();
    }
  },

  async openSample() {
    try {
      const res = await fetch(SAMPLE_URL);
      if (!res.ok) throw new AppError('io', `The sample model could not be loaded (HTTP ${res.status}).`);
      const blob = await res.blob();
      // a fixed modification time: the same sample is the same file (one entry in the recent models)
      await get().openFiles([new File([blob], 'digits-cnn.onnx', { lastModified: 0 })]);
    } catch (e) {
      set({ error: errorMessage(e) });
    }
  },

  cancelOpen() {
    inFlight?.abort(new AppError('aborted', 'Cancelled.'));
  },

  dismissError() {
    set({ error: undefined, notice: undefined });
  },

  dismissMemoryWarning() {
    set({ memoryWarning: undefined });
  },

  async checkRuntimes() {
    if (get().runtimes.kind === 'checking') return;
    set({ runtimes: { kind: 'checking' } });
    try {
      const report = await getClient().probeRuntimes();
      set({ runtimes: { kind: 'done', report } });
    } catch (e) {
      set({ runtimes: { kind: 'failed', message: errorMessage(e) } });
    }
  },
}));
