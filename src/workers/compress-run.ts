/**
 * What the compress worker does, without the worker plumbing or the DOM, so that Node tests run
 * exactly the page's code path: the loaded model (the worker's comes from the model worker's
 * snapshot: prepareLoaded; from files: prepareCompression) -> compressModel -> pull any remaining
 * external data inline -> encodeModel. The CLI's `compress` runs the same core calls in the same
 * order (src/cli/compress.ts), and tests check that both give identical bytes
 * (compress-run.test.ts, model-session.test.ts).
 */
import { throwIfAborted } from '../core/errors';
import { AppError } from '../core/errors';
import { compressModel, compressModelStreaming, modelTensorBytes, type CompressOptions, type CompressReport } from '../compress/compress';
import { blockwiseSimdAvailable } from '../compress/quantize/blockwise-simd';
import type { Calibration } from '../compress/activations/calibrate';
import type { HessianSource, LayerHessian } from '../compress/recovery/hessian';
import { wantsRecovery } from '../compress/recovery/plan';
import { parseRecipe, resolveRecipe, type Recipe } from '../compress/recipe';
import { encodeModel } from '../onnx/codec';
import { dataFilePieces, externalReferences, inlineExternalData, planExternalData } from '../onnx/external';
import { recipeLayers } from '../onnx/stored-tensors';
import { loadModel, type InputFile, type LoadedModel } from '../onnx/load';
import type { ExternalDataResolver, Model } from '../onnx/types';
import type { CompressProgressCallback, CompressTimings } from './compress-api';

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: CompressProgressCallback;
  /** clock for the timings (performance.now in the worker) */
  now?: () => number;
  /**
   * Weights beyond this many stored bytes go to an external data file beside the model. Left
   * out: only when the single file would break protobuf's 2 GB limit.
   */
  singleFileLimit?: number;
}

/** The external data file of a result too large for one protobuf file. */
export interface DataFile {
  /** the file name the model's tensors refer to (their `location`) */
  name: string;
  /** the file's bytes */
  size: number;
  /**
   * the file as pieces in order (tensors' bytes and zero gaps, dataFilePieces), each read when
   * the iteration reaches it (a tensor of a data file held in chunks is read from its Blob then):
   * the worker puts each into a Blob part as it comes (blobOfPieces), so the file is never one
   * buffer (it may pass 2 GiB) and is never held twice. Each call reads afresh.
   */
  pieces(): Iterable<Uint8Array>;
}

export interface RunResult {
  fileName: string;
  originalBytes: number;
  bytes: Uint8Array;
  /** present when the weights had to go to an external data file */
  data?: DataFile;
  report: CompressReport;
  timings: Omit<CompressTimings, 'readMs'>;
}

/** A model loaded for compression, with its validated recipe (prepareCompression). */
export interface Prepared {
  recipe: Recipe;
  loaded: LoadedModel;
  originalBytes: number;
  parseMs: number;
  /** target wasm and some Conv asks for int8 activations: calibration ranges would be used */
  wantsCalibration: boolean;
  /** some layer asks for recovery "gptq": H of its inputs on calibration samples would be used */
  wantsRecovery: boolean;
}

/**
 * Parses the recipe and loads the model given as files (the model plus its external data files).
 * The recipe is validated again here (it crossed a thread boundary): a bad one throws AppError
 * naming the key.
 */
export function prepareCompression(files: readonly InputFile[], recipeJson: Recipe | unknown, options: RunOptions = {}): Prepared {
  const { signal, onProgress } = options;
  const now = options.now ?? (() => 0);
  const recipe = parseRecipe(recipeJson);
  throwIfAborted(signal);
  onProgress?.({ stage: 'parse', done: 0, total: 0, layerKey: '', finished: [] });
  const t0 = now();
  const loaded = loadModel(files, { signal });
  return prepareLoaded(loaded, files.reduce((n, f) => n + f.bytes.length, 0), recipe, now() - t0);
}

/**
 * prepareCompression for a model parsed already (the compress worker's model, handed over by the
 * model worker): validates the recipe and says whether calibration would be used.
 */
export function prepareLoaded(loaded: LoadedModel, originalBytes: number, recipeJson: Recipe | unknown, parseMs = 0): Prepared {
  const recipe = parseRecipe(recipeJson);
  // int8 activations are written for target wasm only (other targets keep those layers weights-only),
  // and only Convs keep static (calibrated) ones there: Gemm/MatMul keep int8 weights only on wasm
  // (activations/cost.ts), so a transformer is not run through a calibration pass for nothing
  const wantsCalibration =
    recipe.target === 'wasm' && resolveRecipe(recipe, recipeLayers(loaded.model)).some((l) => l.op === 'Conv' && l.settings.activations === 'int8');
  return { recipe, loaded, originalBytes, parseMs, wantsCalibration, wantsRecovery: wantsRecovery(loaded.model, recipe) };
}

/** Compresses a prepared model (with activation ranges when given) and encodes the result. */
export function finishCompression(prepared: Prepared, options: RunOptions & { calibration?: Calibration; recovery?: ReadonlyMap<string, LayerHessian> } = {}): RunResult {
  const { recovery } = options;
  const now = options.now ?? (() => 0);
  const t1 = now();
  const { compress, planned } = compressOptions(prepared, options);
  const { model, report } = compressModel(prepared.loaded.model, prepared.recipe, { ...compress, ...(recovery ? { recovery } : {}) });
  return encodeStep(prepared, model, report, planned(), now() - t1, options);
}

/**
 * finishCompression with each recovered layer's H from `source` (statistics collected in passes as
 * compression reaches the layers, each pass freed after: hessian.ts hessianSource). The same bytes.
 */
