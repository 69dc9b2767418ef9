/**
 * The contract between the page and the model worker. Only plain, structured-cloneable data
 * crosses it; file bytes go in as transferred ArrayBuffers and small results come back.
 */
import type { ErrorCode } from '../core/errors';
import type { ModelSummary } from '../onnx/summary';

export type { ModelSummary };

/** One file handed to the worker; `buffer` is transferred, not copied. */
export interface ModelFileInput {
  name: string;
  buffer: ArrayBuffer;
}

export interface OpenedModel {
  /** The .onnx file among the inputs (the others are external data files). */
  fileName: string;
  fileBytes: number;
  /** Every file that was opened together, model first. */
  files: { name: string; bytes: number }[];
  summary: ModelSummary;
  /** Wall time of load + summary inside the worker. */
  parseMs: number;
}

export type ProgressCallback = (fraction: number, stage: string) => void;

/** Errors do not survive postMessage with their type, so the worker answers with a union. */
export type WorkerResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode | 'unexpected'; message: string };

export interface BackendStatus {
  available: boolean;
  /** One line: what was found, or why it is unavailable. */
  detail: string;
}

export interface RuntimeReport {
  crossOriginIsolated: boolean;
  wasm: BackendStatus & { threads: number; runMs?: number };
  webgpu: BackendStatus;
}

export interface ModelWorkerApi {
  /**
   * Parses the files (a model plus any external data files) and keeps the model in the worker.
   * `cancelFlag` is a 4-byte SharedArrayBuffer; the page sets it to 1 to cancel.
   */
  open(
    files: ModelFileInput[],
    onProgress?: ProgressCallback,
    cancelFlag?: SharedArrayBuffer,
  ): Promise<WorkerResult<OpenedModel>>;
  /** Loads onnxruntime-web (from our own origin) and runs a tiny model on the wasm backend. */
  probeRuntimes(): Promise<RuntimeReport>;
}
