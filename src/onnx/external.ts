/**
 * External data: tensors whose bytes live in a separate file (TensorProto.data_location =
 * EXTERNAL, external_data keys location/offset/length). Resolvers read those bytes; this module
 * validates references, pulls data into the model (inline) and moves it out (externalize).
 * Neither transform mutates its input model: changed tensors are fresh objects in a copied tree,
 * and unchanged large data stays shared (views).
 */
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { readChunked, type FileBytes } from './chunked';
import { MAX_MESSAGE_BYTES } from './codec';
import { modelGraphs } from './names';
import { dtypeBits, externalInfo, isExternal, tensorRawBytes } from './tensor';
import { DataLocation, DataType, type ExternalDataResolver, type Model, type Tensor } from './types';

export type { ExternalDataResolver } from './types';

/** A resolver that also knows the size of each file (undefined when the file is missing). */
export interface ExternalFiles extends ExternalDataResolver {
  size(location: string): number | undefined;
}

/**
 * Checks an external data location and returns it normalised ('/' separators, no './').
 * Refuses absolute paths and any '..' segment: data must lie in the model's folder or below.
 */
export function checkLocation(location: string): string {
  if (!location) throw new AppError('external-data', 'An external data reference names no file.');
  const norm = location.replace(/\\/g, '/');
  if (norm.startsWith('/') || /^[A-Za-z]:/.test(norm) || norm.includes('\0')) {
    throw new AppError('external-data', `External data location "${location}" is an absolute path; only files beside the model are read.`);
  }
  const parts = norm.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) {
    throw new AppError('external-data', `External data location "${location}" points outside the model's folder; only files beside the model are read.`);
  }
  if (parts.length === 0) throw new AppError('external-data', `External data location "${location}" names no file.`);
  return parts.join('/');
}

function baseName(p: string): string {
  const norm = p.replace(/\\/g, '/');
  return norm.slice(norm.lastIndexOf('/') + 1);
}

/** Checks [offset, offset + length) against a file of `size` bytes; returns the length to read. */
export function checkRange(location: string, size: number, offset: number, length: number | undefined): number {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new AppError('external-data', `External data offset ${offset} in "${location}" is invalid.`);
  }
  if (offset > size) {
    throw new AppError('external-data', `External data offset ${offset} is beyond the end of "${location}" (${size} bytes).`);
  }
  const len = length ?? size - offset;
  if (!Number.isSafeInteger(len) || len < 0 || offset + len > size) {
    throw new AppError(
      'external-data',
      `External data in "${location}" (offset ${offset}, length ${len}) runs past the end of the file (${size} bytes).`,
    );
  }
  return len;
}

/**
 * A resolver over files held in memory (e.g. dropped in the page together with the model), each
 * in one buffer or in chunks (src/onnx/chunked.ts: files over what one buffer may hold). A location matches a file of the same relative path, or else of the same base name.
 */
export function filesResolver(
  files: ReadonlyMap<string, FileBytes> | Record<string, FileBytes> | readonly { name: string; bytes: FileBytes }[],
): ExternalFiles {
  const byPath = new Map<string, FileBytes>();
  const entries: [string, FileBytes][] = Array.isArray(files)
    ? (files as readonly { name: string; bytes: FileBytes }[]).map((f) => [f.name, f.bytes])
    : files instanceof Map
      ? [...(files as ReadonlyMap<string, FileBytes>).entries()]
      : Object.entries(files as Record<string, FileBytes>);
  const byBase = new Map<string, FileBytes | null>();
  for (const [name, bytes] of entries) {
    const norm = name.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
    byPath.set(norm, bytes);
    const base = baseName(norm);
    byBase.set(base, byBase.has(base) ? null : bytes); // null: ambiguous base name
  }
  const find = (location: string): FileBytes | undefined => {
    const loc = checkLocation(location);
    return byPath.get(loc) ?? byBase.get(baseName(loc)) ?? undefined;
  };
  return {
    size(location) {
      return find(location)?.length;
    },
    read(location, offset, length) {
      const bytes = find(location);
      if (!bytes) throw missingFile(location);
      const len = checkRange(location, bytes.length, offset, length);
      // a view, except where the bytes cross two chunks of a chunked file (then a copy of them)
      return readChunked(bytes, offset, len, location);
    },
  };
}