export async function finishCompressionStreaming(prepared: Prepared, source: HessianSource, options: RunOptions & { calibration?: Calibration } = {}): Promise<RunResult> {
  const now = options.now ?? (() => 0);
  const t1 = now();
  const { compress, planned } = compressOptions(prepared, options);
  const { model, report } = await compressModelStreaming(prepared.loaded.model, prepared.recipe, source, compress);
  return encodeStep(prepared, model, report, planned(), now() - t1, options);
}

/** compressModel's options from the run's, and the layer count it planned (known once it reports). */
function compressOptions(prepared: Prepared, options: RunOptions & { calibration?: Calibration }): { compress: CompressOptions; planned: () => number } {
  const { signal, onProgress, calibration } = options;
  let planned = 0;
  const compress: CompressOptions = {
    signal,
    external: prepared.loaded.external,
    ...(calibration ? { calibration } : {}),
    onProgress: (done, total, layerKey) => {
      planned = total;
      onProgress?.({ stage: 'compress', done, total, layerKey, finished: layerKey ? [layerKey] : [] });
    },
  };
  return { compress, planned: () => planned };
}

/** Encodes the compressed model (one file, or with its external data file). */
function encodeStep(prepared: Prepared, model: Model, report: CompressReport, planned: number, compressMs: number, options: RunOptions): RunResult {
  const { signal, onProgress } = options;
  const now = options.now ?? (() => 0);
  const t2 = now();
  throwIfAborted(signal);
  onProgress?.({ stage: 'encode', done: planned, total: planned, layerKey: '', finished: [] });
  const { loaded } = prepared;
  const { bytes, data } = encodeResult(model, loaded.external, dataFileName(loaded.fileName), options.singleFileLimit);
  const t3 = now();
  return {
    fileName: loaded.fileName,
    originalBytes: prepared.originalBytes,
    bytes,
    ...(data ? { data } : {}),
    report,
    timings: { parseMs: prepared.parseMs, compressMs, encodeMs: t3 - t2, quantizer: blockwiseSimdAvailable() ? 'wasm-simd' : 'scalar' },
  };
}

/** Compresses a model given as files, without calibration: prepareCompression then finishCompression. */
export function runCompression(files: readonly InputFile[], recipeJson: Recipe | unknown, options: RunOptions = {}): RunResult {
  return finishCompression(prepareCompression(files, recipeJson, options), options);
}

/** `<stem>.compressed.onnx.data` for a model file `<stem>.onnx`: the external data file of a large result. */
export function dataFileName(modelFileName: string): string {
  const base = modelFileName.replace(/\\/g, '/').split('/').pop() ?? '';
  const stem = base.replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'model';
  return `${stem}.compressed.onnx.data`;
}

/**
 * The result as one self-contained file when it fits (protobuf's 2 GB limit, or `limit` stored
 * weight bytes when given), else the model with its weights in the external data file `dataName`.
 */
export function encodeResult(
  model: Model,
  external: ExternalDataResolver | undefined,
  dataName: string,
  limit?: number,
): { bytes: Uint8Array; data?: DataFile } {
  if (limit === undefined || modelTensorBytes(model) <= limit) {
    try {
      return { bytes: encodeCompressed(model, external) };
    } catch (e) {
      if (!(e instanceof AppError && e.code === 'too-large')) throw e;
    }
  }
  // the layout of the CLI's --external-data (planExternalData), so the bytes are the CLI's
  const plan = planExternalData(model, dataName, { resolver: external });
  return { bytes: encodeModel(plan.model), data: { name: dataName, size: plan.size, pieces: () => dataFilePieces(plan) } };
}

/**
 * Bytes gathered into one Blob part: tensors share a part up to this, a tensor this large or
 * larger is a part of its own. Parts of 16 MiB (a Blob per [4096, 4096] fp32 tensor) made the
 * 2.21 GB fp32 result take 58-61 s instead of 32-35 s in Chromium; 256 MiB took 32.4 s and
 * peaked 0.3 GiB higher (docs/EXPORT.md).
 */
export const BLOB_PART_BYTES = 256 << 20;

/**
 * One Blob of `pieces`, made as they come: each piece (or a run of small ones, up to `partBytes`)
 * becomes a Blob part at once, and the result is a Blob of those parts (no copy of them), so the
 * bytes are held once, in the Blobs, plus the piece being read, never as one buffer (the data file
 * may pass 2 GiB) nor twice (all the pieces, then one Blob copying them). Checks `signal` per piece.
 */
export function blobOfPieces(pieces: Iterable<Uint8Array>, options: { signal?: AbortSignal; partBytes?: number } = {}): { blob: Blob; parts: number } {
  const partBytes = options.partBytes ?? BLOB_PART_BYTES;
  const parts: Blob[] = [];
  let batch: Uint8Array<ArrayBuffer>[] = [];
  let batched = 0;
  const flush = () => {
    if (batch.length > 0) parts.push(new Blob(batch));
    batch = [];
    batched = 0;
  };
  for (const piece of pieces) {
    throwIfAborted(options.signal);
    if (piece.length >= partBytes) flush();
    batch.push(piece as Uint8Array<ArrayBuffer>);
    batched += piece.length;
    if (batched >= partBytes) flush();
  }
  flush();
  return { blob: new Blob(parts, { type: 'application/octet-stream' }), parts: parts.length };
}

/** One self-contained file: tensors left external (untouched layers) are pulled inline first. */
export function encodeCompressed(model: Model, external: ExternalDataResolver | undefined): Uint8Array {
  if (externalReferences(model).length > 0 && external) return encodeModel(inlineExternalData(model, external));
  return encodeModel(model);
}
