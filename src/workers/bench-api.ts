/**
 * The contract between the page and the bench workers. One worker prepares the inputs (reads the
 * user's data, decodes images; the model's inputs come from the open model's summary and its
 * runnable bytes from the model worker: nothing decodes the model here); then every (backend, model) pair runs in
 * a fresh worker of its own: onnxruntime-web reads its thread count once per wasm instance, and
 * a fresh worker gives a clean peak-memory figure and a cancel that always works (terminate).
 */
import type { ModelAccuracy, ModelRun, OutputValues } from '../bench/evaluate';
import type { DataSamples, DataSamplesRef } from './data-port';
import type { ImagePrep } from '../bench/image';
import type { LatencyStats, RepeatOptions, RepeatStop } from '../bench/latency';
import type { OutputFidelity } from '../bench/metrics';
import type { PairedResult } from '../bench/paired';
import type { IoSummary } from '../onnx/summary';
import type { Method, PortLike, WorkerResult } from './kit/protocol';

export type { DataSamples, DataSamplesRef, PortLike, ImagePrep, LatencyStats, ModelAccuracy, ModelRun, OutputFidelity, OutputValues, PairedResult, RepeatOptions, RepeatStop, WorkerResult };

/** wasm with 1 thread, wasm with the machine's threads, WebGL, WebGPU (JSEP). */
export type BackendId = 'wasm-1' | 'wasm-n' | 'webgl' | 'webgpu';

export const BACKENDS: readonly BackendId[] = ['wasm-1', 'wasm-n', 'webgl', 'webgpu'];

export interface BackendAvailability {
  backend: BackendId;
  available: boolean;
  /** what was found, or why it is unavailable */
  detail: string;
  /** wasm threads (wasm backends) */
  threads?: number;
}

/**
 * What a bench worker builds its inputs from (`planInputs`, in every worker that needs them: the
 * same plan in each, synthesized sets being seeded): the Data place's evaluation part, or random
 * inputs. The samples never come from the page: `samples` names them and carries a port on which
 * the worker asks the data worker, which holds them (src/workers/data-port.ts), so the page's main
 * thread does not clone them (nor a plan made of them) for each job.
 */
export interface PlanRequest<S = DataSamples> {
  /** the open model's inputs (its summary) */
  inputs: IoSummary[];
  /** the Data place's evaluation part, by name (absent: random inputs) */
  samples?: S;
  /** sizes for symbolic dims */
  dimValues: Record<string, number>;
  repeat: Partial<RepeatOptions>;
  /** samples per labeled run */
  labeledBatch?: number;
}

export interface PrepareRequest extends PlanRequest {
  /** the compressed model */
  compressed: Blob;
}

export interface PreparedBench {
  /** the plan's line (what is fed) */
  description: string;
  /** samples in the labeled set, if any */
  labeledCount?: number;
  /** the compressed file's bytes, transferred */
  compressed: ArrayBuffer;
  compressedFileBytes: number;
  /** class names of the labeled set, if any */
  classNames: string[];
}

export type ModelRole = 'original' | 'compressed';

export interface BenchJob {
  backend: BackendId;
  model: ModelRole;
  bytes: ArrayBuffer;
  plan: PlanRequest;
  /** the original's outputs on the same backend (for the compressed model's fidelity) */
  reference?: OutputValues[][];
}

/** Both models on one backend, in one worker, timed in alternating runs (the fair speed-up). */
export interface PairedJob {
  backend: BackendId;
  original: ArrayBuffer;
  compressed: ArrayBuffer;
  plan: PlanRequest;
}

export type JobPhase = 'load' | 'first-run' | 'warm-up' | 'latency' | 'fidelity' | 'accuracy';

export interface JobProgress {
  phase: JobPhase;
  done: number;
  total: number;
}

export interface JobResult {
  backend: BackendId;
  model: ModelRole;
  ok: boolean;
  /** why the session failed to load or run, in one sentence (which node or input, and what to do) */
  error?: string;
  /** onnxruntime's own text of that failure */
  errorRaw?: string;
  sessionMs?: number;
  firstRunMs?: number;
  /** the untimed warm-up runs after the first run (each run's ms) */
  warmUpMs?: number[];
  latency?: LatencyStats;
  stop?: RepeatStop;
  accuracy?: Omit<ModelAccuracy, 'predictions'>;
  /** the outputs on the fidelity sets (the original's, to compare the compressed model with) */
  outputs?: OutputValues[][];
  /** compressed vs original on this backend */
  fidelity?: OutputFidelity[];
  /** peak bytes of onnxruntime's wasm memory (it never shrinks); undefined where not measurable */
  wasmPeakBytes?: number;
  /** why memory is not given */
  memoryNote?: string;
  /** nodes onnxruntime placed on the CPU instead of WebGPU ("OpType (name)"), from its verbose log */
  cpuFallbackNodes?: string[];
  /** whether the log gave node placements at all */
  placementLogged?: boolean;
  /** onnxruntime's node-placement log lines (verbose log, WebGPU) */
  placementLog?: string[];
  /** compressed results: both models timed side by side in one worker (see PairedResult) */
  paired?: PairedResult;
}

export interface BenchWorkerApi {
  /** Which backends this browser has (no model loaded). */
  probe: Method<[], BackendAvailability[]>;
  prepare: Method<[request: PrepareRequest], PreparedBench>;
  run: Method<[job: BenchJob], JobResult, JobProgress>;
  paired: Method<[job: PairedJob], PairedResult>;
}
