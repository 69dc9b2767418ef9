/**
 * The worker kit over real worker_threads Workers: progress always before its result, errors as
 * AppErrors, cancel (cooperative, then forced after the grace period), restart after a crash,
 * calls queued one at a time, transfers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../core/errors';
import { WorkerClient, type WorkerLike } from './client';
import type { FixtureApi } from './testing/fixture-api';

const serveUrl = fileURLToPath(new URL('./serve.ts', import.meta.url));
const fixtureUrl = fileURLToPath(new URL('./testing/fixture-api.ts', import.meta.url));

/**
 * A worker_threads Worker (TypeScript through tsx) behind the browser Worker's interface; inside,
 * the kit serves on comlink's Node adapter of the parent port.
 */
function spawnFixture(): WorkerLike {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import('tsx/esm/api').then(({ register }) => { register(); return Promise.all([import(${JSON.stringify(serveUrl)}), import(${JSON.stringify(fixtureUrl)}), import('comlink/dist/esm/node-adapter.mjs')]); })
      .then(([kit, fixture, adapter]) => kit.serve(fixture.fixtureHandlers, adapter.default(parentPort)));`;
  const w = new Worker(code, { eval: true });
  const wrapped = new Map<(event: Event) => void, (data: unknown) => void>();
  return {
    postMessage: (m, transfer) => w.postMessage(m, transfer as never),
    addEventListener(type, listener) {
      if (type === 'message') {
        const l = (data: unknown) => listener({ data } as MessageEvent);
        wrapped.set(listener, l);
        w.on('message', l);
      } else if (type === 'error') w.on('error', (e: Error) => listener({ message: e.message, preventDefault() {} } as unknown as Event));
      else w.on('messageerror', () => listener({} as Event));
    },
    removeEventListener(type, listener) {
      const l = wrapped.get(listener);
      if (type === 'message' && l) w.off('message', l);
    },
    terminate: () => void w.terminate(),
  };
}

const clients: WorkerClient<FixtureApi>[] = [];
function client(options: { serial?: boolean; graceMs?: number; name?: string } = {}): WorkerClient<FixtureApi> {
  const c = new WorkerClient<FixtureApi>({ name: options.name ?? 'fixture', spawn: spawnFixture, ...options });
  clients.push(c);
  return c;
}

const g = globalThis as { crossOriginIsolated?: boolean };
afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  delete g.crossOriginIsolated;
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('worker kit', () => {
  it('delivers every progress report before the result, in order, for every call', async () => {
    const c = client();
    for (let round = 0; round < 20; round++) {
      const seen: number[] = [];
      const n = await c.call('count', [50 + round], { onProgress: (p) => seen.push(p) });
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });

  it("releases each call's progress channel once the call has answered (no port left open per call)", async () => {
    const c = client();
    await c.call('count', [3], { onProgress: () => undefined });
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const settle = () => new Promise((r) => setTimeout(r, 50));
    await settle();
    const before = ports();
    for (let i = 0; i < 10; i++) await c.call('count', [3], { onProgress: () => undefined });
    await settle();
    expect(ports() - before).toBe(0);
  });

  it('turns thrown errors into AppErrors with their code, and running out of memory into a message that says what to try', async () => {
    const c = client();
    const e = await rejection(c.call('fail', []));
    expect(e.code).toBe('unsupported');
    expect(e.message).toBe('this operator is not supported');
    const oom = await rejection(c.call('oom', []));
    expect(oom.code).toBe('too-large');
    expect(oom.message).toMatch(/ran out of memory .*Try a smaller model/);
    // the worker is still the same one and still answers
    expect(c.generation).toBe(0);
    await expect(c.call('count', [1])).resolves.toBe(1);
  });

  it('cancels through the shared flag: a worker that polls it stops and is kept', async () => {
    g.crossOriginIsolated = true;
    const c = client();
    await c.call('count', [1]); // started
    const controller = new AbortController();
    const t0 = Date.now();
    const call = c.call('spin', [20_000], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const e = await rejection(call);
    expect(e.code).toBe('aborted');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(c.generation).toBe(0);
  });

  it('terminates a worker that does not notice the cancel within the grace period, and the next call gets a fresh one', async () => {
    g.crossOriginIsolated = true;
    const c = client({ graceMs: 200 });
    await c.call('count', [1]);
    const controller = new AbortController();
    const t0 = Date.now();
    const call = c.call('hang', [20_000], { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const e = await rejection(call);
    expect(e.code).toBe('aborted');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(c.generation).toBe(1);
    await expect(c.call('count', [3])).resolves.toBe(3);
  });

  it("'terminate' cancels end the worker at once", async () => {
    const c = client();
    const controller = new AbortController();
    const call = c.call('hang', [20_000], { signal: controller.signal, cancel: 'terminate' });
    setTimeout(() => controller.abort(), 100);
    expect((await rejection(call)).code).toBe('aborted');
    expect(c.generation).toBe(1);
  });

  it('a crash fails the call in flight with a message naming what happened and what to try, and the next call works', async () => {
    const c = client({ name: 'compress' });
    const call = c.call('sleep', [10_000]);
    await new Promise((r) => setTimeout(r, 100));
    c.crashForTest();
    const e = await rejection(call);
    expect(e.code).toBe('io');
    expect(e.message).toMatch(/^The compress worker stopped unexpectedly \(.*simulated crash.*\)\. Try again/);
    expect(c.generation).toBe(1);
    await expect(c.call('count', [2])).resolves.toBe(2);
  });

  it('a worker that dies while a call is in flight fails that call with the crash message (the test hook the e2e suite uses)', async () => {
    const c = client({ name: 'model' });
    await c.call('count', [1]);
    c.crashOnNextCall();
    const e = await rejection(c.call('count', [5]));
    expect(e.message).toMatch(/^The model worker stopped unexpectedly/);
    await expect(c.call('count', [5])).resolves.toBe(5);
  });

  it('serial clients run one call at a time, in order, even when the first is cancelled', async () => {
    g.crossOriginIsolated = true;
    const c = client({ serial: true });
    const controller = new AbortController();
    const first = c.call('spin', [20_000], { signal: controller.signal });
    const second = c.call('sleep', [10]);
    const third = c.call('sleep', [10]);
    setTimeout(() => controller.abort(), 100);
    expect((await rejection(first)).code).toBe('aborted');
    const [b, d] = await Promise.all([second, third]);
    expect(d.start).toBeGreaterThanOrEqual(b.end);
  });

  it('transfers buffers marked by withTransfer', async () => {
    const c = client();
    const buffer = await c.call('bytes', [1024]);
    expect(buffer.byteLength).toBe(1024);
    expect(new Uint8Array(buffer)[1023]).toBe(7);
  });
});
