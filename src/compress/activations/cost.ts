/**
 * The cost guard for int8 activations (target wasm): integer kernels only pay off where a layer
 * does enough work to cover the quantize / dequantize steps and layout changes around it. The
 * decision is made from shapes alone (no timing), so the same model and recipe always give the
 * same bytes, in the page and in the CLI.
 *
 * - Shapes come from the graph's inputs, value_info and outputs, completed by a small shape
 *   propagation (Conv, pooling, element-wise ops, BatchNormalization, Flatten, Gemm, MatMul,
 *   Reshape, Transpose, broadcast Add/Mul/...). A symbolic first dimension (the batch) is taken
 *   as 1; any other symbolic dimension is unknown.
 * - A layer's work is its multiply-adds (MACs) for one run at those shapes.
 * - The rule, calibrated with scripts/bench-wasm-speed.ts (docs/COMPRESS-SPEED.md has the table):
 *   - a Conv keeps int8 activations (QLinearConv) when it does at least MIN_CONV_MACS, and at
 *     least MIN_CONV_MACS_PER_OUTPUT per output value (not depthwise or very thin);
 *   - Gemm and MatMul keep their weights only: onnxruntime-web's wasm integer GEMM (QGemm,
 *     DynamicQuantizeMatMul) measured slower than float32 at batch 1 at every size tried;
 *   - the model keeps any int8 activations only when the layers keeping them hold at least
 *     MIN_MODEL_FRACTION of its estimated Conv/Gemm/MatMul work and MIN_MODEL_MACS in all (a
 *     lone mid-sized Conv does not win back the quantize step at the model's edges);
 *   - a layer whose MACs cannot be estimated keeps its weights only (conservative).
 */
import { tensorValues } from '../../onnx/tensor';
import type { Model, Node, TypeProto } from '../../onnx/types';
import { attrInt, attrInts, attrString } from '../../onnx/attributes';

/** Fewest multiply-adds per run for a Conv's integer kernel to pay off on wasm (see the header). */
export const MIN_CONV_MACS = 4_000_000;
/**
 * Fewest multiply-adds per output value ((C / group) x kernel) for a Conv's integer kernel to pay
 * off: a depthwise or very thin Conv does too little per value to cover quantizing its input and
 * output (efficientnet_b0 with its depthwise Convs in QDQ ran 0.85x of fp32; without them, see
 * docs/COMPRESS-SPEED.md).
 */
export const MIN_CONV_MACS_PER_OUTPUT = 64;
/** Fewest multiply-adds per run the int8 layers must hold together. */
export const MIN_MODEL_MACS = 24_000_000;
/** Smallest share of the model's Conv/Gemm/MatMul work the int8 layers must hold. */
export const MIN_MODEL_FRACTION = 0.5;

/** A shape with unknown dimensions as undefined. */
export type Shape = (number | undefined)[];

const isDefault = (d: string | undefined) => !d || d === 'ai.onnx';

/** A declared tensor type's shape: the first symbolic dimension taken as 1 (batch), others unknown. */
function declaredShape(t: TypeProto | undefined): Shape | undefined {
  const shape = t?.tensorType?.shape;
  if (!shape) return undefined;
  return shape.dim.map((d, i) => {
    if (d.dimValue !== undefined) return Number(d.dimValue);
    return i === 0 ? 1 : undefined;
  });
}

const known = (s: Shape | undefined): s is number[] => !!s && s.every((d) => d !== undefined && d >= 0);

function broadcast(a: Shape | undefined, b: Shape | undefined): Shape | undefined {
  if (!a || !b) return undefined;
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)];
    const y = i < n - b.length ? 1 : b[i - (n - b.length)];
    out.push(x === 1 ? y : y === 1 ? x : x === y ? x : x === undefined ? y : y === undefined ? x : undefined);
  }
  return out;
}

