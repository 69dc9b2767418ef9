/**
 * The worker side of the kit: `serve(handlers)` exposes the handlers through comlink. Every
 * handler gets a context with the call's AbortSignal (fed by the page's shared cancel flag,
 * readable from synchronous code) and a `progress` function; whatever it throws becomes `{ ok:
 * false, code, message }` (written once here for every worker), and the answer waits until the
 * page has run the last progress report, so no report can arrive after the result.
 */
import * as Comlink from 'comlink';
import { AppError, errorMessage, isAppError } from '../../core/errors';
import type { Api, ArgsOf, KitRemote, ProgressOf, ResultOf, TransferList, WorkerResult } from './protocol';

export interface CallContext<P> {
  /** fires when the page cancels the call (reading `aborted` polls the shared flag) */
  signal: AbortSignal;
  /** reports progress to the page; delivered in order, and before the result */
  progress(value: P): void;
}

const TRANSFER = Symbol('transfer');

/** A result with the buffers to transfer (not copy) to the page. */
export interface Transferred<T> {
  [TRANSFER]: TransferList;
  value: T;
}

/** Marks `value` to be answered with `buffers` transferred, not copied. */
export function withTransfer<T>(value: T, buffers: TransferList): Transferred<T> {
  return { [TRANSFER]: buffers, value };
}

function isTransferred(x: unknown): x is Transferred<unknown> {
  return typeof x === 'object' && x !== null && TRANSFER in x;
}

export type Handlers<A extends Api> = {
  [K in keyof A]: (
    ctx: CallContext<ProgressOf<A[K]>>,
    ...args: ArgsOf<A[K]>
  ) => ResultOf<A[K]> | Transferred<ResultOf<A[K]>> | Promise<ResultOf<A[K]> | Transferred<ResultOf<A[K]>>>;
};

/** The side of a port the kit needs: a worker's global scope, or a comlink endpoint in tests. */
export type ServeEndpoint = Comlink.Endpoint;

/**
 * An AbortSignal the page can fire while the worker is busy in synchronous code: reading
 * `aborted`, or calling `throwIfAborted`, polls the flag in shared memory.
 */
export function sharedFlagSignal(flag: Int32Array | undefined): AbortSignal {
  const controller = new AbortController();
  const signal = controller.signal;
  if (!flag) return signal;
  const poll = () => {
    if (Atomics.load(flag, 0) !== 0 && !nativeAborted.call(signal)) controller.abort();
  };
  const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
  Object.defineProperty(signal, 'aborted', {
    get: () => {
      poll();
      return nativeAborted.call(signal) as boolean;
    },
  });
  const nativeThrow = signal.throwIfAborted.bind(signal);
  signal.throwIfAborted = () => {
    poll();
    nativeThrow();
  };
  return signal;
}

/** What a worker that runs out of memory or stack says, instead of the engine's words. */
function resourceMessage(e: unknown): string | undefined {
  if (!(e instanceof RangeError)) return undefined;
  if (/allocation failed|out of memory|invalid array length|invalid typed array length|array buffer/i.test(e.message)) {
    return `The worker ran out of memory (${e.message}). Try a smaller model or recipe, or close other tabs and try again.`;
  }
  if (/call stack/i.test(e.message)) return `The worker ran out of stack (${e.message}): the model is nested too deeply for this browser.`;
  return undefined;
}

/** Anything thrown, as the answer the page turns back into an AppError. */
export function failure(e: unknown): Extract<WorkerResult<never>, { ok: false }> {
  if (isAppError(e)) return { ok: false, code: e.code, message: e.message };
  const resource = resourceMessage(e);
  if (resource) return { ok: false, code: 'too-large', message: resource };
  return { ok: false, code: 'unexpected', message: errorMessage(e) };
}

/** Throws outside any call, as a bug or an engine limit would (test hook). */
function crashSoon(): void {
  setTimeout(() => {
    throw new Error('simulated crash (test hook)');
  });
}

/** Answers the page's calls with `handlers` on `endpoint` (the worker's global scope by default). */
export function serve<A extends Api>(handlers: Handlers<A>, endpoint: ServeEndpoint = globalThis as unknown as ServeEndpoint): void {
  const remote: KitRemote = {
    call(method, args, cancel, crash, onProgress) {
      if (crash) {
        // test hook: the worker dies while this call is in flight
        crashSoon();
        return new Promise<never>(() => {});
      }
      return answer(handlers, method, args, cancel, onProgress);
    },
    crash: crashSoon,
  };
  Comlink.expose(remote, endpoint);
}

async function answer<A extends Api>(
  handlers: Handlers<A>,
  method: string,
  args: unknown[],
  cancel: SharedArrayBuffer | undefined,
  onProgress: ((value: unknown) => void) | undefined,
): Promise<WorkerResult<unknown>> {
  // each report is a comlink call on the page's proxy; `delivered` settles once the page has run
  // the last one sent (the page answers them in order), and the result waits for it
  let delivered: Promise<unknown> = Promise.resolve();
  let open = true;
  const ctx: CallContext<unknown> = {
    signal: sharedFlagSignal(cancel && new Int32Array(cancel)),
    progress: (value) => {
      // after the answer (a handler that did not await its work) the callback is released: nowhere to go
      if (!onProgress || !open) return;
      const sent = Promise.resolve(onProgress(value)).catch(() => undefined);
      delivered = sent;
    },
  };
  let result: WorkerResult<unknown>;
  let transfer: TransferList = [];
  try {
    const handler = (handlers as Record<string, unknown>)[method] as ((ctx: CallContext<unknown>, ...a: unknown[]) => unknown) | undefined;
    if (!handler) throw new AppError('invalid-argument', `This worker has no method "${method}".`);
    const out = await handler(ctx, ...args);
    if (isTransferred(out)) {
      transfer = out[TRANSFER];
      result = { ok: true, value: out.value };
    } else result = { ok: true, value: out };
  } catch (e) {
    result = failure(e);
  }
  await delivered;
  // the page's callback lives on a MessagePort of its own, one per call: close it now, or every
  // call with progress leaves a port open on both sides (kit.test.ts counts them)
  open = false;
  if (onProgress) (onProgress as unknown as Comlink.Remote<unknown>)[Comlink.releaseProxy]();
  // a value that cannot be cloned: comlink answers with its own error, which the page turns into a message
  return transfer.length > 0 ? Comlink.transfer(result, transfer) : result;
}
