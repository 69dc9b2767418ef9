/**
 * A loaded model as plain data, to hand to another thread without decoding the file again: the
 * decoded model (tensors stay views into the file's buffer, which travels once), its name and
 * size, and the external data files given with it. `fromSnapshot` rebuilds the LoadedModel on the
 * other side; `buffersOf` lists the buffers to transfer rather than copy.
 */
import { encodeModel } from './codec';
import { externalReferences, filesResolver, inlineExternalData } from './external';
import { dataFiles, type DataFile, type LoadedModel } from './load';
import { AppError } from '../core/errors';
import type { ExternalDataResolver, Model } from './types';

export interface ModelSnapshot {
  model: Model;
  fileName: string;
  fileSize: number;
  renamedNodes: number;
  reorderedNodes?: number;
  /** the files given beside the model (external data), named relative to its folder; large ones in chunks */
  data: DataFile[];
}

/** `loaded` as plain data; `files` are the files it was loaded from. */
export function snapshotOf(loaded: LoadedModel, files: readonly DataFile[]): ModelSnapshot {
  const modelFile = files.find((f) => f.name === loaded.fileName);
  return {
    model: loaded.model,
    fileName: loaded.fileName,
    fileSize: loaded.fileSize,
    renamedNodes: loaded.renamedNodes,
    ...(loaded.reorderedNodes ? { reorderedNodes: loaded.reorderedNodes } : {}),
    data: modelFile ? dataFiles(modelFile, files) : [],
  };
}

/** The LoadedModel a snapshot was made of (no decoding: the model is already decoded). */
export function fromSnapshot(s: ModelSnapshot): LoadedModel {
  return {
    model: s.model,
    fileName: s.fileName,
    fileSize: s.fileSize,
    renamedNodes: s.renamedNodes,
    ...(s.reorderedNodes ? { reorderedNodes: s.reorderedNodes } : {}),
    ...(s.data.length > 0 ? { external: filesResolver(s.data) } : {}),
  };
}

/** The model with its external data inline; past 2 GB, a message saying what cannot run and what can. */
function inlined(loaded: LoadedModel, external: ExternalDataResolver): Model {
  try {
    return inlineExternalData(loaded.model, external, { baseSize: loaded.fileSize });
  } catch (e) {
    if (!(e instanceof AppError && e.code === 'too-large')) throw e;
    throw new AppError(
      'too-large',
      `${loaded.fileName} is over 2 GB with its external data: benchmarks and the runtime check run a model on onnxruntime-web as one file, which holds at most 2 GB (and its WebAssembly memory at most 4 GB). Opening, compressing and exporting work; to run it, use the CLI (npm run cli -- eval ORIGINAL COMPRESSED), which reads the data files beside the models.`,
    );
  }
}

/**
 * The model as one self-contained file that a runtime can load (onnxruntime-web would need
 * external data mounted): the file's own bytes when it has no external tensors, else the model
 * encoded with its external data inline. A fresh buffer of exactly those bytes either way.
 */
export function runnableBytes(loaded: LoadedModel, modelFileBytes: Uint8Array): ArrayBuffer {
  const bytes = loaded.external && externalReferences(loaded.model).length > 0 ? encodeModel(inlined(loaded, loaded.external)) : modelFileBytes.slice();
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : (bytes.slice().buffer as ArrayBuffer);
}

/** Every distinct ArrayBuffer under `value` (typed arrays' buffers included), for a transfer list. */
export function buffersOf(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof ArrayBuffer) found.add(v);
    else if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) found.add(v.buffer);
    } else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v instanceof Map) for (const [k, x] of v) stack.push(k, x);
    else for (const x of Object.values(v)) stack.push(x);
  }
  return [...found];
}
