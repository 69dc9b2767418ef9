/**
 * int8 activations for target `wasm` (recipe `activations: "int8"`): the layouts onnxruntime's
 * CPU/WASM path turns into integer kernels (ORT-FACTS.md, "What the CPU/WASM path does").
 *
 * Static, where calibration ranges exist (Conv, MatMul, Gemm):
 *   - the layer's activation input gets a QuantizeLinear -> DequantizeLinear pair (uint8,
 *     asymmetric, scale and zero point from the calibrated range by onnxruntime's formulas);
 *   - its weight becomes int8 symmetric codes (per output channel unless per-tensor is asked)
 *     through DequantizeLinear (per-axis: opset 13); a Conv/Gemm bias becomes int32 codes with
 *     scale input_scale * weight_scale through DequantizeLinear (no zero point);
 *   - a Conv's output (or the output of the Relu, or Clip from 0, right after it, which
 *     onnxruntime then drops: the range starts at 0, so the zero point is 0) gets a Q/DQ pair, closing the
 *     node unit; onnxruntime fuses DQ -> Conv -> Q into QLinearConv, DQ -> MatMul (-> Q) into
 *     QLinearMatMul / MatMulIntegerToFloat and DQ -> Gemm into QGemm;
 *   - between quantized layers, data-movement ops (MaxPool, Flatten, Reshape, Transpose,
 *     Squeeze, Unsqueeze, Identity) get Q/DQ on their output with their input's scale and zero
 *     point, so onnxruntime drops the pair around them and stays in uint8.
 *   Every Q/DQ pair sits on a tensor: all readers of that tensor read the dequantized value (the
 *   producer writes a fresh name; the DequantizeLinear takes the original one, so graph outputs
 *   keep their names).
 *
 * Dynamic, for MatMul/Gemm without calibration: DynamicQuantizeLinear(x) -> MatMulInteger(x_q,
 * W_q int8 [K, N], x_zp) -> Cast(float) -> Mul(x_scale * w_scales) [-> Add(bias)], which
 * onnxruntime fuses into DynamicQuantizeMatMul (opset 11). The cost guard also switches a
 * calibrated Conv or MatMul that sits alone between float ops to the dynamic form (asDynamic): it
 * pays no Q/DQ pair at its edges and measured at least as fast as QDQ there on onnxruntime-web
 * (docs/WEB-SPEED.md). A Conv's dynamic form: DynamicQuantizeLinear(x) -> ConvInteger(x_q, W_q
 * uint8 = int8 code + 128, x_zp, 128) -> Cast(float) -> Mul(x_scale * w_scale[M, 1, ...]) [->
 * Add(bias[M, 1, ...])]; onnxruntime's ConvInteger takes uint8 weights only, with one zero point.
 *
 * A layer that cannot take int8 activations (another target, no calibration for a Conv, an op or
 * opset that does not allow it) is planned as weights only, with the reason as a note.
 */
import { AppError } from '../../core/errors';
import { attr, emptyTensor, makeNode } from '../../onnx/build';
import type { Layer, LayerWeight } from '../../onnx/layers';
import type { GraphRecord } from '../../onnx/names';
import { tensorFloats } from '../../onnx/tensor';
import { DataType, type ExternalDataResolver, type Graph, type Model, type Node, type Tensor } from '../../onnx/types';
import type { LayerReport, WeightReport } from '../types';
import { bytesOf, Emitter } from '../emit';
import { addCandidates, type ConstScope, type NameAllocator, type RemovalCandidates } from '../graph-edit';
import { magnitudePrune } from '../prune/prune';
import { quantizeTensor, roundHalfEven, type GroupLayout, type QuantizedTensor } from '../quantize/quantize';
import type { LayerSettings, Target } from '../recipe';
import { effectiveWeight, weightAxes, weightStoredBytes } from '../weights';
import type { Calibration, TensorRange } from './calibrate';
import { DYNAMIC_MIN_OPSET, STATIC_MIN_OPSET } from './meta';
import { attrFloat, attrInt } from '../../onnx/attributes';

export type { ActivationReport } from './meta';

