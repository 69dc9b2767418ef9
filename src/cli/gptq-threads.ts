/**
 * GPTQ's helper threads in Node (the CLI; recovery/gptq-simd.ts GptqPool): worker_threads each
 * running serveGptqLanes on one shared WebAssembly.Memory, set as GPTQ's pool. They wait in
 * Atomics.wait between layers and do not keep the process alive (unref).
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gptqPoolMemory, setGptqPool, type GptqPool } from '../compress/recovery/gptq-simd';
import { onShutdown } from './shutdown';

const simd = fileURLToPath(new URL('../compress/recovery/gptq-simd.ts', import.meta.url));

/** The helpers of the pool started last (tests stop them). */
let started: { pool: GptqPool; workers: Worker[] } | undefined;

/**
 * Starts `threads` helper threads (default: the cores but one) and makes them GPTQ's pool;
 * undefined (and GPTQ on the calling thread alone) when there is no core to spare. The workers
 * load the TypeScript source through tsx, as the CLI itself runs.
 */
export function startGptqThreads(threads = availableParallelism() - 1): GptqPool | undefined {
  if (started) return started.pool;
  if (!(threads >= 1)) return undefined;
  const memory = gptqPoolMemory();
  const code = `
    const { workerData } = require('node:worker_threads');
    import('tsx/esm/api')
      .then(({ register }) => { register(); return import(${JSON.stringify(simd)}); })
      .then((m) => m.serveGptqLanes(workerData.memory));`;
  const workers = Array.from({ length: threads }, () => {
    const w = new Worker(code, { eval: true, workerData: { memory } });
    w.unref();
    return w;
  });
  const pool = { memory, helpers: threads };
  started = { pool, workers };
  setGptqPool(pool);
  onShutdown(stopGptqThreads);
  return pool;
}

/** Stops the helpers and takes GPTQ back to the calling thread alone. */
export async function stopGptqThreads(): Promise<void> {
  if (!started) return;
  const { workers } = started;
  started = undefined;
  setGptqPool(undefined);
  await Promise.all(workers.map((w) => w.terminate()));
}
