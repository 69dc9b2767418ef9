/**
 * The cost guard for int8 activations (target wasm): integer kernels only pay off where a layer
 * saves more multiply-add time than the quantize / dequantize steps at its float edges cost. The
 * decision is made from shapes alone (no timing), so the same model and recipe always give the
 * same bytes, in the page and in the CLI.
 *
 * - Shapes come from the graph's inputs, value_info and outputs, completed by a small shape
 *   propagation (Conv, pooling, element-wise ops, BatchNormalization, Flatten, Gemm, MatMul,
 *   Reshape, Squeeze, Unsqueeze, Transpose, broadcast Add/Mul/...). A symbolic first dimension (the batch) is taken
 *   as 1; any other symbolic dimension is unknown.
 * - A layer's work is its multiply-adds (MACs) for one run at those shapes.
 * - The model, measured side by side on onnxruntime-web 1.30 wasm, 1 thread (`npm run
 *   bench:web-speed`, docs/WEB-SPEED.md has the table):
 *   - a dense Conv or a MatMul costs FLOAT_NS_PER_MAC per MAC in float32 and INT8_NS_PER_MAC +
 *     INT8_NS_PER_MAC_K / K in its integer kernel (QLinearConv, QLinearMatMul /
 *     MatMulIntegerToFloat; K = multiply-adds per output value), plus INT8_LAYER_NS of fixed
 *     overhead;
 *   - every tensor the int8 layers share with float ops pays a QuantizeLinear (Q_NS_PER_ELEMENT
 *     per element) where a float op produces it, and a DequantizeLinear (DQ_NS_PER_ELEMENT) where
 *     a float op (or the graph's output) reads it; between two int8 layers, directly or through
 *     data-movement ops (Reshape, Transpose, MaxPool...), the tensor stays uint8 and costs
 *     nothing; a dynamic MatMul's DynamicQuantizeLinear costs DYNAMIC_Q_FACTOR Q passes;
 *   - a layer keeps int8 activations while its gain (MACs saved minus its share of those steps)
 *     is positive; layers are dropped one at a time, the worst first, and the gains recomputed
 *     (dropping one turns its neighbours' shared tensors into float edges);
 *   - depthwise and grouped Convs, and Convs of fewer than MIN_CONV_MACS_PER_OUTPUT MACs per
 *     output value, keep their weights only (onnxruntime-web's int8 depthwise kernel measured
 *     about 3x slower than float32); Gemm keeps its weights only (QGemm measured slower than
 *     float32 at batch 1 and 8, docs/COMPRESS-SPEED.md), and so does a MatMul of fewer than
 *     MIN_MATMUL_ROWS rows;
 *   - the model keeps any int8 activations only when the kept layers' gains add up to at least
 *     MIN_MODEL_GAIN of the model's estimated Conv/Gemm/MatMul float time;
 *   - a layer whose MACs cannot be estimated keeps its weights only (conservative).
 */
import { tensorValues } from '../../onnx/tensor';
import type { Model, Node, TypeProto } from '../../onnx/types';
import { attrInt, attrInts, attrString } from '../../onnx/attributes';

/** float32 Conv (dense) / MatMul time per multiply-add on wasm, 1 thread (docs/WEB-SPEED.md). */
export const FLOAT_NS_PER_MAC = 0.06;
/**
 * The same in onnxruntime-web's uint8 x int8 kernels (QLinearConv, QLinearMatMul,
 * MatMulIntegerToFloat): INT8_NS_PER_MAC + INT8_NS_PER_MAC_K / K for a reduction of K
 * multiply-adds per output value (short reductions use the SIMD kernel less well: K = 64 about
 * 0.047, K = 256 about 0.030, K = 768 about 0.026).
 */
