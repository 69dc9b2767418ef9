/**
 * Where and how weights are stored: typed fields (float_data, int32_data, int64_data,
 * double_data, uint64_data, string_data, fp16/bf16 bits in int32_data) next to raw_data, every
 * Constant form, external data files, sparse initializers, int8/uint8/int4/uint4
 * DequantizeLinear weights (opset 21), float16/bfloat16 weights, bool and int64 inputs.
 */
import { float32ToBfloat16, float32ToFloat16 } from '../core/float16';
import { attr, emptyTensor, makeGraph, makeNode, makeSparseTensor } from '../onnx/build';
import { makeTensor, pack4 } from '../onnx/tensor';
import { DataLocation, DataType, type Tensor } from '../onnx/types';
import {
  BOOL,
  FLOAT,
  INT64,
  boolInput,
  f32,
  floatInput,
  i64,
  int64Input,
  modelAt,
  vi,
  type ExpectedOutput,
  type Fixture,
  type WeightValues,
} from './fixture-kit';
import { randomFloats, randomInts, seeded } from './random';
import * as ref from './reference';

const f = Math.fround;

// ---------------------------------------------------------------------------------------------
// Typed fields: one tensor per storage field and data type, with raw_data twins. Each is routed
// to an output by Identity (Cast for bfloat16, which onnxruntime-node cannot return).

interface Stored {
  tensor: () => Tensor;
  /** onnxruntime output type, and what tensorValues/tensorStrings give back */
  out: string;
  values: WeightValues;
  /** the output data as onnxruntime-node returns it (float16: bit patterns) */
  output: ArrayLike<number | bigint> | string[];
  cast?: boolean;
}

const fp16Values = [1, -2.5, 2 ** -14, 65504, -0];
const fp16Bits = fp16Values.map(float32ToFloat16);
const bf16Values = [1, -3.140625, 256, 2 ** -20];
const bf16Bits = bf16Values.map(float32ToBfloat16);

const typed = (name: string, dataType: number, dims: number[], p: Partial<Tensor>) => () => emptyTensor({ name, dataType, dims, ...p });
const raw = (name: string, dataType: number, dims: number[], values: ArrayLike<number | bigint | string>) => () =>
  makeTensor(name, dataType, dims, values);