/** Output spatial sizes of a Conv or pooling over input spatial dims. */
function windowed(n: Node, spatial: Shape, kernel: number[], ceil: boolean): Shape {
  const r = spatial.length;
  const strides = attrInts(n, 'strides') ?? Array(r).fill(1);
  const dil = attrInts(n, 'dilations') ?? Array(r).fill(1);
  const pads = attrInts(n, 'pads') ?? Array(2 * r).fill(0);
  const auto = attrString(n, 'auto_pad') ?? 'NOTSET';
  return spatial.map((x, i) => {
    if (x === undefined || kernel[i] === undefined) return undefined;
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return Math.ceil(x / strides[i]);
    const ek = (kernel[i] - 1) * dil[i] + 1;
    const p = auto === 'VALID' ? 0 : pads[i] + pads[i + r];
    const v = (x + p - ek) / strides[i];
    return (ceil ? Math.ceil(v) : Math.floor(v)) + 1;
  });
}

const SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Sigmoid', 'Tanh', 'Clip', 'Elu', 'Selu', 'HardSigmoid', 'HardSwish', 'Softplus', 'Gelu', 'Erf',
  'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Dropout', 'Identity', 'Cast', 'Softmax', 'LogSoftmax',
  'QuantizeLinear', 'DequantizeLinear', 'Sqrt', 'Exp', 'Neg', 'Abs', 'LRN',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Where']);

/**
 * Shapes of the main graph's tensors: declared ones (graph inputs, value_info, outputs,
 * initializers, Constant nodes) completed by propagation through the ops listed in the header.
 */
export function inferShapes(model: Model, inputDims: Readonly<Record<string, readonly number[]>> = {}): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  const consts = new Map<string, { dims: number[]; values?: () => ArrayLike<number | bigint> }>();
  const g = model.graph;
  if (!g) return shapes;
  for (const t of g.initializers) {
    if (!t.name) continue;
    const dims = t.dims.map((d) => Number(d));
    consts.set(t.name, { dims, values: () => tensorValues(t) as ArrayLike<number | bigint> });
    shapes.set(t.name, dims);
  }
  for (const v of [...g.inputs, ...g.valueInfo, ...g.outputs]) {
    if (!v.name || consts.has(v.name)) continue;
    const given = inputDims[v.name];
    const s = given ? [...given] : declaredShape(v.type);
    if (s && !known(shapes.get(v.name))) shapes.set(v.name, s);
  }
  const set = (name: string | undefined, s: Shape | undefined) => {
    if (!name || !s) return;
    const had = shapes.get(name);
    // a declared shape wins, its unknown dimensions filled from the propagated one
    shapes.set(name, had && had.length === s.length ? had.map((d, i) => d ?? s[i]) : (had ?? s));
  };
  for (const n of g.nodes) {
    if (!isDefault(n.domain)) continue;
    const op = n.opType ?? '';
    const x = shapes.get(n.inputs[0] ?? '');
    const y = n.outputs[0];
    try {
      if (op === 'Constant') {
        const t = n.attributes.find((a) => a.name === 'value')?.t;
        if (t && y) {
          consts.set(y, { dims: t.dims.map((d) => Number(d)), values: () => tensorValues(t) as ArrayLike<number | bigint> });
          set(y, t.dims.map((d) => Number(d)));
        }
      } else if (SAME_SHAPE.has(op)) set(y, x);
      else if (BROADCAST.has(op)) set(y, n.inputs.slice(1).reduce<Shape | undefined>((s, i) => broadcast(s, shapes.get(i)), x));
      else if (op === 'Conv' && x && x.length >= 3) {
        const w = shapes.get(n.inputs[1] ?? '');
        const kernel = attrInts(n, 'kernel_shape') ?? (w ? (w.slice(2) as number[]) : []);
        set(y, [x[0], w?.[0], ...windowed(n, x.slice(2), kernel, false)]);
      } else if ((op === 'MaxPool' || op === 'AveragePool' || op === 'LpPool') && x && x.length >= 3) {
        const kernel = attrInts(n, 'kernel_shape') ?? [];
        set(y, [x[0], x[1], ...windowed(n, x.slice(2), kernel, attrInt(n, 'ceil_mode', 0) !== 0)]);
      } else if ((op === 'GlobalAveragePool' || op === 'GlobalMaxPool') && x) set(y, [x[0], x[1], ...x.slice(2).map(() => 1)]);
      else if (op === 'Flatten' && x) {
        let axis = attrInt(n, 'axis', 1);
        if (axis < 0) axis += x.length;
        const prod = (s: Shape) => s.reduce<number | undefined>((p, d) => (p === undefined || d === undefined ? undefined : p * d), 1);
        set(y, [prod(x.slice(0, axis)), prod(x.slice(axis))]);
      } else if (op === 'Gemm' && x && x.length === 2) {
        const w = shapes.get(n.inputs[1] ?? '');
        const m = attrInt(n, 'transA', 0) ? x[1] : x[0];
        const cols = w && w.length === 2 ? (attrInt(n, 'transB', 0) ? w[0] : w[1]) : undefined;
        set(y, [m, cols]);
      } else if (op === 'MatMul' && x) {
        const w = shapes.get(n.inputs[1] ?? '');
        if (w && x.length >= 1 && w.length >= 1) {
          const a = x.length === 1 ? [1, x[0]] : x;
          const b = w.length === 1 ? [w[0], 1] : w;
          const batch = broadcast(a.slice(0, -2), b.slice(0, -2)) ?? [];
          const out: Shape = [...batch, ...(x.length === 1 ? [] : [a[a.length - 2]]), ...(w.length === 1 ? [] : [b[b.length - 1]])];
          set(y, out);
        }
      } else if (op === 'Reshape' && x) {
        const c = consts.get(n.inputs[1] ?? '');
        if (c?.values) {
          const target = Array.from(c.values(), (v) => Number(v));
          const out: Shape = target.map((d, i) => (d === 0 && attrInt(n, 'allowzero', 0) === 0 ? x[i] : d === -1 ? undefined : d));
          const minus = target.indexOf(-1);
          if (minus >= 0 && known(x)) {
            const total = x.reduce((p, d) => p * d, 1);
            const rest = out.reduce<number | undefined>((p, d, i) => (i === minus || p === undefined ? p : d === undefined ? undefined : p * d), 1);
            if (rest) out[minus] = total / rest;
          }
          set(y, out);
        }
      } else if (op === 'Transpose' && x) {
        const perm = attrInts(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
        set(y, perm.map((p) => x[p]));
      }
    } catch {
      /* a shape that cannot be read stays unknown */
    }
  }
  return shapes;
}

