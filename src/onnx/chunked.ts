/**
 * A file's bytes held as several buffers, each at most a chunk long: how the page holds an
 * external data file larger than one ArrayBuffer can be read or posted (Chromium refuses
 * `File.arrayBuffer()` and `postMessage` of a buffer over 2 GiB). Reads inside one chunk are
 * views; a read that crosses a chunk boundary is copied out into a fresh buffer of its own.
 */
import { AppError } from '../core/errors';

/** The default largest chunk: 1 GiB (well under the 2 GiB that ArrayBuffers may cross threads with). */
export const DEFAULT_CHUNK_BYTES = 1 << 30;

export interface ChunkedBytes {
  /** total bytes (the chunks' lengths summed) */
  readonly length: number;
  /** every chunk but the last is exactly `chunkBytes` long; the last is 1..chunkBytes bytes */
  readonly chunks: readonly Uint8Array[];
  readonly chunkBytes: number;
}

/**
 * A file read by offset when asked, never held (in a worker: FileReaderSync over the dropped
 * File, as the CLI reads its data files with positional reads).
 */
export interface LazyBytes {
  readonly length: number;
  /** exactly `length` bytes from `offset` (a fresh buffer) */
  readAt(offset: number, length: number): Uint8Array;
}

/** A data file's bytes: one buffer, several (chunked), or read by offset when asked (lazy). */
export type FileBytes = Uint8Array | ChunkedBytes | LazyBytes;

export function isChunked(bytes: FileBytes): bytes is ChunkedBytes {
  return !(bytes instanceof Uint8Array) && 'chunks' in bytes;
}

export function isLazy(bytes: FileBytes): bytes is LazyBytes {
  return !(bytes instanceof Uint8Array) && 'readAt' in bytes;
}

/** Checks and wraps chunks read from a file: equal chunks of `chunkBytes` except the last. */
export function chunked(chunks: readonly Uint8Array[], chunkBytes: number): ChunkedBytes {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new AppError('invalid-argument', `A chunk size of ${chunkBytes} bytes is invalid.`);
  let length = 0;
  chunks.forEach((c, i) => {
    const last = i === chunks.length - 1;
    if (c.length > chunkBytes || (!last && c.length !== chunkBytes) || (last && c.length === 0)) {
      throw new AppError('invalid-argument', `Chunk ${i} holds ${c.length} bytes; every chunk but the last must hold exactly ${chunkBytes}.`);
    }
    length += c.length;
  });
  return { length, chunks, chunkBytes };
}

/**
 * Bytes [offset, offset + length) of a chunked file: a view when they lie in one chunk, else a
 * copy. Throws AppError('external-data') naming the file when the range is outside it.
 */
export function readChunked(bytes: FileBytes, offset: number, length: number, name = 'the data file'): Uint8Array {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > bytes.length) {
    throw new AppError('external-data', `Bytes ${offset}..${offset + length} are outside "${name}" (${bytes.length} bytes).`);
  }
  if (isLazy(bytes)) {
    const out = bytes.readAt(offset, length);
    if (out.length !== length) throw new AppError('external-data', `Reading ${length} bytes at ${offset} of "${name}" gave ${out.length} (the file changed?).`);
    return out;
  }
  if (!isChunked(bytes)) return bytes.subarray(offset, offset + length);
  const size = bytes.chunkBytes;
  const first = Math.floor(offset / size);
  const at = offset - first * size;
  if (length === 0) return new Uint8Array(0);
  if (at + length <= size) return bytes.chunks[first].subarray(at, at + length);
  const out = new Uint8Array(length);
  let done = 0;
  for (let k = first; done < length; k++) {
    const from = k === first ? at : 0;
    const take = Math.min(length - done, bytes.chunks[k].length - from);
    out.set(bytes.chunks[k].subarray(from, from + take), done);
    done += take;
  }
  return out;
}

/** The first `n` bytes (or fewer), e.g. to sniff a file's format. */
export function headOf(bytes: FileBytes, n: number): Uint8Array {
  return readChunked(bytes, 0, Math.min(n, bytes.length));
}

/** The whole file in one buffer (a view when it is one already). Only for files known to be small. */
export function joined(bytes: FileBytes): Uint8Array {
  return readChunked(bytes, 0, bytes.length);
}
