/**
 * The worker thread of GPTQ's native products (cli/gptq-native.ts): onnxruntime-node sessions for
 * recovery/gptq-native.ts's models, serving each call posted in the control block.
 */
import * as ort from 'onnxruntime-node';
import type { RunModel } from '../compress/activations/calibrate';
import { GptqNativeServer, nativeModels } from '../compress/recovery/gptq-native';
import { NATIVE_ARGS, NATIVE_CONTROL_BYTES, NATIVE_CTL as CTL, NATIVE_MESSAGE, NATIVE_STOP } from './gptq-native';
import { pacedRunModel } from './gc-pace';

/** Output bytes between two collections of this thread's young generation. */
const COLLECT_BYTES = 8 * 2 ** 20;

/** Atomics.waitAsync (Node 16+; not in this project's TypeScript lib) */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { value: Promise<string> | string } }).waitAsync;

export async function serveGptqNative({ memory, control, threads }: { memory: WebAssembly.Memory; control: SharedArrayBuffer; threads: number }): Promise<void> {
  const ctl = new Int32Array(control, 0, 16);
  const args = new Float64Array(control, NATIVE_ARGS, 8);
  const sessions = new Map<Uint8Array, Promise<ort.InferenceSession>>();
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    logSeverityLevel: 3,
    enableCpuMemArena: false,
    // its threads do not spin between runs: the calling thread works on GPTQ's kernel between them
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  // Each run's outputs are new arrays (onnxruntime-node allocates them): about 130 KB a call, a
  // layer's calls hundreds of MB of garbage, which this thread's collector left for tens of MB
  // (the 100 MB MatMul bench: +77 MiB at the peak). A young-generation collection every
  // COLLECT_BYTES of outputs frees them at a small cost (the heap here is small): gc-pace.ts.
  const own: RunModel = async (bytes, sample) => {
    let s = sessions.get(bytes);
    if (!s) sessions.set(bytes, (s = ort.InferenceSession.create(bytes, options)));
    const feeds = Object.fromEntries(Object.entries(sample).map(([k, t]) => [k, new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]));
    const out = await (await s).run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: v.dims, data: v.data }]));
  };
  const server = new GptqNativeServer(memory, pacedRunModel(own, COLLECT_BYTES));

  // the sessions made before it says it is ready (the caller's statistics run meanwhile)
  const { errors, both } = nativeModels();
  for (const bytes of [errors, both]) sessions.set(bytes, ort.InferenceSession.create(bytes, options));
  await Promise.all(sessions.values());
  Atomics.store(ctl, CTL.READY, 1);
  // (a pending Atomics.waitAsync holds no handle: without one the worker's loop would end)
  const alive = setInterval(() => {}, 2 ** 30);
  let seen = Atomics.load(ctl, CTL.REQ);
  for (;;) {
    // (the worker's event loop must turn between calls: onnxruntime-node's runs settle on it)
    while (Atomics.load(ctl, CTL.REQ) === seen) await waitAsync(ctl, CTL.REQ, seen).value;
    seen = Atomics.load(ctl, CTL.REQ);
    if (Atomics.load(ctl, CTL.OP) === NATIVE_STOP) {
      // the sessions released here, on their own thread, before it ends (cli/shutdown.ts): then the loop ends and the thread with it
      await Promise.all([...sessions.values()].map(async (s) => (await s).release())).catch(() => undefined);
      sessions.clear();
      clearInterval(alive);
      Atomics.store(ctl, CTL.STATUS, 0);
      Atomics.store(ctl, CTL.DONE, seen);
      Atomics.notify(ctl, CTL.DONE);
      return;
    }
    let status = 0;
    try {
      await server.handle(Atomics.load(ctl, CTL.OP), Array.from(args));
    } catch (e) {
      status = 1;
      const bytes = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, NATIVE_CONTROL_BYTES - NATIVE_MESSAGE);
      new Uint8Array(control, NATIVE_MESSAGE, bytes.length).set(bytes);
      Atomics.store(ctl, CTL.MSG, bytes.length);
    }
    Atomics.store(ctl, CTL.STATUS, status);
    Atomics.store(ctl, CTL.DONE, seen);
    Atomics.notify(ctl, CTL.DONE);
  }
}
