/**
 * The model worker: parses dropped files off the main thread and keeps the parsed model for
 * later work (graph, compression, benchmarks). A thin comlink `expose` over src/onnx.
 */
import { expose } from 'comlink';
import { errorMessage, isAppError } from '../core/errors';
import { loadModel, type LoadedModel } from '../onnx/load';
import { summarizeModel } from '../onnx/summary';
import type { ModelWorkerApi, OpenedModel, ProgressCallback, WorkerResult } from './model-api';
import { probeRuntimes } from './runtime-probe';
import { graphExpandOf, graphInfoOf, graphRevealOf, graphSceneOf, graphSearchOf } from './graph-service';
import { nodeDetails, projectRecipe, tensorStatsOf } from './inspect-service';
import { tensorValuesOf } from './tensor-values';
import { compareClose, compareExpand, compareOpen, compareReveal, compareScene, compareWeights } from './compare-service';

/** The model of the last successful open; replaced only when a new one parses. */
let current: LoadedModel | undefined;

/** The parsed model, for the features that work on it. */
export function currentModel(): LoadedModel | undefined {
  return current;
}

/**
 * An AbortSignal that the page can fire while this worker is busy in synchronous code: reading
 * `aborted` (as the decoder does every so often) polls a flag in shared memory.
 */
function sharedFlagSignal(flag: Int32Array | undefined): AbortSignal {
  const controller = new AbortController();
  const signal = controller.signal;
  if (!flag) return signal;
  const poll = () => {
    if (!signal.aborted && Atomics.load(flag, 0) !== 0) controller.abort();
  };
  const nativeAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
  Object.defineProperty(signal, 'aborted', {
    get: () => {
      if (Atomics.load(flag, 0) !== 0 && !nativeAborted.call(signal)) controller.abort();
      return nativeAborted.call(signal) as boolean;
    },
  });
  const nativeThrow = signal.throwIfAborted.bind(signal);
  signal.throwIfAborted = () => {
    poll();
    nativeThrow();
  };
  return signal;
}

/** Progress goes to the page at most every 50 ms. */
function throttled(onProgress: ProgressCallback | undefined): ProgressCallback {
  let last = -Infinity;
  return (fraction, stage) => {
    const now = performance.now();
    if (onProgress && (now - last >= 50 || fraction >= 1)) {
      last = now;
      void onProgress(fraction, stage);
    }
  };
}

const api: ModelWorkerApi = {
  async open(files, onProgress, cancelFlag): Promise<WorkerResult<OpenedModel>> {
    const signal = sharedFlagSignal(cancelFlag && new Int32Array(cancelFlag));
    const progress = throttled(onProgress);
    try {
      const t0 = performance.now();
      const loaded = loadModel(
        files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.buffer) })),
        { signal, onProgress: progress },
      );
      progress(1, 'summary');
      const summary = summarizeModel(loaded);
      current = loaded;
      const others = files.filter((f) => f.name !== loaded.fileName);
      return {
        ok: true,
        value: {
          fileName: loaded.fileName,
          fileBytes: loaded.fileSize,
          files: [
            { name: loaded.fileName, bytes: loaded.fileSize },
            ...others.map((f) => ({ name: f.name, bytes: f.buffer.byteLength })),
          ],
          summary,
          parseMs: performance.now() - t0,
        },
      };
    } catch (e) {
      return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
    }
  },

  probeRuntimes,

  graphInfo: () => graphInfoOf(current),
  graphScene: (expanded, engine) => graphSceneOf(current, expanded, engine),
  graphExpand: (id) => graphExpandOf(current, id),
  graphSearch: (query, limit) => graphSearchOf(current, query, limit),
  graphReveal: (id) => graphRevealOf(current, id),

  async inspectNode(key) {
    return answer(() => nodeDetails(current, key));
  },
  async tensorStats(id) {
    return answer(() => tensorStatsOf(current, id));
  },
  async tensorValues(id, offset, count) {
    return answer(() => tensorValuesOf(current, id, offset, count));
  },
  async projectSize(recipe, focusKey) {
    return answer(() => projectRecipe(current, recipe, focusKey));
  },

  async compareOpen(compressed, layers) {
    try {
      const bytes = new Uint8Array(await compressed.arrayBuffer());
      return answer(() => compareOpen(current, bytes, layers));
    } catch (e) {
      return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
    }
  },
  async compareScene(side, expanded) {
    try {
      return { ok: true, value: await compareScene(current, side, expanded) };
    } catch (e) {
      return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
    }
  },
  async compareExpand(side, id) {
    return answer(() => compareExpand(current, side, id));
  },
  async compareReveal(side, id) {
    return answer(() => compareReveal(current, side, id));
  },
  async compareWeights(key, group) {
    return answer(() => compareWeights(current, key, group));
  },
  async compareClose() {
    compareClose();
  },
};

/** Runs `work` and answers with its value, or with the error as data (errors lose their type in postMessage). */
function answer<T>(work: () => T): WorkerResult<T> {
  try {
    return { ok: true, value: work() };
  } catch (e) {
    return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
  }
}

expose(api);
