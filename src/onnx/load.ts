/**
 * Loading a model: pick the model among the files given (others are external data candidates),
 * sniff it (a clear message for files that are not ONNX), decode, give every node a unique name,
 * and check that external data references resolve.
 */
import { AppError, throwIfAborted } from '../core/errors';
import type { FileBytes } from './chunked';
import { decodeModel } from './codec';
import { checkExternalData, filesResolver, type ExternalFiles } from './external';
import { assignNodeNames } from './names';
import { sniffFormat } from './sniff';
import { sortNodes } from './topo';
import type { ExternalDataResolver, Model } from './types';

export interface LoadedModel {
  model: Model;
  fileName: string;
  fileSize: number;
  /** reads the model's external data (present when other files were given, or the model has external tensors) */
  external?: ExternalDataResolver;
  /** nodes whose empty or repeated name was replaced on load */
  renamedNodes: number;
  /** nodes that read a value made by a node listed after them: the graphs were put in topological order on load (onnx/topo.ts) */
  reorderedNodes?: number;
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number, stage: string) => void;
  /** name for a model given as bare bytes (default 'model.onnx') */
  fileName?: string;
  /** external data files from elsewhere (e.g. the CLI's files beside the model), used instead of the other files */
  external?: ExternalFiles;
  /**
   * files that are never the model, held in chunks (src/onnx/chunked.ts: larger than one buffer
   * may be): external data candidates beside the other files given
   */
  data?: readonly DataFile[];
}

export interface InputFile {
  name: string;
  bytes: Uint8Array;
}

/** A file given beside the model: its bytes in one buffer or in chunks. */
export interface DataFile {
  name: string;
  bytes: FileBytes;
}

/** Picks the model among several files: the one that sniffs as ONNX (a .onnx name breaks ties). */
function pickModel(files: readonly InputFile[]): InputFile {
  if (files.length === 0) throw new AppError('invalid-argument', 'No file was given.');
  if (files.length === 1) return files[0];
  const verdicts = files.map((f) => ({ f, v: sniffFormat(f.bytes) }));
  let candidates = verdicts.filter((x) => x.v.ok).map((x) => x.f);
  if (candidates.length > 1) {
    const named = candidates.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
    if (named.length >= 1) candidates = named;
  }
  if (candidates.length === 1) return candidates[0];
  if (candidates.length > 1) {
    throw new AppError(
      'invalid-argument',
      `Several ONNX models were given (${candidates.map((f) => f.name).join(', ')}); open one model (with its data files) at a time.`,
    );
  }
  // None is ONNX: report on the one that was most likely meant as the model.
  const meant =
    verdicts.find((x) => x.f.name.toLowerCase().endsWith('.onnx')) ??
    verdicts.find((x) => !x.v.ok && x.v.code === 'truncated') ??
    undefined;
  if (meant && !meant.v.ok) {
    throw new AppError(meant.v.code, `${meant.f.name}: ${meant.v.message}`);
  }
  throw new AppError('not-onnx', `None of the ${files.length} files is an ONNX model (${files.map((f) => f.name).join(', ')}).`);
}

/** The files given beside the model file (external data candidates), named relative to its folder. */
export function dataFiles(modelFile: { name: string }, files: readonly DataFile[]): DataFile[] {
  const modelName = modelFile.name.replace(/\\/g, '/');
  const dir = modelName.slice(0, modelName.lastIndexOf('/') + 1);
  return files
    .filter((f) => f !== modelFile)
    .map((f) => {
      const name = f.name.replace(/\\/g, '/');
      return dir && name.startsWith(dir) ? { name: name.slice(dir.length), bytes: f.bytes } : f;
    });
}

/** Reads a model from bytes or from several files (model plus external data). Throws AppError. */
export function loadModel(input: readonly InputFile[] | Uint8Array, options: LoadOptions = {}): LoadedModel {
  const { signal, onProgress } = options;
  const files: readonly InputFile[] = input instanceof Uint8Array ? [{ name: options.fileName ?? 'model.onnx', bytes: input }] : input;
  throwIfAborted(signal);
  onProgress?.(0, 'sniff');
  const file = pickModel(files);
  const verdict = sniffFormat(file.bytes);
  if (!verdict.ok) throw new AppError(verdict.code, verdict.message);
  throwIfAborted(signal);

  onProgress?.(0.05, 'decode');
  const model = decodeModel(file.bytes, { signal, name: file.name });
  throwIfAborted(signal);

  onProgress?.(0.9, 'names');
  const renamedNodes = assignNodeNames(model);
  // (after naming: an unnamed node's key follows the file's order)
  const reorderedNodes = sortNodes(model);

  onProgress?.(0.95, 'external data');
  // Names of the other files relative to the model's folder (a dropped folder gives 'dir/model.onnx').
  const others = dataFiles(file, [...files, ...(options.data ?? [])]);
  const external: ExternalFiles | undefined = options.external ?? (others.length > 0 ? filesResolver(others) : undefined);
  checkExternalData(model, external);
  throwIfAborted(signal);

  onProgress?.(1, 'done');
  return { model, fileName: file.name, fileSize: file.bytes.length, external, renamedNodes, ...(reorderedNodes > 0 ? { reorderedNodes } : {}) };
}