export interface ActivationPlan {
  mode: 'static' | 'dynamic';
  /** the opset the encoding needs */
  needOpset: number;
  /** the layer's activation input (input 0) */
  input: string;
  /** static Conv: the tensor quantized after the layer */
  output?: string;
  /** static Conv: the Relu (or Clip from 0, as Relu6) right after it, whose output is `output` */
  fused?: Node;
  /** static MatMul: the Add of a constant bias right after it (onnxruntime fuses the pair into a Gemm, then QGemm) */
  biasAdd?: { node: Node; input: number };
  /** the weight (input 1) */
  weight: LayerWeight;
  /** the weight's shape as the layer sees it */
  shape: number[];
  layout: GroupLayout;
  /** how the weight settings were adapted to what the integer kernels take */
  notes: string[];
}

export type PlanResult = { plan: ActivationPlan } | { fallback: string };

/** The same layer written in the dynamic form (DynamicQuantizeLinear + ConvInteger / MatMulInteger): no Q/DQ pairs, no output range. */
export function asDynamic(plan: ActivationPlan): ActivationPlan {
  const { output: _o, fused: _f, biasAdd: _b, ...rest } = plan;
  return { ...rest, mode: 'dynamic', needOpset: DYNAMIC_MIN_OPSET };
}

const isDefault = (d: string | undefined) => !d || d === 'ai.onnx';
const isOp = (n: Node | undefined, op: string) => !!n && n.opType === op && isDefault(n.domain);

/** Producers, readers and graph outputs of the main graph. */
export class GraphIndex {
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly outputs = new Set<string>();
  readonly inputs = new Set<string>();
  readonly constants = new Set<string>();

  constructor(model: Model) {
    const g = model.graph;
    if (!g) return;
    for (const t of g.initializers) if (t.name) this.constants.add(t.name);
    for (const v of g.inputs) if (v.name && !this.constants.has(v.name)) this.inputs.add(v.name);
    for (const v of g.outputs) if (v.name) this.outputs.add(v.name);
    for (const n of g.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      if (isOp(n, 'Constant') && n.outputs[0]) this.constants.add(n.outputs[0]);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = this.consumers.get(i);
        if (list) list.push(n);
        else this.consumers.set(i, [n]);
      }
    }
  }
}

export interface PlanEnv {
  target: Target;
  calibration?: Calibration;
  /** whether the model's opset is, or may be raised to, at least v */
  opsetAllows: (v: number) => boolean;
  graph: GraphIndex;
  external?: ExternalDataResolver;
}

const ANCHOR_OPS = new Set(['Conv', 'MatMul', 'Gemm']);

