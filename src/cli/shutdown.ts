/**
 * What the CLI ends before it exits (main.ts): the GPTQ native worker (its onnxruntime-node
 * sessions released on its own thread, then its loop ended), GPTQ's helper threads, and the
 * onnxruntime-node sessions of this thread. Left to the process's exit, onnxruntime-node's
 * sessions are torn down with their thread's environment, which has aborted the process after
 * its work was done ("terminate called after throwing an instance of 'Napi::Error'", once in a
 * clean-clone CI run of `cli compress --recovery gptq`; onnxruntime-node 1.29+ has such aborts
 * reported where a worker holding sessions is torn down). Each part registers its own stop when
 * it starts, so a command that started nothing loads nothing here.
 */
const stops: (() => Promise<unknown>)[] = [];

/** Registers `stop` to run at shutdown (the last registered runs first: what started last stops first). */
export function onShutdown(stop: () => Promise<unknown>): void {
  stops.push(stop);
}

/** Runs every registered stop, the last registered first; a stop that fails does not keep the others from running. */
export async function shutdown(): Promise<void> {
  while (stops.length > 0) {
    const stop = stops.pop() as () => Promise<unknown>;
    await stop().catch(() => undefined);
  }
}
