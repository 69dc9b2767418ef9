/** onnxruntime-web (wasm) as the compress code's RunModel: calibration, recovery statistics, the recovery check. */
import type { RunModel } from '../compress/activations/calibrate';
import { loadOrtCpu } from './ort';
import type { OrtSession, OrtTensor } from './ort-session';

/** Runs model bytes on onnxruntime-web's wasm backend (its CPU-only build: loadOrtCpu; one session per bytes object), for calibration and recovery. */
export async function webRunModel(): Promise<{ run: RunModel; release: () => Promise<void> }> {
  const ort = await loadOrtCpu();
  const sessions = new Set<OrtSession>();
  const byBytes = new WeakMap<Uint8Array, Promise<OrtSession>>();
  const run: RunModel = async (bytes, sample) => {
    let session = byBytes.get(bytes);
    if (!session) {
      // no memory arena: the statistics copies' large buffers go back to the heap when a run ends;
      // errors only in the log (as the CLI): a statistics copy or a sequential prefix keeps weights
      // no node reads, and onnxruntime's warning for each ('Removing initializer …') reached the
      // browser console as an error, dozens per Compress
      session = ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], enableCpuMemArena: false, logSeverityLevel: 3 });
      byBytes.set(bytes, session);
      sessions.add(await session);
    }
    const feeds: Record<string, OrtTensor> = {};
    for (const [name, t] of Object.entries(sample)) feeds[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
    const out = await (await session).run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
  };
  // a caller done with some bytes (each statistics copy) frees their session at once
  run.release = async (bytes) => {
    const session = byBytes.get(bytes);
    byBytes.delete(bytes);
    if (!session) return;
    const s = await session;
    sessions.delete(s);
    await s.release();
  };
  // a session per bytes object, the bytes read only when it is created: the statistics copies' bytes are emptied then
  run.keepsSession = true;
  // the recovery statistics' large weights go in each run's feeds (copied into the heap for that run
  // only) instead of in every statistics session, which held a copy of each and prepacked the MatMul
  // ones again: the 100 MB MatMul bench model's peak +500 -> +302-341 MiB, and 5% faster (bench:recovery --runtime web)
  run.feedWeights = true;
  return { run, release: async () => void (await Promise.all([...sessions].map((s) => s.release()))) };
}

/** `f` with a webRunModel, its sessions released afterwards (also when `f` throws). */
export async function withWebRun<T>(f: (run: RunModel) => Promise<T>): Promise<T> {
  const { run, release } = await webRunModel();
  try {
    return await f(run);
  } finally {
    await release();
  }
}