/** Multiply-adds of one Conv / Gemm / MatMul node for one run at the inferred shapes; undefined when unknown. */
export function nodeMacs(n: Node, shapes: Map<string, Shape>): number | undefined {
  if (!isDefault(n.domain)) return undefined;
  const x = shapes.get(n.inputs[0] ?? '');
  const w = shapes.get(n.inputs[1] ?? '');
  const y = shapes.get(n.outputs[0] ?? '');
  if (n.opType === 'Conv') {
    // every output value takes (C / group) * kernel multiply-adds; W is [M, C / group, k...]
    if (!known(y) || !known(w)) return undefined;
    return y.reduce((p, d) => p * d, 1) * w.slice(1).reduce((p, d) => p * d, 1);
  }
  if (n.opType === 'Gemm') {
    if (!known(y) || !known(x) || x.length !== 2) return undefined;
    const k = attrInt(n, 'transA', 0) ? x[0] : x[1];
    return y[0] * y[1] * k;
  }
  if (n.opType === 'MatMul') {
    if (!known(y) || !known(x) || x.length === 0) return undefined;
    return y.reduce((p, d) => p * d, 1) * x[x.length - 1];
  }
  return undefined;
}

/** Multiply-adds per output value of a Conv: (C / group) x kernel size (W is [M, C / group, k...]); 0 when unknown. */
function convReduction(n: Node, shapes: Map<string, Shape>): number {
  const w = shapes.get(n.inputs[1] ?? '');
  return known(w) ? w.slice(1).reduce((p, d) => p * d, 1) : 0;
}

