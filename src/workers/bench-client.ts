/**
 * The page's side of the benchmark: one worker prepares the inputs, then every (backend, model)
 * pair runs in a fresh worker, original first so the compressed model's fidelity is measured
 * against the original's outputs on the same backend. Cancel terminates the worker in flight
 * (onnxruntime calls cannot be interrupted). Results arrive one job at a time.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { AppError, errorMessage } from '../core/errors';
import { imageTargetFromDims, IMAGENET_MEAN, IMAGENET_STD, type ImagePrep } from '../bench/image';
import { inputSpecs, resolveDims, symbolicDims, type InputSpec, type SymbolicDim } from '../bench/inputs';
import type { IoSummary } from '../onnx/summary';
import type {
  BackendAvailability,
  BackendId,
  BenchWorkerApi,
  JobPhase,
  JobProgress,
  JobResult,
  ModelRole,
  PreparedBench,
  PrepareRequest,
  WorkerResult,
} from './bench-api';

export interface BenchProgress {
  /** 0..1 over every job */
  fraction: number;
  /** one line: what runs now */
  label: string;
  backend?: BackendId;
  model?: ModelRole;
  phase?: JobPhase | 'prepare';
}

/** What the page keeps of a prepared benchmark (the model bytes stay in the client). */
export interface BenchSetup {
  /** what is fed, in one line */
  inputs: string;
  originalFileBytes: number;
  compressedFileBytes: number;
  labeledCount?: number;
  classNames: string[];
}

export interface BenchRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: BenchProgress) => void;
  onSetup?: (s: BenchSetup) => void;
  /** each job's result as soon as it is known (outputs stripped) */
  onResult?: (r: JobResult) => void;
}

const cancelled = () => new AppError('aborted', 'Cancelled.');

const PHASE_SPAN: Record<JobPhase, [number, number]> = {
  load: [0, 0.15],
  'first-run': [0.15, 0.2],
  latency: [0.2, 0.7],
  fidelity: [0.7, 0.8],
  accuracy: [0.8, 1],
};

const BACKEND_LABEL: Record<BackendId, string> = { 'wasm-1': 'wasm (1 thread)', 'wasm-n': 'wasm (threads)', webgl: 'WebGL', webgpu: 'WebGPU' };

function unwrap<T>(r: WorkerResult<T>): T {
  if (!r.ok) throw new AppError(r.code === 'unexpected' ? 'malformed' : r.code, r.message);
  return r.value;
}

/** Runs `call` in a fresh bench worker, terminated afterwards or when `signal` fires. */
async function inWorker<T>(call: (remote: Remote<BenchWorkerApi>) => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) throw cancelled();
  const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module', name: 'bench' });
  const remote = wrap<BenchWorkerApi>(worker);
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      onAbort = () => reject(cancelled());
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        reject(new AppError('io', `The bench worker stopped${event.message ? `: ${event.message}` : ''}.`));
      });
      call(remote).then(resolve, (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
    });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    remote[releaseProxy]();
    worker.terminate();
  }
}

export class BenchClient {
  /** Which backends this browser has. */
  probe(signal?: AbortSignal): Promise<BackendAvailability[]> {
    return inWorker((r) => r.probe(), signal);
  }

