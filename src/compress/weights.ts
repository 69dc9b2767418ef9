/**
 * A layer's weight as the layer sees it: the stored tensor(s) (initializer, Constant node, sparse
 * or external) run through the ops between them and the layer: shape-only ops (Identity, Cast,
 * Reshape, Transpose, Unsqueeze, Squeeze, Flatten) and data movement with constant arguments
 * (Slice, Split, Gather, Concat: PyTorch's LSTM/GRU gate re-ordering), all bit-exact copies. Compression replaces the layer's input with a new
 * tensor of exactly this shape and type, so the chain itself can go.
 *
 * Also: which axis of a layer's weight holds its output channels and which is reduced over.
 */
import { AppError } from '../core/errors';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../core/float16';
import type { Layer, LayerWeight, StoredTensorRef } from '../onnx/layers';
import { elementCount, tensorByteLength, tensorFloats, tensorValues } from '../onnx/tensor';
import { DataType, type ExternalDataResolver, type Node, type SparseTensor } from '../onnx/types';
import { constInts, type ConstScope } from './graph-edit';
import { attrInt, attrInts, attrString } from '../onnx/attributes';

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

/** A value on the weight's chain: its shape and float type, and (with data) its row-major values. */
interface ChainValue {
  shape: number[];
  dataType: number;
  values?: Float32Array;
}

/** Copies the entries `idx` along `axis` (Slice, Split and Gather all reduce to this): bit-exact. */
function takeAlong(v: ChainValue, axis: number, idx: readonly number[]): ChainValue {
  const shape = v.shape.slice();
  const len = shape[axis];
  shape[axis] = idx.length;
  if (!v.values) return { ...v, shape };
  const outer = elementCount(v.shape.slice(0, axis));
  const inner = elementCount(v.shape.slice(axis + 1));
  const src = v.values;
  const out = new Float32Array(outer * idx.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const j of idx) {
      const from = (a * len + j) * inner;
      out.set(src.subarray(from, from + inner), o);
      o += inner;
    }
  }
  return { ...v, shape, values: out };
}

const range = (start: number, end: number) => Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);

/** ONNX Slice's index list for one axis (negative starts/ends count from the end, clamped; any non-zero step). */
function sliceIndices(dim: number, start: number, end: number, step: number): number[] {
  if (step === 0 || !Number.isFinite(step)) unsupported('Slice with a zero step');
  const norm = (x: number) => (x < 0 ? x + dim : x);
  let s = norm(start);
  let e = norm(end);
  const out: number[] = [];
  if (step > 0) {
    s = Math.max(0, Math.min(dim, s));
    e = Math.max(0, Math.min(dim, e));
    for (let i = s; i < e; i += step) out.push(i);
  } else {
    s = Math.max(-1, Math.min(dim - 1, s));
    e = Math.max(-1, Math.min(dim - 1, e));
    for (let i = s; i > e; i += step) out.push(i);
  }
  return out;
}

function concat(parts: ChainValue[], axis0: number, what: string): ChainValue {
  const first = parts[0];
  const rank = first.shape.length;
  const axis = normAxis(axis0, rank, what);
  for (const p of parts) {
    if (p.dataType !== first.dataType) unsupported(`${what} joins tensors of different types`);
    if (p.shape.length !== rank || p.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      unsupported(`${what} joins [${first.shape.join(', ')}] and [${p.shape.join(', ')}]`);
    }
  }
  const shape = first.shape.slice();
  shape[axis] = parts.reduce((n, p) => n + p.shape[axis], 0);
  if (parts.some((p) => !p.values)) return { shape, dataType: first.dataType };
  const outer = elementCount(first.shape.slice(0, axis));
  const out = new Float32Array(elementCount(shape));
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const p of parts) {
      const run = elementCount(p.shape.slice(axis));
      out.set((p.values as Float32Array).subarray(a * run, (a + 1) * run), o);
      o += run;
    }
  }
  return { shape, dataType: first.dataType, values: out };
}