const STORED: Record<string, Stored> = {
  typed_double: {
    tensor: typed('typed_double', DataType.DOUBLE, [3], { doubleData: Float64Array.of(Math.PI, -1e300, 5e-324) }),
    out: 'float64',
    values: [Math.PI, -1e300, 5e-324],
    output: [Math.PI, -1e300, 5e-324],
  },
  raw_double: {
    tensor: raw('raw_double', DataType.DOUBLE, [2], [Math.E, -0.125]),
    out: 'float64',
    values: [Math.E, -0.125],
    output: [Math.E, -0.125],
  },
  typed_int32: {
    tensor: typed('typed_int32', DataType.INT32, [3], { int32Data: Int32Array.of(-2147483648, 0, 2147483647) }),
    out: 'int32',
    values: [-2147483648, 0, 2147483647],
    output: [-2147483648, 0, 2147483647],
  },
  typed_int64: {
    tensor: typed('typed_int64', INT64, [4], { int64Data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, -1n, 42n) }),
    out: 'int64',
    values: [-(2n ** 63n), 2n ** 63n - 1n, -1n, 42n],
    output: [-(2n ** 63n), 2n ** 63n - 1n, -1n, 42n],
  },
  raw_int64: {
    tensor: raw('raw_int64', INT64, [2], [-7n, 1n << 40n]),
    out: 'int64',
    values: [-7n, 1n << 40n],
    output: [-7n, 1n << 40n],
  },
  typed_uint64: {
    tensor: typed('typed_uint64', DataType.UINT64, [3], { uint64Data: BigUint64Array.of(0n, 2n ** 64n - 1n, 12345678901234567890n) }),
    out: 'uint64',
    values: [0n, 2n ** 64n - 1n, 12345678901234567890n],
    output: [0n, 2n ** 64n - 1n, 12345678901234567890n],
  },
  typed_uint32: {
    tensor: typed('typed_uint32', DataType.UINT32, [2], { uint64Data: BigUint64Array.of(4294967295n, 7n) }),
    out: 'uint32',
    values: [4294967295, 7],
    output: [4294967295, 7],
  },
  typed_int8: {
    tensor: typed('typed_int8', DataType.INT8, [3], { int32Data: Int32Array.of(-128, 0, 127) }),
    out: 'int8',
    values: [-128, 0, 127],
    output: [-128, 0, 127],
  },
  raw_int8: {
    tensor: raw('raw_int8', DataType.INT8, [3], [-1, 2, -3]),
    out: 'int8',
    values: [-1, 2, -3],
    output: [-1, 2, -3],
  },
  typed_uint8: {
    tensor: typed('typed_uint8', DataType.UINT8, [3], { int32Data: Int32Array.of(0, 128, 255) }),
    out: 'uint8',
    values: [0, 128, 255],
    output: [0, 128, 255],
  },
  typed_int16: {
    tensor: typed('typed_int16', DataType.INT16, [2], { int32Data: Int32Array.of(-32768, 32767) }),
    out: 'int16',
    values: [-32768, 32767],
    output: [-32768, 32767],
  },
  typed_uint16: {
    tensor: typed('typed_uint16', DataType.UINT16, [2], { int32Data: Int32Array.of(0, 65535) }),
    out: 'uint16',
    values: [0, 65535],
    output: [0, 65535],
  },
  raw_uint16: {
    tensor: raw('raw_uint16', DataType.UINT16, [2], [1, 40000]),
    out: 'uint16',
    values: [1, 40000],
    output: [1, 40000],
  },
  typed_bool: {
    tensor: typed('typed_bool', BOOL, [3], { int32Data: Int32Array.of(1, 0, 1) }),
    out: 'bool',
    values: [1, 0, 1],
    output: [1, 0, 1],
  },
  raw_bool: {
    tensor: raw('raw_bool', BOOL, [2], [0, 1]),
    out: 'bool',
    values: [0, 1],
    output: [0, 1],
  },
  typed_fp16: {
    tensor: typed('typed_fp16', DataType.FLOAT16, [5], { int32Data: Int32Array.from(fp16Bits) }),
    out: 'float16',
    values: fp16Values,
    output: fp16Bits,
  },
  raw_fp16: {
    tensor: raw('raw_fp16', DataType.FLOAT16, [5], fp16Values),
    out: 'float16',
    values: fp16Values,
    output: fp16Bits,
  },
  typed_bf16: {
    tensor: typed('typed_bf16', DataType.BFLOAT16, [4], { int32Data: Int32Array.from(bf16Bits) }),
    out: 'float32',
    values: bf16Values,
    output: bf16Values,
    cast: true,
  },
  typed_string: {
    tensor: typed('typed_string', DataType.STRING, [3], { stringData: ['hello', 'wörld', ''].map((s) => new TextEncoder().encode(s)) }),
    out: 'string',
    values: ['hello', 'wörld', ''],
    output: ['hello', 'wörld', ''],
  },
};

const ORT_TO_ONNX: Record<string, number> = {
  float32: FLOAT,
  float64: DataType.DOUBLE,
  int32: DataType.INT32,
  int64: INT64,
  uint64: DataType.UINT64,
  uint32: DataType.UINT32,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  int16: DataType.INT16,
  uint16: DataType.UINT16,
  bool: BOOL,
  float16: DataType.FLOAT16,
  string: DataType.STRING,
};

const typedFloat = Float32Array.of(0.5, -1.25, 3, 1e-3);
const rawFloat = Float32Array.of(-0.5, 2, 0.125, 100);
const typedX = Float32Array.of(1, 2, 3, 4);

