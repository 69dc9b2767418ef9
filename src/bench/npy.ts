/**
 * NumPy .npy files (format versions 1-3): the header dict ('descr', 'fortran_order', 'shape')
 * and the data, little- or big-endian, read into a fresh, aligned typed array.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { AppError } from '../core/errors';

export type NpyDtype = 'float16' | 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'uint32' | 'uint64' | 'bool';

export type NpyData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array | Uint32Array | BigUint64Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** float16 values are stored as their raw bits (Uint16Array) */
  data: NpyData;
}

const KINDS: Record<string, { dtype: NpyDtype; size: number }> = {
  f2: { dtype: 'float16', size: 2 },
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
  i1: { dtype: 'int8', size: 1 },
  u1: { dtype: 'uint8', size: 1 },
  i2: { dtype: 'int16', size: 2 },
  u2: { dtype: 'uint16', size: 2 },
  i4: { dtype: 'int32', size: 4 },
  u4: { dtype: 'uint32', size: 4 },
  i8: { dtype: 'int64', size: 8 },
  u8: { dtype: 'uint64', size: 8 },
  b1: { dtype: 'bool', size: 1 },
};

function bad(name: string, msg: string): AppError {
  return new AppError('invalid-argument', `${name}: ${msg}`);
}

function makeArray(dtype: NpyDtype, buf: ArrayBuffer): NpyData {
  switch (dtype) {
    case 'float16':
    case 'uint16':
      return new Uint16Array(buf);
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf);
    case 'int16':
      return new Int16Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'uint32':
      return new Uint32Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'uint64':
      return new BigUint64Array(buf);
  }
}

/** Parses a .npy file. `name` is used in the one-line errors. */
export function parseNpy(bytes: Uint8Array, name = 'array.npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw bad(name, 'not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  if (major < 1 || major > 3) throw bad(name, `unsupported .npy format version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : bytes.length >= 12 ? view.getUint32(8, true) : -1;
  const start = major === 1 ? 10 : 12;
  if (headerLen < 0 || start + headerLen > bytes.length) throw bad(name, 'truncated .npy header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /['"]descr['"]\s*:\s*['"]([<>|=])([a-z]\d+)['"]/.exec(header);
  if (!descr) throw bad(name, `the header has no simple 'descr' (${header.trim().slice(0, 80)}); structured arrays are not supported`);
  const kind = KINDS[descr[2]];
  if (!kind) throw bad(name, `unsupported dtype '${descr[1]}${descr[2]}' (use float32, float64, float16, int8/16/32/64, uint8/16/32/64 or bool)`);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  if (!fortran) throw bad(name, "the header has no 'fortran_order'");
  const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!shapeMatch) throw bad(name, "the header has no 'shape'");
  const shape = shapeMatch[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(v) || v < 0) throw bad(name, `bad shape entry "${s}"`);
      return v;
    });
  if (fortran[1] === 'True' && shape.filter((d) => d > 1).length > 1) throw bad(name, 'Fortran-order arrays are not supported (save with np.ascontiguousarray)');
  const count = shape.reduce((p, d) => p * d, 1);
  const dataStart = start + headerLen;
  const need = count * kind.size;
  if (bytes.length - dataStart < need) throw bad(name, `holds ${bytes.length - dataStart} data bytes, its shape (${shape.join(', ')}) needs ${need}`);
  const copy = bytes.slice(dataStart, dataStart + need);
  if (descr[1] === '>' && kind.size > 1) {
    for (let i = 0; i < need; i += kind.size) copy.subarray(i, i + kind.size).reverse();
  }
  return { dtype: kind.dtype, shape, data: makeArray(kind.dtype, copy.buffer) };
}

/** A .npy file (version 1.0, little-endian, C order) holding `data` with `shape`. */
export function encodeNpy(dtype: NpyDtype, shape: number[], data: NpyData): Uint8Array {
  const code = Object.entries(KINDS).find(([, k]) => k.dtype === dtype)![0];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype === 'bool' || code.endsWith('1') ? '|' : '<'}${code}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + head.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, head.length, true);
  out.set(head, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + head.length);
  return out;
}
