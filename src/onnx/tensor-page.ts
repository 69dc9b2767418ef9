/**
 * A page of a tensor's values, for showing raw numbers on demand: only the bytes of the page are
 * read and decoded (raw data is viewed in place, external data read by range), so a large
 * tensor is never decoded, copied or sent whole. float16/bfloat16 are decoded, int4/uint4
 * unpacked, 64-bit integers kept exact (as strings beyond 2^53); float8/float4 give their codes.
 */
import { AppError } from '../core/errors';
import { bfloat16ToFloat32, float16ToFloat32 } from '../core/float16';
import { dtypeName, isExternal, externalInfo, tensorStrings, tensorValues } from './tensor';
import { DataType, type ExternalDataResolver, type Tensor } from './types';

export interface TensorPage {
  dtype: string;
  shape: number[];
  /** values in the tensor */
  total: number;
  /** flat index of the first value of the page */
  offset: number;
  values: (number | string)[];
  /** each value's index in the tensor's shape */
  indices: number[][];
  /** set when values are codes rather than numbers (float8, float4) */
  note?: string;
}

/** The largest page one call returns. */
export const MAX_PAGE = 4096;

/** Bytes per value in raw form, for the types read by range; 0.5 for the 4-bit types. */
const RAW_SIZE: Partial<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.INT8]: 1,
  [DataType.UINT8]: 1,
  [DataType.BOOL]: 1,
  [DataType.INT16]: 2,
  [DataType.UINT16]: 2,
  [DataType.FLOAT16]: 2,
  [DataType.BFLOAT16]: 2,
  [DataType.INT32]: 4,
  [DataType.UINT32]: 4,
  [DataType.INT64]: 8,
  [DataType.UINT64]: 8,
  [DataType.FLOAT8E4M3FN]: 1,
  [DataType.FLOAT8E4M3FNUZ]: 1,
  [DataType.FLOAT8E5M2]: 1,
  [DataType.FLOAT8E5M2FNUZ]: 1,
  [DataType.FLOAT8E8M0]: 1,
  [DataType.INT4]: 0.5,
  [DataType.UINT4]: 0.5,
  [DataType.FLOAT4E2M1]: 0.5,
};

const CODES = new Set<number>([
  DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ,
  DataType.FLOAT8E5M2,
  DataType.FLOAT8E5M2FNUZ,
  DataType.FLOAT8E8M0,
  DataType.FLOAT4E2M1,
]);

/** The multi-dimensional index of flat position `flat` in a row-major tensor of `shape`. */
export function unflattenIndex(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d];
    if (size > 0) {
      index[d] = rest % size;
      rest = Math.floor(rest / size);
    }
  }
  return index;
}

/** Element count that never throws: 0 for a dim that is negative, fractional or not finite. */
function safeCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) return 0;
    n *= d;
  }
  return Number.isSafeInteger(n) ? n : 0;
}

const int64 = (v: bigint): number | string => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());

/** Decodes `count` values of type `dt` starting at value `first`, from bytes that start at value `first - first % 2` (4-bit) or `first`. */
function decodeRaw(bytes: Uint8Array, dt: number, first: number, count: number): (number | string)[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: (number | string)[] = [];
  for (let i = 0; i < count; i++) {
    switch (dt) {
      case DataType.FLOAT:
        out.push(view.getFloat32(i * 4, true));
        break;
      case DataType.DOUBLE:
        out.push(view.getFloat64(i * 8, true));
        break;
      case DataType.INT8:
        out.push(view.getInt8(i));
        break;
      case DataType.INT16:
        out.push(view.getInt16(i * 2, true));
        break;
      case DataType.UINT16:
        out.push(view.getUint16(i * 2, true));
        break;
      case DataType.FLOAT16:
        out.push(float16ToFloat32(view.getUint16(i * 2, true)));
        break;
      case DataType.BFLOAT16:
        out.push(bfloat16ToFloat32(view.getUint16(i * 2, true)));
        break;
      case DataType.INT32:
        out.push(view.getInt32(i * 4, true));
        break;
      case DataType.UINT32:
        out.push(view.getUint32(i * 4, true));
        break;
      case DataType.INT64:
        out.push(int64(view.getBigInt64(i * 8, true)));
        break;
      case DataType.UINT64:
        out.push(int64(view.getBigUint64(i * 8, true)));
        break;
      case DataType.INT4:
      case DataType.UINT4:
      case DataType.FLOAT4E2M1: {
        // two values per byte, the first in the low nibble
        const at = (first % 2) + i;
        const byte = bytes[at >> 1];
        const nibble = at % 2 === 0 ? byte & 0x0f : byte >> 4;
        out.push(dt === DataType.INT4 && nibble >= 8 ? nibble - 16 : nibble);
        break;
      }
      default:
        // uint8, bool, float8 codes
        out.push(bytes[i]);
    }
  }
  return out;
}

