/**
 * Tensor data types and values. Values are read lazily: nothing here runs until someone asks
 * for a tensor's numbers, and raw data is viewed in place when its alignment allows.
 * Views alias the model file: treat returned arrays as read-only.
 */
import { AppError } from '../core/errors';
import { bfloat16ToFloat32, float16ToFloat32, float32ToFloat16, float32ToBfloat16 } from '../core/float16';
import { DataType, DataLocation, type ExternalDataResolver, type StringStringEntry, type Tensor } from './types';

interface DtypeInfo {
  name: string;
  /** bits per element; 0 for strings */
  bits: number;
}

const DTYPES: Record<number, DtypeInfo> = {
  [DataType.FLOAT]: { name: 'float32', bits: 32 },
  [DataType.UINT8]: { name: 'uint8', bits: 8 },
  [DataType.INT8]: { name: 'int8', bits: 8 },
  [DataType.UINT16]: { name: 'uint16', bits: 16 },
  [DataType.INT16]: { name: 'int16', bits: 16 },
  [DataType.INT32]: { name: 'int32', bits: 32 },
  [DataType.INT64]: { name: 'int64', bits: 64 },
  [DataType.STRING]: { name: 'string', bits: 0 },
  [DataType.BOOL]: { name: 'bool', bits: 8 },
  [DataType.FLOAT16]: { name: 'float16', bits: 16 },
  [DataType.DOUBLE]: { name: 'float64', bits: 64 },
  [DataType.UINT32]: { name: 'uint32', bits: 32 },
  [DataType.UINT64]: { name: 'uint64', bits: 64 },
  [DataType.COMPLEX64]: { name: 'complex64', bits: 64 },
  [DataType.COMPLEX128]: { name: 'complex128', bits: 128 },
  [DataType.BFLOAT16]: { name: 'bfloat16', bits: 16 },
  [DataType.FLOAT8E4M3FN]: { name: 'float8e4m3fn', bits: 8 },
  [DataType.FLOAT8E4M3FNUZ]: { name: 'float8e4m3fnuz', bits: 8 },
  [DataType.FLOAT8E5M2]: { name: 'float8e5m2', bits: 8 },
  [DataType.FLOAT8E5M2FNUZ]: { name: 'float8e5m2fnuz', bits: 8 },
  [DataType.UINT4]: { name: 'uint4', bits: 4 },
  [DataType.INT4]: { name: 'int4', bits: 4 },
  [DataType.FLOAT4E2M1]: { name: 'float4e2m1', bits: 4 },
  [DataType.FLOAT8E8M0]: { name: 'float8e8m0', bits: 8 },
};

const BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(DTYPES).map(([id, d]) => [d.name, Number(id)]));
BY_NAME.float = DataType.FLOAT;
BY_NAME.double = DataType.DOUBLE;

/** 'float32', 'int64', ... ; unknown ids read as 'dtype(N)'. */
export function dtypeName(id: number | undefined): string {
  if (id === undefined) return 'undefined';
  return DTYPES[id]?.name ?? `dtype(${id})`;
}

export function dtypeFromName(name: string): number {
  const id = BY_NAME[name.toLowerCase()];
  if (id === undefined) throw new AppError('invalid-argument', `Unknown data type "${name}".`);
  return id;
}

/** Bits per element (0 for strings and unknown types). */
export function dtypeBits(id: number | undefined): number {
  return id === undefined ? 0 : (DTYPES[id]?.bits ?? 0);
}

export function isFloatType(id: number | undefined): boolean {
  return id === DataType.FLOAT || id === DataType.FLOAT16 || id === DataType.BFLOAT16 || id === DataType.DOUBLE;
}

