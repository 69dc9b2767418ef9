/**
 * onnxruntime-node for the recovery tests and scripts: a RunModel (one session per model bytes,
 * one thread) and the worst cosine of two models' outputs over samples.
 */
import * as ort from 'onnxruntime-node';
import { float16ToFloat32 } from '../../../core/float16';
import { cosine } from '../../../core/vector';
import { hasLargeRuns, type RunModel, type Sample } from '../../activations/calibrate';

export function nodeRunModel(): RunModel {
  const sessions = new WeakMap<Uint8Array, Promise<ort.InferenceSession>>();
  const run: RunModel = async (bytes, sample) => {
    let s = sessions.get(bytes);
    // the CLI's settings (cli/compress.ts): the statistics copies with onnxruntime's memory arena and no memory pattern, every other session the reverse
    if (!s) {
      const large = hasLargeRuns(bytes);
      sessions.set(bytes, (s = ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3, enableCpuMemArena: large, enableMemPattern: !large })));
    }
    // typed arrays as they are (views included: the runtime factor's rows; float16 as its bits), anything else as float32
    const asIs = (t: Sample[string]) => t.data instanceof Float32Array || t.data instanceof BigInt64Array || (t.dtype === 'float16' && t.data instanceof Uint16Array);
    const feeds = Object.fromEntries(
      Object.entries(sample).map(([k, t]) => [k, asIs(t) ? new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims) : new ort.Tensor('float32', Float32Array.from(t.data as ArrayLike<number>), t.dims)]),
    );
    const out = await (await s).run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
  };
  run.release = async (bytes) => {
    const s = sessions.get(bytes);
    sessions.delete(bytes);
    if (s) await (await s).release();
  };
  // a session per bytes object, the bytes read only when it is created (as the CLI's)
  run.keepsSession = true;
  run.nativeProducts = true;
  // as the CLI: the recovery statistics feed large weights in place
  run.feedWeights = true;
  return run;
}

/** The worst cosine, over samples and outputs, between the models `a` and `b`. */
export async function worstOutputCosine(run: RunModel, a: Uint8Array, b: Uint8Array, samples: readonly Sample[]): Promise<number> {
  let worst = 1;
  for (const s of samples) {
    const [ra, rb] = [await run(a, s), await run(b, s)];
    // (float16 outputs come back as their bits)
    const values = (d: unknown) => (d instanceof Uint16Array ? Float32Array.from(d, float16ToFloat32) : (d as Float32Array));
    for (const k of Object.keys(ra)) worst = Math.min(worst, cosine(values(ra[k].data), values(rb[k].data)));
  }
  return worst;
}
