/**
 * The model worker: parses dropped files off the main thread and keeps the parsed model for
 * later work (graph, compression, benchmarks). A thin comlink `expose` over src/onnx.
 */
import { expose } from 'comlink';
import { errorMessage, isAppError } from '../core/errors';
import { loadModel, type LoadedModel } from '../onnx/load';
import { summarizeModel } from '../onnx/summary';
import type { ModelFileInput, ModelWorkerApi, OpenedModel, ProgressCallback, WorkerResult } from './model-api';
import { probeRuntimes } from './runtime-probe';

/** The model of the last successful open; replaced only when a new one parses. */
let current: LoadedModel | undefined;

/** The model file among several: the first *.onnx, else the first file. */
function modelFirst(files: ModelFileInput[]): ModelFileInput[] {
  const i = files.findIndex((f) => /\.onnx$/i.test(f.name));
  if (i <= 0) return files;
  return [files[i]!, ...files.slice(0, i), ...files.slice(i + 1)];
}

/** Progress goes to the page at most every 50 ms; each call also polls the cancel flag. */
function progressReporter(
  onProgress: ProgressCallback | undefined,
  cancel: Int32Array | undefined,
  controller: AbortController,
): ProgressCallback {
  let last = -Infinity;
  return (fraction, stage) => {
    if (cancel && Atomics.load(cancel, 0) !== 0 && !controller.signal.aborted) controller.abort();
    const now = performance.now();
    if (onProgress && (now - last >= 50 || fraction >= 1)) {
      last = now;
      void onProgress(fraction, stage);
    }
  };
}

const api: ModelWorkerApi = {
  async open(files, onProgress, cancelFlag): Promise<WorkerResult<OpenedModel>> {
    const controller = new AbortController();
    const progress = progressReporter(onProgress, cancelFlag && new Int32Array(cancelFlag), controller);
    const ordered = modelFirst(files);
    try {
      const t0 = performance.now();
      progress(0, 'parsing');
      const loaded = await loadModel(
        ordered.map((f) => ({ name: f.name, bytes: new Uint8Array(f.buffer) })),
        { signal: controller.signal, onProgress: progress },
      );
      progress(1, 'summarizing');
      const summary = summarizeModel(loaded);
      current = loaded;
      const model = ordered[0]!;
      return {
        ok: true,
        value: {
          fileName: model.name,
          fileBytes: model.buffer.byteLength,
          files: ordered.map((f) => ({ name: f.name, bytes: f.buffer.byteLength })),
          summary,
          parseMs: performance.now() - t0,
        },
      };
    } catch (e) {
      return { ok: false, code: isAppError(e) ? e.code : 'unexpected', message: errorMessage(e) };
    }
  },

  probeRuntimes,
};

/** Kept for the features that work on the open model; referenced so it is not "unused". */
export function currentModel(): LoadedModel | undefined {
  return current;
}

expose(api);