/** Product of dims; throws AppError('malformed') on a negative or non-finite dim. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isFinite(d) || d < 0 || !Number.isInteger(d)) {
      throw new AppError('malformed', `A tensor has an invalid dimension (${d}).`);
    }
    n *= d;
  }
  return n;
}

export function isExternal(t: Tensor): boolean {
  return t.dataLocation === DataLocation.EXTERNAL;
}

export interface ExternalInfo {
  location: string;
  offset: number;
  length: number | undefined;
  checksum?: string;
}

function entry(list: StringStringEntry[], key: string): string | undefined {
  for (const e of list) if (e.key === key) return e.value;
  return undefined;
}

/** The external_data keys of a tensor stored outside the model file. */
export function externalInfo(t: Tensor): ExternalInfo {
  const location = entry(t.externalData, 'location');
  if (!location) throw new AppError('external-data', `Tensor "${t.name ?? ''}" is stored externally but names no location.`);
  const off = entry(t.externalData, 'offset');
  const len = entry(t.externalData, 'length');
  const offset = off === undefined ? 0 : Number(off);
  const length = len === undefined ? undefined : Number(len);
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new AppError('external-data', `Tensor "${t.name ?? ''}" has an invalid external offset or length.`);
  }
  return { location, offset, length, checksum: entry(t.externalData, 'checksum') };
}

/** Bytes the tensor's data takes in raw (little-endian, packed) form. */
export function tensorByteLength(t: Tensor): number {
  if (t.rawData) return t.rawData.length;
  if (isExternal(t)) {
    const info = externalInfo(t);
    if (info.length !== undefined) return info.length;
  }
  if (t.dataType === DataType.STRING) {
    let n = 0;
    for (const s of t.stringData) n += s.length;
    return n;
  }
  return Math.ceil((elementCount(t.dims) * dtypeBits(t.dataType)) / 8);
}

/** The tensor's raw little-endian bytes (a view where possible): raw_data, external data, or typed fields re-packed. */
export function tensorRawBytes(t: Tensor, external?: ExternalDataResolver): Uint8Array {
  if (t.rawData) return t.rawData;
  if (isExternal(t)) {
    if (!external) throw new AppError('external-data', `Tensor "${t.name ?? ''}" is stored in an external data file that was not provided.`);
    const info = externalInfo(t);
    return external.read(info.location, info.offset, info.length);
  }
  const values = typedFieldValues(t);
  if (values instanceof Uint8Array) return values;
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export type TensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

function viewOrCopy<T extends TensorValues>(
  bytes: Uint8Array,
  ctor: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number },
  count: number,
  dtype: string,
): T {
  const size = ctor.BYTES_PER_ELEMENT;
  if (bytes.length < count * size) {
    throw new AppError('malformed', `A ${dtype} tensor holds ${bytes.length} bytes but its shape needs ${count * size}.`);
  }
  if ((bytes.byteOffset % size) === 0) return new ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = bytes.slice(0, count * size);
  return new ctor(copy.buffer, 0, count);
}

/** Values stored in the typed fields (float_data, int32_data, ...), as the dtype's raw element type. */
function typedFieldValues(t: Tensor): TensorValues {
  const n = elementCount(t.dims);
  const dt = t.dataType;
  const need = (len: number | undefined, what: string) => {
    if ((len ?? 0) < n) throw new AppError('malformed', `Tensor "${t.name ?? ''}" declares ${n} values but ${what} holds ${len ?? 0}.`);
  };
  switch (dt) {
    case DataType.FLOAT:
      need(t.floatData?.length, 'float_data');
      return (t.floatData as Float32Array).subarray(0, n);
    case DataType.COMPLEX64:
      need((t.floatData?.length ?? 0) / 2, 'float_data');
      return (t.floatData as Float32Array).subarray(0, 2 * n);
    case DataType.DOUBLE:
      need(t.doubleData?.length, 'double_data');
      return (t.doubleData as Float64Array).subarray(0, n);
    case DataType.COMPLEX128:
      need((t.doubleData?.length ?? 0) / 2, 'double_data');
      return (t.doubleData as Float64Array).subarray(0, 2 * n);
    case DataType.INT64:
      need(t.int64Data?.length, 'int64_data');
      return (t.int64Data as BigInt64Array).subarray(0, n);
    case DataType.UINT64:
      need(t.uint64Data?.length, 'uint64_data');
      return (t.uint64Data as BigUint64Array).subarray(0, n);
    case DataType.UINT32: {
      need(t.uint64Data?.length, 'uint64_data');
      return Uint32Array.from(t.uint64Data as BigUint64Array, (v) => Number(BigInt.asUintN(32, v)));
    }
    case DataType.INT32:
      need(t.int32Data?.length, 'int32_data');
      return (t.int32Data as Int32Array).subarray(0, n);
    case DataType.INT16:
      need(t.int32Data?.length, 'int32_data');
      return Int16Array.from((t.int32Data as Int32Array).subarray(0, n));
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      need(t.int32Data?.length, 'int32_data');
      return Uint16Array.from((t.int32Data as Int32Array).subarray(0, n));
    case DataType.INT8:
      need(t.int32Data?.length, 'int32_data');
      return Int8Array.from((t.int32Data as Int32Array).subarray(0, n));
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      need(t.int32Data?.length, 'int32_data');
      return Uint8Array.from((t.int32Data as Int32Array).subarray(0, n));
    case DataType.INT4:
    case DataType.UINT4:
    case DataType.FLOAT4E2M1: {
      // int32_data holds the packed bytes (two 4-bit values per int32 entry's low byte)
      const bytes = Math.ceil(n / 2);
      need(t.int32Data?.length === undefined ? undefined : t.int32Data.length * 2, 'int32_data');
      return Uint8Array.from((t.int32Data as Int32Array).subarray(0, bytes));
    }
    default:
      throw new AppError('unsupported', `Tensor "${t.name ?? ''}" has data type ${dtypeName(dt)}, which this reader cannot decode.`);
  }
}