export function missingFile(location: string): AppError {
  return new AppError(
    'external-data',
    `The model's weights are in the external data file "${location}", which is missing: keep it beside the model (or drop it together with the model).`,
  );
}

/** Every tensor stored anywhere in the model: initializers, sparse parts, attribute tensors, in every graph and function. */
export function forEachTensor(model: Model, visit: (t: Tensor) => void): void {
  for (const rec of modelGraphs(model)) {
    if (rec.graph) {
      for (const t of rec.graph.initializers) visit(t);
      for (const s of rec.graph.sparseInitializers) {
        if (s.values) visit(s.values);
        if (s.indices) visit(s.indices);
      }
    }
    for (const node of rec.nodes) {
      for (const a of node.attributes) {
        if (a.t) visit(a.t);
        for (const t of a.tensors) visit(t);
        for (const s of [...(a.sparseTensor ? [a.sparseTensor] : []), ...a.sparseTensors]) {
          if (s.values) visit(s.values);
          if (s.indices) visit(s.indices);
        }
      }
    }
    if (rec.fn) {
      for (const a of rec.fn.attributeProto) {
        if (a.t) visit(a.t);
        for (const t of a.tensors) visit(t);
      }
    }
  }
}

export interface ExternalReference {
  tensor: Tensor;
  location: string;
  offset: number;
  length: number | undefined;
}

/** The external references of a model (locations checked, not yet resolved). */
export function externalReferences(model: Model): ExternalReference[] {
  const refs: ExternalReference[] = [];
  forEachTensor(model, (t) => {
    if (!isExternal(t)) return;
    const info = externalInfo(t);
    refs.push({ tensor: t, location: checkLocation(info.location), offset: info.offset, length: info.length });
  });
  return refs;
}

/** Bytes a tensor's shape needs in raw form, or undefined for strings and invalid dims. */
function expectedBytes(t: Tensor): number | undefined {
  if (t.dataType === DataType.STRING) return undefined;
  const bits = dtypeBits(t.dataType);
  if (bits === 0) return undefined;
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
  }
  return Math.ceil((n * bits) / 8);
}

/**
 * Checks that every external reference resolves: a safe location, a file that is there, and
 * offset/length inside it. Throws AppError('external-data') naming the first problem.
 */
export function checkExternalData(model: Model, files: ExternalFiles | undefined): ExternalReference[] {
  const refs = externalReferences(model);
  for (const r of refs) {
    const size = files?.size(r.location);
    if (size === undefined) throw missingFile(r.location);
    const len = checkRange(r.location, size, r.offset, r.length);
    const need = expectedBytes(r.tensor);
    if (need !== undefined && len !== need) {
      throw new AppError(
        'external-data',
        `Tensor "${r.tensor.name ?? ''}" reads ${len} bytes from "${r.location}" but its shape needs ${need}.`,
      );
    }
  }
  return refs;
}

// ---------------------------------------------------------------------------------------------
// Copying the model tree (typed arrays and bytes are shared, not copied)

function cloneTree<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map((v) => cloneTree(v)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = cloneTree(v);
  return out as T;
}

/** A copy of the model's object tree that shares all tensor data with the original. */
export function cloneModel(model: Model): Model {
  return cloneTree(model);
}

function clearData(t: Tensor): void {
  t.rawData = undefined;
  t.floatData = undefined;
  t.int32Data = undefined;
  t.int64Data = undefined;
  t.doubleData = undefined;
  t.uint64Data = undefined;
  t.stringData = [];
  t.segment = undefined;
}

export interface InlineOptions {
  /** bytes of the model without its external data (e.g. the file's size), for the 2 GB check */
  baseSize?: number;
}

