/**
 * Types and small helpers shared by the fixture families (fixtures-*.ts). Models are built only
 * with the project's own factories (src/onnx/build.ts, src/onnx/tensor.ts); tests encode them
 * with src/onnx/codec.ts.
 */
import { makeModel, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Graph, type Model, type OperatorSetId, type Tensor } from '../onnx/types';

/** onnxruntime tensor type names, as `new Tensor(type, data, dims)` takes them. */
export type InputType =
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
  | 'bool'
  | 'string';

export type InputData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

export interface FixtureInput {
  type: InputType;
  dims: number[];
  /** bool as Uint8Array (0/1), float16 as Uint16Array bit patterns */
  data: InputData;
}

/**
 * Values a test expects, computed independently of the model's bytes. Tests compare them with
 * onnxruntime's outputs with graph optimizations off, so fusions that compute approximately on
 * purpose (DequantizeLinear -> MatMul becoming MatMulNBits with int8 activations) stay out.
 */
export interface ExpectedOutput {
  dims?: number[];
  data: ArrayLike<number | bigint> | string[];
  /** absolute tolerance for float outputs (default 0: exact) */
  tolerance?: number;

}

/** Values of a stored weight: numbers/bigints (tensorValues order) or strings. */
export type WeightValues = ArrayLike<number | bigint> | string[];

export interface BuiltFixture {
  model: Model;
  /** external data files by location, for models whose tensors live outside the model file */
  externalFiles?: Record<string, Uint8Array>;
}

export interface Fixture {
  id: string;
  description: string;
  build(): BuiltFixture;
  inputs(): Record<string, FixtureInput>;
  /** false: decode/encode only (onnxruntime cannot or need not run it) */
  runnable: boolean;
  /**
   * onnxruntime refuses the file as written (a node name repeated within a graph) and runs it
   * once every node has a unique name (src/onnx/names.ts assignNodeNames)
   */
  runsAfterNaming?: boolean;
  features: string[];
  /**
   * The original file when the fixture comes from another tool (torch, onnx.helper); build()
   * then decodes it. Absent: the original bytes are encodeModel(build().model).
   */
  source?(): Uint8Array;
  /** outputs computed independently (reference ops or another framework) */
  expected?(): Record<string, ExpectedOutput>;
  /**
   * What the builder stored, by where it lives: an initializer or sparse initializer name (in any
   * graph), or a Constant node's output name (value, value_float(s), value_int(s),
   * value_string(s), sparse_value, densified).
   */
  weights?(): Record<string, WeightValues>;
}

export const FLOAT = DataType.FLOAT;
export const INT64 = DataType.INT64;
export const BOOL = DataType.BOOL;

/** The IR version each opset was released with (onnx/docs/Versioning.md). */
export const IR_FOR_OPSET: Readonly<Record<number, number>> = {
  7: 3,
  8: 3,
  9: 4,
  10: 5,
  11: 6,
  12: 7,
  13: 7,
  14: 7,
  15: 8,
  16: 8,
  17: 8,
  18: 8,
  19: 9,
  20: 9,
  21: 10,
  22: 10,
  23: 11,
};

export function opsets(version: number, extra: Record<string, number> = {}): OperatorSetId[] {
  return [{ domain: '', version }, ...Object.entries(extra).map(([domain, v]) => ({ domain, version: v }))];
}

/** A model at `opset` with its matching IR version. */
export function modelAt(opset: number, graph: Graph, extra: Partial<Model> = {}, domains: Record<string, number> = {}): Model {
  const irVersion = IR_FOR_OPSET[opset];
  if (irVersion === undefined) throw new Error(`no IR version known for opset ${opset}`);
  return makeModel({
    irVersion,
    opsetImport: opsets(opset, domains),
    producerName: 'onnx-compression-studio fixtures',
    producerVersion: '1',
    graph,
    ...extra,
  });
}

export const vi = makeValueInfo;

/** A float32 tensor stored as raw_data. */
export function f32(name: string, dims: number[], values: ArrayLike<number>): Tensor {
  return makeTensor(name, FLOAT, dims, Float32Array.from(values));
}

/** An int64 tensor stored as raw_data. */
export function i64(name: string, dims: number[], values: ArrayLike<number | bigint>): Tensor {
  return makeTensor(name, INT64, dims, BigInt64Array.from(Array.from(values, (v) => BigInt(v))));
}

export function floatInput(dims: number[], data: ArrayLike<number>): FixtureInput {
  return { type: 'float32', dims, data: Float32Array.from(data) };
}

export function int64Input(dims: number[], data: ArrayLike<number | bigint>): FixtureInput {
  return { type: 'int64', dims, data: BigInt64Array.from(Array.from(data, (v) => BigInt(v))) };
}

export function boolInput(dims: number[], data: ArrayLike<boolean | number>): FixtureInput {
  return { type: 'bool', dims, data: Uint8Array.from(Array.from(data, (v) => (v ? 1 : 0))) };
}

/** Bytes of a string (UTF-8). */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