const typedFieldsFixture: Fixture = {
  id: 'typed-fields-opset13',
  description: 'initializers in every typed field (float_data, double_data, int32_data for int8/uint8/int16/uint16/bool/fp16/bf16, int64_data, uint64_data for uint64/uint32, string_data) and raw_data twins, extremes included',
  features: ['float_data', 'double_data', 'int32_data', 'int64_data', 'uint64_data', 'string_data', 'fp16-in-int32_data', 'raw_data', 'string-output', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const entries = Object.entries(STORED);
    const graph = makeGraph({
      name: 'typed_fields',
      inputs: [vi('x', FLOAT, [4])],
      outputs: [
        vi('sum', FLOAT, [4]),
        ...entries.map(([name, s]) => vi(`out_${name}`, ORT_TO_ONNX[s.out], [...s.tensor().dims])),
      ],
      initializers: [
        emptyTensor({ name: 'typed_float', dataType: FLOAT, dims: [4], floatData: Float32Array.from(typedFloat) }),
        f32('raw_float', [4], rawFloat),
        ...entries.map(([, s]) => s.tensor()),
      ],
      nodes: [
        makeNode('Add', ['x', 'typed_float'], ['partial'], []),
        makeNode('Add', ['partial', 'raw_float'], ['sum'], []),
        ...entries.map(([name, s]) =>
          s.cast
            ? makeNode('Cast', [name], [`out_${name}`], [attr.int('to', FLOAT)], { name: `read_${name}` })
            : makeNode('Identity', [name], [`out_${name}`], [], { name: `read_${name}` }),
        ),
      ],
    });
    return { model: modelAt(13, graph) };
  },
  inputs: () => ({ x: floatInput([4], typedX) }),
  expected: () => {
    const out: Record<string, ExpectedOutput> = {
      sum: { dims: [4], data: ref.map(typedX, (v, i) => f(f(v + typedFloat[i]) + rawFloat[i])) },
    };
    for (const [name, s] of Object.entries(STORED)) out[`out_${name}`] = { dims: [...s.tensor().dims], data: s.output };
    return out;
  },
  weights: () => ({
    typed_float: typedFloat,
    raw_float: rawFloat,
    ...Object.fromEntries(Object.entries(STORED).map(([name, s]) => [name, s.values])),
  }),
};

// ---------------------------------------------------------------------------------------------
// Constant nodes in every form (opset 13).

const constX = Float32Array.of(1, -2, 3, -4, 0.5, 0.25, -0.125, 8);
const kFloats = [0.5, -1, 1.5, 2];
const sparseDense = [0, 1, 0, 0, 0, 0, -2, 0];

