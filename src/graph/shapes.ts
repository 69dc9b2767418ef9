/**
 * Tensor types for edge labels: what value_info and graph inputs/outputs declare, plus a simple
 * forward propagation for the common ops where nothing is declared. Unknown stays unknown: a
 * dimension that cannot be worked out is '?', an op we do not model gives no shape at all.
 */
import { dtypeName } from '../onnx/tensor';
import { DataType, type Node, type TypeProto, type ValueInfo } from '../onnx/types';
import type { Dim } from './scene-types';
import { attrInt, attrInts, attrString } from '../onnx/attributes';

export interface TensorType {
  dtype: string;
  /** null: unranked (or not a tensor) */
  shape: Dim[] | null;
}

/** The dtype and shape a ValueInfo declares; undefined when it declares no type. */
export function valueInfoType(v: ValueInfo): TensorType | undefined {
  return typeProtoType(v.type);
}

export function typeProtoType(t: TypeProto | undefined): TensorType | undefined {
  const tt = t?.tensorType ?? t?.sparseTensorType;
  if (!tt) {
    if (t?.sequenceType) return { dtype: 'sequence', shape: null };
    if (t?.mapType) return { dtype: 'map', shape: null };
    if (t?.optionalType) return { dtype: 'optional', shape: null };
    return undefined;
  }
  const dtype = tt.elemType === undefined ? '?' : dtypeName(tt.elemType);
  const shape = tt.shape ? tt.shape.dim.map((d): Dim => (d.dimValue !== undefined ? d.dimValue : d.dimParam ? d.dimParam : '?')) : null;
  return { dtype, shape };
}

/** Looks up constant integer values (Reshape's shape, axes inputs); undefined when not constant. */
export type ConstInts = (name: string) => number[] | undefined;
/** Looks up the type of a tensor name (declared, propagated, or a constant's). */
export type TypeOf = (name: string) => TensorType | undefined;

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Gelu', 'FastGelu', 'BiasGelu', 'QuickGelu', 'Softmax', 'LogSoftmax',
  'Dropout', 'Identity', 'Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Clip', 'HardSigmoid', 'HardSwish', 'Elu',
  'Selu', 'Celu', 'Softplus', 'Softsign', 'Mish', 'Sin', 'Cos', 'Tan', 'Floor', 'Ceil', 'Round', 'Sign', 'PRelu',
  'LayerNormalization', 'BatchNormalization', 'InstanceNormalization', 'LpNormalization', 'GroupNormalization',
  'SimplifiedLayerNormalization', 'SkipLayerNormalization', 'SkipSimplifiedLayerNormalization', 'RMSNormalization',
  'CumSum', 'Hardmax', 'ThresholdedRelu', 'Trilu', 'BiasAdd', 'Swish', 'Silu',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'BitShift', 'PRelu']);
const COMPARE = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor']);
const REDUCE = new Set([
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin',
]);
const POOL = new Set(['MaxPool', 'AveragePool', 'LpPool']);
const GLOBAL_POOL = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);

const known = (d: Dim): d is number => typeof d === 'number' && d >= 0;

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (known(a) && known(b)) return '?';
  if (known(a)) return a;
  if (known(b)) return b;
  return '?';
}

export function broadcastShapes(shapes: (Dim[] | null)[]): Dim[] | null {
  let out: Dim[] = [];
  for (const s of shapes) {
    if (s === null) return null;
    const n = Math.max(out.length, s.length);
    const next: Dim[] = new Array<Dim>(n);
    for (let i = 0; i < n; i++) {
      const a = out[out.length - n + i] ?? 1;
      const b = s[s.length - n + i] ?? 1;
      next[i] = out.length - n + i < 0 ? b : s.length - n + i < 0 ? a : broadcastDim(a, b);
    }
    out = next;
  }
  return out;
}

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