/** The batch the estimate assumes: the first graph input's first dimension when fixed, else 1. */
export function assumedBatch(model: Model): number {
  const g = model.graph;
  if (!g) return 1;
  const inits = new Set(g.initializers.map((t) => t.name));
  const first = g.inputs.find((v) => v.name && !inits.has(v.name));
  const d = first?.type?.tensorType?.shape?.dim[0];
  return d?.dimValue !== undefined ? Number(d.dimValue) : 1;
}

export const formatMacs = (macs: number): string => `${(macs / 1e6).toFixed(macs < 1e7 ? 2 : 1)} M`;

export interface GuardLayer {
  key: string;
  node: Node;
}

export interface GuardDecision {
  /** layers (by key) that keep int8 activations */
  keep: Set<string>;
  /** why each other layer keeps its weights only (the note for its row) */
  reasons: Map<string, string>;
  /** when the whole model falls back to weights only: the report note */
  dropped?: string;
  /** estimated MACs per layer key (undefined when unknown) */
  macs: Map<string, number | undefined>;
}

const GEMM_REASON =
  'int8 activations: onnxruntime-web runs Gemm/MatMul integer kernels (QGemm, DynamicQuantizeMatMul) slower than float32 on wasm at batch 1 at every size measured; weights only';

/** Decides which of the layers planned for int8 activations keep them (see the header). */
export function guardActivations(model: Model, planned: readonly GuardLayer[], inputDims?: Readonly<Record<string, readonly number[]>>): GuardDecision {
  const shapes = inferShapes(model, inputDims);
  const batch = assumedBatch(model);
  const per = batch === 1 ? 'per sample' : `per run (batch ${batch})`;
  const keep = new Set<string>();
  const reasons = new Map<string, string>();
  const macs = new Map<string, number | undefined>();
  let total = 0;
  for (const n of model.graph?.nodes ?? []) {
    if (n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul') total += nodeMacs(n, shapes) ?? 0;
  }
  let kept = 0;
  for (const l of planned) {
    const m = nodeMacs(l.node, shapes);
    macs.set(l.key, m);
    if (l.node.opType !== 'Conv') reasons.set(l.key, GEMM_REASON);
    else if (m === undefined) {
      reasons.set(l.key, 'int8 activations: its work cannot be estimated (a shape around it is unknown; give the model fixed input sizes), so integer kernels may not pay off; weights only');
    } else if (convReduction(l.node, shapes) < MIN_CONV_MACS_PER_OUTPUT) {
      const r = convReduction(l.node, shapes);
      reasons.set(
        l.key,
        `int8 activations: each output value takes ${r} multiply-adds (${attrInt(l.node, 'group', 1) > 1 ? 'a grouped or depthwise Conv' : 'a thin Conv'}), below the ${MIN_CONV_MACS_PER_OUTPUT} that cover quantizing its input and output on wasm; weights only`,
      );
    } else if (m < MIN_CONV_MACS) {
      reasons.set(l.key, `int8 activations: estimated ${formatMacs(m)} MACs ${per}, below the ${formatMacs(MIN_CONV_MACS)} where integer kernels pay off on wasm; weights only`);
    } else {
      keep.add(l.key);
      kept += m;
    }
  }
  if (keep.size > 0 && kept >= MIN_MODEL_FRACTION * total && kept >= MIN_MODEL_MACS) return { keep, reasons, macs };
  for (const k of keep) {
    reasons.set(k, `int8 activations: estimated ${formatMacs(macs.get(k) ?? 0)} MACs ${per}, but dropped for the whole model (see the report notes); weights only`);
  }
  const share = total > 0 ? Math.round((100 * kept) / total) : 0;
  const dropped =
    `int8 activations dropped (weights only): the layers where integer kernels pay off on wasm (Convs of at least ${formatMacs(MIN_CONV_MACS)} MACs) ` +
    `hold ${formatMacs(kept)} of the model's estimated ${formatMacs(total)} MACs ${per} (${share}%); int8 activations need at least ` +
    `${Math.round(MIN_MODEL_FRACTION * 100)}% and ${formatMacs(MIN_MODEL_MACS)} to be faster than the original`;
  return { keep: new Set(), reasons, macs, dropped };
}