const constantsFixture: Fixture = {
  id: 'constants-opset13',
  description: 'Constant nodes with value (double_data), value_float, value_floats, value_int, value_ints, value_string, value_strings and sparse_value, all feeding outputs',
  features: ['constant-weights', 'constant-value_float', 'constant-value_floats', 'constant-value_int', 'constant-value_ints', 'constant-value_string', 'constant-value_strings', 'constant-sparse_value', 'sparse-tensor-attr', 'double_data', 'string-output', 'int64-input', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const sparse = makeSparseTensor(f32('', [2], [1, -2]), i64('', [2], [1, 6]), [2, 4]);
    const graph = makeGraph({
      name: 'constants',
      inputs: [vi('x', FLOAT, [2, 4]), vi('n', INT64, [])],
      outputs: [
        vi('y', FLOAT, [2, 4]),
        vi('picked', FLOAT, [2, 2]),
        vi('n_out', INT64, []),
        vi('labels', DataType.STRING, [3]),
        vi('greeting', DataType.STRING, []),
        vi('k_double_out', DataType.DOUBLE, [2]),
      ],
      nodes: [
        makeNode('Constant', [], ['k_float'], [attr.float('value_float', 2)]),
        makeNode('Constant', [], ['k_floats'], [attr.floats('value_floats', kFloats)]),
        makeNode('Constant', [], ['k_int'], [attr.int('value_int', 7)]),
        makeNode('Constant', [], ['k_ints'], [attr.ints('value_ints', [3, 0])]),
        makeNode('Constant', [], ['k_string'], [attr.string('value_string', 'hello')]),
        makeNode('Constant', [], ['k_strings'], [attr.strings('value_strings', ['a', 'βγ', ''])]),
        makeNode('Constant', [], ['k_sparse'], [attr.sparseTensor('sparse_value', sparse)]),
        makeNode('Constant', [], ['k_double'], [
          attr.tensor('value', emptyTensor({ dataType: DataType.DOUBLE, dims: [2], doubleData: Float64Array.of(0.25, -8) })),
        ]),
        makeNode('Mul', ['x', 'k_float'], ['a'], []),
        makeNode('Add', ['a', 'k_floats'], ['b'], []),
        makeNode('Add', ['b', 'k_sparse'], ['y'], []),
        makeNode('Gather', ['x', 'k_ints'], ['picked'], [attr.int('axis', 1)]),
        makeNode('Add', ['n', 'k_int'], ['n_out'], []),
        makeNode('Identity', ['k_strings'], ['labels'], []),
        makeNode('Identity', ['k_string'], ['greeting'], []),
        makeNode('Identity', ['k_double'], ['k_double_out'], []),
      ],
    });
    return { model: modelAt(13, graph) };
  },
  inputs: () => ({ x: floatInput([2, 4], constX), n: int64Input([], [5]) }),
  expected: () => ({
    y: { dims: [2, 4], data: ref.map(constX, (v, i) => f(f(f(v * 2) + kFloats[i % 4]) + sparseDense[i])) },
    picked: { dims: [2, 2], data: [constX[3], constX[0], constX[7], constX[4]] },
    n_out: { dims: [], data: [12n] },
    labels: { dims: [3], data: ['a', 'βγ', ''] },
    greeting: { dims: [], data: ['hello'] },
    k_double_out: { dims: [2], data: [0.25, -8] },
  }),
  weights: () => ({
    k_float: [2],
    k_floats: kFloats,
    k_int: [7n],
    k_ints: [3n, 0n],
    k_string: ['hello'],
    k_strings: ['a', 'βγ', ''],
    k_sparse: sparseDense,
    k_double: [0.25, -8],
  }),
};

// ---------------------------------------------------------------------------------------------
// External data: a model plus two data files (one in a subfolder, one reference without length).

const ext = (() => {
  const rng = seeded(7);
  return {
    w1: randomFloats(rng, 6 * 8, 0.5),
    b1: randomFloats(rng, 8, 0.2),
    w2: randomFloats(rng, 8 * 3, 0.5),
    b2: randomFloats(rng, 3, 0.2),
    x: randomFloats(seeded(108), 2 * 6, 1),
  };
})();

