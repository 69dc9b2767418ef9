/**
 * The contract between the page and the compress worker. The page hands over the model's File
 * objects (handles: the worker reads their bytes itself, nothing is copied on the main thread)
 * and a recipe; the worker answers with the compressed file's bytes (transferred) and the report.
 */
import type { CompressReport } from '../compress/compress';
import type { Recipe } from '../compress/recipe';
import type { WorkerResult } from './model-api';

export type { CompressReport, Recipe, WorkerResult };

export type CompressStage = 'read' | 'parse' | 'calibrate' | 'compress' | 'encode';

export interface CompressProgress {
  stage: CompressStage;
  /** layers finished (stage 'compress'); 0 otherwise */
  done: number;
  /** layers to compress (known from stage 'compress' on); 0 before */
  total: number;
  /** the layer just finished ('' before the first) */
  layerKey: string;
  /** every layer finished since the previous report, in order (reports are throttled) */
  finished: string[];
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
  /** the external data file, when the result is too large for one protobuf file (2 GB); transferred */
  data?: { name: string; bytes: ArrayBuffer };
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
}

export interface VerifyReport {
  /** how the inputs were made, e.g. "2 random input sets; input [1, 1, 8, 8]" */
  inputs: string;
  backends: BackendCheck[];
}

export interface CompressWorkerApi {
  /**
   * Reads the files (a model and its external data files), applies the recipe, and returns the
   * compressed file. `cancelFlag` is a 4-byte SharedArrayBuffer the page sets to 1 to cancel.
   */
  compress(
    files: File[],
    recipe: Recipe,
    onProgress?: CompressProgressCallback,
    cancelFlag?: SharedArrayBuffer,
  ): Promise<WorkerResult<CompressOutput>>;
  /**
   * Runs the original and the compressed model on each backend with the same synthesized inputs
   * and compares the outputs.
   */
  verify(
    files: File[],
    compressed: Blob,
    backends: VerifyBackend[],
    compressedData?: { name: string; blob: Blob },
  ): Promise<WorkerResult<VerifyReport>>;
}