/**
 * Values `offset` … `offset + count - 1` of `t` (clipped to the tensor), with their indices.
 * Throws AppError: 'invalid-argument' for a bad range, 'malformed' when the data is shorter
 * than the shape says, 'unsupported' for complex types, 'external-data' without the file.
 */
export function tensorValuesPage(t: Tensor, offset: number, count: number, external?: ExternalDataResolver): TensorPage {
  const dt = t.dataType ?? DataType.UNDEFINED;
  const dtype = dtypeName(dt);
  const shape = [...t.dims];
  const total = safeCount(shape);
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(count) || count < 0) {
    throw new AppError('invalid-argument', `A page of values needs a whole offset and count (got ${offset}, ${count}).`);
  }
  if (offset > total) throw new AppError('invalid-argument', `The tensor has ${total} values; there is no value ${offset}.`);
  const n = Math.min(count, MAX_PAGE, total - offset);
  let values: (number | string)[];
  if (dt === DataType.STRING) {
    values = tensorStrings(t).slice(offset, offset + n);
    if (values.length < n) throw new AppError('malformed', `Tensor "${t.name ?? ''}" declares ${total} strings but holds ${offset + values.length}.`);
  } else if (dt === DataType.COMPLEX64 || dt === DataType.COMPLEX128) {
    throw new AppError('unsupported', `Values of ${dtype} tensors are not shown.`);
  } else if (t.rawData !== undefined || isExternal(t)) {
    const size = RAW_SIZE[dt];
    if (size === undefined) throw new AppError('unsupported', `Tensor "${t.name ?? ''}" has data type ${dtype}, which this reader cannot decode.`);
    const start = Math.floor(offset * size);
    const end = Math.ceil((offset + n) * size);
    let bytes: Uint8Array;
    if (t.rawData !== undefined) {
      if (t.rawData.length < Math.ceil(total * size)) {
        throw new AppError('malformed', `A ${dtype} tensor holds ${t.rawData.length} bytes but its shape needs ${Math.ceil(total * size)}.`);
      }
      bytes = t.rawData.subarray(start, end);
    } else {
      if (!external) throw new AppError('external-data', `Tensor "${t.name ?? ''}" is stored in an external data file that was not provided.`);
      const info = externalInfo(t);
      if (info.length !== undefined && info.length < Math.ceil(total * size)) {
        throw new AppError('malformed', `A ${dtype} tensor holds ${info.length} bytes but its shape needs ${Math.ceil(total * size)}.`);
      }
      bytes = external.read(info.location, info.offset + start, end - start);
      if (bytes.length < end - start) throw new AppError('malformed', `Tensor "${t.name ?? ''}" ends before its value ${offset + n - 1}.`);
    }
    values = decodeRaw(bytes, dt, offset, n);
  } else {
    // typed fields (float_data, int32_data …) are already in memory: decode and slice
    const all = tensorValues(t);
    values = Array.from(all.subarray(offset, offset + n) as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? int64(v) : v));
  }
  return {
    dtype,
    shape,
    total,
    offset,
    values,
    indices: values.map((_, i) => unflattenIndex(offset + i, shape)),
    ...(CODES.has(dt) ? { note: `${dtype} values are shown as their ${dt === DataType.FLOAT4E2M1 ? '4' : '8'}-bit codes` } : {}),
  };
}
