/**
 * onnxruntime-web's wasm backend in Node, for the benchmarks (`bench:recovery --runtime web`): the
 * runtime the page's workers run (the same .wasm build, one thread here), as a RunModel with one
 * session per model bytes, like src/compress/recovery/testing/node-run.ts's.
 */
import * as ort from 'onnxruntime-web';
import type { RunModel } from '../src/compress/activations/calibrate';

export function ortWebNodeRunModel(threads = 1): RunModel {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const sessions = new WeakMap<Uint8Array, Promise<ort.InferenceSession>>();
  return async (bytes, sample) => {
    let s = sessions.get(bytes);
    if (!s) sessions.set(bytes, (s = ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] })));
    const feeds = Object.fromEntries(Object.entries(sample).map(([k, t]) => [k, new ort.Tensor('float32', Float32Array.from(t.data as Float32Array), t.dims)]));
    const out = await (await s).run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims as number[], data: v.data }]));
  };
}
