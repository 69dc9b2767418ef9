/**
 * What the compress worker does, without comlink or the DOM, so that Node tests run exactly the
 * page's code path: load the files -> compressModel -> pull any remaining external data inline
 * -> encodeModel. The CLI's `compress` runs the same core calls in the same order (src/cli/
 * compress.ts), and a test checks that both give identical bytes.
 */
import { throwIfAborted } from '../core/errors';
import { compressModel, type CompressReport } from '../compress/compress';
import { parseRecipe, type Recipe } from '../compress/recipe';
import { encodeModel } from '../onnx/codec';
import { externalReferences, inlineExternalData } from '../onnx/external';
import { loadModel, type InputFile } from '../onnx/load';
import type { ExternalDataResolver, Model } from '../onnx/types';
import type { CompressProgressCallback, CompressTimings } from './compress-api';

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: CompressProgressCallback;
  /** clock for the timings (performance.now in the worker) */
  now?: () => number;
}

export interface RunResult {
  fileName: string;
  originalBytes: number;
  bytes: Uint8Array;
  report: CompressReport;
  timings: Omit<CompressTimings, 'readMs'>;
}

/**
 * Compresses a model given as files (the model plus its external data files). The recipe is
 * validated again here (it crossed a thread boundary): a bad one throws AppError naming the key.
 */
export function runCompression(files: readonly InputFile[], recipeJson: Recipe | unknown, options: RunOptions = {}): RunResult {
  const { signal, onProgress } = options;
  const now = options.now ?? (() => 0);
  const recipe = parseRecipe(recipeJson);
  throwIfAborted(signal);
  onProgress?.({ stage: 'parse', done: 0, total: 0, layerKey: '', finished: [] });
  const t0 = now();
  const loaded = loadModel(files, { signal });
  let planned = 0;
  const t1 = now();
  const { model, report } = compressModel(loaded.model, recipe, {
    signal,
    external: loaded.external,
    onProgress: (done, total, layerKey) => {
      planned = total;
      onProgress?.({ stage: 'compress', done, total, layerKey, finished: layerKey ? [layerKey] : [] });
    },
  });
  const t2 = now();
  throwIfAborted(signal);
  onProgress?.({ stage: 'encode', done: planned, total: planned, layerKey: '', finished: [] });
  const bytes = encodeCompressed(model, loaded.external);
  const t3 = now();
  return {
    fileName: loaded.fileName,
    originalBytes: files.reduce((n, f) => n + f.bytes.length, 0),
    bytes,
    report,
    timings: { parseMs: t1 - t0, compressMs: t2 - t1, encodeMs: t3 - t2 },
  };
}

/** One self-contained file: tensors left external (untouched layers) are pulled inline first. */
export function encodeCompressed(model: Model, external: ExternalDataResolver | undefined): Uint8Array {
  if (externalReferences(model).length > 0 && external) return encodeModel(inlineExternalData(model, external));
  return encodeModel(model);
}