/** One op of a weight chain applied to its evaluated input(s). `output` is the value asked for (Split has several). */
function applyOp(n: Node, output: string, input: (i: number) => ChainValue, scope: ConstScope, w: LayerWeight, external?: ExternalDataResolver): ChainValue {
  const op = n.opType ?? '';
  const what = `${op} "${n.name ?? ''}"`;
  switch (op) {
    case 'Identity':
      return input(0);
    case 'Cast':
      return applyCast(n, input, w);
    case 'Reshape':
      return applyReshape(n, input, scope, what, external);
    case 'Flatten': {
      const x = input(0);
      const axis = attrInt(n, 'axis', 1);
      const a = axis < 0 ? axis + x.shape.length : axis;
      if (a < 0 || a > x.shape.length) unsupported(`Flatten axis ${axis} is outside rank ${x.shape.length}`);
      return { ...x, shape: [elementCount(x.shape.slice(0, a)), elementCount(x.shape.slice(a))] };
    }
    case 'Unsqueeze': {
      const x = input(0);
      const axes = attrInts(n, 'axes') ?? constInput(n, 1, scope, external) ?? unsupported('Unsqueeze without axes');
      const rank = x.shape.length + axes.length;
      const norm = axes.map((a) => normAxis(a, rank, 'Unsqueeze')).sort((p, q) => p - q);
      const out: number[] = [];
      let k = 0;
      for (let d = 0; d < rank; d++) out.push(norm.includes(d) ? 1 : x.shape[k++]);
      return { ...x, shape: out };
    }
    case 'Squeeze': {
      const x = input(0);
      const shape = x.shape;
      const axes = attrInts(n, 'axes') ?? constInput(n, 1, scope, external);
      const drop = axes ? axes.map((a) => normAxis(a, shape.length, 'Squeeze')) : shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      if (drop.some((a) => shape[a] !== 1)) unsupported(`${what} removes a dimension that is not 1`);
      return { ...x, shape: shape.filter((_, i) => !drop.includes(i)) };
    }
    case 'Transpose': {
      const x = input(0);
      const shape = x.shape;
      const perm = attrInts(n, 'perm') ?? shape.map((_, i) => shape.length - 1 - i);
      if (perm.length !== shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) unsupported(`${what} has an invalid perm`);
      return { ...x, shape: perm.map((p) => shape[p]), values: x.values && transpose(x.values, shape, perm) };
    }
    case 'Slice':
      return applySlice(n, input, scope, what, external);
    case 'Gather': {
      const x = input(0);
      const rank = x.shape.length;
      const axis = normAxis(attrInt(n, 'axis', 0), rank, 'Gather');
      const t = scope.lookup(n.inputs[1] ?? '') ?? unsupported(`${what} reads indices that are not a constant`);
      const idx = constInts(t, external).map((i) => (i < 0 ? i + x.shape[axis] : i));
      if (idx.some((i) => !Number.isInteger(i) || i < 0 || i >= x.shape[axis])) unsupported(`${what} has an index outside [0, ${x.shape[axis]})`);
      if (idx.length !== elementCount(t.dims)) unsupported(`${what} has indices that do not fit their shape`);
      const g = takeAlong(x, axis, idx);
      return { ...g, shape: [...x.shape.slice(0, axis), ...t.dims, ...x.shape.slice(axis + 1)] };
    }
    case 'Split':
      return applySplit(n, output, input, scope, what, external);
    case 'Concat':
      return concat(n.inputs.map((_, i) => input(i)), attrInt(n, 'axis', 0), what);
    case 'DequantizeLinear':
    case 'Mul':
      return unsupported(`its weight ${w.name} is already quantized (it passes through ${op})`);
    default:
      return unsupported(`its weight ${w.name} passes through ${op}, which this pass cannot evaluate`);
  }
}

/**
 * Evaluates the weight through its chain: from its stored tensor(s) (several when a Concat joins
 * them) through every node of `viaNodes`, to the value the layer reads. With `withData` false only
 * the shape and type are computed (no tensor bytes are read). Throws AppError('unsupported') with
 * the reason when the weight is not a float tensor or the chain holds something else (e.g. a
 * DequantizeLinear: the weight is already quantized).
 */
