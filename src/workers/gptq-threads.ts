/**
 * GPTQ's helper threads in the page: workers of the compress worker over one shared
 * WebAssembly.Memory (recovery/gptq-simd.ts GptqPool), where the page is cross-origin isolated
 * (SharedArrayBuffer) and the machine has cores to spare: up to MAX_HELPERS, the cores but one.
 * Started once, at the first recovery; they end with the compress worker.
 */
import { gptqPoolMemory, setGptqPool } from '../compress/recovery/gptq-simd';

/** Helpers at most: onnxruntime's own threads and the page share the cores too. */
export const MAX_HELPERS = 4;

let started = false;

export function startGptqThreads(): void {
  if (started) return;
  started = true;
  const cores = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 1;
  const helpers = Math.min(MAX_HELPERS, cores - 1);
  if (!globalThis.crossOriginIsolated || helpers < 1 || typeof Worker === 'undefined') return;
  try {
    const memory = gptqPoolMemory();
    for (let i = 0; i < helpers; i++) new Worker(new URL('./gptq-lanes.worker.ts', import.meta.url), { type: 'module', name: `gptq-lanes-${i}` }).postMessage({ memory });
    setGptqPool({ memory, helpers });
  } catch {
    // no shared memory or nested workers here: GPTQ on the compress worker alone
  }
}
