/**
 * Reading dropped files inside a worker: the page hands the workers `File` objects (Blobs cross
 * postMessage without copying) and they read them here, in slices. Chromium refuses
 * `File.arrayBuffer()` for files over 2 GiB and `postMessage` of a buffer over 2 GiB, so a data
 * file larger than one chunk is held as several buffers (src/onnx/chunked.ts) and read by offset
 * through the external-data resolver. The model file itself is read whole (one ONNX file is at
 * most 2 GB).
 */
import { AppError, throwIfAborted } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { chunked, DEFAULT_CHUNK_BYTES, isChunked, type ChunkedBytes, type FileBytes } from '../onnx/chunked';
import { MAX_MESSAGE_BYTES } from '../onnx/codec';
import type { DataFile, InputFile } from '../onnx/load';
import type { ModelSnapshot } from '../onnx/snapshot';

/** A file as the page hands it to a worker. */
export interface NamedFile {
  name: string;
  blob: Blob;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** largest buffer to hold one file or chunk in (default 1 GiB; smaller in tests) */
  chunkBytes?: number;
  /** bytes read so far, out of all the files' bytes */
  onProgress?: (done: number, total: number) => void;
}

/** The files read: `whole` may be the model (one buffer each), `data` are external data only (chunked). */
export interface ReadFiles {
  whole: InputFile[];
  data: DataFile[];
  /** the Blob each chunked file was read from (keyed by its bytes), to hand to other workers */
  sources: Map<FileBytes, Blob>;
}

/** A data file held in chunks, as it crosses to another worker: its Blob, which that worker reads itself. */
export interface ChunkedBlob {
  name: string;
  blob: Blob;
  chunkBytes: number;
}

/**
 * A model snapshot as it crosses threads: the decoded model and the files held in one buffer (a
 * structured clone), and each data file held in chunks as its Blob, read again in chunks by the
 * worker receiving it (receiveHandover), so no message carries a copy of a file over one chunk
 * (Chromium refuses large messages, and the page would hold the file once more on the way).
 */
export interface SnapshotHandover extends Omit<ModelSnapshot, 'data'> {
  data: DataFile[];
  blobs: ChunkedBlob[];
}

/** The handover of `snapshot`: its chunked files replaced by the Blobs they were read from. */
export function handoverOf(snapshot: ModelSnapshot, sources: ReadonlyMap<FileBytes, Blob>): SnapshotHandover {
  const data: DataFile[] = [];
  const blobs: ChunkedBlob[] = [];
  for (const f of snapshot.data) {
    const blob = isChunked(f.bytes) ? sources.get(f.bytes) : undefined;
    if (blob && isChunked(f.bytes)) blobs.push({ name: f.name, blob, chunkBytes: f.bytes.chunkBytes });
    else data.push(f);
  }
  return { ...snapshot, data, blobs };
}

/** Reads bytes [start, end) of a Blob synchronously. */
export type SyncBlobReader = (blob: Blob, start: number, end: number) => Uint8Array;

/** FileReaderSync where this thread has it (dedicated workers in browsers), else undefined (Node). */
export function syncBlobReader(): SyncBlobReader | undefined {
  const Reader = (globalThis as { FileReaderSync?: new () => { readAsArrayBuffer(b: Blob): ArrayBuffer } }).FileReaderSync;
  if (!Reader) return undefined;
  const reader = new Reader();
  return (blob, start, end) => new Uint8Array(reader.readAsArrayBuffer(blob.slice(start, end)));
}

/**
 * The snapshot a handover stands for, its chunked files left in their Blobs and read by offset
 * when a tensor is asked for (LazyBytes): the receiving worker never holds the data file, only
 * the tensor being read, as the CLI reads its data files.
 */
export function receiveHandoverLazily(h: SnapshotHandover, read: SyncBlobReader): ModelSnapshot {
  const lazy: DataFile[] = h.blobs.map((b) => ({ name: b.name, bytes: { length: b.blob.size, readAt: (offset: number, length: number) => read(b.blob, offset, offset + length) } }));
  const { blobs: _blobs, ...rest } = h;
  return { ...rest, data: [...h.data, ...lazy] };
}

