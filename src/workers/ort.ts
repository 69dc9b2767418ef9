/**
 * onnxruntime-web, loaded on first use with a dynamic import() so it lands in its own chunk
 * (its WASM threads start workers from that chunk's URL; in the entry chunk a threaded build
 * hangs). Its .wasm binary is emitted by Vite as one of our own assets, so nothing is fetched
 * from another origin. Use from workers only.
 */
import type * as OrtModule from 'onnxruntime-web';
import jsepWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import cpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

export type Ort = typeof OrtModule;

let ortPromise: Promise<Ort> | undefined;

/** Threads used by the wasm backend: several when cross-origin isolated, else one. */
export function wasmThreads(): number {
  if (!globalThis.crossOriginIsolated) return 1;
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(4, cores));
}

/** Points a loaded onnxruntime-web at its .wasm among our own assets, with `threads` threads. */
function configured(ort: Ort, wasmUrl: string, threads: number): Ort {
  ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, globalThis.location.href).href };
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false; // we are already off the main thread
  ort.env.logLevel = 'error';
  return ort;
}

/**
 * onnxruntime-web with its wasm backend and WebGPU (JSEP). `threads` is read by the first call
 * only: onnxruntime reads numThreads once per wasm instance, so a worker that needs another
 * thread count is another worker.
 */
export function loadOrt(threads = wasmThreads()): Promise<Ort> {
  ortPromise ??= import('onnxruntime-web').then((ort) => configured(ort, jsepWasmUrl, threads));
  return ortPromise;
}

let cpuPromise: Promise<Ort> | undefined;

/**
 * onnxruntime-web's CPU-only build (the wasm backend alone, no WebGPU), for the workers' own runs:
 * recovery's statistics, calibration and check, Explore, the data worker's fed-back states, the
 * runtime check's wasm row. Its WebAssembly is half the size of the WebGPU-capable build's (14 MB
 * against 28 MB) and V8 compiles it in about half the time, on threads that share the cores with
 * the runs themselves. The kernels are the same: resnet18 runs in 57-60 ms on either. Measured in
 * the page, resnet18 int4 block-32 with gptq on 12 of its 24 images, 2 cores, three of each
 * alternating: Compress 34.7-38.4 s with the WebGPU-capable build, 31.1-33.2 s with this one (the
 * first pass's first sample done at 5.0-5.8 s, against 2.4-2.7 s). The Benchmark's wasm rows
 * keep the default build (`loadOrt`), the one `import 'onnxruntime-web'` gives a deployed app.
 * `threads` as in `loadOrt`.
 */
export function loadOrtCpu(threads = wasmThreads()): Promise<Ort> {
  cpuPromise ??= import('onnxruntime-web/wasm').then((ort) => configured(ort as unknown as Ort, cpuWasmUrl, threads));
  return cpuPromise;
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
