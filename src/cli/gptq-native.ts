/**
 * GPTQ's native products in Node (the CLI, the benches; recovery/gptq-simd.ts GptqNative): a
 * worker thread owning onnxruntime-node sessions serves recovery/gptq-native.ts's server over
 * GPTQ's shared memory. GPTQ's solve is synchronous, so the calling thread posts each call in a
 * small shared control block and waits for it with Atomics.wait; the worker runs it (onnxruntime's
 * own threads do the MatMul) and notifies. A call that fails, or a worker that never starts,
 * throws: the workspace then finishes on its WebAssembly kernel.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gptqNativeFailure, gptqPoolMemory, setGptqNative, type GptqNative } from '../compress/recovery/gptq-simd';
import { NativeOp } from '../compress/recovery/gptq-native';
import { onShutdown } from './shutdown';

const server = fileURLToPath(new URL('./gptq-native-worker.ts', import.meta.url));

/** Int32 slots of the control block: requests posted, requests done, the last one's status (0: ok), ready (1: serving, −1: failed to start), the operation, the message's bytes. */
const CTL = { REQ: 0, DONE: 1, STATUS: 2, READY: 3, OP: 4, MSG: 5 } as const;
/** float64 arguments from byte ARGS; the message (UTF-8) from byte MESSAGE */
const ARGS = 64;
const MESSAGE = 256;
const CONTROL_BYTES = 4096;
/** How long a call may take before the caller gives up on the service (its worker's start included). */
const CALL_TIMEOUT_MS = 120_000;
/** The operation that ends the service: the worker releases its sessions, answers, and returns (not one of the server's NativeOp). */
const STOP = 100;
/** How long stopGptqNative waits for the worker's answer, then for it to end on its own, before terminating it. */
const STOP_WAIT_MS = 5_000;

let started: { svc: GptqNative; worker: Worker; stop: () => void } | undefined;

/**
 * Starts the service on `memory` (GPTQ's pool's memory, where it has one: the lanes and the
 * service share it) with `threads` onnxruntime threads, and makes it GPTQ's native products.
 */
export function startGptqNative(memory: WebAssembly.Memory = gptqPoolMemory(), threads = availableParallelism()): GptqNative {
  if (started) return started.svc;
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const ctl = new Int32Array(control, 0, 16);
  const args = new Float64Array(control, ARGS, 8);
  const code = `
    const { workerData } = require('node:worker_threads');
    import('tsx/esm/api')
      .then(({ register }) => { register(); return import(${JSON.stringify(server)}); })
      .then((m) => m.serveGptqNative(workerData))
      .catch((e) => {
        const ctl = new Int32Array(workerData.control, 0, 16);
        Atomics.store(ctl, ${CTL.READY}, -1);
        Atomics.notify(ctl, ${CTL.DONE});
      });`;
  const worker = new Worker(code, { eval: true, workerData: { memory, control, threads } });
  worker.unref();
  const call = (op: number, values: number[], timeout = CALL_TIMEOUT_MS): void => {
    const ready = Atomics.load(ctl, CTL.READY);
    if (ready !== 1) throw new Error(ready === -1 ? 'GPTQ native: its worker did not start' : 'GPTQ native: its worker is still starting');
    values.forEach((v, i) => (args[i] = v));
    Atomics.store(ctl, CTL.OP, op);
    const id = Atomics.add(ctl, CTL.REQ, 1) + 1;
    Atomics.notify(ctl, CTL.REQ);
    const start = Date.now();
    for (let done = Atomics.load(ctl, CTL.DONE); done !== id; done = Atomics.load(ctl, CTL.DONE)) {
      if (Date.now() - start > timeout) throw new Error('GPTQ native: no answer in time');
      Atomics.wait(ctl, CTL.DONE, done, Math.min(1000, timeout));
    }
    if (Atomics.load(ctl, CTL.STATUS) !== 0) {
      const len = Atomics.load(ctl, CTL.MSG);
      throw new Error(`GPTQ native: ${new TextDecoder().decode(new Uint8Array(control, MESSAGE, len).slice())}`);
    }
  };
  const svc: GptqNative = {
    memory,
    // (its start needs this thread's event loop: a call that waited for it would wait for ever)
    ready: () => Atomics.load(ctl, CTL.READY) === 1,
    begin: (rows, n, W, D) => call(NativeOp.BEGIN, [rows, n, W, D]),
    block: (i0, i1, M, HDIAG, S) => call(NativeOp.BLOCK, [i0, i1, M, HDIAG, S]),
    finish: (res) => call(NativeOp.FINISH, [res]),
  };
  // (at exit: a worker that does not answer soon is terminated, not waited for as a layer's call is)
  started = { svc, worker, stop: () => call(STOP, [], STOP_WAIT_MS) };
  setGptqNative(svc);
  onShutdown(stopGptqNative);
  return svc;
}

/**
 * The report's note where the service failed during this process's recovery (the layers from
 * then on finished on the kernel: the same method, its codes may differ in a few rounding ties,
 * and slower); undefined where it did not.
 */
export function gptqNativeNote(): string | undefined {
  const why = gptqNativeFailure();
  return why === undefined ? undefined : `recovery: GPTQ's products on onnxruntime stopped (${why}); the layers after finished on its WebAssembly kernel (the same method, slower)`;
}

/**
 * Stops the service (the CLI before it exits: cli/shutdown.ts; tests) and takes GPTQ back to its
 * kernel alone. A serving worker releases its onnxruntime-node sessions on its own thread and ends
 * ('ended'); one that is still starting, or does not end in STOP_WAIT_MS, is terminated
 * ('terminated').
 */
export async function stopGptqNative(): Promise<'ended' | 'terminated' | undefined> {
  if (!started) return undefined;
  const { worker, stop } = started;
  started = undefined;
  setGptqNative(undefined);
  const exited = new Promise<'ended'>((resolve) => worker.once('exit', () => resolve('ended')));
  try {
    stop();
  } catch {
    await worker.terminate();
    return 'terminated';
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_WAIT_MS)));
  const how = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (how === 'ended') return 'ended';
  await worker.terminate();
  return 'terminated';
}

export { CTL as NATIVE_CTL, ARGS as NATIVE_ARGS, MESSAGE as NATIVE_MESSAGE, CONTROL_BYTES as NATIVE_CONTROL_BYTES, STOP as NATIVE_STOP };