/**
 * A copy of the model with every external tensor's data pulled in as raw_data (views of what the
 * resolver returns) and its external fields removed. Throws AppError('too-large') before reading
 * anything when the result would pass protobuf's 2 GB.
 */
export function inlineExternalData(model: Model, resolver: ExternalDataResolver, options: InlineOptions = {}): Model {
  const out = cloneModel(model);
  const refs = externalReferences(out);
  let total = options.baseSize ?? 0;
  const sizes = refs.map((r) => r.length ?? (resolver as Partial<ExternalFiles>).size?.(r.location) ?? 0);
  for (const s of sizes) total += s;
  if (total > MAX_MESSAGE_BYTES) {
    throw new AppError(
      'too-large',
      `Inlining the external data would make a ${formatBytes(total)} model; one ONNX file is limited to 2 GB. Keep the weights in an external data file.`,
    );
  }
  for (const r of refs) {
    const bytes = resolver.read(r.location, r.offset, r.length);
    const need = expectedBytes(r.tensor);
    if (need !== undefined && bytes.length !== need) {
      throw new AppError(
        'external-data',
        `Tensor "${r.tensor.name ?? ''}" reads ${bytes.length} bytes from "${r.location}" but its shape needs ${need}.`,
      );
    }
    const t = r.tensor;
    clearData(t);
    t.rawData = bytes;
    t.externalData = [];
    t.dataLocation = undefined;
  }
  return out;
}

export interface ExternalizeOptions {
  /** tensors with at least this many stored bytes move to the data file (default 1024) */
  sizeThreshold?: number;
  /** reads tensors that are already external (they move into the new file too) */
  resolver?: ExternalDataResolver;
}

/** Tensors of 1 MB or more start on a 4096-byte boundary (page aligned, mmap friendly), others on 64. */
export const BIG_TENSOR_BYTES = 1 << 20;
export const BIG_ALIGN = 4096;
export const SMALL_ALIGN = 64;

/** One tensor's bytes in a planned data file: where they go, and how to get them when written. */
export interface ExternalPart {
  offset: number;
  length: number;
  /** the tensor's raw bytes (a view of the model's data, or a fresh read from its external file) */
  read(): Uint8Array;
}

/** A model whose large tensors refer to one data file, and that file's layout (planExternalData). */
export interface ExternalPlan {
  model: Model;
  location: string;
  /** the data file's size in bytes */
  size: number;
  /** in file order; the gaps between them are zeros (alignment) */
  parts: ExternalPart[];
}

/** Bytes an external tensor reads, found without reading them where the resolver knows its files' sizes. */
function externalLength(t: Tensor, resolver: ExternalDataResolver): number | (() => Uint8Array) {
  const info = externalInfo(t);
  const size = (resolver as Partial<ExternalFiles>).size?.(checkLocation(info.location));
  if (size === undefined) return () => resolver.read(info.location, info.offset, info.length);
  return checkRange(info.location, size, info.offset, info.length);
}

/**
 * Lays out the data file of externalizeData without building it: every tensor anywhere in the
 * model (initializers, Constant and other attribute tensors, sparse parts, subgraphs, functions)
 * holding at least `sizeThreshold` bytes, and every tensor already external (read through
 * `resolver`), gets an aligned place in one file named `dataFileName` (to lie beside the model).
 * Returns the new model (its tensors already refer to their places) and the parts to write; no
 * tensor's bytes are read or copied here, so the file can be written a part at a time. The input
 * model is not changed.
 */
