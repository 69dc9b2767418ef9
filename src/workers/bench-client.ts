/**
 * The page's side of the benchmark: one worker prepares the inputs, then every (backend, model)
 * pair runs in a fresh worker, original first so the compressed model's fidelity is measured
 * against the original's outputs on the same backend. The original's runnable bytes come from the
 * model worker (the open model is not decoded again). Cancel terminates the worker in flight
 * (onnxruntime calls cannot be interrupted). Results arrive one job at a time. Where the request
 * names the Data place's samples, every worker gets a port of its own to the data worker
 * (`connectData`, DataClient.connect) and asks it for them: the page never clones them.
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
  PlanRequest,
  PortLike,
  PreparedBench,
  PrepareRequest,
  DataSamplesRef,
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
  /** a port to the worker that holds the samples (DataClient.connect), asked for once per worker where the request names samples */
  connectData?: () => Promise<PortLike>;
}

const PHASE_SPAN: Record<JobPhase, [number, number]> = {
  load: [0, 0.15],
  'first-run': [0.15, 0.17],
  'warm-up': [0.17, 0.22],
  latency: [0.22, 0.7],
  fidelity: [0.7, 0.8],
  accuracy: [0.8, 1],
};

/** What a job is doing, in words. */
function phaseLabel(p: JobProgress): string {
  switch (p.phase) {
    case 'load':
      return 'creating the session';
    case 'first-run':
      return 'first run';
    case 'warm-up':
      return `warming up, not timed (${p.done})`;
    case 'latency':
      return `timing runs (${p.done})`;
    case 'accuracy':
      return `labeled set ${p.done}/${p.total}`;
    default:
      return p.phase;
  }
}

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

/** What the page gives a benchmark: the open model (handle) and what to measure with (the samples by name). */
export interface BenchRequest extends Omit<PrepareRequest, 'samples'> {
  samples?: DataSamplesRef;
  /** the open model's files' bytes as the user has them (model + external data) */
  originalFileBytes: number;
}

/** The plan request with a fresh port to the data worker where it names samples (one port carries one request); the port is to be transferred. */
async function connected(request: PlanRequest<DataSamplesRef>, connect: (() => Promise<PortLike>) | undefined): Promise<{ plan: PlanRequest; transfer: PortLike[] }> {
  const { samples, ...rest } = request;
  if (!samples) return { plan: rest, transfer: [] };
  if (!connect) throw new AppError('invalid-argument', 'the samples are named but there is no data worker to connect to');
  const port = await connect();
  return { plan: { ...rest, samples: { ...samples, port } }, transfer: [port] };
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
    const { signal, onProgress, onResult, onSetup, connectData } = options;
    if (backends.length === 0) throw new AppError('invalid-argument', 'Choose at least one backend.');
    const jobs = backends.length * 2;
    onProgress?.({ fraction: 0, label: 'Preparing inputs…', phase: 'prepare' });
    const { originalFileBytes, compressed, ...planRequest } = benchRequest;
    // each worker plans the inputs itself from the samples it asks the data worker for
    const plan = () => connected(planRequest, connectData);
    const prepare = async () => {
      const { plan: p, transfer } = await plan();
      return inWorker('prepare', [{ ...p, compressed }], { signal, transfer });
    };
    const [original, prepared]: [ArrayBuffer, PreparedBench] = await Promise.all([handle.runnable(), prepare()]);
    if (signal?.aborted) throw cancelled();
    onSetup?.({
      inputs: prepared.description,
      originalFileBytes,
      compressedFileBytes: prepared.compressedFileBytes,
      labeledCount: prepared.labeledCount,
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
            label: `${label}: ${phaseLabel(p)}`,
            backend,
            model,
            phase: p.phase,
          });
        };
        report({ phase: 'load', done: 0, total: 1 });
        const bytes = (model === 'original' ? original : prepared.compressed).slice(0);
        const planned = await plan();
        const job = { backend, model, bytes, plan: planned.plan, ...(model === 'compressed' && reference ? { reference } : {}) };
        const result = await inWorker('run', [job], { signal, onProgress: report, transfer: [bytes, ...planned.transfer] });
        if (model === 'original') {
          reference = result.outputs;
          originalOk = result.ok;
        }
        if (model === 'compressed' && result.ok && originalOk) {
          // the fair speed-up: both models side by side in one worker, alternating runs
          onProgress?.({ fraction: (index + 0.95) / jobs, label: `Both models on ${BACKEND_LABEL[backend]}: alternating runs`, backend, model, phase: 'latency' });
          try {
            const pairedPlan = await plan();
            const pairedJob = { backend, original: original.slice(0), compressed: prepared.compressed.slice(0), plan: pairedPlan.plan };
            result.paired = await inWorker('paired', [pairedJob], { signal, transfer: [pairedJob.original, pairedJob.compressed, ...pairedPlan.transfer] });
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