function convLike(node: Node, x: Dim[], kernel: number[] | undefined, channels: Dim): Dim[] | null {
  const spatial = x.length - 2;
  if (spatial < 1 || !kernel || kernel.length !== spatial) return null;
  const strides = attrInts(node, 'strides') ?? new Array<number>(spatial).fill(1);
  const dilations = attrInts(node, 'dilations') ?? new Array<number>(spatial).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = attrString(node, 'auto_pad') ?? 'NOTSET';
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const out: Dim[] = [x[0], channels];
  for (let i = 0; i < spatial; i++) {
    const d = x[2 + i];
    if (!known(d)) {
      out.push('?');
      continue;
    }
    const s = strides[i] || 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out.push(Math.ceil(d / s));
      continue;
    }
    const k = (kernel[i] - 1) * (dilations[i] || 1) + 1;
    const padded = d + (autoPad === 'VALID' ? 0 : (pads[i] ?? 0) + (pads[i + spatial] ?? 0)) - k;
    out.push(padded < 0 ? '?' : (ceil ? Math.ceil(padded / s) : Math.floor(padded / s)) + 1);
  }
  return out;
}

function reduceAxes(node: Node, consts: ConstInts, opset: number): number[] | undefined {
  const fromAttr = attrInts(node, 'axes');
  if (fromAttr) return fromAttr;
  if (node.opType === 'ArgMax' || node.opType === 'ArgMin') return [attrInt(node, 'axis', 0)];
  if (node.inputs[1] && (node.opType === 'ReduceSum' ? opset >= 13 : opset >= 18)) return consts(node.inputs[1]);
  return [];
}

