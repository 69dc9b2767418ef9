/** onnxruntime-node sessions as the explorer's OpenSession (tests; the CLI has its own in src/cli). */
import * as ort from 'onnxruntime-node';
import { toOutputValues, type OutputValues } from '../../evaluate';
import type { OpenSession } from '../evaluator';

export const openNodeSession: OpenSession = async (bytes) => {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return {
    outputNames: session.outputNames,
    async run(feeds) {
      const f: Record<string, ort.Tensor> = {};
      for (const t of feeds) f[t.name] = new ort.Tensor(t.dtype, t.data.slice() as Float32Array, t.dims);
      const t0 = performance.now();
      const result = await session.run(f);
      const ms = performance.now() - t0;
      const outputs: OutputValues[] = [];
      for (const name of session.outputNames) {
        const v = result[name];
        const o = v && toOutputValues(name, v.type, v.dims, v.data);
        if (o) outputs.push(o);
      }
      return { ms, outputs };
    },
    release: () => session.release(),
  };
};
