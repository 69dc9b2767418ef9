/**
 * onnxruntime-web, loaded on first use with a dynamic import() so it lands in its own chunk
 * (its WASM threads start workers from that chunk's URL; in the entry chunk a threaded build
 * hangs). Its .wasm binary is emitted by Vite as one of our own assets, so nothing is fetched
 * from another origin. Use from workers only.
 */
import type * as OrtModule from 'onnxruntime-web';
import jsepWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';

export type Ort = typeof OrtModule;

let ortPromise: Promise<Ort> | undefined;

/** Threads used by the wasm backend: several when cross-origin isolated, else one. */
export function wasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, cores));
}

/**
 * onnxruntime-web with its wasm backend and WebGPU (JSEP). `threads` is read by the first call
 * only: onnxruntime reads numThreads once per wasm instance, so a worker that needs another
 * thread count is another worker.
 */
export function loadOrt(threads = wasmThreads()): Promise<Ort> {
  ortPromise ??= import('onnxruntime-web').then((ort) => {
    ort.env.wasm.wasmPaths = { wasm: new URL(jsepWasmUrl, globalThis.location.href).href };
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false; // we are already off the main thread
    ort.env.logLevel = 'error';
    return ort;
  });
  return ortPromise;
}

let webglPromise: Promise<Ort> | undefined;

/** onnxruntime-web's WebGL build (no wasm inside; WebGL has no CPU fallback). */
export function loadOrtWebgl(): Promise<Ort> {
  webglPromise ??= import('onnxruntime-web/webgl').then((ort) => {
    ort.env.logLevel = 'error';
    return ort as unknown as Ort;
  });
  return webglPromise;
}
