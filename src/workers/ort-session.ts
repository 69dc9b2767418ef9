/**
 * onnxruntime-web sessions as the bench code's RunSession (src/bench/evaluate.ts): fresh input
 * tensors for every run (a session may take ownership of what it is fed), only session.run timed,
 * outputs as floats.
 */
import type { OutputValues, RunSession } from '../bench/evaluate';
import { toOutputValues } from '../bench/evaluate';
import type { BenchTensor } from '../bench/tensor';
import type { Ort } from './ort';

export type OrtSession = Awaited<ReturnType<Ort['InferenceSession']['create']>>;
export type OrtTensor = InstanceType<Ort['Tensor']>;

export function toOrtTensor(ort: Ort, t: BenchTensor): OrtTensor {
  const data = t.data.slice();
  // the constructor's overloads are per dtype; the data's type matches t.dtype by construction
  return new ort.Tensor(t.dtype, data as Float32Array, t.dims);
}

export function webRunSession(ort: Ort, session: OrtSession): RunSession {
  return {
    outputNames: session.outputNames,
    async run(feeds) {
      const f: Record<string, OrtTensor> = {};
      for (const t of feeds) f[t.name] = toOrtTensor(ort, t);
      const t0 = performance.now();
      const result = await session.run(f);
      const ms = performance.now() - t0;
      const outputs: OutputValues[] = [];
      for (const name of session.outputNames) {
        const v = result[name];
        if (!v) continue;
        // GPU-resident outputs are downloaded; on wasm and webgl .data is already on the CPU
        const data = v.location === 'cpu' || v.location === 'cpu-pinned' ? v.data : await v.getData(true);
        const o = toOutputValues(name, v.type, v.dims, data);
        if (o) outputs.push(o);
      }
      for (const v of Object.values(result)) if (v.location !== 'cpu' && v.location !== 'cpu-pinned') v.dispose();
      return { ms, outputs };
    },
  };
}