/** Output types of one node from its input types, for the ops above; undefined entries are unknown. */
export function inferNode(node: Node, typeOf: TypeOf, consts: ConstInts, opset: number): (TensorType | undefined)[] {
  const op = node.opType ?? '';
  const inT = (i: number) => (node.inputs[i] ? typeOf(node.inputs[i]) : undefined);
  const x = inT(0);
  const xs = x?.shape ?? null;
  const same = (dtype = x?.dtype): TensorType[] => (x ? [{ dtype: dtype ?? '?', shape: xs }] : []);

  if (UNARY.has(op) && !BROADCAST.has(op)) return same();
  if (op === 'Cast') return same(dtypeName(attrInt(node, 'to', DataType.UNDEFINED)));
  if (op === 'CastLike') return same(inT(1)?.dtype);
  if (op === 'Not' || op === 'IsNaN' || op === 'IsInf') return same('bool');
  if (BROADCAST.has(op) || COMPARE.has(op)) {
    const ts = node.inputs.map((_, i) => inT(i));
    if (ts.some((t) => !t)) return [];
    return [{ dtype: COMPARE.has(op) ? 'bool' : ts[0]!.dtype, shape: broadcastShapes(ts.map((t) => t!.shape)) }];
  }
  if (op === 'Where') {
    const ts = [inT(0), inT(1), inT(2)];
    if (ts.some((t) => !t)) return [];
    return [{ dtype: ts[1]!.dtype, shape: broadcastShapes(ts.map((t) => t!.shape)) }];
  }
  if (!x) return [];
  if (op === 'MatMul' || op === 'FusedMatMul' || op === 'MatMulNBits' || op === 'MatMulInteger') {
    const w = inT(1);
    let ws = w?.shape ?? null;
    if (op === 'MatMulNBits') {
      const n = attrInt(node, 'N', -1);
      ws = n > 0 ? [attrInt(node, 'K', -1), n] : null;
    }
    if (!xs || !ws || xs.length === 0 || ws.length === 0) return [{ dtype: x.dtype, shape: null }];
    const a = xs.length === 1 ? [1, xs[0]] : xs;
    const b = ws.length === 1 ? [ws[0], 1] : ws;
    const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]) ?? [];
    const out: Dim[] = [...batch, ...(xs.length === 1 ? [] : [a[a.length - 2]]), ...(ws.length === 1 ? [] : [b[b.length - 1]])];
    return [{ dtype: op === 'MatMulInteger' ? 'int32' : x.dtype, shape: out }];
  }
  if (op === 'Gemm') {
    const w = inT(1)?.shape;
    if (!xs || !w || xs.length !== 2 || w.length !== 2) return [{ dtype: x.dtype, shape: null }];
    const m = attrInt(node, 'transA', 0) ? xs[1] : xs[0];
    const n = attrInt(node, 'transB', 0) ? w[0] : w[1];
    return [{ dtype: x.dtype, shape: [m, n] }];
  }
  if (op === 'Conv' || op === 'ConvInteger' || op === 'FusedConv') {
    const w = inT(1)?.shape;
    if (!xs || !w) return [{ dtype: x.dtype, shape: null }];
    const kernel = attrInts(node, 'kernel_shape') ?? (w.slice(2).every(known) ? (w.slice(2) as number[]) : undefined);
    return [{ dtype: op === 'ConvInteger' ? 'int32' : x.dtype, shape: convLike(node, xs, kernel, w[0]) }];
  }
  if (POOL.has(op)) {
    if (!xs) return [{ dtype: x.dtype, shape: null }];
    const out = { dtype: x.dtype, shape: convLike(node, xs, attrInts(node, 'kernel_shape'), xs[1]) };
    return op === 'MaxPool' ? [out, { dtype: 'int64', shape: out.shape }] : [out];
  }
  if (GLOBAL_POOL.has(op)) {
    return [{ dtype: x.dtype, shape: xs ? xs.map((d, i) => (i < 2 ? d : 1)) : null }];
  }
  if (op === 'Flatten') {
    if (!xs) return [{ dtype: x.dtype, shape: null }];
    const axis = normAxis(attrInt(node, 'axis', 1), xs.length);
    const prod = (ds: Dim[]): Dim => (ds.every(known) ? ds.reduce<number>((p, d) => p * (d as number), 1) : '?');
    return [{ dtype: x.dtype, shape: [prod(xs.slice(0, axis)), prod(xs.slice(axis))] }];
  }
  if (op === 'Transpose') {
    if (!xs) return [{ dtype: x.dtype, shape: null }];
    const perm = attrInts(node, 'perm') ?? xs.map((_, i) => xs.length - 1 - i);
    return [{ dtype: x.dtype, shape: perm.map((p) => xs[p] ?? '?') }];
  }
  if (op === 'Reshape') return inferReshape(node, x, inT, consts);
  if (op === 'Concat') {
    const ts = node.inputs.map((_, i) => inT(i));
    if (ts.some((t) => !t?.shape) || !xs) return [{ dtype: x.dtype, shape: null }];
    const axis = normAxis(attrInt(node, 'axis', 0), xs.length);
    const out = xs.slice();
    let sum: Dim = 0;
    for (const t of ts) {
      const d = t!.shape![axis];
      sum = known(sum) && d !== undefined && known(d) ? sum + d : '?';
    }
    out[axis] = sum;
    return [{ dtype: x.dtype, shape: out }];
  }
  if (op === 'Unsqueeze' || op === 'Squeeze') return inferSqueeze(node, x, inT, consts);
  if (REDUCE.has(op)) {
    if (!xs) return [{ dtype: x.dtype, shape: null }];
    const keep = attrInt(node, 'keepdims', 1) === 1;
    const axes = reduceAxes(node, consts, opset);
    const dtype = op === 'ArgMax' || op === 'ArgMin' ? 'int64' : x.dtype;
    if (!axes) return [{ dtype, shape: null }];
    const noop = attrInt(node, 'noop_with_empty_axes', 0) === 1;
    const set = new Set(axes.length === 0 && !noop ? xs.map((_, i) => i) : axes.map((a) => normAxis(a, xs.length)));
    return [{ dtype, shape: keep ? xs.map((d, i) => (set.has(i) ? 1 : d)) : xs.filter((_, i) => !set.has(i)) }];
  }
  if (op === 'Gather') {
    const idx = inT(1)?.shape;
    if (!xs || !idx) return [{ dtype: x.dtype, shape: null }];
    const axis = normAxis(attrInt(node, 'axis', 0), xs.length);
    return [{ dtype: x.dtype, shape: [...xs.slice(0, axis), ...idx, ...xs.slice(axis + 1)] }];
  }
  if (op === 'Shape') return [{ dtype: 'int64', shape: xs ? [xs.length] : null }];
  if (op === 'Size') return [{ dtype: 'int64', shape: [] }];
  if (op === 'Slice') return inferSlice(node, x, inT, consts);
  if (op === 'QuantizeLinear' || op === 'DequantizeLinear') {
    const dtype = op === 'DequantizeLinear' ? (inT(1)?.dtype ?? 'float32') : (inT(2)?.dtype ?? 'uint8');
    return [{ dtype, shape: xs }];
  }
  return [];
}

