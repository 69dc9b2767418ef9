/**
 * Compression of the open model: the job in flight (per-layer progress), and the last result
 * (sizes, per-layer report, the compressed file as a Blob) for the benchmark and export features.
 *
 * - One compression at a time: a new request cancels the one in flight and waits for it to end.
 * - A result belongs to the model it was made from; opening another model cancels and clears.
 * - The compressed bytes live in a Blob (an immutable handle), never copied into React state.
 */
import { useMemo } from 'react';
import { create } from 'zustand';
import { AppError, errorMessage, isAppError } from '../core/errors';
import { estimateCompressMemory, recoveryMemory, type RecoveryMemory } from '../core/memory-estimate';
import { resolveRecipe } from '../compress/recipe';
import { asksRecovery } from '../compress/recovery/meta';
import type { CompressDataRequest, CompressReport, PortLike, CompressStage, CompressTimings, Recipe, VerifyBackend, VerifyReport } from '../workers/compress-api';
import { CompressClient } from '../workers/compress-client';
import type { OpenedModel } from '../workers/model-api';
import { checkMemory } from './memory-check';
import { modelHandle, useModelStore } from './model-store';
import { useRecipeStore } from './recipe-store';

export interface CompressJob {
  id: number;
  /** the model being compressed */
  model: OpenedModel;
  recipe: Recipe;
  stage: CompressStage;
  /** layers done / to do (0 / 0 before the compress stage) */
  done: number;
  total: number;
  /** the layer finished last */
  layerKey: string;
  /** keys of the layers finished so far, in order */
  finished: string[];
  /** stage 'recover' with recovery "sequential": its rounds (done and total count samples over all of them) */
  rounds?: number;
  /** stage 'compress' with recovery: the pass of layer-input statistics running (CompressProgress.inputs) */
  inputs?: { pass: number; passes: number; done: number; total: number };
  /** with recovery: the whole job's fraction (CompressProgress.fraction) */
  fraction?: number;
  startedAt: number;
}

export interface CompressOutcome {
  id: number;
  /** the model it was made from (the open model, by identity) */
  model: OpenedModel;
  /** the recipe it was made with (applied), as sent */
  recipe: Recipe;
  /** the original model's file name */
  fileName: string;
  /** the original files' bytes (model and external data) */
  originalBytes: number;
  /** the compressed .onnx file's bytes */
  compressedBytes: number;
  /** the compressed .onnx file */
  blob: Blob;
  /** its external data file, when the result is too large for one protobuf file (2 GB) */
  data?: { name: string; blob: Blob };
  report: CompressReport;
  timings: CompressTimings;
  /** wall time from the request to the result, in ms */
  totalMs: number;
}

/**
 * What the Data place gives compression (`calibration`) and the runtime check (`evaluation`), or
 * why it cannot: the samples by name only; they go from the data worker to the compress worker
 * over a port that `connect` opens (the page's thread never clones them).
 */
export type DataForCompress = (use: 'calibration' | 'evaluation') => CompressDataRequest | { problem: string };

let dataFor: DataForCompress | undefined;
let connectData: (() => Promise<PortLike>) | undefined;

/** Set once by the data store (src/state/data-store.ts): this store does not import it (no import cycle through the session store). */
export function provideCompressData(f: DataForCompress, connect: () => Promise<PortLike>): void {
  dataFor = f;
  connectData = connect;
}

export type VerifyState =
  | { kind: 'idle' }
  | { kind: 'running'; backends: VerifyBackend[] }
  | { kind: 'done'; report: VerifyReport; resultId: number }
  | { kind: 'failed'; message: string };

export interface CompressState {
  job: CompressJob | undefined;
  result: CompressOutcome | undefined;
  /** one line naming the problem with the last compression */
  error: string | undefined;
  /** set when the user cancelled */
  notice: string | undefined;
  /** set when the compression is likely to need more memory than the tab has (it goes on); cleared by the next one */
  memoryWarning: string | undefined;
  verify: VerifyState;
  /** whether the compression panel is shown */
  panelOpen: boolean;