/**
 * The tensor's values. FLOAT16 and BFLOAT16 come back widened to Float32Array; INT4/UINT4 are
 * unpacked to one Int8Array/Uint8Array element per value; float8/float4 come back as raw bytes.
 * Strings are not numeric: use tensorStrings.
 */
export function tensorValues(t: Tensor, external?: ExternalDataResolver): TensorValues {
  const dt = t.dataType ?? DataType.UNDEFINED;
  const n = elementCount(t.dims);
  if (dt === DataType.STRING) throw new AppError('unsupported', `Tensor "${t.name ?? ''}" holds strings, not numbers.`);
  const useRaw = t.rawData !== undefined || isExternal(t);
  const name = dtypeName(dt);
  if (!useRaw) {
    const v = typedFieldValues(t);
    if (dt === DataType.FLOAT16) return Float32Array.from(v as Uint16Array, float16ToFloat32);
    if (dt === DataType.BFLOAT16) return Float32Array.from(v as Uint16Array, bfloat16ToFloat32);
    if (dt === DataType.INT4 || dt === DataType.UINT4) return unpack4(v as Uint8Array, n, dt === DataType.INT4);
    return v;
  }
  const raw = tensorRawBytes(t, external);
  switch (dt) {
    case DataType.FLOAT:
      return viewOrCopy(raw, Float32Array, n, name);
    case DataType.COMPLEX64:
      return viewOrCopy(raw, Float32Array, 2 * n, name);
    case DataType.DOUBLE:
      return viewOrCopy(raw, Float64Array, n, name);
    case DataType.COMPLEX128:
      return viewOrCopy(raw, Float64Array, 2 * n, name);
    case DataType.INT64:
      return viewOrCopy(raw, BigInt64Array, n, name);
    case DataType.UINT64:
      return viewOrCopy(raw, BigUint64Array, n, name);
    case DataType.INT32:
      return viewOrCopy(raw, Int32Array, n, name);
    case DataType.UINT32:
      return viewOrCopy(raw, Uint32Array, n, name);
    case DataType.INT16:
      return viewOrCopy(raw, Int16Array, n, name);
    case DataType.UINT16:
      return viewOrCopy(raw, Uint16Array, n, name);
    case DataType.FLOAT16:
      return Float32Array.from(viewOrCopy(raw, Uint16Array, n, name), float16ToFloat32);
    case DataType.BFLOAT16:
      return Float32Array.from(viewOrCopy(raw, Uint16Array, n, name), bfloat16ToFloat32);
    case DataType.INT8:
      return viewOrCopy(raw, Int8Array, n, name);
    case DataType.INT4:
    case DataType.UINT4: {
      if (raw.length < Math.ceil(n / 2)) throw new AppError('malformed', `A ${name} tensor holds ${raw.length} bytes but its shape needs ${Math.ceil(n / 2)}.`);
      return unpack4(raw, n, dt === DataType.INT4);
    }
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      return viewOrCopy(raw, Uint8Array, n, name);
    case DataType.FLOAT4E2M1:
      return raw.subarray(0, Math.ceil(n / 2));
    default:
      throw new AppError('unsupported', `Tensor "${t.name ?? ''}" has data type ${name}, which this reader cannot decode.`);
  }
}