function externalTensor(name: string, dims: number[], location: string, offset: number, length?: number): Tensor {
  const externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
  ];
  if (length !== undefined) externalData.push({ key: 'length', value: String(length) });
  return emptyTensor({ name, dataType: FLOAT, dims, dataLocation: DataLocation.EXTERNAL, externalData });
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const externalFixture: Fixture = {
  id: 'external-data-opset13',
  description: 'MLP whose weights live in two external data files (weights.bin with padding between tensors, data/more.bin without a length key); one bias inline',
  features: ['external-data', 'mlp', 'raw_data', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const weights = new Uint8Array(256 + 32);
    weights.set(bytesOf(ext.w1), 0);
    weights.set(bytesOf(ext.b1), 256);
    const more = Uint8Array.from(bytesOf(ext.w2));
    const graph = makeGraph({
      name: 'external_mlp',
      inputs: [vi('x', FLOAT, ['batch', 6])],
      outputs: [vi('y', FLOAT, ['batch', 3])],
      initializers: [
        externalTensor('fc1.weight', [6, 8], 'weights.bin', 0, 192),
        externalTensor('fc1.bias', [8], 'weights.bin', 256, 32),
        externalTensor('fc2.weight', [8, 3], 'data/more.bin', 0),
        f32('fc2.bias', [3], ext.b2),
      ],
      nodes: [
        makeNode('MatMul', ['x', 'fc1.weight'], ['h0'], [], { name: 'fc1' }),
        makeNode('Add', ['h0', 'fc1.bias'], ['h1'], [], { name: 'fc1_bias' }),
        makeNode('Relu', ['h1'], ['h2'], [], { name: 'act' }),
        makeNode('MatMul', ['h2', 'fc2.weight'], ['h3'], [], { name: 'fc2' }),
        makeNode('Add', ['h3', 'fc2.bias'], ['y'], [], { name: 'fc2_bias' }),
      ],
    });
    return { model: modelAt(13, graph), externalFiles: { 'weights.bin': weights, 'data/more.bin': more } };
  },
  inputs: () => ({ x: floatInput([2, 6], ext.x) }),
  expected: () => {
    const h = ref.relu(ref.addRow(ref.matmul(ext.x, ext.w1, 2, 6, 8), ext.b1, 8));
    return { y: { dims: [2, 3], data: ref.addRow(ref.matmul(h, ext.w2, 2, 8, 3), ext.b2, 3), tolerance: 1e-5 } };
  },
  weights: () => ({ 'fc1.weight': ext.w1, 'fc1.bias': ext.b1, 'fc2.weight': ext.w2, 'fc2.bias': ext.b2 }),
};

// ---------------------------------------------------------------------------------------------
// Sparse initializers (graph.sparse_initializer): linear [NNZ] and coordinate [NNZ, rank] indices.

const sp = (() => {
  const W = new Float32Array(15);
  const wIdx = [0, 4, 7, 11, 14];
  const wVal = [0.5, -1.5, 2, 0.25, -0.75];
  wIdx.forEach((k, i) => (W[k] = wVal[i]));
  const V = new Float32Array(9);
  const vCoords = [
    [0, 0],
    [1, 2],
    [2, 1],
  ];
  const vVal = [1.5, -2, 0.5];
  vCoords.forEach(([r, c], i) => (V[r * 3 + c] = vVal[i]));
  return { W, wIdx, wVal, V, vCoords, vVal, x: randomFloats(seeded(109), 10, 1) };
})();

const sparseFixture: Fixture = {
  id: 'sparse-initializer-opset13',
  description: 'graph sparse_initializer entries with linear and with [NNZ, rank] coordinate indices, consumed by MatMul',
  features: ['sparse_initializer', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'sparse',
      inputs: [vi('x', FLOAT, [2, 5])],
      outputs: [vi('y', FLOAT, [2, 3])],
      sparseInitializers: [
        makeSparseTensor(f32('W', [5], sp.wVal), i64('W_indices', [5], sp.wIdx), [5, 3]),
        makeSparseTensor(f32('V', [3], sp.vVal), i64('V_indices', [3, 2], sp.vCoords.flat()), [3, 3]),
      ],
      nodes: [makeNode('MatMul', ['x', 'W'], ['h'], [], { name: 'fc1' }), makeNode('MatMul', ['h', 'V'], ['y'], [], { name: 'fc2' })],
    });
    return { model: modelAt(13, graph) };
  },
  inputs: () => ({ x: floatInput([2, 5], sp.x) }),
  expected: () => ({ y: { dims: [2, 3], data: ref.matmul(ref.matmul(sp.x, sp.W, 2, 5, 3), sp.V, 2, 3, 3), tolerance: 1e-5 } }),
  weights: () => ({ W: sp.W, V: sp.V }),
};

// ---------------------------------------------------------------------------------------------
// DequantizeLinear weights at opset 21 / IR 10: int8 per-axis, uint8 per-tensor with zero point,
// int4 blocked with an int4 zero point in int32_data, uint4 per-tensor.

