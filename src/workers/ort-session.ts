/**
 * onnxruntime-web sessions as the bench code's RunSession (src/bench/evaluate.ts, ortRunSession:
 * fresh input tensors for every run, only session.run timed, GPU outputs downloaded, outputs as
 * floats).
 */
import { ortRunSession, type RunSession } from '../bench/evaluate';
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
  return ortRunSession(ort.Tensor, session);
}