export function effectiveWeight(
  w: LayerWeight,
  scope: ConstScope,
  withData: boolean,
  external?: ExternalDataResolver,
): EffectiveWeight {
  const stored = new Map<string, StoredTensorRef>([[w.name, w]]);
  for (const p of w.parts ?? []) if (!stored.has(p.name)) stored.set(p.name, p);
  for (const s of stored.values()) {
    if (!FLOAT_TYPES.has(s.dataType)) unsupported(`its weight ${s.name} is ${s.dtype}, not a float tensor (already quantized?)`);
  }
  for (const n of w.viaNodes) {
    const op = n.opType ?? '';
    if (op === 'DequantizeLinear' || op === 'Mul') unsupported(`its weight ${w.name} is already quantized (it passes through ${op})`);
  }
  const producer = new Map<string, Node>();
  for (const n of w.viaNodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const memo = new Map<string, ChainValue>();
  const load = (s: StoredTensorRef): ChainValue => {
    const shape = [...s.shape];
    if (!withData) return { shape, dataType: s.dataType };
    let values: Float32Array;
    if (s.sparse) values = densify(s.sparse, external);
    else if (s.tensor) values = tensorFloats(s.tensor, external);
    else unsupported(`its weight ${s.name} holds no data`);
    if (values.length !== elementCount(shape)) unsupported(`its weight ${s.name} holds ${values.length} values for shape [${shape.join(', ')}]`);
    return { shape, dataType: s.dataType, values };
  };
  const value = (name: string): ChainValue => {
    const hit = memo.get(name);
    if (hit) return hit;
    const n = producer.get(name);
    const s = stored.get(name);
    let v: ChainValue;
    if (n) v = applyOp(n, name, (i) => value(n.inputs[i] ?? ''), scope, w, external);
    else if (s) v = load(s);
    else unsupported(`its weight ${w.name} reads ${name || '(empty)'}, which its chain does not hold`);
    memo.set(name, v);
    return v;
  };
  // a straight chain ends at the layer's input; without nodes the layer reads the stored tensor
  const top = w.viaNodes.length > 0 ? w.input : w.name;
  const r = value(top);
  return { shape: r.shape, dataType: r.dataType, values: r.values };
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
    case 'Einsum':
      return einsumAxes(attrString(n, 'equation') ?? '', inputIndex, rank);
    default:
      return {};
  }
}

/**
 * An Einsum weight's axes from its equation (two operands, the weight's term without an
 * ellipsis or a repeated letter): its output channel is the one letter it shares only with the
 * output, its reduction axis the one letter it shares only with the other operand
 * ('bti,oi->bto': the weight "oi" has channel axis 0 and blocks along axis 1). Where there is not
 * exactly one of a kind, that axis is left out.
 */
export function einsumAxes(equation: string, inputIndex: number, rank: number): WeightAxes {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  if (terms.length !== 2 || inputIndex > 1) return {};
  const mine = terms[inputIndex];
  const other = terms[1 - inputIndex];
  if (!/^[a-zA-Z]+$/.test(mine) || mine.length !== rank || new Set(mine).size !== mine.length) return {};
  // (no "->": the output is every letter that appears once, in alphabetical order)
  const letters = (t: string) => t.replace(/\.\.\./g, '');
  const output = rhs !== undefined ? letters(rhs) : [...new Set(letters(lhs.replace(',', '')))].filter((c) => letters(lhs).split(c).length === 2).sort().join('');
  const channel = [...mine].filter((c) => output.includes(c) && !other.includes(c));
  const reduce = [...mine].filter((c) => other.includes(c) && !output.includes(c));
  return {
    ...(channel.length === 1 ? { channelAxis: mine.indexOf(channel[0]) } : {}),
    ...(reduce.length === 1 ? { blockAxis: mine.indexOf(reduce[0]) } : {}),
  };
}

/** Bytes a layer weight takes where it is stored (sparse: values plus indices); 0 when unreadable. */
export function weightStoredBytes(w: LayerWeight): number {
  let n = storedBytes(w);
  for (const p of w.parts ?? []) n += storedBytes(p);
  return n;
}