  /** Compresses the open model with `recipe`; cancels a compression in flight first. */
  compress(recipe: Recipe): Promise<void>;
  cancel(): void;
  /** Runs the original and the result on the backends and compares the outputs. */
  verifyResult(backends?: VerifyBackend[]): Promise<void>;
  setPanelOpen(open: boolean): void;
  dismissMessage(): void;
  /** Puts back a saved result for the open model (a restored session). */
  restoreResult(saved: SavedResult): void;
}

/** A result as the session store keeps it (without the in-memory model it belongs to). */
export type SavedResult = Omit<CompressOutcome, 'id' | 'model'>;

let client: CompressClient | undefined;
function getClient(): CompressClient {
  client ??= new CompressClient();
  return client;
}

let nextId = 1;
let inFlight: AbortController | undefined;

/** Settles when the compression in flight has finished (successfully or not). */
let settled: Promise<void> = Promise.resolve();
let verifyInFlight: AbortController | undefined;

const now = () => globalThis.performance?.now() ?? Date.now();

/** Runs the original and the result on the runtimes with the Data place's evaluation samples (or random inputs). */
async function verifyResult(set: (p: Partial<CompressState>) => void, get: () => CompressState, backends: VerifyBackend[]): Promise<void> {
  const result = get().result;
  const handle = result && modelHandle(result.model);
  if (!result || !handle) return;
  verifyInFlight?.abort();
  const controller = new AbortController();
  verifyInFlight = controller;
  const data = dataFor?.('evaluation');
  if (data && 'problem' in data) {
    set({ verify: { kind: 'failed', message: data.problem } });
    return;
  }
  set({ verify: { kind: 'running', backends } });
  try {
    const report = await getClient().verify(handle, result.model.summary.inputs, result.blob, backends, controller.signal, result.data, data, connectData);
    if (verifyInFlight !== controller || get().result?.id !== result.id) return;
    set({ verify: { kind: 'done', report, resultId: result.id } });
  } catch (e) {
    if (verifyInFlight !== controller) return;
    set({ verify: { kind: 'failed', message: errorMessage(e) } });
  } finally {
    if (verifyInFlight === controller) verifyInFlight = undefined;
  }
}