/** Reshape: the constant target (0 copies, -1 inferred where the rest is known), or only its rank. */
function inferReshape(node: Node, x: TensorType, inT: (i: number) => TensorType | undefined, consts: ConstInts): (TensorType | undefined)[] {
  const xs = x.shape ?? null;
  const target = node.inputs[1] ? consts(node.inputs[1]) : undefined;
  if (!target) {
    const shapeOfShape = inT(1)?.shape;
    const rank = shapeOfShape && shapeOfShape.length === 1 && known(shapeOfShape[0]) ? shapeOfShape[0] : undefined;
    return [{ dtype: x.dtype, shape: rank === undefined ? null : new Array<Dim>(rank).fill('?') }];
  }
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (xs?.[i] ?? '?') : d === -1 ? '?' : d));
  const minus = target.indexOf(-1);
  if (minus >= 0 && xs && xs.every(known) && out.every((d, i) => i === minus || known(d))) {
    const total = (xs as number[]).reduce((p, d) => p * d, 1);
    const rest = out.reduce<number>((p, d, i) => (i === minus ? p : p * (d as number)), 1);
    if (rest > 0 && total % rest === 0) out[minus] = total / rest;
  }
  return [{ dtype: x.dtype, shape: out }];
}

/** Unsqueeze and Squeeze, with axes from the attribute (before opset 13) or the input. */
function inferSqueeze(node: Node, x: TensorType, _inT: (i: number) => TensorType | undefined, consts: ConstInts): (TensorType | undefined)[] {
  const op = node.opType ?? '';
  const xs = x.shape ?? null;
  const axes = attrInts(node, 'axes') ?? (node.inputs[1] ? consts(node.inputs[1]) : undefined);
  if (!xs) return [{ dtype: x.dtype, shape: null }];
  if (op === 'Unsqueeze') {
    if (!axes) return [{ dtype: x.dtype, shape: null }];
    const rank = xs.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : (xs[j++] ?? '?'));
    return [{ dtype: x.dtype, shape: out }];
  }
  if (!axes) return [{ dtype: x.dtype, shape: xs.every(known) ? xs.filter((d) => d !== 1) : null }];
  const set = new Set(axes.map((a) => normAxis(a, xs.length)));
  return [{ dtype: x.dtype, shape: xs.filter((_, i) => !set.has(i)) }];
}

/** Slice with constant starts, ends, axes and steps (clamped as the operator does). */
function inferSlice(node: Node, x: TensorType, _inT: (i: number) => TensorType | undefined, consts: ConstInts): (TensorType | undefined)[] {
  const xs = x.shape ?? null;
  if (!xs) return [{ dtype: x.dtype, shape: null }];
  const starts = node.inputs[1] ? consts(node.inputs[1]) : attrInts(node, 'starts');
  const ends = node.inputs[2] ? consts(node.inputs[2]) : attrInts(node, 'ends');
  const axes = node.inputs[3] ? consts(node.inputs[3]) : (attrInts(node, 'axes') ?? starts?.map((_, i) => i));
  const steps = node.inputs[4] ? consts(node.inputs[4]) : starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) {
    return [{ dtype: x.dtype, shape: xs.map(() => '?') }];
  }
  const out = xs.slice();
  axes.forEach((a, i) => {
    const ax = normAxis(a, xs.length);
    const d = xs[ax];
    const step = steps[i] ?? 1;
    if (!known(d) || step === 0) {
      out[ax] = '?';
      return;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      out[ax] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      out[ax] = Math.max(0, Math.ceil((e - s) / step));
    }
  });
  return [{ dtype: x.dtype, shape: out }];
}