export const INT8_NS_PER_MAC = 0.024;
export const INT8_NS_PER_MAC_K = 1.5;
/** Fixed extra cost of an int8 layer (kernel set-up, the extra nodes). */
export const INT8_LAYER_NS = 5_000;
/** QuantizeLinear (float -> uint8) per element. */
export const Q_NS_PER_ELEMENT = 0.7;
/** DequantizeLinear (uint8 -> float) per element. */
export const DQ_NS_PER_ELEMENT = 0.7;
/** DynamicQuantizeLinear costs this many QuantizeLinear passes (a min/max pass, then the codes). */
export const DYNAMIC_Q_FACTOR = 2;
/** DynamicQuantizeLinear per input element (the same DYNAMIC_Q_FACTOR Q passes as an uncalibrated MatMul pays). */
export const DYNAMIC_Q_NS_PER_ELEMENT = DYNAMIC_Q_FACTOR * Q_NS_PER_ELEMENT;
/**
 * A Conv's dynamic form: Cast, Mul by the scales and Add of the bias after ConvInteger, per
 * output element. Fitted to the side-by-side table (docs/WEB-SPEED.md, "compressor, dynamic form"
 * against "compressor, forced"): alone between float ops the dynamic Conv ran as fast as QDQ or
 * faster where its output is at least twice its input (pointwise 64->128, 3x3 32->64), about
 * the same where they are equal (pointwise 256->256); a MatMul's dynamic form measured the same
 * as its QDQ (whose output is float already), as the 2 Q passes against 1 say.
 */
export const DYNAMIC_CONV_OUT_NS_PER_ELEMENT = 0.3;
/**
 * Fewest multiply-adds per output value ((C / group) x kernel) for a Conv's integer kernel to pay
 * off; grouped and depthwise Convs never do on wasm (see the header).
 */
export const MIN_CONV_MACS_PER_OUTPUT = 64;
/** Fewest rows (output values per output column) for a MatMul's integer kernel: a matrix-vector product gains nothing. */
export const MIN_MATMUL_ROWS = 16;
/** Smallest estimated saving, as a share of the model's Conv/Gemm/MatMul float time, to keep any int8 activations. */
export const MIN_MODEL_GAIN = 0.05;

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
      } else if ((op === 'Squeeze' || op === 'Unsqueeze') && x) {
        // axes: an attribute before opset 13, a constant input since
        const c = consts.get(n.inputs[1] ?? '');
        const given = attrInts(n, 'axes') ?? (c?.values ? Array.from(c.values(), (v) => Number(v)) : undefined);
        if (op === 'Squeeze') {
          const axes = given?.map((a) => (a < 0 ? a + x.length : a));
          set(y, axes ? x.filter((_, i) => !axes.includes(i)) : x.some((d) => d === undefined) ? undefined : x.filter((d) => d !== 1));
        } else if (given) {
          const rank = x.length + given.length;
          const axes = given.map((a) => (a < 0 ? a + rank : a));
          const rest = [...x];
          set(y, Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift())));
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
  /** 'dynamic': a MatMul without calibration (DynamicQuantizeLinear); default static */
  mode?: 'static' | 'dynamic';
  /** a static Conv's quantized output (its Relu's output when one is fused); default: found like the planner does */
  output?: string;
}

export interface GuardDecision {
  /** layers (by key) that keep int8 activations */
  keep: Set<string>;
  /** of those, the calibrated (static) layers to write in the dynamic form: alone between float ops, it is cheaper than QDQ */
  dynamic: Set<string>;
  /** why each other layer keeps its weights only (the note for its row) */
  reasons: Map<string, string>;
  /** when the whole model falls back to weights only: the report note */
  dropped?: string;
  /** estimated MACs per layer key (undefined when unknown) */
  macs: Map<string, number | undefined>;
  /** estimated time saved per kept layer (ns, 1 thread), its share of the Q/DQ steps counted */
  gains: Map<string, number>;
}

const GEMM_REASON =
  'int8 activations: onnxruntime-web runs Gemm integer kernels on wasm slower than float32 (QGemm at batch 1 and 8, DynamicQuantizeMatMul at batch 1); weights only';

/** Ops that only move data: onnxruntime keeps uint8 through them between int8 layers. */
const DATA_MOVEMENT = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);

const elements = (shapes: Map<string, Shape>, t: string): number => {
  const s = shapes.get(t);
  return known(s) ? s.reduce((p, d) => p * d, 1) : 0;
};
const fmtUs = (ns: number) => `${(ns / 1000).toFixed(ns < 1e5 ? 1 : 0)} µs`;