export function planExternalData(model: Model, dataFileName: string, options: ExternalizeOptions = {}): ExternalPlan {
  const location = checkLocation(dataFileName);
  const threshold = options.sizeThreshold ?? 1024;
  const out = cloneModel(model);
  const moves: { t: Tensor; part: ExternalPart }[] = [];
  let end = 0;
  const seen = new Set<Tensor>();
  forEachTensor(out, (t) => {
    if (seen.has(t) || t.dataType === DataType.STRING) return;
    seen.add(t);
    let length: number;
    let read: () => Uint8Array;
    if (isExternal(t)) {
      const resolver = options.resolver;
      if (!resolver) {
        throw new AppError('external-data', `Tensor "${t.name ?? ''}" is already external and no data file was given to read it from.`);
      }
      const info = externalInfo(t);
      const known = externalLength(t, resolver);
      if (typeof known === 'number') {
        length = known;
        read = () => resolver.read(info.location, info.offset, info.length);
      } else {
        // a resolver that cannot tell sizes: the bytes are read now to learn their length
        const bytes = known();
        length = bytes.length;
        read = () => bytes;
      }
    } else {
      const stored = storedBytes(t);
      if (stored === 0 || stored < threshold) return;
      // raw_data is a view already; typed fields are packed now (clearData below empties the tensor)
      const bytes = tensorRawBytes(t);
      length = bytes.length;
      read = () => bytes;
    }
    const align = length >= BIG_TENSOR_BYTES ? BIG_ALIGN : SMALL_ALIGN;
    const offset = Math.ceil(end / align) * align;
    moves.push({ t, part: { offset, length, read } });
    end = offset + length;
  });
  for (const { t, part } of moves) {
    clearData(t);
    t.dataLocation = DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(part.offset) },
      { key: 'length', value: String(part.length) },
    ];
  }
  return { model: out, location, size: end, parts: moves.map((m) => m.part) };
}

/**
 * Moves the data of every tensor anywhere in the model holding at least `sizeThreshold` bytes
 * into one data file named `dataFileName` (planExternalData), and builds that file in memory.
 * Returns the new model and the data file's bytes; the input model is not changed. (A writer
 * that can write at offsets, as the CLI's, takes the plan and never holds the whole file.)
 */
export function externalizeData(
  model: Model,
  dataFileName: string,
  options: ExternalizeOptions = {},
): { model: Model; data: Uint8Array } {
  const plan = planExternalData(model, dataFileName, options);
  const data = new Uint8Array(plan.size);
  for (const p of plan.parts) {
    const bytes = p.read();
    if (bytes.length !== p.length) throw new AppError('external-data', `A tensor's data changed size while it was written (${bytes.length} bytes, planned ${p.length}).`);
    data.set(bytes, p.offset);
  }
  return { model: plan.model, data };
}

/**
 * The plan's data file as pieces in file order, each read only when the consumer asks for it
 * (write it, or put it in a Blob part, then ask for the next): each tensor's bytes (views, or a
 * fresh read from its external file) and the alignment gaps as zeros. The file is never one
 * buffer, so it may be larger than any buffer the engine allows, and a consumer that lets each
 * piece go before the next holds one tensor at a time. Every iteration reads afresh.
 */
export function* dataFilePieces(plan: ExternalPlan): Generator<Uint8Array, void, undefined> {
  const zeros = new Uint8Array(BIG_ALIGN);
  let end = 0;
  for (const p of plan.parts) {
    if (p.offset < end || p.offset - end >= BIG_ALIGN) throw new AppError('external-data', `A planned tensor at offset ${p.offset} does not follow the one before (ending at ${end}).`);
    if (p.offset > end) yield zeros.subarray(0, p.offset - end);
    const bytes = p.read();
    if (bytes.length !== p.length) throw new AppError('external-data', `A tensor's data changed size while it was written (${bytes.length} bytes, planned ${p.length}).`);
    end = p.offset + p.length;
    yield bytes;
  }
  if (end !== plan.size) throw new AppError('external-data', `The planned data file ends at ${end}, not at its size ${plan.size}.`);
}

/** Bytes a tensor's data takes where it is stored now (raw or typed fields). */
function storedBytes(t: Tensor): number {
  if (t.rawData) return t.rawData.length;
  const typed = t.floatData ?? t.int32Data ?? t.int64Data ?? t.doubleData ?? t.uint64Data;
  return typed ? typed.byteLength : 0;
}
