/**
 * The worker kit's wire format and method typing, shared by both sides (serve.ts in the worker,
 * client.ts on the page). One port carries everything for a call: its progress reports and then
 * its result, so progress always arrives before the result it belongs to (comlink delivered
 * progress callbacks on a port of their own, and a fast result could overtake them).
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

/** Buffers moved (not copied) with a message. */
export type TransferList = ArrayBuffer[];

/** Page -> worker. */
export type Request =
  | {
      type: 'call';
      id: number;
      method: string;
      args: unknown[];
      /** a 4-byte SharedArrayBuffer the page sets to 1 to cancel (when cross-origin isolated) */
      cancel?: SharedArrayBuffer;
      /** test hook: instead of answering, the worker crashes while this call is in flight */
      crash?: true;
    }
  /** test hook: the worker throws outside any call, as a crash would */
  | { type: 'crash' };

/** Worker -> page. Progress of a call is always posted before its result, on the same port. */
export type Reply =
  | { type: 'progress'; id: number; value: unknown }
  | { type: 'result'; id: number; result: WorkerResult<unknown> };
