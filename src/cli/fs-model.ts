/**
 * Node side of model loading: a model file on disk with its external data lying beside it.
 * External data is read lazily by offset (fs.readSync), so a large data file is never held in
 * memory as a whole just to load or inspect the model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError } from '../core/errors';
import { formatBytes } from '../core/bytes-and-counts';
import { MAX_MESSAGE_BYTES } from '../onnx/codec';
import { checkLocation, checkRange, missingFile, type ExternalFiles } from '../onnx/external';
import { loadModel, type LoadedModel, type LoadOptions } from '../onnx/load';
import { sniffFormat } from '../onnx/sniff';

export interface DirResolver extends ExternalFiles {
  /** the folder the locations are relative to */
  dir: string;
  /** absolute path of a location (checked) */
  pathOf(location: string): string;
  close(): void;
}

/** External data files in `dir`, opened on first use and read by offset. */
export function dirResolver(dir: string): DirResolver {
  const fds = new Map<string, { fd: number; size: number }>();
  const pathOf = (location: string) => path.join(dir, ...checkLocation(location).split('/'));
  const open = (location: string): { fd: number; size: number } | undefined => {
    const p = pathOf(location);
    const cached = fds.get(p);
    if (cached) return cached;
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    let fd: number;
    try {
      fd = fs.openSync(p, 'r');
    } catch (e) {
      throw new AppError('io', `Cannot read external data file "${location}": ${(e as NodeJS.ErrnoException).code ?? String(e)}.`);
    }
    const entry = { fd, size: st.size };
    fds.set(p, entry);
    return entry;
  };
  return {
    dir,
    pathOf,
    size(location) {
      return open(location)?.size;
    },
    read(location, offset, length) {
      const f = open(location);
      if (!f) throw missingFile(location);
      const len = checkRange(location, f.size, offset, length);
      const out = new Uint8Array(len);
      let done = 0;
      while (done < len) {
        const n = fs.readSync(f.fd, out, done, len - done, offset + done);
        if (n <= 0) throw new AppError('io', `External data file "${location}" ended early while reading.`);
        done += n;
      }
      return out;
    },
    close() {
      for (const { fd } of fds.values()) fs.closeSync(fd);
      fds.clear();
    },
  };
}

export interface LoadedFromPath extends LoadedModel {
  path: string;
  external: DirResolver;
}

function ioError(file: string, e: unknown): AppError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new AppError('io', `No such file: ${file}`);
  if (code === 'EACCES' || code === 'EPERM') return new AppError('io', `Cannot read ${file}: permission denied.`);
  if (code === 'EISDIR') return new AppError('invalid-argument', `${file} is a folder, not a model file.`);
  return new AppError('io', `Cannot read ${file}: ${code ?? (e instanceof Error ? e.message : String(e))}.`);
}

/** Loads a model file with its external data beside it. Throws AppError naming the problem. */
export function loadModelFromPath(file: string, options: Omit<LoadOptions, 'external' | 'fileName'> = {}): LoadedFromPath {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw ioError(file, e);
  }
  if (st.isDirectory()) {
    let hint = '';
    try {
      const onnx = fs.readdirSync(file).filter((n) => n.toLowerCase().endsWith('.onnx'));
      if (onnx.length > 0) hint = ` It holds ${onnx.slice(0, 3).join(', ')}${onnx.length > 3 ? ', ...' : ''}.`;
    } catch {
      // no hint
    }
    throw new AppError('invalid-argument', `${file} is a folder, not a model file.${hint}`);
  }
  if (!st.isFile()) throw new AppError('invalid-argument', `${file} is not a regular file.`);
  let bytes: Uint8Array;
  try {
    if (st.size > MAX_MESSAGE_BYTES) {
      // No ONNX file can be this large; say what it is without reading it all.
      const head = new Uint8Array(65536);
      const fd = fs.openSync(file, 'r');
      try {
        fs.readSync(fd, head, 0, head.length, 0);
      } finally {
        fs.closeSync(fd);
      }
      const v = sniffFormat(head);
      if (!v.ok && v.code === 'not-onnx') throw new AppError('not-onnx', `${file}: ${v.message}`);
      throw new AppError(
        'too-large',
        `${file} is ${formatBytes(st.size)}; an ONNX model file cannot exceed 2 GB (larger weights belong in an external data file).`,
      );
    }
    const buf = fs.readFileSync(file);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw ioError(file, e);
  }
  const external = dirResolver(path.dirname(path.resolve(file)));
  try {
    const loaded = loadModel(bytes, { ...options, fileName: path.basename(file), external });
    return { ...loaded, path: file, external };
  } catch (e) {
    external.close();
    if (e instanceof AppError) throw new AppError(e.code, `${file}: ${e.message}`, { cause: e });
    throw e;
  }
}
