/**
 * A layer's weight as the layer sees it: the stored tensor (initializer, Constant node, sparse or
 * external) run through the shape-only ops between it and the layer (Identity, Cast, Reshape,
 * Transpose, Unsqueeze, Squeeze, Flatten). Compression replaces the layer's input with a new
 * tensor of exactly this shape and type, so the chain itself can go.
 *
 * Also: which axis of a layer's weight holds its output channels and which is reduced over.
 */
import { AppError } from '../core/errors';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../core/float16';
import type { Layer, LayerWeight } from '../onnx/layers';
import { elementCount, tensorByteLength, tensorFloats, tensorValues } from '../onnx/tensor';
import { DataType, type ExternalDataResolver, type Node, type SparseTensor } from '../onnx/types';
import { constInts, type ConstScope } from './graph-edit';
import { attrInt, attrInts } from '../onnx/attributes';

export const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

export interface EffectiveWeight {
  shape: number[];
  /** the float element type the layer reads */
  dataType: number;
  /** row-major values (present when evaluated with data) */
  values?: Float32Array;
}

function unsupported(msg: string): never {
  throw new AppError('unsupported', msg);
}

function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) unsupported(`${what}: axis ${axis} is outside rank ${rank}`);
  return a;
}

function constInput(n: Node, i: number, scope: ConstScope, external?: ExternalDataResolver): number[] | undefined {
  const name = n.inputs[i];
  if (!name) return undefined;
  const t = scope.lookup(name);
  if (!t) unsupported(`${n.opType} "${n.name ?? ''}" reads ${name}, which is not a constant`);
  return constInts(t, external);
}

function densify(s: SparseTensor, external?: ExternalDataResolver): Float32Array {
  if (!s.values || !s.indices) unsupported('a sparse weight lacks values or indices');
  const vals = tensorFloats(s.values, external);
  const idx = tensorValues(s.indices, external);
  const dims = s.dims;
  const n = elementCount(dims);
  const out = new Float32Array(n);
  const nnz = vals.length;
  const coords = s.indices.dims.length === 2;
  for (let k = 0; k < nnz; k++) {
    let pos = 0;
    if (coords) {
      for (let d = 0; d < dims.length; d++) pos = pos * dims[d] + Number(idx[k * dims.length + d]);
    } else pos = Number(idx[k]);
    if (pos < 0 || pos >= n) unsupported('a sparse weight has an index outside its shape');
    out[pos] = vals[k];
  }
  return out;
}

