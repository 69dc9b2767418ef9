/**
 * A small worker API for the kit's own tests (kit.test.ts runs it in a real worker_threads
 * Worker): progress, failures, cancel, a worker that ignores cancel, transfers.
 */
import { AppError } from '../../../core/errors';
import type { Method } from '../protocol';
import { withTransfer, type Handlers } from '../serve';

export interface FixtureApi {
  count: Method<[n: number], number, number>;
  fail: Method<[], never>;
  oom: Method<[], never>;
  /** busy for up to `ms`, polling the signal synchronously (the way the decoder and compressor do) */
  spin: Method<[ms: number], number>;
  /** busy for `ms` without looking at the signal */
  hang: Method<[ms: number], number>;
  /** waits `ms`, answering when it started and ended (Date.now()) */
  sleep: Method<[ms: number], { start: number; end: number }>;
  bytes: Method<[n: number], ArrayBuffer>;
}

export const fixtureHandlers: Handlers<FixtureApi> = {
  count(ctx, n) {
    for (let i = 1; i <= n; i++) ctx.progress(i);
    return n;
  },
  fail() {
    throw new AppError('unsupported', 'this operator is not supported');
  },
  oom() {
    throw new RangeError('Array buffer allocation failed');
  },
  spin(ctx, ms) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) if (ctx.signal.aborted) throw new AppError('aborted', 'Cancelled.');
    return Date.now() - t0;
  },
  hang(_ctx, ms) {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      /* busy, deaf to cancel */
    }
    return Date.now() - t0;
  },
  async sleep(_ctx, ms) {
    const start = Date.now();
    await new Promise((r) => setTimeout(r, ms));
    return { start, end: Date.now() };
  },
  bytes(_ctx, n) {
    const buffer = new Uint8Array(n).fill(7).buffer;
    return withTransfer(buffer, [buffer]);
  },
};