const q = (() => {
  const rng = seeded(8);
  return {
    w1: randomInts(rng, 8 * 6, -127, 127),
    s1: Float32Array.from(randomInts(rng, 6, 1, 8), (v) => v / 256),
    w2: randomInts(rng, 6 * 4, 0, 255),
    s2: f(0.01),
    z2: 128,
    w3: randomInts(rng, 16, -8, 7),
    s3: Float32Array.from(randomInts(rng, 8, 1, 8), (v) => v / 16),
    z3: randomInts(rng, 8, -2, 2),
    w4: randomInts(rng, 8, 0, 15),
    s4: f(0.125),
    z4: 8,
    x: randomFloats(seeded(110), 16, 1),
  };
})();

const quantFixture: Fixture = {
  id: 'quant-opset21',
  description: 'DequantizeLinear weights into MatMul at opset 21 / IR 10: int8 per-axis, uint8 per-tensor with zero point, int4 blocked (block_size 2) with an int4 zero point stored in int32_data, uint4 per-tensor; quantization_annotation',
  features: ['dequantize-linear', 'int8', 'uint8', 'int4', 'uint4', 'int4-in-int32_data', 'blocked-quantization', 'quantization_annotation', 'opset-21', 'ir-10'],
  runnable: true,
  build: () => {
    const zp3 = emptyTensor({ name: 'zp3', dataType: DataType.INT4, dims: [2, 4], int32Data: Int32Array.from(pack4(q.z3)) });
    const graph = makeGraph({
      name: 'quantized_mlp',
      inputs: [vi('x', FLOAT, [2, 8])],
      outputs: [vi('y', FLOAT, [2, 2]), vi('h1', FLOAT, [2, 6])],
      initializers: [
        makeTensor('w1_q', DataType.INT8, [8, 6], q.w1),
        f32('s1', [6], q.s1),
        makeTensor('w2_q', DataType.UINT8, [6, 4], q.w2),
        f32('s2', [], [q.s2]),
        makeTensor('zp2', DataType.UINT8, [], [q.z2]),
        makeTensor('w3_q', DataType.INT4, [4, 4], q.w3),
        f32('s3', [2, 4], q.s3),
        zp3,
        makeTensor('w4_q', DataType.UINT4, [4, 2], q.w4),
        f32('s4', [], [q.s4]),
        makeTensor('zp4', DataType.UINT4, [], [q.z4]),
      ],
      nodes: [
        makeNode('DequantizeLinear', ['w1_q', 's1'], ['w1'], [attr.int('axis', 1)], { name: 'fc1/dq' }),
        makeNode('MatMul', ['x', 'w1'], ['h1'], [], { name: 'fc1' }),
        makeNode('DequantizeLinear', ['w2_q', 's2', 'zp2'], ['w2'], [], { name: 'fc2/dq' }),
        makeNode('MatMul', ['h1', 'w2'], ['h2'], [], { name: 'fc2' }),
        makeNode('DequantizeLinear', ['w3_q', 's3', 'zp3'], ['w3'], [attr.int('axis', 0), attr.int('block_size', 2)], { name: 'fc3/dq' }),
        makeNode('MatMul', ['h2', 'w3'], ['h3'], [], { name: 'fc3' }),
        makeNode('DequantizeLinear', ['w4_q', 's4', 'zp4'], ['w4'], [], { name: 'fc4/dq' }),
        makeNode('MatMul', ['h3', 'w4'], ['y'], [], { name: 'fc4' }),
      ],
      quantizationAnnotation: [
        {
          tensorName: 'w1',
          quantParameterTensorNames: [
            { key: 'SCALE_TENSOR', value: 's1' },
            { key: 'QUANTIZED_TENSOR', value: 'w1_q' },
          ],
        },
        {
          tensorName: 'w2',
          quantParameterTensorNames: [
            { key: 'SCALE_TENSOR', value: 's2' },
            { key: 'ZERO_POINT_TENSOR', value: 'zp2' },
          ],
        },
      ],
    });
    return { model: modelAt(21, graph) };
  },
  inputs: () => ({ x: floatInput([2, 8], q.x) }),
  expected: () => {
    const w1 = ref.dequantize(q.w1, (i) => q.s1[i % 6], () => 0);
    const w2 = ref.dequantize(q.w2, () => q.s2, () => q.z2);
    // w3 [4, 4] blocked along axis 0 with block 2: scale/zero point [2, 4] at (row >> 1, col)
    const w3 = ref.dequantize(q.w3, (i) => q.s3[(Math.floor(i / 4) >> 1) * 4 + (i % 4)], (i) => q.z3[(Math.floor(i / 4) >> 1) * 4 + (i % 4)]);
    const w4 = ref.dequantize(q.w4, () => q.s4, () => q.z4);
    const h1 = ref.matmul(q.x, w1, 2, 8, 6);
    const h2 = ref.matmul(h1, w2, 2, 6, 4);
    const h3 = ref.matmul(h2, w3, 2, 4, 4);
    return {
      y: { dims: [2, 2], data: ref.matmul(h3, w4, 2, 4, 2), tolerance: 1e-4 },
      h1: { dims: [2, 6], data: h1, tolerance: 1e-5 },
    };
  },
  weights: () => ({ w1_q: q.w1, w2_q: q.w2, w3_q: q.w3, zp3: q.z3, w4_q: q.w4, zp4: [q.z4], s1: q.s1 }),
};