/**
 * A data file given as its Blob (a compression result's, which may pass 2 GiB): read by offset
 * when a tensor is asked for where this thread can read a Blob synchronously (a worker's
 * FileReaderSync; never held), else read in chunks.
 */
export async function blobDataFile(f: NamedFile, signal?: AbortSignal, read: SyncBlobReader | undefined = syncBlobReader()): Promise<DataFile> {
  if (read) return { name: f.name, bytes: { length: f.blob.size, readAt: (offset: number, length: number) => read(f.blob, offset, offset + length) } };
  return { name: f.name, bytes: await readChunks(f.blob, DEFAULT_CHUNK_BYTES, { ...(signal ? { signal } : {}) }) };
}

/** The snapshot a handover stands for, its chunked files read from their Blobs. */
export async function receiveHandover(h: SnapshotHandover, signal?: AbortSignal): Promise<ModelSnapshot> {
  const data = [...h.data];
  for (const b of h.blobs) data.push({ name: b.name, bytes: await readChunks(b.blob, chunkSizeOf(b.chunkBytes), { ...(signal ? { signal } : {}) }) });
  const { blobs: _blobs, ...rest } = h;
  return { ...rest, data };
}

/** The chunk size to use: `given` when it is a positive whole number, else the default. */
export function chunkSizeOf(given: number | undefined): number {
  return given !== undefined && Number.isSafeInteger(given) && given > 0 ? Math.min(given, DEFAULT_CHUNK_BYTES) : DEFAULT_CHUNK_BYTES;
}

/** Whether a file must be read whole: small enough for one chunk, a .onnx name, or the only file. */
function readWhole(f: NamedFile, count: number, chunkBytes: number): boolean {
  return f.blob.size <= chunkBytes || f.name.toLowerCase().endsWith('.onnx') || count === 1;
}

async function bytesOf(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  const buf = await blob.slice(start, end).arrayBuffer();
  if (buf.byteLength !== end - start) throw new AppError('io', `A file changed while it was read (${buf.byteLength} bytes where ${end - start} were expected).`);
  return new Uint8Array(buf);
}

/** A Blob's bytes in buffers of `chunkBytes` (the last one shorter). */
export async function readChunks(blob: Blob, chunkBytes: number, options: ReadOptions = {}, base = 0, total = blob.size): Promise<ChunkedBytes> {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < blob.size; at += chunkBytes) {
    throwIfAborted(options.signal);
    const end = Math.min(blob.size, at + chunkBytes);
    chunks.push(await bytesOf(blob, at, end));
    options.onProgress?.(base + end, total);
  }
  return chunked(chunks, chunkBytes);
}

/**
 * Reads the files a model was opened with: each file that may be the model in one buffer (a file
 * over protobuf's 2 GB cannot be one: refused naming it), each larger data file in chunks.
 */
export async function readFiles(files: readonly NamedFile[], options: ReadOptions = {}): Promise<ReadFiles> {
  const chunkBytes = chunkSizeOf(options.chunkBytes);
  const total = files.reduce((n, f) => n + f.blob.size, 0);
  const out: ReadFiles = { whole: [], data: [], sources: new Map() };
  let done = 0;
  for (const f of files) {
    throwIfAborted(options.signal);
    if (readWhole(f, files.length, chunkBytes)) {
      if (f.blob.size > MAX_MESSAGE_BYTES) {
        throw new AppError(
          'too-large',
          `${f.name} is ${formatBytes(f.blob.size)}: one ONNX file holds at most 2 GB. A model over 2 GB keeps its weights in an external data file: drop the .onnx together with its data file.`,
        );
      }
      out.whole.push({ name: f.name, bytes: await bytesOf(f.blob, 0, f.blob.size) });
      done += f.blob.size;
      options.onProgress?.(done, total);
    } else {
      const bytes = await readChunks(f.blob, chunkBytes, options, done, total);
      out.data.push({ name: f.name, bytes });
      out.sources.set(bytes, f.blob);
      done += f.blob.size;
    }
  }
  if (out.whole.length === 0) {
    throw new AppError('not-onnx', `None of the ${files.length} files is an ONNX model (${files.map((f) => f.name).join(', ')}): give the .onnx file with its data files.`);
  }
  return out;
}
