/**
 * onnxruntime-web's wasm backend in Node, for the benchmarks (`bench:recovery --runtime web`): the
 * runtime the page's workers run (the same .wasm build, one thread here), as a RunModel set up as
 * the page's (src/workers/web-run-model.ts): one session per model bytes, no memory arena, a
 * session released when the caller is done with its bytes, the bytes read only when it is created.
 */
import * as ort from 'onnxruntime-web';
import type { RunModel } from '../src/compress/activations/calibrate';

export function ortWebNodeRunModel(threads = 1): RunModel {
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const sessions = new WeakMap<Uint8Array, Promise<ort.InferenceSession>>();
  const run: RunModel = async (bytes, sample) => {
    let s = sessions.get(bytes);
    if (!s) sessions.set(bytes, (s = ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], enableCpuMemArena: false, logSeverityLevel: 3 })));
    const feeds = Object.fromEntries(Object.entries(sample).map(([k, t]) => [k, new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]));
    const out = await (await s).run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims as number[], data: v.data }]));
  };
  run.release = async (bytes) => {
    const s = sessions.get(bytes);
    sessions.delete(bytes);
    if (s) await (await s).release();
  };
  run.keepsSession = true;
  // (as the page's: the statistics' large weights fed per run, not held by each session)
  run.feedWeights = true;
  return run;
}