/** A layer's eligibility: undefined when it may take int8 activations, else why not. */
function ineligible(l: GuardLayer, m: number | undefined, shapes: Map<string, Shape>): string | undefined {
  if (l.node.opType === 'Gemm') return GEMM_REASON;
  if (m === undefined) return 'int8 activations: its work cannot be estimated (a shape around it is unknown; give the model fixed input sizes), so integer kernels may not pay off; weights only';
  if (l.node.opType === 'Conv') {
    const r = convReduction(l.node, shapes);
    if (attrInt(l.node, 'group', 1) > 1 || r < MIN_CONV_MACS_PER_OUTPUT) {
      return `int8 activations: each output value takes ${r} multiply-adds (${attrInt(l.node, 'group', 1) > 1 ? 'a grouped or depthwise Conv: onnxruntime-web\'s int8 kernel for it is slower than float32' : 'a thin Conv'}), below the ${MIN_CONV_MACS_PER_OUTPUT} that cover quantizing its input and output on wasm; weights only`;
    }
    return undefined;
  }
  const y = shapes.get(l.node.outputs[0] ?? '');
  const rows = known(y) ? y.slice(0, -1).reduce((p, d) => p * d, 1) : 0;
  if (rows < MIN_MATMUL_ROWS) return `int8 activations: ${rows} row${rows === 1 ? '' : 's'} (a matrix-vector product), below the ${MIN_MATMUL_ROWS} where onnxruntime-web's integer MatMul pays off on wasm; weights only`;
  return undefined;
}

/** Multiply-adds per output value: a Conv's (C / group) x kernel, a MatMul's K; 0 when unknown. */
function reduction(n: Node, shapes: Map<string, Shape>): number {
  if (n.opType === 'Conv') return convReduction(n, shapes);
  const x = shapes.get(n.inputs[0] ?? '');
  return known(x) && x.length > 0 ? x[x.length - 1] : 0;
}

/** Estimated float32 time minus integer-kernel time (ns) of a layer's multiply-adds, 1 thread. */
export function saved(n: Node, macs: number, shapes: Map<string, Shape>): number {
  const k = reduction(n, shapes);
  return k > 0 ? macs * (FLOAT_NS_PER_MAC - INT8_NS_PER_MAC - INT8_NS_PER_MAC_K / k) : 0;
}

/** A static Conv's quantized output: the output of the Relu (or Clip) that is its only reader, else its own. */
function convOutput(n: Node, readers: Map<string, Node[]>, outputs: Set<string>): string {
  const y = n.outputs[0] ?? '';
  const r = readers.get(y) ?? [];
  const next = r.length === 1 && !outputs.has(y) ? r[0] : undefined;
  return next && isDefault(next.domain) && (next.opType === 'Relu' || next.opType === 'Clip') ? (next.outputs[0] ?? y) : y;
}

/** Estimated gains (ns) of the `kept` layers: MACs saved minus each one's share of the Q/DQ at float edges. */
function estimateGains(model: Model, kept: readonly GuardLayer[], shapes: Map<string, Shape>, macs: Map<string, number | undefined>): Map<string, number> {
  const g = model.graph;
  const readers = new Map<string, Node[]>();
  const producer = new Map<string, Node>();
  for (const n of g?.nodes ?? []) {
    for (const i of n.inputs) if (i) readers.set(i, [...(readers.get(i) ?? []), n]);
    for (const o of n.outputs) if (o) producer.set(o, n);
  }
  const outputs = new Set((g?.outputs ?? []).map((v) => v.name ?? ''));
  const byNode = new Map(kept.map((l) => [l.node, l]));
  // the uint8 tensors the kept static Convs write
  const int8Out = new Map<string, GuardLayer>();
  for (const l of kept) if (l.node.opType === 'Conv') int8Out.set(l.output ?? convOutput(l.node, readers, outputs), l);
  const producedInt8 = (t: string): boolean => {
    for (let hops = 0; hops < 64; hops++) {
      if (int8Out.has(t)) return true;
      const p = producer.get(t);
      if (!p || !isDefault(p.domain) || !DATA_MOVEMENT.has(p.opType ?? '')) return false;
      t = p.inputs[0] ?? '';
    }
    return false;
  };
  const floatReader = (t: string, depth = 0): boolean => {
    if (outputs.has(t) || depth > 64) return true;
    return (readers.get(t) ?? []).some((r) => {
      const l = byNode.get(r);
      if (l) return r.inputs[0] !== t;
      if (isDefault(r.domain) && DATA_MOVEMENT.has(r.opType ?? '') && r.inputs[0] === t) return floatReader(r.outputs[0] ?? '', depth + 1);
      return true;
    });
  };
  // each tensor's Q/DQ cost, shared by the kept layers that touch it
  const cost = new Map<string, { ns: number; layers: GuardLayer[] }>();
  const touch = (t: string, l: GuardLayer, ns: number) => {
    const c = cost.get(t) ?? { ns, layers: [] };
    c.layers.push(l);
    cost.set(t, c);
  };
  for (const l of kept) {
    const x = l.node.inputs[0] ?? '';
    const el = elements(shapes, x);
    if (l.mode === 'dynamic') touch(`${x}#dynamic:${l.key}`, l, DYNAMIC_Q_FACTOR * Q_NS_PER_ELEMENT * el);
    else touch(x, l, (producedInt8(x) ? 0 : Q_NS_PER_ELEMENT * el) + (floatReader(x) ? DQ_NS_PER_ELEMENT * el : 0));
    if (l.node.opType === 'Conv') {
      const y = l.output ?? convOutput(l.node, readers, outputs);
      if (!cost.has(y)) touch(y, l, floatReader(y) ? DQ_NS_PER_ELEMENT * elements(shapes, y) : 0);
      else cost.get(y)?.layers.push(l);
    }
  }
  const gains = new Map<string, number>();
  for (const l of kept) gains.set(l.key, saved(l.node, macs.get(l.key) ?? 0, shapes) - INT8_LAYER_NS);
  for (const c of cost.values()) for (const l of c.layers) gains.set(l.key, (gains.get(l.key) ?? 0) - c.ns / c.layers.length);
  return gains;
}