export const useCompressStore = create<CompressState>()((set, get) => ({
  job: undefined,
  result: undefined,
  error: undefined,
  notice: undefined,
  memoryWarning: undefined,
  verify: { kind: 'idle' },
  panelOpen: false,

  async compress(recipe) {
    const model = useModelStore.getState().model;
    const handle = modelHandle(model);
    if (!model || !handle) {
      set({ error: 'Open a model first.', panelOpen: true });
      return;
    }
    inFlight?.abort(new AppError('aborted', 'Cancelled.'));
    verifyInFlight?.abort();
    verifyInFlight = undefined;
    const controller = new AbortController();
    inFlight = controller;
    let done!: () => void;
    const previous = settled;
    settled = new Promise((resolve) => (done = resolve));
    await previous;
    // replaced by a newer request, or the model changed meanwhile
    if (inFlight !== controller || useModelStore.getState().model !== model) {
      if (inFlight === controller) inFlight = undefined;
      return done();
    }
    const id = nextId++;
    const startedAt = now();
    const memory = checkMemory('compress', compressEstimate(model));
    set({
      panelOpen: true,
      error: undefined,
      notice: undefined,
      memoryWarning: memory.likelyOut ? memory.message : undefined,
      result: undefined,
      verify: { kind: 'idle' },
      job: { id, model, recipe, stage: 'read', done: 0, total: 0, layerKey: '', finished: [], startedAt },
    });
    const given = dataFor?.('calibration');
    const feed = given && !('problem' in given) ? given : undefined;
    try {
      const out = await getClient().compress(handle, recipe, {
        signal: controller.signal,
        ...(feed ? { data: feed } : {}),
        ...(connectData ? { connectData } : {}),
        onProgress: (p) => {
          const job = get().job;
          if (inFlight !== controller || !job || job.id !== id) return;
          const { inputs: _was, ...rest } = job;
          set({
            job: {
              ...rest,
              ...(p.inputs ? { inputs: p.inputs } : {}),
              stage: p.stage,
              done: p.done,
              total: p.total,
              layerKey: p.layerKey || job.layerKey,
              finished: p.finished.length > 0 ? [...job.finished, ...p.finished] : job.finished,
              ...(p.rounds !== undefined ? { rounds: p.rounds } : {}),
              ...(p.fraction !== undefined ? { fraction: p.fraction } : {}),
            },
          });
        },
      });
      // every progress report has been applied by now: the worker kit delivers a call's progress
      // before its result, on the same port
      if (inFlight !== controller) return;
      const blob = new Blob([out.bytes], { type: 'application/octet-stream' });
      const data = out.data && { name: out.data.name, blob: out.data.blob };
      set({
        job: undefined,
        result: {
          id,
          model,
          recipe,
          fileName: out.fileName,
          originalBytes: out.originalBytes,
          compressedBytes: blob.size + (data?.blob.size ?? 0),
          blob,
          ...(data ? { data } : {}),
          report: out.report,
          timings: out.timings,
          totalMs: now() - startedAt,
        },
      });
    } catch (e) {
      if (inFlight !== controller && isAppError(e) && e.code === 'aborted') return;
      if (isAppError(e) && e.code === 'aborted') set({ job: undefined, notice: 'Compression was cancelled.' });
      else set({ job: undefined, error: errorMessage(e) });
    } finally {
      if (inFlight === controller) inFlight = undefined;
      done();
    }
  },

  cancel() {
    inFlight?.abort(new AppError('aborted', 'Cancelled.'));
  },

  verifyResult: (backends = ['wasm', 'webgpu']) => verifyResult(set, get, backends),

  setPanelOpen(open) {
    set({ panelOpen: open });
  },

  dismissMessage() {
    set({ error: undefined, notice: undefined, memoryWarning: undefined });
  },

  restoreResult(saved) {
    const model = useModelStore.getState().model;
    if (!model || get().job) return;
    set({ result: { ...saved, id: nextId++, model }, error: undefined, notice: undefined, verify: { kind: 'idle' } });
  },
}));

/**
 * Peak memory of compressing `model`: its files, the compress worker's copy of those held whole
 * (the data files held in chunks it reads from their Blobs), and the recipe's projected weights
 * (the weights themselves until projected).
 */
function compressEstimate(model: OpenedModel) {
  const recipe = useRecipeStore.getState();
  const projected = recipe.model === model ? recipe.projection?.after : undefined;
  const fileBytes = model.files.reduce((n, f) => n + f.bytes, 0);
  const recovery = recoveryEstimate(model, recipe.recipe, fileBytes);
  const blobBytes = model.files.reduce((n, f) => n + (f.fromBlob ? f.bytes : 0), 0);
  return estimateCompressMemory({
    fileBytes,
    ...(blobBytes > 0 ? { blobBytes } : {}),
    outputBytes: projected ?? model.summary.weightBytes,
    ...(recovery ? { recovery } : {}),
  });
}

/**
 * The memory line shown before Compress when the recipe asks for recovery (it can need GBs: every
 * recovered layer's H, the statistics runs, onnxruntime): the estimate against this browser's
 * limit, as the check at Compress words it; undefined without recovery.
 */
