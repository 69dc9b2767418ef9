/**
 * The page's side of the benchmark: one worker prepares the inputs, then every (backend, model)
 * pair runs in a fresh worker, original first so the compressed model's fidelity is measured
 * against the original's outputs on the same backend. The original's runnable bytes come from the
 * model worker (the open model is not decoded again). Cancel terminates the worker in flight
 * (onnxruntime calls cannot be interrupted). Results arrive one job at a time.
 */
import { AppError } from '../core/errors';
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
} from './bench-api';
import { WorkerClient, cancelled, type CallOptions } from './kit/client';
import type { ArgsOf, ProgressOf, ResultOf } from './kit/protocol';
import type { ModelHandle } from './model-client';

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

const PHASE_SPAN: Record<JobPhase, [number, number]> = {
  load: [0, 0.15],
  'first-run': [0.15, 0.2],
  latency: [0.2, 0.7],
  fidelity: [0.7, 0.8],
  accuracy: [0.8, 1],
};

const BACKEND_LABEL: Record<BackendId, string> = { 'wasm-1': 'wasm (1 thread)', 'wasm-n': 'wasm (threads)', webgl: 'WebGL', webgpu: 'WebGPU' };

/** Runs one call in a fresh bench worker, terminated afterwards or when `signal` fires. */
async function inWorker<K extends keyof BenchWorkerApi & string>(
  method: K,
  args: ArgsOf<BenchWorkerApi[K]>,
  options: CallOptions<ProgressOf<BenchWorkerApi[K]>> = {},
): Promise<ResultOf<BenchWorkerApi[K]>> {
  if (options.signal?.aborted) throw cancelled();
  const client = new WorkerClient<BenchWorkerApi>({
    name: 'bench',
    spawn: () => new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module', name: 'bench' }),
    crashHint: 'The model and the compressed result are kept: run the benchmark again with fewer backends or runs; if it stops again, close other tabs to free memory.',
  });
  try {
    return await client.call(method, args, { ...options, cancel: 'terminate' });
  } finally {
    client.dispose();
  }
}

/** What the page gives a benchmark: the open model (handle) and what to measure with. */
export interface BenchRequest extends PrepareRequest {
  /** the open model's files' bytes as the user has them (model + external data) */
  originalFileBytes: number;
}

export class BenchClient {
  /** Which backends this browser has. */
  probe(signal?: AbortSignal): Promise<BackendAvailability[]> {
    return inWorker('probe', [], { signal });
  }

  /**
   * Benchmarks the original and the compressed model on `backends`. Resolves with every job's
   * result (outputs stripped); rejects with an AppError ('aborted' on cancel).
   */
  async run(handle: ModelHandle, benchRequest: BenchRequest, backends: readonly BackendId[], options: BenchRunOptions = {}): Promise<JobResult[]> {
    const { signal, onProgress, onResult, onSetup } = options;
    if (backends.length === 0) throw new AppError('invalid-argument', 'Choose at least one backend.');
    const jobs = backends.length * 2;
    onProgress?.({ fraction: 0, label: 'Preparing inputs…', phase: 'prepare' });
    const { originalFileBytes, ...request } = benchRequest;
    const [original, prepared]: [ArrayBuffer, PreparedBench] = await Promise.all([handle.runnable(), inWorker('prepare', [request], { signal })]);
    if (signal?.aborted) throw cancelled();
    onSetup?.({
      inputs: prepared.plan.description,
      originalFileBytes,
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
        const bytes = (model === 'original' ? original : prepared.compressed).slice(0);
        const job = { backend, model, bytes, plan: prepared.plan, ...(model === 'compressed' && reference ? { reference } : {}) };
        const result = await inWorker('run', [job], { signal, onProgress: report, transfer: [bytes] });
        if (model === 'original') {
          reference = result.outputs;
          originalOk = result.ok;
        }
        if (model === 'compressed' && result.ok && originalOk) {
          // the fair speed-up: both models side by side in one worker, alternating runs
          onProgress?.({ fraction: (index + 0.95) / jobs, label: `Both models on ${BACKEND_LABEL[backend]}: alternating runs`, backend, model, phase: 'latency' });
          const pairedJob = { backend, original: original.slice(0), compressed: prepared.compressed.slice(0), plan: prepared.plan };
          try {
            result.paired = await inWorker('paired', [pairedJob], { signal, transfer: [pairedJob.original, pairedJob.compressed] });
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