/** Drops the worst layer while any loses time, recomputing the gains each time (its neighbours' edges change). */
function settle(model: Model, start: readonly GuardLayer[], shapes: Map<string, Shape>, macs: Map<string, number | undefined>, per: string): { kept: GuardLayer[]; gains: Map<string, number>; reasons: Map<string, string> } {
  let kept = [...start];
  const reasons = new Map<string, string>();
  let gains = estimateGains(model, kept, shapes, macs);
  for (;;) {
    const worst = kept.reduce<GuardLayer | undefined>((w, l) => ((gains.get(l.key) ?? 0) <= 0 && (!w || (gains.get(l.key) ?? 0) < (gains.get(w.key) ?? 0)) ? l : w), undefined);
    if (!worst) break;
    const m = macs.get(worst.key) ?? 0;
    reasons.set(
      worst.key,
      `int8 activations: estimated ${formatMacs(m)} MACs ${per} save ${fmtUs(saved(worst.node, m, shapes))} on wasm, less than quantizing and dequantizing the tensors it shares with float ops costs (gain ${fmtUs(gains.get(worst.key) ?? 0)}); weights only`,
    );
    kept = kept.filter((l) => l !== worst);
    gains = estimateGains(model, kept, shapes, macs);
  }
  return { kept, gains, reasons };
}

/**
 * Estimated gain (ns) of a layer written in the dynamic form (DynamicQuantizeLinear + ConvInteger /
 * MatMulInteger): its MACs saved, less the fixed cost, DynamicQuantizeLinear over its input and,
 * for a Conv, the Cast / Mul / Add over its output (a MatMul's are fused into DynamicQuantizeMatMul).
 * Its neighbours are untouched: it reads and writes float.
 */
export function dynamicGain(n: Node, macs: number, shapes: Map<string, Shape>): number {
  const x = elements(shapes, n.inputs[0] ?? '');
  const out = n.opType === 'Conv' ? DYNAMIC_CONV_OUT_NS_PER_ELEMENT * elements(shapes, n.outputs[0] ?? '') : 0;
  return saved(n, macs, shapes) - INT8_LAYER_NS - DYNAMIC_Q_NS_PER_ELEMENT * x - out;
}

/** Whether the guard may write a calibrated layer in the dynamic form: a dense 2-D Conv or a MatMul. */
function dynamicAllowed(l: GuardLayer, shapes: Map<string, Shape>): boolean {
  if (l.mode === 'dynamic') return false;
  if (l.node.opType === 'MatMul') return true;
  const w = shapes.get(l.node.inputs[1] ?? '');
  return l.node.opType === 'Conv' && attrInt(l.node, 'group', 1) === 1 && !!w && w.length === 4;
}

/**
 * Layers that run faster in the dynamic form than in static QDQ (or that static QDQ would not
 * pay for at all): each is tried in turn; a static layer switches when the model's estimated gain
 * does not drop (its neighbours' gains recomputed without it). Returns the new static set.
 */
/** How much more the whole model's estimated gain must be for a layer static QDQ keeps to switch to the dynamic form. */
const SWITCH_MARGIN = 1.25;

