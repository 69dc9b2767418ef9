/**
 * Model input tensors as the benchmark makes and reads them: a dtype name onnxruntime knows, dims,
 * and a typed array of that dtype (float16 as raw bits in a Uint16Array, bool as 0/1 bytes).
 */
import { AppError } from '../core/errors';

export type TensorDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

export type TensorData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface BenchTensor {
  name: string;
  dtype: TensorDtype;
  dims: number[];
  data: TensorData;
}

export const TENSOR_DTYPES: readonly TensorDtype[] = [
  'float32',
  'float64',
  'float16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
];

export function isTensorDtype(s: string): s is TensorDtype {
  return (TENSOR_DTYPES as readonly string[]).includes(s);
}

/** A zeroed typed array of `n` elements of `dtype`. */
export function allocate(dtype: TensorDtype, n: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'float16':
    case 'uint16':
      return new Uint16Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'uint64':
      return new BigUint64Array(n);
  }
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

/** A copy of the tensor (runtimes may take ownership of the buffers they are fed). */
export function cloneTensor(t: BenchTensor): BenchTensor {
  return { name: t.name, dtype: t.dtype, dims: [...t.dims], data: t.data.slice() };
}

/** Concatenates same-shaped tensors along a new leading batch axis of their first dim (dims[0] summed). */
export function concatBatch(parts: readonly BenchTensor[]): BenchTensor {
  if (parts.length === 0) throw new AppError('invalid-argument', 'nothing to batch');
  const first = parts[0];
  const rest = first.dims.slice(1);
  let rows = 0;
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.dims.length !== first.dims.length || p.dims.slice(1).some((d, i) => d !== rest[i])) {
      throw new AppError('invalid-argument', `"${p.name}": samples of shape [${p.dims.join(', ')}] and [${first.dims.join(', ')}] cannot be batched`);
    }
    rows += p.dims[0] ?? 1;
  }
  const total = parts.reduce((s, p) => s + p.data.length, 0);
  const data = allocate(first.dtype, total);
  let at = 0;
  for (const p of parts) {
    (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p.data as ArrayLike<number | bigint>, at);
    at += p.data.length;
  }
  return { name: first.name, dtype: first.dtype, dims: [rows, ...rest], data };
}