/** Float values of any float tensor (float32/16/bf16/64) as a Float32Array (a copy for non-float32). */
export function tensorFloats(t: Tensor, external?: ExternalDataResolver): Float32Array {
  const v = tensorValues(t, external);
  if (v instanceof Float32Array) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float32Array.from(v, (x) => Number(x));
  return Float32Array.from(v as ArrayLike<number>);
}

export function tensorStrings(t: Tensor): string[] {
  const dec = new TextDecoder('utf-8');
  return t.stringData.map((b) => dec.decode(b));
}

function unpack4(packed: Uint8Array, n: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = packed[i >> 1];
    let v = i & 1 ? b >> 4 : b & 0x0f;
    if (signed && v >= 8) v -= 16;
    out[i] = v;
  }
  return out;
}

/** Packs 4-bit values: element 2i in the low nibble, 2i+1 in the high nibble. */
export function pack4(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = values[i] & 0x0f;
    out[i >> 1] |= i & 1 ? v << 4 : v;
  }
  return out;
}

/**
 * A tensor with its values stored as raw_data (little-endian). `values` are given in the
 * element type's natural JS form: numbers (floats for float16/bfloat16, small ints for int4),
 * bigints or numbers for int64, strings for STRING.
 */
export function makeTensor(
  name: string,
  dataType: number,
  dims: number[],
  values: ArrayLike<number | bigint | string | boolean> | TensorValues,
): Tensor {
  const n = elementCount(dims);
  if (values.length !== n) {
    throw new AppError('invalid-argument', `makeTensor(${name}): ${values.length} values for shape [${dims.join(', ')}] (${n}).`);
  }
  const t: Tensor = { dims: [...dims], dataType, name, stringData: [], externalData: [], metadataProps: [] };
  const vals = values as ArrayLike<unknown>;
  const num = (i: number) => Number(vals[i]);
  const big = (i: number) => (typeof vals[i] === 'bigint' ? (vals[i] as bigint) : BigInt(Math.trunc(Number(vals[i]))));
  let raw: Uint8Array;
  switch (dataType) {
    case DataType.STRING: {
      const enc = new TextEncoder();
      t.stringData = Array.from({ length: n }, (_, i) => enc.encode(String(vals[i])));
      return t;
    }
    case DataType.FLOAT:
      raw = bytesOf(Float32Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.DOUBLE:
      raw = bytesOf(Float64Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.FLOAT16:
      raw = bytesOf(Uint16Array.from({ length: n }, (_, i) => float32ToFloat16(num(i))));
      break;
    case DataType.BFLOAT16:
      raw = bytesOf(Uint16Array.from({ length: n }, (_, i) => float32ToBfloat16(num(i))));
      break;
    case DataType.INT64:
      raw = bytesOf(BigInt64Array.from({ length: n }, (_, i) => big(i)));
      break;
    case DataType.UINT64:
      raw = bytesOf(BigUint64Array.from({ length: n }, (_, i) => big(i)));
      break;
    case DataType.INT32:
      raw = bytesOf(Int32Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.UINT32:
      raw = bytesOf(Uint32Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.INT16:
      raw = bytesOf(Int16Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.UINT16:
      raw = bytesOf(Uint16Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.INT8:
      raw = bytesOf(Int8Array.from({ length: n }, (_, i) => num(i)));
      break;
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      raw = Uint8Array.from({ length: n }, (_, i) => num(i));
      break;
    case DataType.INT4:
    case DataType.UINT4:
    case DataType.FLOAT4E2M1:
      raw = pack4(Array.from({ length: n }, (_, i) => num(i)));
      break;
    default:
      throw new AppError('unsupported', `makeTensor: data type ${dtypeName(dataType)} is not supported.`);
  }
  t.rawData = raw;
  return t;
}

function bytesOf(a: TensorValues): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
