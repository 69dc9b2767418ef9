/**
 * The page side of the kit: one `WorkerClient` per worker, calling it through comlink. It starts
 * the worker on first use, starts a fresh one after a crash (failing the calls in flight with a
 * message that names what happened and what to try), runs calls one at a time when asked
 * (`serial`), relays progress in order and before the result (the worker answers only after the
 * page ran its last report: serve.ts), turns `{ ok: false }` answers back into AppErrors, and
 * cancels: through a shared flag the worker polls, then, when the worker has not answered within
 * a grace period, by terminating it (the next call starts a fresh one).
 */
import * as Comlink from 'comlink';
import { AppError } from '../../core/errors';
import type { Api, ArgsOf, KitRemote, ProgressOf, ResultOf, TransferList, WorkerResult } from './protocol';

/** What the client needs of a Worker (a real one, or one over worker_threads in tests). */
export interface WorkerLike {
  postMessage(message: unknown, transfer: TransferList): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: Event) => void): void;
  removeEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

export interface ClientOptions {
  /** used in messages: "The compress worker stopped …" */
  name: string;
  spawn: () => WorkerLike;
  /** calls wait for the previous one to settle (a cancelled call never overlaps the next) */
  serial?: boolean;
  /** how long a cancelled call may take to notice the flag before the worker is replaced (ms) */
  graceMs?: number;
  /** what to try after a crash, appended to the message */
  crashHint?: string;
  /** called when the worker is replaced (it has forgotten whatever it held) */
  onRestart?: (reason: AppError) => void;
}

export interface CallOptions<P> {
  signal?: AbortSignal;
  onProgress?: (p: P) => void;
  /** buffers among the arguments to transfer, not copy */
  transfer?: TransferList;
  /**
   * How a cancel reaches the worker: 'flag' (the worker polls a shared flag; terminated after the
   * grace period) or 'terminate' (work that cannot be interrupted, e.g. onnxruntime calls).
   */
  cancel?: 'flag' | 'terminate';
}

export const cancelled = (): AppError => new AppError('aborted', 'Cancelled.');

/** An answer as the page's error type. */
export function unwrap<T>(result: WorkerResult<T>): T {
  if (result.ok) return result.value;
  throw new AppError(result.code === 'unexpected' ? 'malformed' : result.code, result.message);
}

interface Pending {
  settle(result: WorkerResult<unknown>): void;
  fail(e: AppError): void;
}

/** Live clients by name, for the test hooks (debug.ts). */
export const liveClients = new Map<string, WorkerClient<Api>>();

const DEFAULT_HINT = 'Try again; if it stops again, reload the page.';

export class WorkerClient<A extends Api> {
  private worker: WorkerLike | undefined;
  private remote: Comlink.Remote<KitRemote> | undefined;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped whenever the worker is replaced (after a crash or a forced cancel). */
  generation = 0;
  /** test hook: the next call's worker crashes while it is in flight */
  private crashNext = false;

  constructor(private readonly options: ClientOptions) {
    liveClients.set(options.name, this as unknown as WorkerClient<Api>);
  }

  /** Whether a worker is running now. */
  get started(): boolean {
    return this.worker !== undefined;
  }

  private ensure(): Comlink.Remote<KitRemote> {
    if (this.worker && this.remote) return this.remote;
    const worker = this.options.spawn();
    const crashed = (detail: string) => {
      if (this.worker !== worker) return;
      const hint = this.options.crashHint ?? DEFAULT_HINT;
      this.restart(new AppError('io', `The ${this.options.name} worker stopped unexpectedly${detail}. ${hint}`));
    };
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      const message = (event as Event & { message?: string }).message;
      crashed(message ? ` (${message.replace(/^Uncaught /, '')})` : '');
    });
    worker.addEventListener('messageerror', () => crashed(' (a message could not be read)'));
    this.worker = worker;
    this.remote = Comlink.wrap<KitRemote>(worker as unknown as Comlink.Endpoint);
    return this.remote;
  }

  /** Terminates the worker and fails whatever was in flight; the next call starts a fresh one. */
  restart(reason: AppError): void {
    const worker = this.worker;
    this.worker = undefined;
    this.remote = undefined;
    worker?.terminate();
    this.generation++;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.fail(reason);
    this.options.onRestart?.(reason);
  }

  /**
   * Calls `method` in the worker. Resolves with its value after every progress report it sent;
   * rejects with an AppError ('aborted' when `signal` fires).
   */
  call<K extends keyof A & string>(method: K, args: ArgsOf<A[K]>, options: CallOptions<ProgressOf<A[K]>> = {}): Promise<ResultOf<A[K]>> {
    if (!this.options.serial) return this.run(method, args, options);
    const run = this.queue.then(() => this.run(method, args, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private run<K extends keyof A & string>(method: K, args: ArgsOf<A[K]>, options: CallOptions<ProgressOf<A[K]>>): Promise<ResultOf<A[K]>> {
    const { signal, onProgress, transfer = [], cancel = 'flag' } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    const remote = this.ensure();
    const generation = this.generation;
    const id = this.nextId++;
    const shared = cancel === 'flag' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated ? new SharedArrayBuffer(4) : undefined;
    return new Promise<ResultOf<A[K]>>((resolve, reject) => {
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        if (shared) {
          Atomics.store(new Int32Array(shared), 0, 1);
          graceTimer = setTimeout(() => {
            if (this.generation === generation && this.pending.has(id)) this.restart(cancelled());
          }, this.options.graceMs ?? 400);
        } else if (this.generation === generation) this.restart(cancelled());
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        if (graceTimer !== undefined) clearTimeout(graceTimer);
      };
      const pending: Pending = {
        settle: (result) => {
          done();
          try {
            if (signal?.aborted) throw cancelled();
            resolve(unwrap(result) as ResultOf<A[K]>);
          } catch (e) {
            reject(e as Error);
          }
        },
        fail: (e) => {
          done();
          reject(signal?.aborted ? cancelled() : e);
        },
      };
      this.pending.set(id, pending);
      signal?.addEventListener('abort', onAbort, { once: true });
      const crash = this.crashNext;
      this.crashNext = false;
      const report = onProgress && Comlink.proxy((p: unknown) => void (!signal?.aborted && this.pending.has(id) && onProgress(p as ProgressOf<A[K]>)));
      const sent = transfer.length > 0 ? Comlink.transfer(args as unknown[], transfer) : (args as unknown[]);
      remote.call(method, sent, shared, crash, report).then(
        (result) => {
          // a worker replaced meanwhile has already failed this call
          if (this.pending.get(id) !== pending) return;
          this.pending.delete(id);
          pending.settle(result);
        },
        (e: unknown) => {
          if (this.pending.get(id) !== pending) return;
          this.pending.delete(id);
          pending.fail(new AppError('invalid-argument', `The ${this.options.name} worker could not take or answer the request: ${e instanceof Error ? e.message : String(e)}`));
        },
      );
    });
  }

  /** Test hook: makes the worker fail outside any call, as a crash would. */
  crashForTest(): void {
    void this.ensure().crash();
  }

  /** Test hook: the worker crashes while the next call is in flight (instead of answering it). */
  crashOnNextCall(): void {
    this.crashNext = true;
  }

  dispose(): void {
    if (liveClients.get(this.options.name) === (this as unknown as WorkerClient<Api>)) liveClients.delete(this.options.name);
    this.restart(new AppError('aborted', `The ${this.options.name} worker was closed.`));
  }
}