// ---------------------------------------------------------------------------------------------
// float16 / bfloat16 weights and a float16 input (opset 19 / IR 9), plus Optional(type=...)
// (a TYPE_PROTO attribute).

const h = (() => {
  const rng = seeded(9);
  const exact16 = (n: number, scale: number) => Array.from(randomFloats(rng, n, scale), (v) => Math.round(v * 64) / 64);
  return { w: exact16(12, 1), w2: exact16(9, 1), bias: [0.5, -1, 2], x: exact16(8, 2) };
})();

const fp16Fixture: Fixture = {
  id: 'fp16-opset19',
  description: 'float16 input, float16 weights in raw_data and in int32_data, a bfloat16 bias, Cast chains, float16 output; Optional with a TYPE_PROTO attribute',
  features: ['float16', 'bfloat16', 'fp16-in-int32_data', 'float16-input', 'type-proto-attr', 'optional', 'opset-19', 'ir-9'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'half',
      inputs: [vi('x', DataType.FLOAT16, [2, 4])],
      outputs: [vi('y32', FLOAT, [2, 3]), vi('y16', DataType.FLOAT16, [2, 3]), vi('has_value', BOOL, []), vi('has_x', BOOL, [])],
      initializers: [
        makeTensor('w', DataType.FLOAT16, [4, 3], h.w),
        emptyTensor({ name: 'w2', dataType: DataType.FLOAT16, dims: [3, 3], int32Data: Int32Array.from(h.w2, float32ToFloat16) }),
        makeTensor('bias', DataType.BFLOAT16, [3], h.bias),
      ],
      nodes: [
        makeNode('Cast', ['x'], ['xf'], [attr.int('to', FLOAT)]),
        makeNode('Cast', ['w'], ['wf'], [attr.int('to', FLOAT)]),
        makeNode('MatMul', ['xf', 'wf'], ['m1'], [], { name: 'fc1' }),
        makeNode('Cast', ['w2'], ['w2f'], [attr.int('to', FLOAT)]),
        makeNode('MatMul', ['m1', 'w2f'], ['m2'], [], { name: 'fc2' }),
        makeNode('Cast', ['bias'], ['bf'], [attr.int('to', FLOAT)]),
        makeNode('Add', ['m2', 'bf'], ['y32'], []),
        makeNode('Cast', ['y32'], ['y16'], [attr.int('to', DataType.FLOAT16)]),
        makeNode('Optional', [], ['none'], [attr.typeProto('type', { tensorType: { elemType: FLOAT } })]),
        makeNode('OptionalHasElement', ['none'], ['has_value'], []),
        makeNode('Optional', ['xf'], ['some'], []),
        makeNode('OptionalHasElement', ['some'], ['has_x'], []),
      ],
    });
    return { model: modelAt(19, graph) };
  },
  inputs: () => ({ x: { type: 'float16', dims: [2, 4], data: Uint16Array.from(h.x, float32ToFloat16) } }),
  expected: () => {
    const y32 = ref.addRow(ref.matmul(ref.matmul(h.x, h.w, 2, 4, 3), h.w2, 2, 3, 3), h.bias, 3);
    return {
      y32: { dims: [2, 3], data: y32, tolerance: 1e-4 },
      has_value: { dims: [], data: [0] },
      has_x: { dims: [], data: [1] },
    };
  },
  weights: () => ({ w: h.w, w2: h.w2, bias: h.bias }),
};

