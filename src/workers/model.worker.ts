/**
 * The model worker: parses dropped files off the main thread, once per open, and keeps the
 * parsed model for the features that work on it (graph, inspector, projection, compare) and for
 * the other workers, which get it as a snapshot (compress, explore) or as runnable bytes (bench,
 * verify) instead of decoding the file again. A thin kit `serve` over src/onnx, src/graph,
 * src/compress.
 */
import { AppError } from '../core/errors';
import type { FileBytes } from '../onnx/chunked';
import { nodeDetails, tensorStatsOf } from '../onnx/inspect';
import { loadModel, type DataFile, type InputFile, type LoadedModel } from '../onnx/load';
import { runnableBytes, snapshotOf } from '../onnx/snapshot';
import { summarizeModel } from '../onnx/summary';
import { projectRecipe } from '../compress/project-recipe';
import type { ModelWorkerApi, OpenProgress } from './model-api';
import { probeRuntimes } from './runtime-probe';
import { graphExpandOf, graphInfoOf, graphRevealOf, graphSceneOf, graphSearchOf } from './graph-service';
import { compareClose, compareExpand, compareOpen, compareReveal, compareScene, compareWeights } from './compare-service';
import { reportChunks, reportDecodes } from './kit/debug';
import { tensorValuesOf } from './tensor-values';
import { blobDataFile, handoverOf, readFiles } from './read-files';
import { serve, withTransfer, type Handlers } from './kit/serve';

reportDecodes('model');

/** The open model: replaced only when a new one parses. */
interface Session {
  id: number;
  loaded: LoadedModel;
  /** the files read whole (the model among them) */
  files: InputFile[];
  /** the data files read in chunks (larger than one chunk) */
  data: DataFile[];
  /** the Blob each of those was read from: what other workers get (they read it themselves) */
  sources: Map<FileBytes, Blob>;
}
let session: Session | undefined;
let nextSession = 1;

/** The model of session `id`, or an error saying it is gone (another model was opened, or the worker restarted). */
function modelOf(id: number): LoadedModel {
  if (!session) throw new AppError('invalid-argument', 'No model is open.');
  if (session.id !== id) throw new AppError('invalid-argument', 'That model is no longer open (another one was opened since).');
  return session.loaded;
}

/** Progress goes to the page at most every 50 ms. */
function throttled(report: (p: OpenProgress) => void): (fraction: number, stage: string) => void {
  let last = -Infinity;
  return (fraction, stage) => {
    const now = performance.now();
    if (now - last >= 50 || fraction >= 1) {
      last = now;
      report({ fraction, stage });
    }
  };
}

const handlers: Handlers<ModelWorkerApi> = {
  async open(ctx, files, options = {}) {
    const progress = throttled(ctx.progress);
    const t0 = performance.now();
    // read here, in slices: a data file larger than one chunk is held in chunks (read-files.ts)
    const read = await readFiles(files, { signal: ctx.signal, chunkBytes: options.chunkBytes, onProgress: (done, total) => progress(total > 0 ? done / total : 1, 'reading') });
    reportChunks('model', read.data);
    const loaded = loadModel(read.whole, { signal: ctx.signal, onProgress: progress, data: read.data });
    progress(1, 'summary');
    const summary = summarizeModel(loaded);
    session = { id: nextSession++, loaded, files: read.whole, data: read.data, sources: read.sources };
    const others = files.filter((f) => f.name !== loaded.fileName);
    return {
      session: session.id,
      fileName: loaded.fileName,
      fileBytes: loaded.fileSize,
      files: [{ name: loaded.fileName, bytes: loaded.fileSize }, ...others.map((f) => ({ name: f.name, bytes: f.blob.size, ...(read.data.some((d) => d.name === f.name) ? { fromBlob: true as const } : {}) }))],
      summary,
      parseMs: performance.now() - t0,
    };
  },

  probeRuntimes: () => probeRuntimes(),

  snapshot(_ctx, id) {
    const loaded = modelOf(id);
    // structured clone copies the file's buffer once (tensors are views into it); a data file held
    // in chunks goes as its Blob, which the receiving worker reads itself (read-files.ts)
    return handoverOf(snapshotOf(loaded, [...session!.files, ...session!.data]), session!.sources);
  },

  runnable(_ctx, id) {
    const loaded = modelOf(id);
    const buffer = runnableBytes(loaded, session!.files.find((f) => f.name === loaded.fileName)!.bytes);
    return withTransfer(buffer, [buffer]);
  },

  graphInfo: (_ctx, id) => graphInfoOf(modelOf(id)),
  graphScene: (_ctx, id, expanded, engine) => graphSceneOf(modelOf(id), expanded, engine),
  graphExpand: (_ctx, id, group) => graphExpandOf(modelOf(id), group),
  graphSearch: (_ctx, id, query, limit) => graphSearchOf(modelOf(id), query, limit),
  graphReveal: (_ctx, id, node) => graphRevealOf(modelOf(id), node),

  inspectNode: (_ctx, id, key) => nodeDetails(modelOf(id), key),
  tensorStats: (_ctx, id, tensor) => tensorStatsOf(modelOf(id), tensor),
  tensorValues: (_ctx, id, tensor, offset, count) => tensorValuesOf(modelOf(id), tensor, offset, count),
  projectSize: (_ctx, id, recipe, focusKey) => projectRecipe(modelOf(id), recipe, focusKey),

  async compareOpen(ctx, id, compressed, layers, compressedData) {
    const original = modelOf(id);
    const bytes = new Uint8Array(await compressed.arrayBuffer());
    // the result's data file (it may pass 2 GiB): read from its Blob by offset when a tensor is asked for
    const data = compressedData ? [await blobDataFile(compressedData, ctx.signal)] : [];
    return compareOpen(original, bytes, layers, data);
  },
  compareScene: (_ctx, id, side, expanded) => compareScene(modelOf(id), side, expanded),
  compareExpand: (_ctx, id, side, group) => compareExpand(modelOf(id), side, group),
  compareReveal: (_ctx, id, side, node) => compareReveal(modelOf(id), side, node),
  compareWeights: (_ctx, id, key, group) => compareWeights(modelOf(id), key, group),
  compareClose() {
    compareClose();
  },
};

serve(handlers);