function chooseDynamic(
  model: Model,
  eligible: readonly GuardLayer[],
  settled: { kept: GuardLayer[]; gains: Map<string, number> },
  shapes: Map<string, Shape>,
  macs: Map<string, number | undefined>,
  per: string,
): { kept: GuardLayer[]; gains: Map<string, number>; dynamic: Map<string, number> } {
  let { kept, gains } = settled;
  const dynamic = new Map<string, number>();
  const total = (g: Map<string, number>, ls: readonly GuardLayer[]) => ls.reduce((p, l) => p + (g.get(l.key) ?? 0), 0);
  for (let pass = 0, changed = true; changed && pass < 4; pass++) {
    changed = false;
    for (const l of eligible) {
      if (dynamic.has(l.key) || !dynamicAllowed(l, shapes)) continue;
      const gd = dynamicGain(l.node, macs.get(l.key) ?? 0, shapes);
      if (gd <= 0) continue;
      if (kept.includes(l)) {
        const trial = settle(model, kept.filter((k) => k !== l), shapes, macs, per);
        // a layer static QDQ keeps switches only for a clear estimated win: measured side by side,
        // a lone 3x3 Conv's two forms tie within noise (0.62-1.03x across runs, e2e/web-speed.spec.ts)
        if (total(trial.gains, trial.kept) + gd < SWITCH_MARGIN * total(gains, kept)) continue;
        ({ kept, gains } = trial);
      }
      dynamic.set(l.key, gd);
      changed = true;
    }
  }
  return { kept, gains, dynamic };
}

/** Decides which of the layers planned for int8 activations keep them (see the header). */
export function guardActivations(model: Model, planned: readonly GuardLayer[], inputDims?: Readonly<Record<string, readonly number[]>>): GuardDecision {
  const shapes = inferShapes(model, inputDims);
  const batch = assumedBatch(model);
  const per = batch === 1 ? 'per sample' : `per run (batch ${batch})`;
  const reasons = new Map<string, string>();
  const macs = new Map<string, number | undefined>();
  let total = 0;
  for (const n of model.graph?.nodes ?? []) {
    if (n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul') total += nodeMacs(n, shapes) ?? 0;
  }
  const eligible: GuardLayer[] = [];
  for (const l of planned) {
    const m = nodeMacs(l.node, shapes);
    macs.set(l.key, m);
    const why = ineligible(l, m, shapes);
    if (why) reasons.set(l.key, why);
    else eligible.push(l);
  }
  const settled = settle(model, eligible, shapes, macs, per);
  const { kept, gains, dynamic } = chooseDynamic(model, eligible, settled, shapes, macs, per);
  for (const [k, why] of settled.reasons) if (!dynamic.has(k)) reasons.set(k, why);
  for (const l of eligible) if (!kept.includes(l) && !dynamic.has(l.key) && !reasons.has(l.key)) reasons.set(l.key, `int8 activations: its gain fell to zero once its neighbours were written in the dynamic form; weights only`);
  for (const [k, g] of dynamic) gains.set(k, g);
  const gain = kept.reduce((p, l) => p + (gains.get(l.key) ?? 0), 0) + [...dynamic.values()].reduce((p, g) => p + g, 0);
  const floatNs = total * FLOAT_NS_PER_MAC;
  const count = kept.length + dynamic.size;
  if (count > 0 && gain >= MIN_MODEL_GAIN * floatNs) return { keep: new Set([...kept.map((l) => l.key), ...dynamic.keys()]), dynamic: new Set(dynamic.keys()), reasons, macs, gains };
  for (const l of eligible) {
    if (!kept.includes(l) && !dynamic.has(l.key)) continue;
    reasons.set(l.key, `int8 activations: estimated ${formatMacs(macs.get(l.key) ?? 0)} MACs ${per}, but dropped for the whole model (see the report notes); weights only`);
  }
  const share = floatNs > 0 ? Math.round((100 * gain) / floatNs) : 0;
  if (count === 0) {
    return { keep: new Set(), dynamic: new Set(), reasons, macs, gains: new Map(), dropped: "int8 activations dropped (weights only): no layer's integer kernel would save time on wasm (each layer's note says why)" };
  }
  const dropped =
    `int8 activations dropped (weights only): the layers where integer kernels pay off on wasm would save an estimated ${fmtUs(gain)} of the model's ` +
    `${formatMacs(total)} MACs (about ${fmtUs(floatNs)} in float32) ${per} (${share}%), counting the quantize / dequantize steps at their float edges; ` +
    `int8 activations need at least ${Math.round(MIN_MODEL_GAIN * 100)}% to be faster than the original`;
  return { keep: new Set(), dynamic: new Set(), reasons, macs, gains: new Map(), dropped };
}
