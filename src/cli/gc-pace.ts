/**
 * Garbage collection paced by what onnxruntime-node hands back. Every run returns its outputs as
 * new ArrayBuffers (a copy; preallocated outputs are copied again into new ones: measured with
 * onnxruntime-node 1.30). V8 counts them as external memory and collects them only when that
 * has grown by tens of MB since its last collection, so runs that return large outputs (the
 * recovery statistics: each layer's cols² float32 products, every run) pile up dead buffers: on
 * the bench CNN (scripts/bench-recovery.ts) the statistics' resident memory climbed from +84 MiB
 * (a collection after each run) to +174 MiB, and that high-water mark is the process's peak.
 *
 * `pacedRunModel` collects before a run once the earlier runs' outputs reach `limit` bytes since
 * the last collection: by then the caller has read them (the statistics add a run's outputs into
 * their sums before the next run). The dead outputs' ArrayBuffer objects are young, so a
 * collection of V8's young generation frees them (about 0.1 ms here, against about 5 ms for a
 * full one); at most one per `limit` bytes of outputs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RunModel } from '../compress/activations/calibrate';

/** Bytes of outputs between collections. */
export const GC_OUTPUT_BYTES = 32 * 2 ** 20;

let collect: (() => void) | null | undefined;

/** A collection of V8's young generation (where the outputs' small ArrayBuffer objects live; exposed once, through a fresh context), or null where the engine refuses. */
function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collect = typeof gc === 'function' ? () => (gc as (o: object) => void)({ type: 'minor' }) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** `run`, collecting garbage (`gc`: V8's young generation) before a run once the outputs of earlier runs reach `limit` bytes (its flags kept). */
export function pacedRunModel(run: RunModel, limit = GC_OUTPUT_BYTES, gc = collector()): RunModel {
  if (!gc) return run;
  let pending = 0;
  const paced: RunModel = async (bytes, feeds) => {
    if (pending >= limit) {
      pending = 0;
      gc();
    }
    const out = await run(bytes, feeds);
    for (const t of Object.values(out)) if (ArrayBuffer.isView(t.data)) pending += t.data.byteLength;
    return out;
  };
  // its flags and release (the function's own properties) as they are
  return Object.assign(paced, run);
}
