/**
 * The worker kit's method typing and the remote interface, shared by both sides (serve.ts in the
 * worker, client.ts on the page). comlink carries the calls. Its proxied progress callbacks travel
 * on a port of their own, so a fast result could overtake the last reports (an e2e flake, 1 in 10):
 * the worker therefore awaits each call's last progress report, which comlink resolves only after
 * the page ran it, before it answers.
 */
import type { ErrorCode } from '../../core/errors';

/** Errors do not survive postMessage with their type, so a call answers with a union. */
export type WorkerResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode | 'unexpected'; message: string };

/**
 * One method of a worker API: its arguments, its result and what its progress reports carry
 * (`never` when it reports none).
 */
export interface Method<A extends unknown[], R, P = never> {
  args: A;
  result: R;
  progress: P;
}

/** A worker API: an interface of method name -> Method. */
export type Api = object;

export type ArgsOf<M> = M extends Method<infer A, unknown, unknown> ? A : never;
export type ResultOf<M> = M extends Method<unknown[], infer R, unknown> ? R : never;
export type ProgressOf<M> = M extends Method<unknown[], unknown, infer P> ? P : never;

/**
 * A MessagePort as the kit sees it: the DOM's, or Node's in tests (where `MessagePort` is not a
 * type of its own).
 */
export interface PortLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start(): void;
  close(): void;
}

/** Buffers (and ports) moved, not copied, with a message. */
export type TransferList = (ArrayBuffer | PortLike)[];

/**
 * What the kit exposes through comlink in every worker: one `call` that runs a handler and answers
 * with a WorkerResult (never a thrown error), and a test hook that crashes the worker.
 * `onProgress` is a comlink proxy of the page's callback: each report is a call on it, and the
 * worker awaits the last one before it answers, so the page has run every report before the result.
 */
export interface KitRemote {
  call(
    method: string,
    args: unknown[],
    /** a 4-byte SharedArrayBuffer the page sets to 1 to cancel (when cross-origin isolated) */
    cancel: SharedArrayBuffer | undefined,
    /** test hook: instead of answering, the worker crashes while this call is in flight */
    crash: boolean,
    onProgress: ((value: unknown) => void) | undefined,
  ): Promise<WorkerResult<unknown>>;
  /** test hook: the worker throws outside any call, as a crash would */
  crash(): void;
}