function transpose(values: Float32Array, shape: number[], perm: number[]): Float32Array {
  const rank = shape.length;
  const out = new Float32Array(values.length);
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= shape[d];
  }
  const strides = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(rank).fill(0);
  const n = values.length;
  const last = rank - 1;
  let src = 0;
  for (let o = 0; o < n; ) {
    // innermost dimension as a strided run
    const len = rank === 0 ? 1 : outShape[last];
    const st = rank === 0 ? 0 : strides[last];
    for (let j = 0; j < len; j++) out[o++] = values[src + j * st];
    if (rank <= 1) break;
    for (let d = last - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < outShape[d]) break;
      src -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Evaluates the weight through its chain. With `withData` false only the shape and type are
 * computed (no tensor bytes are read). Throws AppError('unsupported') with the reason when the
 * weight is not a float tensor or the chain holds something else (e.g. a DequantizeLinear: the
 * weight is already quantized).
 */
export function effectiveWeight(
  w: LayerWeight,
  scope: ConstScope,
  withData: boolean,
  external?: ExternalDataResolver,
): EffectiveWeight {
  let dataType = w.dataType;
  if (!FLOAT_TYPES.has(dataType)) unsupported(`its weight ${w.name} is ${w.dtype}, not a float tensor (already quantized?)`);
  let shape = [...w.shape];
  let values: Float32Array | undefined;
  if (withData) {
    if (w.sparse) values = densify(w.sparse, external);
    else if (w.tensor) values = tensorFloats(w.tensor, external);
    else unsupported(`its weight ${w.name} holds no data`);
    if (values.length !== elementCount(shape)) unsupported(`its weight ${w.name} holds ${values.length} values for shape [${shape.join(', ')}]`);
  }
  for (const n of w.viaNodes) {
    const op = n.opType ?? '';
    switch (op) {
      case 'Identity':
        break;
      case 'Cast': {
        const to = attrInt(n, 'to', 0);
        if (!FLOAT_TYPES.has(to)) unsupported(`its weight ${w.name} is cast to a non-float type`);
        // (values may view the model file: write a new array)
        if (values && to === DataType.FLOAT16) {
          const src = values;
          values = new Float32Array(src.length);
          for (let i = 0; i < src.length; i++) values[i] = float16ToFloat32(float32ToFloat16(src[i]));
        } else if (values && to === DataType.BFLOAT16) {
          const src = values;
          values = new Float32Array(src.length);
          for (let i = 0; i < src.length; i++) values[i] = bfloat16ToFloat32(float32ToBfloat16(src[i]));
        }
        dataType = to;
        break;
      }
      case 'Reshape': {
        const target = constInput(n, 1, scope, external) ?? unsupported('Reshape without a shape');
        const allowZero = attrInt(n, 'allowzero', 0) === 1;
        const total = elementCount(shape);
        const out = target.map((d, i) => (d === 0 && !allowZero ? shape[i] : d));
        const neg = out.indexOf(-1);
        if (neg >= 0) {
          const known = out.reduce((p, d, i) => (i === neg ? p : p * d), 1);
          out[neg] = known === 0 ? 0 : total / known;
        }
        if (out.some((d) => !Number.isInteger(d) || d < 0) || elementCount(out) !== total) {
          unsupported(`Reshape "${n.name ?? ''}" to [${target.join(', ')}] does not fit [${shape.join(', ')}]`);
        }
        shape = out;
        break;
      }
      case 'Flatten': {
        const axis = attrInt(n, 'axis', 1);
        const a = axis < 0 ? axis + shape.length : axis;
        if (a < 0 || a > shape.length) unsupported(`Flatten axis ${axis} is outside rank ${shape.length}`);
        shape = [elementCount(shape.slice(0, a)), elementCount(shape.slice(a))];
        break;
      }
      case 'Unsqueeze': {
        const axes = attrInts(n, 'axes') ?? constInput(n, 1, scope, external) ?? unsupported('Unsqueeze without axes');
        const rank = shape.length + axes.length;
        const norm = axes.map((a) => normAxis(a, rank, 'Unsqueeze')).sort((x, y) => x - y);
        const out: number[] = [];
        let k = 0;
        for (let d = 0; d < rank; d++) out.push(norm.includes(d) ? 1 : shape[k++]);
        shape = out;
        break;
      }
      case 'Squeeze': {
        const axes = attrInts(n, 'axes') ?? constInput(n, 1, scope, external);
        const drop = axes ? axes.map((a) => normAxis(a, shape.length, 'Squeeze')) : shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
        if (drop.some((a) => shape[a] !== 1)) unsupported(`Squeeze "${n.name ?? ''}" removes a dimension that is not 1`);
        shape = shape.filter((_, i) => !drop.includes(i));
        break;
      }
      case 'Transpose': {
        const perm = attrInts(n, 'perm') ?? shape.map((_, i) => shape.length - 1 - i);
        if (perm.length !== shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
          unsupported(`Transpose "${n.name ?? ''}" has an invalid perm`);
        }
        if (values) values = transpose(values, shape, perm);
        shape = perm.map((p) => shape[p]);
        break;
      }
      case 'DequantizeLinear':
      case 'Mul':
        unsupported(`its weight ${w.name} is already quantized (it passes through ${op})`);
        break;
      default:
        unsupported(`its weight ${w.name} passes through ${op}, which this pass cannot evaluate`);
    }
  }
  return { shape, dataType, values };
}

export interface WeightAxes {
  /** the axis of output channels (per-channel scales), when the op has one for this input */
  channelAxis?: number;
  /** the reduction axis blocks run along */
  blockAxis?: number;
  /** blocks run along all axes after the first, flattened (Conv kernels) */
  flattenForBlock?: boolean;
}

/**
 * Output-channel and reduction axes of a layer's weight input, as onnxruntime's quantizer picks
 * them: Conv 0, ConvTranspose 1, MatMul (weights [K, N]) rank-1, Gemm 0 if transB else 1.
 */
export function weightAxes(layer: Layer, inputIndex: number, rank: number): WeightAxes {
  const op = layer.op;
  const n = layer.node;
  const onnx = !layer.domain || layer.domain === 'ai.onnx';
  if (!onnx) return {};
  switch (op) {
    case 'Conv':
      return inputIndex === 1 && rank >= 3 ? { channelAxis: 0, blockAxis: 1, flattenForBlock: true } : {};
    case 'ConvTranspose':
      return inputIndex === 1 && rank >= 3 ? { channelAxis: 1, blockAxis: 0 } : {};
    case 'MatMul':
      if (rank < 2) return rank === 1 ? { blockAxis: 0 } : {};
      return inputIndex === 1 ? { channelAxis: rank - 1, blockAxis: rank - 2 } : { channelAxis: rank - 2, blockAxis: rank - 1 };
    case 'Gemm': {
      if (rank !== 2) return {};
      if (inputIndex === 1) return attrInt(n, 'transB', 0) ? { channelAxis: 0, blockAxis: 1 } : { channelAxis: 1, blockAxis: 0 };
      if (inputIndex === 0) return attrInt(n, 'transA', 0) ? { channelAxis: 1, blockAxis: 0 } : { channelAxis: 0, blockAxis: 1 };
      return {};
    }
    case 'Gather': {
      if (inputIndex !== 0 || rank < 2) return {};
      const axis = attrInt(n, 'axis', 0);
      const a = axis < 0 ? axis + rank : axis;
      if (a < 0 || a >= rank) return {};
      return { channelAxis: a, blockAxis: a === rank - 1 ? rank - 2 : rank - 1 };
    }
    case 'LSTM':
    case 'GRU':
    case 'RNN':
      return (inputIndex === 1 || inputIndex === 2) && rank === 3 ? { channelAxis: 1, blockAxis: 2 } : {};
    default:
      return {};
  }
}

/** Bytes a layer weight takes where it is stored (sparse: values plus indices); 0 when unreadable. */
export function weightStoredBytes(w: LayerWeight): number {
  try {
    if (w.sparse) return (w.sparse.values ? tensorByteLength(w.sparse.values) : 0) + (w.sparse.indices ? tensorByteLength(w.sparse.indices) : 0);
    return w.tensor ? tensorByteLength(w.tensor) : 0;
  } catch {
    return 0;
  }
}