// ---------------------------------------------------------------------------------------------
// bool and int64 inputs, several outputs of different types (opset 13).

const emb = randomFloats(seeded(10), 40, 1);
const ids = [3, 0, 9, 3, 7];
const mask = [1, 0, 1, 1, 0];

const boolInt64Fixture: Fixture = {
  id: 'bool-int64-io-opset13',
  description: 'embedding Gather with int64 ids, bool mask input (Unsqueeze, Where, Not, Cast), outputs float, int64 scalar, bool and int64',
  features: ['bool-input', 'int64-input', 'multiple-outputs', 'embedding', 'symbolic-dims', 'opset-13', 'ir-7'],
  runnable: true,
  build: () => {
    const graph = makeGraph({
      name: 'embedding',
      inputs: [vi('ids', INT64, ['N']), vi('mask', BOOL, ['N'])],
      outputs: [vi('masked', FLOAT, ['N', 4]), vi('count', INT64, []), vi('inv', BOOL, ['N']), vi('best', INT64, ['N'])],
      initializers: [f32('embedding.weight', [10, 4], emb), i64('axes', [1], [1]), f32('zero', [], [0])],
      nodes: [
        makeNode('Gather', ['embedding.weight', 'ids'], ['e'], [attr.int('axis', 0)], { name: 'embedding' }),
        makeNode('Unsqueeze', ['mask', 'axes'], ['m2'], []),
        makeNode('Where', ['m2', 'e', 'zero'], ['masked'], []),
        makeNode('Cast', ['mask'], ['mi'], [attr.int('to', INT64)]),
        makeNode('ReduceSum', ['mi'], ['count'], [attr.int('keepdims', 0)]),
        makeNode('Not', ['mask'], ['inv'], []),
        makeNode('ArgMax', ['masked'], ['best'], [attr.int('axis', 1), attr.int('keepdims', 0)]),
      ],
    });
    return { model: modelAt(13, graph) };
  },
  inputs: () => ({ ids: int64Input([5], ids), mask: boolInput([5], mask) }),
  expected: () => {
    const masked = Float32Array.from({ length: 20 }, (_, i) => (mask[i >> 2] ? emb[ids[i >> 2] * 4 + (i % 4)] : 0));
    const best = Array.from({ length: 5 }, (_, r) => {
      let k = 0;
      for (let c = 1; c < 4; c++) if (masked[r * 4 + c] > masked[r * 4 + k]) k = c;
      return BigInt(k);
    });
    return {
      masked: { dims: [5, 4], data: masked },
      count: { dims: [], data: [3n] },
      inv: { dims: [5], data: mask.map((m) => 1 - m) },
      best: { dims: [5], data: best },
    };
  },
  weights: () => ({ 'embedding.weight': emb }),
};

export const STORAGE_FIXTURES: Fixture[] = [
  typedFieldsFixture,
  constantsFixture,
  externalFixture,
  sparseFixture,
  quantFixture,
  fp16Fixture,
  boolInt64Fixture,
];
