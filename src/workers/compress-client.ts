/**
 * The page's side of the compress worker. Starts it on first use, hands it the model's File
 * objects (handles, not bytes), relays per-layer progress, and cancels: first cooperatively
 * through a shared flag the worker polls before every layer, and if the worker does not answer
 * soon, by terminating it and starting a fresh one. Calls run one at a time, in order.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { AppError } from '../core/errors';
import type {
  CompressOutput,
  CompressProgressCallback,
  CompressWorkerApi,
  Recipe,
  VerifyBackend,
  VerifyReport,
  WorkerResult,
} from './compress-api';

export interface CompressCallOptions {
  signal?: AbortSignal;
  onProgress?: CompressProgressCallback;
}

/** How long a cancelled compression may take to notice the flag before the worker is replaced. */
const CANCEL_GRACE_MS = 400;

const cancelled = () => new AppError('aborted', 'Cancelled.');

export class CompressClient {
  private worker: Worker | undefined;
  private remote: Remote<CompressWorkerApi> | undefined;
  /** Fails the calls in flight when the worker dies or is replaced. */
  private failPending = new Set<(e: AppError) => void>();
  /** Bumped whenever the worker is replaced. */
  generation = 0;
  /** The previous call's settlement: calls are serialized so a cancelled one never overlaps the next. */
  private queue: Promise<unknown> = Promise.resolve();

  private ensure(): Remote<CompressWorkerApi> {
    if (this.remote) return this.remote;
    const worker = new Worker(new URL('./compress.worker.ts', import.meta.url), { type: 'module', name: 'compress' });
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      const detail = event.message ? `: ${event.message}` : '';
      if (this.worker === worker) this.restart(new AppError('io', `The compress worker stopped${detail}.`));
    });
    this.worker = worker;
    this.remote = wrap<CompressWorkerApi>(worker);
    return this.remote;
  }

  /** Terminates the worker and fails whatever was in flight; the next call starts a fresh one. */
  private restart(reason: AppError): void {
    this.remote?.[releaseProxy]();
    this.worker?.terminate();
    this.remote = undefined;
    this.worker = undefined;
    this.generation++;
    const fails = [...this.failPending];
    this.failPending.clear();
    for (const fail of fails) fail(reason);
  }

  /** Runs a worker call after the previous one settled; fails fast if the worker is replaced meanwhile. */
  private serial<T>(call: (remote: Remote<CompressWorkerApi>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const run = this.queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          if (signal?.aborted) return reject(cancelled());
          const fail = (e: AppError) => reject(e);
          this.failPending.add(fail);
          call(this.ensure()).then(
            (v) => {
              this.failPending.delete(fail);
              resolve(v);
            },
            (e: unknown) => {
              this.failPending.delete(fail);
              reject(e instanceof Error ? e : new Error(String(e)));
            },
          );
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Compresses the model given by `files` (the model and its external data files) with `recipe`.
   * Rejects with an AppError naming the problem; with code 'aborted' when `signal` fires.
   */
  compress(files: readonly File[], recipe: Recipe, options: CompressCallOptions = {}): Promise<CompressOutput> {
    const { signal, onProgress } = options;
    if (files.length === 0) return Promise.reject(new AppError('invalid-argument', 'No model is open.'));
    return this.serial(async (remote) => {
      const shared = globalThis.crossOriginIsolated ? new SharedArrayBuffer(4) : undefined;
      const progress = onProgress ? proxy(onProgress) : undefined;
      const generation = this.generation;
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        if (shared) Atomics.store(new Int32Array(shared), 0, 1);
        graceTimer = setTimeout(
          () => {
            if (this.generation === generation) this.restart(cancelled());
          },
          shared ? CANCEL_GRACE_MS : 0,
        );
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const result: WorkerResult<CompressOutput> = await remote.compress([...files], recipe, progress, shared);
        if (!result.ok) {
          const code = result.code === 'unexpected' ? 'malformed' : result.code;
          throw new AppError(code, result.message);
        }
        if (signal?.aborted) throw cancelled();
        return result.value;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (graceTimer !== undefined) clearTimeout(graceTimer);
      }
    }, signal);
  }

  /** Runs the original and the compressed file on each backend with the same inputs and compares. */
  verify(
    files: readonly File[],
    compressed: Blob,
    backends: VerifyBackend[],
    signal?: AbortSignal,
    compressedData?: { name: string; blob: Blob },
  ): Promise<VerifyReport> {
    return this.serial(async (remote) => {
      const generation = this.generation;
      const onAbort = () => {
        // onnxruntime calls cannot be interrupted: replace the worker
        if (this.generation === generation) this.restart(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await remote.verify([...files], compressed, backends, compressedData);
        if (!result.ok) throw new AppError(result.code === 'unexpected' ? 'malformed' : result.code, result.message);
        return result.value;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    }, signal);
  }

  dispose(): void {
    this.restart(new AppError('aborted', 'The compress worker was closed.'));
  }
}