/** A Clip's lower bound when it is a constant (attribute before opset 11, input since), else undefined. */
function clipFloor(clip: Node, scope: ConstScope, external?: ExternalDataResolver): number | undefined {
  const a = clip.attributes.find((x) => x.name === 'min');
  if (a?.f !== undefined) return a.f;
  const name = clip.inputs[1];
  if (!name) return undefined;
  const t = scope.lookup(name);
  if (!t) return undefined;
  try {
    const v = tensorFloats(t, external);
    return v.length === 1 ? v[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides how a layer asking for int8 activations is written, without reading weight data.
 * `fallback` carries the reason when it can only take its weight settings. Throws AppError when
 * its weight cannot be evaluated (the weight path would fail the same way).
 */
export function planActivation(layer: Layer, rec: GraphRecord, scope: ConstScope, s: LayerSettings, env: PlanEnv): PlanResult {
  const weightsOnly = (why: string): PlanResult => ({ fallback: `int8 activations: ${why}; weights only` });
  if (env.target !== 'wasm') return weightsOnly(`they are for target wasm (integer kernels on the CPU path), not ${env.target}`);
  if (rec.kind !== 'main') return weightsOnly('done in the main graph only');
  const node = layer.node;
  if (!ANCHOR_OPS.has(layer.op) || !isDefault(layer.domain)) return weightsOnly(`they cover Conv, MatMul and Gemm, not ${layer.op}`);
  const weight = layer.weights.find((w) => w.inputIndex === 1 && w.role === 'weight');
  if (!weight) return weightsOnly('its input 1 is not a constant weight');
  const input = node.inputs[0] ?? '';
  if (!input || env.graph.constants.has(input) || layer.weights.some((w) => w.inputIndex === 0)) return weightsOnly('its input 0 is not an activation');
  if (layer.op === 'Gemm' && attrInt(node, 'transA', 0) !== 0) return weightsOnly('Gemm with transA is not covered');
  const eff = effectiveWeight(weight, scope, false, env.external);
  if (eff.dataType !== DataType.FLOAT) return weightsOnly('its weight is not float32');
  const rank = eff.shape.length;
  if (layer.op === 'Conv' ? rank < 3 : rank !== 2) return weightsOnly(`its weight has rank ${rank}`);

  const notes: string[] = [];
  if (s.weights !== 'int8') notes.push(`weights stored int8, not ${s.weights}: the integer kernels take int8 weights`);
  if (!s.symmetric) notes.push('weights stored symmetric (zero point 0): the integer kernels need it');
  let layout: GroupLayout;
  if (s.granularity === 'per-tensor') layout = { kind: 'tensor' };
  else {
    if (s.granularity === 'block') notes.push('weights per channel, not in blocks: the integer kernels take one scale per output channel');
    const axis = weightAxes(layer, 1, rank).channelAxis;
    layout = axis === undefined ? { kind: 'tensor' } : { kind: 'channel', axis };
  }

  const ranges = env.calibration?.ranges;
  const base = { input, weight, shape: eff.shape, layout, notes };
  if (ranges && ranges[input]) {
    if (!env.opsetAllows(STATIC_MIN_OPSET)) return weightsOnly(`static quantization needs opset ${STATIC_MIN_OPSET} (per-channel DequantizeLinear) and the model's opset cannot be raised`);
    const y = node.outputs[0] ?? '';
    const readers = env.graph.consumers.get(y) ?? [];
    if (layer.op !== 'Conv') {
      const add = readers.length === 1 && isOp(readers[0], 'Add') && !env.graph.outputs.has(y) ? readers[0] : undefined;
      const other = add ? add.inputs.findIndex((i, k) => k < 2 && i !== y) : -1;
      const biasAdd = add && other >= 0 && env.graph.constants.has(add.inputs[other]) ? { node: add, input: other } : undefined;
      return { plan: { ...base, mode: 'static', needOpset: STATIC_MIN_OPSET, ...(layer.op === 'MatMul' && biasAdd ? { biasAdd } : {}) } };
    }
    const next = readers.length === 1 && !env.graph.outputs.has(y) ? readers[0] : undefined;
    const relu = next && (isOp(next, 'Relu') || (isOp(next, 'Clip') && clipFloor(next, scope, env.external) === 0)) ? next : undefined;
    const output = relu ? (relu.outputs[0] ?? '') : y;
    if (!ranges[output]) return weightsOnly(`the calibration has no range for its output ${output}`);
    return { plan: { ...base, mode: 'static', needOpset: STATIC_MIN_OPSET, output, ...(relu ? { fused: relu } : {}) } };
  }
  if (layer.op === 'Conv') {
    return weightsOnly(
      env.calibration
        ? `the calibration has no range for its input ${input}`
        : 'a Conv needs calibrated activation ranges and no calibration samples were given (give samples: compress --samples DIR, or --synthesize-samples to calibrate on random inputs)',
    );
  }
  if (layer.op === 'Gemm' && attrFloat(node, 'beta', 1) !== 1 && node.inputs[2]) return weightsOnly('Gemm with beta other than 1 is not covered');
  if (!env.opsetAllows(DYNAMIC_MIN_OPSET)) return weightsOnly(`dynamic quantization needs opset ${DYNAMIC_MIN_OPSET} (DynamicQuantizeLinear) and the model's opset cannot be raised`);
  return { plan: { ...base, mode: 'dynamic', needOpset: DYNAMIC_MIN_OPSET } };
}

// ------------------------------------------------------------------------------------------------
// Applying

export interface ActivationItem {
  layer: Layer;
  plan: ActivationPlan;
  settings: LayerSettings;
  scope: ConstScope;
  row: LayerReport;
}

export interface ApplyEnv {
  names: NameAllocator;
  /** the model's opset after any raise (at least every plan's needOpset) */
  opset: number;
  calibration?: Calibration;
  external?: ExternalDataResolver;
  /** the layers' original weights (and biases replaced) go here, removed once unused */
  candidates: RemovalCandidates;
}

/** Ops that only move data: between quantized tensors they take their input's scale and zero point. */
const DATA_MOVEMENT = new Set(['MaxPool', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity']);
/** Poolings onnxruntime runs in uint8 between Q/DQ pairs of their own. */
const POOLING = new Set(['GlobalAveragePool', 'AveragePool']);

interface QParams {
  scale: number;
  /** uint8 zero point */
  zeroPoint: number;
  range: TensorRange;
  /** initializer names, made on first use */
  scaleName?: string;
  zpName?: string;
}

/** onnxruntime's uint8 activation parameters for a range (quant_utils, qmin 0, qmax 255). */
export function activationParams(range: TensorRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(Math.fround(range.min), 0);
  const hi = Math.max(Math.fround(range.max), 0);
  const scale64 = Math.fround(hi - lo) / 255;
  if (scale64 < 1.1754943508222875e-38) return { scale: 1, zeroPoint: 0 };
  return { scale: Math.fround(scale64), zeroPoint: roundHalfEven(-lo / scale64) };
}


/** A constant of the main graph (initializer or Constant node output), to remove once unused. */
function constantCandidate(c: RemovalCandidates, g: Graph, index: GraphIndex, name: string): void {
  const p = index.producer.get(name);
  if (p) c.nodes.add(p);
  else {
    let set = c.initializers.get(g);
    if (!set) c.initializers.set(g, (set = new Set()));
    set.add(name);
  }
}


interface Prepared {
  item: ActivationItem;
  qt: QuantizedTensor;
  report: WeightReport;
  /** the float bias (Conv/Gemm input 2, or the constant of a MatMul's Add) when it is a vector over the output channels */
  bias?: { name: string; values: Float32Array; weight?: LayerWeight };
}

/** Weight codes for one layer (pruned first when asked); throws like the weight path. */
function prepare(item: ActivationItem, external?: ExternalDataResolver): Prepared {
  const { plan, settings, scope, layer } = item;
  const w = plan.weight;
  const eff = effectiveWeight(w, scope, true, external);
  let values = eff.values as Float32Array;
  const report: WeightReport = {
    name: w.name,
    input: w.inputIndex,
    shape: plan.shape,
    encoding: plan.mode === 'static' ? 'int8-qdq' : layer.op === 'Conv' ? 'int8-dynamic-conv' : 'int8-dynamic',
    bytesBefore: weightStoredBytes(w),
    bytesAfter: weightStoredBytes(w),
  };
  if (settings.prune > 0 && settings.pruneMethod === 'magnitude') {
    const r = magnitudePrune(values, settings.prune);
    values = r.values;
    report.pruned = r.pruned;
  }
  const qt = quantizeTensor(values, plan.shape, plan.layout, 8, true);
  let bias: Prepared['bias'];
  const b = layer.weights.find((x) => x.inputIndex === 2);
  const node = layer.node;
  const plainBias = layer.op === 'Conv' || (layer.op === 'Gemm' && attrFloat(node, 'beta', 1) === 1);
  // output channels: Conv W[M, ...]; Gemm W[N, K] (transB) or [K, N]; MatMul W[K, N]
  const n = layer.op === 'Conv' || (layer.op === 'Gemm' && attrInt(node, 'transB', 0) !== 0) ? plan.shape[0] : plan.shape[1];
  if (b && plainBias && (plan.mode === 'static' || layer.op === 'Conv')) {
    const be = effectiveWeight(b, scope, true, external);
    if (be.dataType === DataType.FLOAT && be.shape.length === 1 && be.shape[0] === n) bias = { name: b.name, values: be.values as Float32Array, weight: b };
  }
  if (plan.biasAdd) {
    const name = plan.biasAdd.node.inputs[plan.biasAdd.input];
    const t = scope.lookup(name);
    if (t && t.dataType === DataType.FLOAT && t.dims.length === 1 && Number(t.dims[0]) === n) bias = { name, values: tensorFloats(t, external) };
  }
  return { item, qt, report, bias };
}

/**
 * Rewrites the model's main graph for every item (see the header). A layer whose weight cannot
 * be quantized gets the error in its row and is left as it was.
 */
export function applyActivations(model: Model, items: readonly ActivationItem[], env: ApplyEnv): void {
  const g = model.graph;
  if (!g || items.length === 0) return;
  const prepared: Prepared[] = [];
  for (const item of items) {
    try {
      prepared.push(prepare(item, env.external));
    } catch (e) {
      if (e instanceof AppError && e.code === 'aborted') throw e;
      item.row.error = e instanceof AppError ? e.message : `Unexpected error: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const index = new GraphIndex(model);
  const ranges = env.calibration?.ranges ?? {};

  // 1. The tensors that get a Q/DQ pair, each with its own range or sharing another's parameters.
  const { own, share, root, paramsOf } = pairParams(prepared, index, ranges);

  const newInits: Tensor[] = [];
  const scalarInit = (base: string, type: number, raw: Uint8Array): string => {
    const name = env.names.fresh(base);
    newInits.push(emptyTensor({ name, dataType: type, dims: [], rawData: raw }));
    return name;
  };
  const qInputs = (t: string): [string, string] => {
    const p = paramsOf(t);
    const base = root(t);
    p.scaleName ??= scalarInit(`${base}_scale`, DataType.FLOAT, bytesOf(Float32Array.of(p.scale)));
    p.zpName ??= scalarInit(`${base}_zero_point`, DataType.UINT8, Uint8Array.of(p.zeroPoint));
    return [p.scaleName, p.zpName];
  };

  // 2. Insert the pairs: after the producer (renamed), or first for a graph input (readers rewired).
  const after = new Map<Node, Node[]>();
  const first: Node[] = [];
  const tensors = [...own.keys(), ...share.keys()].sort();
  for (const t of tensors) {
    const [s, z] = qInputs(t);
    const p = index.producer.get(t);
    const qName = env.names.fresh(`${t}_quantized`);
    if (p) {
      const f = env.names.fresh(`${t}_float`);
      p.outputs = p.outputs.map((o) => (o === t ? f : o));
      const nodes = [
        makeNode('QuantizeLinear', [f, s, z], [qName], [], { name: env.names.fresh(`${t}_QuantizeLinear`) }),
        makeNode('DequantizeLinear', [qName, s, z], [t], [], { name: env.names.fresh(`${t}_DequantizeLinear`) }),
      ];
      after.set(p, [...(after.get(p) ?? []), ...nodes]);
    } else {
      const d = env.names.fresh(`${t}_dequantized`);
      first.push(
        makeNode('QuantizeLinear', [t, s, z], [qName], [], { name: env.names.fresh(`${t}_QuantizeLinear`) }),
        makeNode('DequantizeLinear', [qName, s, z], [d], [], { name: env.names.fresh(`${t}_DequantizeLinear`) }),
      );
      for (const n of index.consumers.get(t) ?? []) n.inputs = n.inputs.map((i) => (i === t ? d : i));
    }
  }

  // 3. Weights (and biases) of every layer, right before it.
  const before = new Map<Node, Node[]>();
  const replaced = new Map<Node, Node[]>();
  for (const p of prepared) {
    const { item, qt, report, bias } = p;
    const { layer, plan } = item;
    const node = layer.node;
    const e = new Emitter(env.names, env.opset, plan.weight.name);
    if (plan.mode === 'static') {
      node.inputs[1] = emitWeightDequantize(e, qt);
      report.bytesAfter = e.storedBytes();
      const rows: WeightReport[] = [report];
      const sx = paramsOf(plan.input).scale;
      if (bias) {
        const bq = quantizeBias(bias.values, sx, qt.scales);
        if (bq) {
          const be = new Emitter(env.names, env.opset, bias.name);
          const q = be.init('_quantized', DataType.INT32, [bias.values.length], bytesOf(bq.codes));
          const dq = be.node('DequantizeLinear', [q, be.floats('_scale', [bq.scales.length], bq.scales)], [attr.int('axis', 0)]);
          e.nodes.push(...be.nodes);
          e.initializers.push(...be.initializers);
          if (bias.weight) {
            node.inputs[2] = dq;
            rows.push({ name: bias.name, input: 2, shape: [bias.values.length], encoding: 'int32-bias', bytesBefore: weightStoredBytes(bias.weight), bytesAfter: be.storedBytes() });
            addCandidates(env.candidates, bias.weight);
          } else if (plan.biasAdd) {
            plan.biasAdd.node.inputs[plan.biasAdd.input] = dq;
            item.row.notes.push(`${bias.name}: the bias added after it stored as int32 codes (scale input_scale * weight_scale), so the pair fuses`);
            constantCandidate(env.candidates, g, index, bias.name);
          }
        } else {
          item.row.notes.push(`${bias.name}: bias kept float32 (its scale input_scale * weight_scale underflows)`);
        }
      }
      before.set(node, e.nodes);
      newInits.push(...e.initializers);
      item.row.weights = rows;
      const inputRange = paramsOf(plan.input).range;
      item.row.activations = {
        mode: 'static',
        input: plan.input,
        inputRange,
        ...(plan.output ? { output: plan.output, outputRange: paramsOf(plan.output).range } : {}),
        ...(plan.fused ? { fused: plan.fused.name || plan.fused.outputs[0] || 'Relu' } : {}),
      };
    } else {
      const { nodes, rows } = layer.op === 'Conv' ? dynamicConv(e, p, env) : { nodes: emitDynamic(e, item, qt), rows: [report] };
      if (layer.op !== 'Conv') report.bytesAfter = e.storedBytes();
      replaced.set(node, nodes);
      newInits.push(...e.initializers);
      item.row.weights = rows;
      item.row.activations = { mode: 'dynamic', input: plan.input };
    }
    addCandidates(env.candidates, plan.weight);
    item.row.applied = item.row.applied === 'channel-pruned' ? `channel-pruned, ${report.encoding}` : report.encoding;
    item.row.notes.push(...plan.notes);
  }

  // 4. Rebuild the node list in a topological order.
  const out: Node[] = [...first];
  for (const n of g.nodes) {
    out.push(...(before.get(n) ?? []));
    const r = replaced.get(n);
    if (r) out.push(...r);
    else out.push(n);
    out.push(...(after.get(n) ?? []));
  }
  g.nodes.splice(0, g.nodes.length, ...out);
  g.initializers.push(...newInits);
}

/**
 * Step 1 of applyActivations: the tensors that get a Q/DQ pair, each with its own range (`own`)
 * or sharing another's parameters (`share`, followed to its `root`), and their parameters.
 */
function pairParams(
  prepared: readonly Prepared[],
  index: GraphIndex,
  ranges: Record<string, TensorRange>,
): { own: Map<string, TensorRange>; share: Map<string, string>; root: (t: string) => string; paramsOf: (t: string) => QParams } {
  const own = new Map<string, TensorRange>();
  const share = new Map<string, string>();
  const anchorInputs: string[] = [];
  for (const p of prepared) {
    const plan = p.item.plan;
    if (plan.mode !== 'static') continue;
    own.set(plan.input, ranges[plan.input]);
    anchorInputs.push(plan.input);
    if (plan.output) own.set(plan.output, ranges[plan.output]);
  }
  // An anchor input reached from a quantized tensor through data-movement ops only: every tensor
  // on the way shares that tensor's parameters (so onnxruntime drops each DQ -> op -> Q). When
  // the chain starts at a pooling of a quantized tensor, the pooling's output is quantized with its
  // own range (onnxruntime: QLinearGlobalAveragePool / QLinearAveragePool) and the chain shares it.
  const quantized = (t: string) => own.has(t) || share.has(t);
  const shareAlong = (path: string[], from: number, to: string) => {
    for (let i = from; i >= 0; to = path[i], i--) {
      share.set(path[i], to);
      own.delete(path[i]);
    }
  };
  for (const x of anchorInputs) {
    const path = [x];
    for (let hops = 0; hops < 64; hops++) {
      const cur = path[path.length - 1];
      const p = index.producer.get(cur);
      if (!p || !isDefault(p.domain) || p.outputs[0] !== cur) break;
      const src = p.inputs[0] ?? '';
      if (POOLING.has(p.opType ?? '')) {
        if (src && quantized(src) && ranges[cur] && path.length > 1) {
          own.set(cur, ranges[cur]);
          shareAlong(path, path.length - 2, cur);
        }
        break;
      }
      if (!DATA_MOVEMENT.has(p.opType ?? '') || !src || index.constants.has(src) || path.includes(src)) break;
      if (quantized(src)) {
        shareAlong(path, path.length - 1, src);
        break;
      }
      path.push(src);
    }
  }
  const root = (t: string): string => {
    let r = t;
    for (let i = 0; i < 64 && share.has(r); i++) r = share.get(r) as string;
    return r;
  };
  const params = new Map<string, QParams>();
  for (const [t, range] of own) params.set(t, { ...activationParams(range), range });
  const paramsOf = (t: string) => params.get(root(t)) as QParams;
  return { own, share, root, paramsOf };
}

/**
 * DequantizeLinear of int8 symmetric weight codes (per-axis or per-tensor) with an explicit int8
 * zero point of zeros, as onnxruntime's quantizer writes it (its Gemm -> QGemm fusion needs it).
 */
function emitWeightDequantize(e: Emitter, qt: QuantizedTensor): string {
  const perAxis = qt.layout.kind === 'channel';
  const dims = perAxis ? [qt.scales.length] : [];
  const inputs = [
    e.init('_quantized', DataType.INT8, qt.shape, bytesOf(qt.q)),
    e.floats('_scale', dims, qt.scales),
    e.init('_zero_point', DataType.INT8, dims, new Uint8Array(qt.scales.length)),
  ];
  return e.node('DequantizeLinear', inputs, qt.layout.kind === 'channel' ? [attr.int('axis', qt.layout.axis)] : []);
}

/**
 * int32 bias codes with scale float32(input_scale * weight_scale[c]) and q = round_half_even(
 * float32(b / scale)), as onnxruntime's quantizer writes them; undefined when a scale underflows.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { codes: Int32Array; scales: Float32Array } | undefined {
  const n = bias.length;
  const scales = new Float32Array(n);
  const codes = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const s = Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]);
    if (!(s >= 1.1754943508222875e-38)) return undefined;
    scales[c] = s;
    const q = roundHalfEven(Math.fround(bias[c] / s));
    codes[c] = Math.max(-2147483648, Math.min(2147483647, q));
  }
  return { codes, scales };
}

/**
 * The dynamic form replacing MatMul(x, W) / Gemm(x, W, C): DynamicQuantizeLinear, MatMulInteger
 * with W as int8 [K, N], Cast, Mul by x_scale * w_scale (alpha folded in), Add(C) for a Gemm bias.
 * The last node writes the layer's output name.
 */
function emitDynamic(e: Emitter, item: ActivationItem, qt: QuantizedTensor): Node[] {
  const { layer, plan } = item;
  const node = layer.node;
  const gemm = layer.op === 'Gemm';
  const transB = gemm && attrInt(node, 'transB', 0) !== 0;
  const [r, c] = plan.shape;
  const k = transB ? c : r;
  const n = transB ? r : c;
  let codes = qt.q;
  if (transB) {
    codes = new Int8Array(k * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) codes[j * n + i] = qt.q[i * k + j];
  }
  const alpha = gemm ? attrFloat(node, 'alpha', 1) : 1;
  const scales = alpha === 1 ? qt.scales : Float32Array.from(qt.scales, (s) => s * alpha);
  const x = plan.input;
  const q = e.valueName('_x_quantized');
  const xs = e.valueName('_x_scale');
  const xz = e.valueName('_x_zero_point');
  const dql = makeNode('DynamicQuantizeLinear', [x], [q, xs, xz], [], { name: e.valueName('_DynamicQuantizeLinear') });
  const wq = e.init('_quantized', DataType.INT8, [k, n], bytesOf(codes));
  const wz = e.init('_zero_point', DataType.INT8, [], new Uint8Array(1));
  const ws = e.floats('_scale', scales.length === 1 ? [] : [n], scales);
  const mi = e.node('MatMulInteger', [q, wq, xz, wz]);
  const mf = e.cast(mi, DataType.FLOAT);
  const sc = e.node('Mul', [xs, ws], [], '_combined_scale');
  const y = node.outputs[0] ?? '';
  const biasIn = gemm ? node.inputs[2] : undefined;
  if (biasIn) {
    const mm = e.node('Mul', [mf, sc]);
    e.nodes.push(makeNode('Add', [mm, biasIn], [y], [], { name: e.valueName('_bias_add') }));
  } else {
    e.nodes.push(makeNode('Mul', [mf, sc], [y], [], { name: e.valueName('_scaled') }));
  }
  return [dql, ...e.nodes];
}


/** A Conv in the dynamic form, its float bias shaped [M, 1, ...] to broadcast over the output (a row of its own). */
function dynamicConv(e: Emitter, p: Prepared, env: ApplyEnv): { nodes: Node[]; rows: WeightReport[] } {
  const { item, qt, report, bias } = p;
  const { plan, layer } = item;
  const rows: WeightReport[] = [report];
  const be = new Emitter(env.names, env.opset, bias?.name ?? layer.node.inputs[2] ?? '');
  const shape = [plan.shape[0], ...plan.shape.slice(2).map(() => 1)];
  let biasName: string | undefined;
  if (bias) biasName = be.floats('_reshaped', shape, bias.values);
  else if (layer.node.inputs[2]) biasName = be.reshape(layer.node.inputs[2], shape);
  const nodes = emitConvInteger(e, item, qt, biasName);
  report.bytesAfter = e.storedBytes();
  nodes.splice(1, 0, ...be.nodes);
  e.initializers.push(...be.initializers);
  if (bias?.weight) {
    rows.push({ name: bias.name, input: 2, shape: [bias.values.length], encoding: 'unchanged', bytesBefore: weightStoredBytes(bias.weight), bytesAfter: be.storedBytes() });
    addCandidates(env.candidates, bias.weight);
  }
  return { nodes, rows };
}

/**
 * The dynamic form replacing a Conv (asDynamic): DynamicQuantizeLinear, ConvInteger with the
 * int8 symmetric codes stored as uint8 (code + 128, zero point 128), Cast, Mul by x_scale *
 * w_scale (per output channel, shaped [M, 1, ...] to broadcast over the output), Add of the float
 * bias (shaped the same). The last node writes the layer's output name.
 */
function emitConvInteger(e: Emitter, item: ActivationItem, qt: QuantizedTensor, bias?: string): Node[] {
  const { layer, plan } = item;
  const node = layer.node;
  const m = plan.shape[0];
  const ones = plan.shape.slice(2).map(() => 1);
  const x = plan.input;
  const q = e.valueName('_x_quantized');
  const xs = e.valueName('_x_scale');
  const xz = e.valueName('_x_zero_point');
  const dql = makeNode('DynamicQuantizeLinear', [x], [q, xs, xz], [], { name: e.valueName('_DynamicQuantizeLinear') });
  const wq = e.init('_quantized', DataType.UINT8, plan.shape, Uint8Array.from(qt.q, (v) => v + 128));
  const wz = e.init('_zero_point', DataType.UINT8, [], Uint8Array.of(128));
  const ws = e.floats('_scale', qt.scales.length === 1 ? [] : [m, ...ones], qt.scales);
  const convAttrs = node.attributes.filter((a) => ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'].includes(a.name ?? ''));
  const ci = e.node('ConvInteger', [q, wq, xz, wz], convAttrs);
  const cf = e.cast(ci, DataType.FLOAT);
  const sc = e.node('Mul', [xs, ws], [], '_combined_scale');
  const y = node.outputs[0] ?? '';
  if (bias) {
    const mm = e.node('Mul', [cf, sc]);
    e.nodes.push(makeNode('Add', [mm, bias], [y], [], { name: e.valueName('_bias_add') }));
  } else {
    e.nodes.push(makeNode('Mul', [cf, sc], [y], [], { name: e.valueName('_scaled') }));
  }
  return [dql, ...e.nodes];
}
