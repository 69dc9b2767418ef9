/**
 * The contract between the page and the compress worker. The worker holds one model, handed to
 * it once per open as the model worker's snapshot (the parsed model, its buffers transferred: the
 * file is not decoded again), and compresses it with a recipe; it answers with the compressed
 * file's bytes (transferred) and the report.
 */
import type { CompressReport } from '../compress/compress';
import type { Recipe } from '../compress/recipe';
import type { DataPart } from '../bench/data-load';
import type { DataSamples, DataSamplesRef } from './data-port';
import type { ModelSnapshot } from '../onnx/snapshot';
import type { SnapshotHandover } from './read-files';
import type { IoSummary } from '../onnx/summary';
import type { Method, PortLike, WorkerResult } from './kit/protocol';

export type { CompressReport, DataPart, DataSamples, DataSamplesRef, ModelSnapshot, PortLike, Recipe, WorkerResult };

export type CompressStage = 'read' | 'parse' | 'calibrate' | 'recover' | 'compress' | 'encode' | 'check';

export interface CompressProgress {
  stage: CompressStage;
  /** layers finished (stage 'compress'), calibration samples run (stage 'recover'), samples checked (stage 'check'); 0 otherwise */
  done: number;
  /** layers to compress (stage 'compress'), calibration samples (stage 'recover'), samples the check runs (stage 'check'); 0 otherwise */
  total: number;
  /** the layer just finished ('' before the first) */
  layerKey: string;
  /** every layer finished since the previous report, in order (reports are throttled) */
  finished: string[];
  /** stage 'recover' with recovery "sequential": the rounds (done and total then count samples over all of them) */
  rounds?: number;
  /**
   * stage 'compress' with recovery: a pass of layer-input statistics running over the calibration
   * samples (before the layers it serves; `pass` 0-based of `passes`), `done` of `total` samples
   */
  inputs?: { pass: number; passes: number; done: number; total: number };
  /** with recovery: the whole job's fraction done (compress-fraction.ts), which the stage's own does not say */
  fraction?: number;
}

export type CompressProgressCallback = (p: CompressProgress) => void;

export interface CompressTimings {
  readMs: number;
  parseMs: number;
  compressMs: number;
  encodeMs: number;
  /** what quantized block-wise weights: the WebAssembly SIMD kernels or the scalar loops (no SIMD in this engine) */
  quantizer: 'wasm-simd' | 'scalar';
}

export interface CompressOutput {
  /** the model file among the inputs */
  fileName: string;
  /** bytes of every input file together (the model and its external data files) */
  originalBytes: number;
  /** the compressed .onnx file (all weights inline unless `data` is given); transferred, not copied */
  bytes: ArrayBuffer;
  /** the external data file, when the result is too large for one protobuf file (2 GB): a Blob made of its pieces in the worker */
  data?: { name: string; blob: Blob };
  report: CompressReport;
  timings: CompressTimings;
}

export type VerifyBackend = 'wasm' | 'webgpu';

export interface SessionRun {
  ok: boolean;
  /** why the session failed to load or run */
  error?: string;
  /** session creation time */
  loadMs?: number;
  /** mean run time over the input sets, after one untimed warm-up run */
  runMs?: number;
  /**
   * The warm-up run alone took the whole time budget (a slow backend): its outputs are the first
   * set's and `runMs` is that first run's time, set-up of the kernels included
   */
  firstRunOnly?: boolean;
}

export interface BackendCheck {
  backend: VerifyBackend;
  available: boolean;
  /** what was found, or why the backend is unavailable */
  detail: string;
  original: SessionRun;
  compressed: SessionRun;
  /**
   * Worst cosine similarity (over outputs and input sets) of the compressed model on this backend
   * against the original on wasm (the reference); absent when every output is ~0 in both
   * (src/bench/metrics.ts: no cosine for near-zero outputs, maxAbsDiff stands for fidelity).
   */
  cosineVsReference?: number;
  /** the same against the original on this backend */
  cosineVsOriginal?: number;
  /** largest absolute difference against the reference */
  maxAbsDiff?: number;
  /**
   * Input sets run on this backend when fewer than the reference ran (a slow backend stops at its
   * time budget of `seconds`, e.g. WebGPU on a software adapter): the cosines are over the first
   * `ran` of `of`
   */
  sets?: { ran: number; of: number; seconds: number };
}

export interface VerifyReport {
  /** how the inputs were made, e.g. "2 random input sets; input [1, 1, 8, 8]" */
  inputs: string;
  /** random inputs (no data given) */
  random?: boolean;
  backends: BackendCheck[];
}

/**
 * The model to compress: `key` names it; `snapshot` comes along when the page does not know the
 * worker to hold that model already (first use, another model, a restarted worker).
 */
export interface CompressModel {
  key: number;
  snapshot?: SnapshotHandover;
}

/**
 * The inputs compression and the runtime check use, from the Data place: the calibration part
 * (int8 activations, recovery; with the first evaluation samples for recovery's model-level check)
 * or the evaluation part (the runtime check), else random inputs at `dims`. The samples never come
 * from the page: `samples` names them and carries a port on which the worker asks the data worker,
 * which holds them (src/workers/data-port.ts), so the page's main thread does not clone them.
 */
export interface CompressData {
  samples?: DataSamples;
  /** sizes of symbolic dims (random inputs) */
  dims: Record<string, number>;
  /** one line: what the data is */
  line: string;
  random: boolean;
  /** random inputs: which sizes were guessed from dims' names */
  guessed?: string;
}

/** The data as the page's store names it: the client connects the port (compress-client.ts). */
export type CompressDataRequest = Omit<CompressData, 'samples'> & { samples?: DataSamplesRef };

/** How the result is written. */
export interface CompressOutputOptions {
  /**
   * weights beyond this many stored bytes go to an external data file beside the model (unset:
   * only past protobuf's 2 GB); `__studioDebug.singleFileLimit` in tests
   */
  singleFileLimit?: number;
  /**
   * the result's data file is made of Blob parts of about this many bytes (a larger tensor is a
   * part of its own; unset: 256 MiB); `__studioDebug.chunkBytes` in tests
   */
  partBytes?: number;
}

export interface CompressWorkerApi {
  /**
   * Applies the recipe to the model and returns the compressed file. Fails with code 'stale' in
   * its message when the worker does not hold `model.key` and no snapshot was given.
   */
  compress: Method<[model: CompressModel, recipe: Recipe, data?: CompressData, output?: CompressOutputOptions], CompressOutput, CompressProgress>;
  /**
   * Runs the original (`original`: a self-contained file with these inputs) and the compressed
   * model on each backend with the same synthesized inputs and compares the outputs.
   */
  verify: Method<
    [original: ArrayBuffer, inputs: IoSummary[], compressed: Blob, backends: VerifyBackend[], compressedData?: { name: string; blob: Blob }, data?: CompressData, budgetMs?: number],
    VerifyReport
  >;
}