  /**
   * Benchmarks the original and the compressed model on `backends`. Resolves with every job's
   * result (outputs stripped); rejects with an AppError ('aborted' on cancel).
   */
  async run(request: PrepareRequest, backends: readonly BackendId[], options: BenchRunOptions = {}): Promise<JobResult[]> {
    const { signal, onProgress, onResult, onSetup } = options;
    if (backends.length === 0) throw new AppError('invalid-argument', 'Choose at least one backend.');
    const jobs = backends.length * 2;
    onProgress?.({ fraction: 0, label: 'Preparing inputs…', phase: 'prepare' });
    const prepared: PreparedBench = await inWorker(async (r) => unwrap(await r.prepare(request)), signal);
    onSetup?.({
      inputs: prepared.plan.description,
      originalFileBytes: prepared.originalFileBytes,
      compressedFileBytes: prepared.compressedFileBytes,
      labeledCount: prepared.plan.labeled?.set.labels.length,
      classNames: prepared.classNames,
    });
    const results: JobResult[] = [];
    let k = 0;
    for (const backend of backends) {
      let reference: JobResult['outputs'];
      let originalOk = false;
      for (const model of ['original', 'compressed'] as const) {
        const index = k++;
        const label = `${model === 'original' ? 'Original' : 'Compressed'} on ${BACKEND_LABEL[backend]}`;
        const report = (p: JobProgress) => {
          const [a, b] = PHASE_SPAN[p.phase];
          const within = a + (b - a) * (p.total > 0 ? Math.min(1, p.done / p.total) : 0);
          onProgress?.({
            fraction: (index + within) / jobs,
            label: `${label}: ${p.phase === 'load' ? 'creating the session' : p.phase === 'latency' ? `timing runs (${p.done})` : p.phase === 'accuracy' ? `labeled set ${p.done}/${p.total}` : p.phase}`,
            backend,
            model,
            phase: p.phase,
          });
        };
        report({ phase: 'load', done: 0, total: 1 });
        const bytes = (model === 'original' ? prepared.original : prepared.compressed).slice(0);
        const job = { backend, model, bytes, plan: prepared.plan, ...(model === 'compressed' && reference ? { reference } : {}) };
        const result = await inWorker(async (r) => unwrap(await r.run(job, proxy(report))), signal);
        if (model === 'original') {
          reference = result.outputs;
          originalOk = result.ok;
        }
        if (model === 'compressed' && result.ok && originalOk) {
          // the fair speed-up: both models side by side in one worker, alternating runs
          onProgress?.({ fraction: (index + 0.95) / jobs, label: `Both models on ${BACKEND_LABEL[backend]}: alternating runs`, backend, model, phase: 'latency' });
          const pairedJob = { backend, original: prepared.original.slice(0), compressed: prepared.compressed.slice(0), plan: prepared.plan };
          try {
            result.paired = await inWorker(async (r) => unwrap(await r.paired(pairedJob)), signal);
          } catch (e) {
            if (e instanceof AppError && e.code === 'aborted') throw e;
            // no side-by-side figure: the table keeps the separate medians' ratio
          }
        }
        const { outputs: _outputs, ...shown } = result;
        results.push(shown);
        onResult?.(shown);
      }
    }
    onProgress?.({ fraction: 1, label: 'Done' });
    return results;
  }
}

// ---------------------------------------------------------------------------------------------
// Describing a model's inputs for the page (cheap, pure: runs on the calling thread)


export type { InputSpec, SymbolicDim, ImagePrep };
export { IMAGENET_MEAN, IMAGENET_STD };

export interface InputsDescription {
  specs: InputSpec[];
  dims: SymbolicDim[];
  /** why the model's inputs cannot be synthesized, if so */
  problem?: string;
}

export function describeInputs(inputs: readonly IoSummary[]): InputsDescription {
  try {
    const specs = inputSpecs(inputs);
    return { specs, dims: symbolicDims(specs) };
  } catch (e) {
    return { specs: [], dims: [], problem: errorMessage(e) };
  }
}

/** Concrete dims of each input with these symbolic sizes (a message instead when a size is bad). */
export function concreteDims(specs: readonly InputSpec[], values: Record<string, number>): { name: string; dims?: number[]; problem?: string }[] {
  return specs.map((s) => {
    try {
      return { name: s.name, dims: resolveDims(s, values) };
    } catch (e) {
      return { name: s.name, problem: errorMessage(e) };
    }
  });
}

/** Image settings fitting the model's (only) input at these dims, or undefined when it is not an image input. */
export function defaultImagePrep(dims: readonly number[] | undefined): ImagePrep | undefined {
  const t = dims && imageTargetFromDims(dims);
  if (!t) return undefined;
  const rgb = t.channels === 3;
  return {
    ...t,
    fit: rgb ? 'center-crop' : 'stretch',
    range: '0-1',
    mean: rgb ? [...IMAGENET_MEAN] : [0],
    std: rgb ? [...IMAGENET_STD] : [1],
    invert: false,
  };
}