function storedBytes(w: StoredTensorRef): number {
  try {
    if (w.sparse) return (w.sparse.values ? tensorByteLength(w.sparse.values) : 0) + (w.sparse.indices ? tensorByteLength(w.sparse.indices) : 0);
    return w.tensor ? tensorByteLength(w.tensor) : 0;
  } catch {
    return 0;
  }
}

/** Cast: float types only; float16 and bfloat16 round the values as the cast would. */
function applyCast(n: Node, input: (i: number) => ChainValue, w: LayerWeight): ChainValue {
  const x = input(0);
  const to = attrInt(n, 'to', 0);
  if (!FLOAT_TYPES.has(to)) unsupported(`its weight ${w.name} is cast to a non-float type`);
  // (values may view the model file: write a new array)
  let values = x.values;
  if (values && to === DataType.FLOAT16) {
    const src = values;
    values = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) values[i] = float16ToFloat32(float32ToFloat16(src[i]));
  } else if (values && to === DataType.BFLOAT16) {
    const src = values;
    values = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) values[i] = bfloat16ToFloat32(float32ToBfloat16(src[i]));
  }
  return { shape: x.shape, dataType: to, values };
}

/** Reshape to a constant target (0 copies a dimension unless allowzero, -1 is inferred). */
function applyReshape(n: Node, input: (i: number) => ChainValue, scope: ConstScope, what: string, external?: ExternalDataResolver): ChainValue {
  const x = input(0);
  const shape = x.shape;
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
    unsupported(`${what} to [${target.join(', ')}] does not fit [${shape.join(', ')}]`);
  }
  return { ...x, shape: out };
}

/** Slice with constant starts, ends, axes and steps (attributes before opset 10, inputs since). */
function applySlice(n: Node, input: (i: number) => ChainValue, scope: ConstScope, what: string, external?: ExternalDataResolver): ChainValue {
  let v = input(0);
  const rank = v.shape.length;
  // opset < 10 keeps starts/ends/axes as attributes; later opsets as inputs (steps since 10)
  const byInputs = n.inputs.length >= 3;
  const starts = (byInputs ? constInput(n, 1, scope, external) : attrInts(n, 'starts')) ?? unsupported(`${what} without starts`);
  const ends = (byInputs ? constInput(n, 2, scope, external) : attrInts(n, 'ends')) ?? unsupported(`${what} without ends`);
  const axes = (byInputs ? constInput(n, 3, scope, external) : attrInts(n, 'axes')) ?? starts.map((_, i) => i);
  const steps = (byInputs ? constInput(n, 4, scope, external) : undefined) ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) unsupported(`${what} has arguments of different lengths`);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, rank, 'Slice');
    v = takeAlong(v, a, sliceIndices(v.shape[a], starts[i], ends[i], steps[i]));
  });
  return v;
}

/** Split: the part that `output` names. */
function applySplit(n: Node, output: string, input: (i: number) => ChainValue, scope: ConstScope, what: string, external?: ExternalDataResolver): ChainValue {
  const x = input(0);
  const axis = normAxis(attrInt(n, 'axis', 0), x.shape.length, 'Split');
  const dim = x.shape[axis];
  const k = n.outputs.indexOf(output);
  const count = n.outputs.length;
  let sizes = attrInts(n, 'split') ?? constInput(n, 1, scope, external);
  if (!sizes) {
    // equal parts; since opset 18 (num_outputs) the last may be smaller
    const each = Math.ceil(dim / count);
    sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(each, dim - i * each)));
  }
  if (k < 0 || sizes.length !== count || sizes.some((d) => !Number.isInteger(d) || d < 0) || sizes.reduce((p, d) => p + d, 0) !== dim) {
    unsupported(`${what} does not split [${x.shape.join(', ')}] into its ${count} outputs`);
  }
  const from = sizes.slice(0, k).reduce((p, d) => p + d, 0);
  return takeAlong(x, axis, range(from, from + sizes[k]));
}