export function useRecoveryMemoryLine(): string | undefined {
  const model = useModelStore((s) => s.model);
  const recipe = useRecipeStore((s) => s.recipe);
  const projection = useRecipeStore((s) => s.projection);
  return useMemo(() => {
    if (!model) return undefined;
    const bytes = model.files.reduce((n, f) => n + f.bytes, 0);
    if (!recoveryEstimate(model, recipe, bytes)) return undefined;
    const v = checkMemory('compress', compressEstimate(model));
    // the check's message names the parts only when it warns; here they are always said
    return v.message.includes(v.estimate.basis) ? v.message : `${v.message.replace(/\.$/, '')}: ${v.estimate.basis}.`;
    // `projection` in the deps: compressEstimate reads the projected result from the recipe store
  }, [model, recipe, projection]);
}

/** Recovery's memory for the recipe: the main graph's Conv/ConvTranspose/Gemm/MatMul layers that ask for it, by their weights' reduction length, in graph order. */
function recoveryEstimate(model: OpenedModel, recipe: Recipe, modelBytes: number): RecoveryMemory | undefined {
  let resolved: ReturnType<typeof resolveRecipe>;
  try {
    resolved = resolveRecipe(recipe, model.summary.layers.map((l) => ({ key: l.key, op: l.op })));
  } catch {
    return undefined;
  }
  const layers: { cols: number; groups: number; rows: number; sequential: boolean }[] = [];
  for (const [i, l] of model.summary.layers.entries()) {
    if (l.graph !== 'main' || !['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(l.op) || !asksRecovery(resolved[i].settings)) continue;
    const w = l.weights.find((x) => x.role === 'weight');
    if (!w || w.shape.length < 2) continue;
    const kernel = w.shape.slice(2).reduce((p, d) => p * d, 1);
    // Conv [O, C/g, k…]: C/g·k… per group; ConvTranspose [C, O/g, k…]: C·k… (C/g·k… a group: the most it can be);
    // MatMul [K, N]: K; Gemm (transB, the usual export) [N, K]: K
    const cols = l.op === 'ConvTranspose' ? w.shape[0] * kernel : w.shape.length > 2 ? w.shape[1] * kernel : l.op === 'MatMul' ? w.shape[0] : w.shape[1];
    // output channels: Conv [O, …], ConvTranspose [C, O/g, …]: O/g a group, MatMul [K, N]: N, Gemm [N, K]: N
    const rows = l.op === 'ConvTranspose' ? w.shape[1] : w.shape.length > 2 ? w.shape[0] : l.op === 'MatMul' ? w.shape[1] : w.shape[0];
    layers.push({ cols, groups: 1, rows, sequential: resolved[i].settings.recovery === 'sequential' });
  }
  // the Conv weights a statistics session still holds (recovery/hessian.ts feeds only MatMul, Gemm and Gather weights)
  const convBytes = model.summary.layers.reduce(
    (n, l) => n + (l.op === 'Conv' || l.op === 'ConvTranspose' ? l.weights.reduce((b, w) => b + (w.role === 'weight' && w.dtype === 'float32' ? w.shape.reduce((p, d) => p * d, 4) : 0), 0) : 0),
    0,
  );
  return layers.length > 0 ? recoveryMemory(layers, modelBytes, 4, convBytes) : undefined;
}

/** The compressed file of the last result for the open model, if any (for benchmark and export). */
export function compressedFile(): { blob: Blob; report: CompressReport; recipe: Recipe } | undefined {
  const r = useCompressStore.getState().result;
  return r && { blob: r.blob, report: r.report, recipe: r.recipe };
}

// A result belongs to its model: another model (or none) cancels the job and clears the result.
useModelStore.subscribe((state, prev) => {
  if (state.model === prev.model) return;
  const s = useCompressStore.getState();
  if (s.job && s.job.model !== state.model) s.cancel();
  verifyInFlight?.abort();
  verifyInFlight = undefined;
  if (s.result || s.error || s.notice || s.memoryWarning || s.verify.kind !== 'idle') {
    useCompressStore.setState({ result: undefined, error: undefined, notice: undefined, memoryWarning: undefined, verify: { kind: 'idle' } });
  }
});
