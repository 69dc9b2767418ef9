/**
 * The Benchmark tab's state: the user's choices (backends, caps), the backends this browser has,
 * the run in flight (progress, cancel) and its results. The inputs are the Data place's evaluation
 * part (src/state/data-store.ts), or random inputs, said with the results. Results belong to the
 * compressed result and the data they were measured on; a new model or a new compression clears
 * them; new data marks them stale.
 */
import { create } from 'zustand';
import { errorMessage, isAppError } from '../core/errors';
import type { BackendAvailability, BackendId, ImagePrep, JobResult } from '../workers/bench-api';
import { connectData, dataFeed } from './data-store';
import { BenchClient, type BenchProgress, type BenchSetup } from '../workers/bench-client';
import type { InputSpec, InputsDescription, SymbolicDim } from '../bench/describe-inputs';
import { useCompressStore } from './compress-store';
import { modelHandle, useModelStore } from './model-store';

export type { BackendAvailability, BackendId, BenchProgress, BenchSetup, ImagePrep, InputSpec, InputsDescription, JobResult, SymbolicDim };
/** Pure helpers over a model's inputs (symbolic dims, defaults, image settings) for the Benchmark tab (page-shared algorithm code). */


export type Availability =
  | { kind: 'unknown' }
  | { kind: 'checking' }
  | { kind: 'done'; list: BackendAvailability[] }
  | { kind: 'failed'; message: string };

export type RunState =
  | { kind: 'idle' }
  | { kind: 'running'; progress: BenchProgress }
  | { kind: 'done'; ms: number }
  | { kind: 'cancelled' }
  | { kind: 'failed'; message: string };

export interface BenchState {
  backends: Record<BackendId, boolean>;
  maxRuns: number;
  maxSeconds: number;
  availability: Availability;
  run: RunState;
  setup: BenchSetup | undefined;
  results: JobResult[];
  /** the compress result id the results were measured on */
  resultId: number | undefined;
  /** what the results were measured on: the data line, whether random, the data version */
  data: { line: string; random: boolean; version: number } | undefined;

  checkBackends(): Promise<void>;
  setBackend(b: BackendId, on: boolean): void;
  setCaps(caps: { maxRuns?: number; maxSeconds?: number }): void;
  /** Benchmarks the open model and its compressed result on the chosen backends (or `only`: these, e.g. Compare's wasm fidelity). */
  start(only?: readonly BackendId[]): Promise<void>;
  cancel(): void;
}

let client: BenchClient | undefined;
const getClient = () => (client ??= new BenchClient());
let inFlight: AbortController | undefined;

const now = () => globalThis.performance?.now() ?? Date.now();

export const useBenchStore = create<BenchState>()((set, get) => ({
  backends: { 'wasm-1': true, 'wasm-n': true, webgl: true, webgpu: true },
  maxRuns: 200,
  maxSeconds: 3,
  availability: { kind: 'unknown' },
  run: { kind: 'idle' },
  setup: undefined,
  results: [],
  resultId: undefined,
  data: undefined,

  async checkBackends() {
    if (get().availability.kind === 'checking') return;
    set({ availability: { kind: 'checking' } });
    try {
      const list = await getClient().probe();
      const backends = { ...get().backends };
      for (const a of list) if (!a.available) backends[a.backend] = false;
      set({ availability: { kind: 'done', list }, backends });
    } catch (e) {
      set({ availability: { kind: 'failed', message: errorMessage(e) } });
    }
  },

  setBackend(b, on) {
    set({ backends: { ...get().backends, [b]: on } });
  },

  setCaps(caps) {
    set({ ...(caps.maxRuns !== undefined ? { maxRuns: caps.maxRuns } : {}), ...(caps.maxSeconds !== undefined ? { maxSeconds: caps.maxSeconds } : {}) });
  },

  async start(only) {
    const model = useModelStore.getState().model;
    const handle = modelHandle(model);
    const result = useCompressStore.getState().result;
    if (!model || !handle) return set({ run: { kind: 'failed', message: 'Open a model first.' } });
    if (!result || result.model !== model) return set({ run: { kind: 'failed', message: 'Compress the model first: the benchmark compares the original with the compressed result.' } });
    const s = get();
    const backends = only ? [...only] : (Object.keys(s.backends) as BackendId[]).filter((b) => s.backends[b]);
    if (backends.length === 0) return set({ run: { kind: 'failed', message: 'Choose at least one backend.' } });
    const feed = dataFeed();
    if ('problem' in feed) return set({ run: { kind: 'failed', message: feed.problem } });
    // the evaluation part by name: each bench worker asks the data worker for it (the page never clones it); else random inputs
    const samples = feed.evaluation && feed.key !== undefined ? { key: feed.key, use: 'evaluation' as const } : undefined;
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const t0 = now();
    set({ run: { kind: 'running', progress: { fraction: 0, label: 'Starting…' } }, results: [], setup: undefined, resultId: result.id, data: { line: feed.line, random: feed.random, version: feed.version } });
    const alive = () => inFlight === controller;
    try {
      await getClient().run(
        handle,
        {
          inputs: model.summary.inputs,
          originalFileBytes: model.files.reduce((n, f) => n + f.bytes, 0),
          compressed: result.blob,
          ...(samples ? { samples } : {}),
          dimValues: feed.dims,
          repeat: { maxRuns: s.maxRuns, maxMs: s.maxSeconds * 1000 },
        },
        backends,
        {
          signal: controller.signal,
          onProgress: (progress) => alive() && set({ run: { kind: 'running', progress } }),
          onSetup: (setup) => alive() && set({ setup }),
          onResult: (r) => alive() && set({ results: [...get().results, r] }),
          connectData,
        },
      );
      if (alive()) set({ run: { kind: 'done', ms: now() - t0 } });
    } catch (e) {
      if (!alive()) return;
      if (isAppError(e) && e.code === 'aborted') set({ run: { kind: 'cancelled' } });
      else set({ run: { kind: 'failed', message: errorMessage(e) } });
    } finally {
      if (inFlight === controller) inFlight = undefined;
    }
  },

  cancel() {
    inFlight?.abort();
  },
}));

// Results belong to a model and its compressed result: a new one of either clears them.
function clear() {
  inFlight?.abort();
  inFlight = undefined;
  useBenchStore.setState({ run: { kind: 'idle' }, results: [], setup: undefined, resultId: undefined, data: undefined });
}
useModelStore.subscribe((state, prev) => {
  if (state.model === prev.model) return;
  clear();
});
// A run measures the result it started with: a new compression (or none) ends it, so results of
// two different compressions are never shown together.
useCompressStore.subscribe((state, prev) => {
  if (state.result === prev.result) return;
  const b = useBenchStore.getState();
  if (b.results.length > 0 || b.run.kind === 'running') clear();
});
