/**
 * Channel pruning (structured): removes the output channels (Conv filters, Gemm/MatMul output
 * columns) with the smallest L2 norms and rewires every tensor those channels flow into, so
 * that tensors really shrink:
 *
 * - sources: Conv (group 1) and ConvTranspose (group 1) output channels, Gemm and MatMul output
 *   columns (constant weights), with their biases;
 * - channel-wise ops pass the channels through and lose the same entries of their per-channel
 *   constants: activations (Relu, Clip, Sigmoid, ...), element-wise ops with constants
 *   (Add/Mul/... of a [C] or [C, 1, 1] tensor), BatchNormalization and InstanceNormalization
 *   parameters, pooling, Pad/Resize that leave the channel axis alone, depthwise Conv (its
 *   filters and `group` shrink with its input);
 * - layout ops: Flatten (and Reshape to [N, -1] or [N, K]) turn channel c into the block
 *   [c*S, (c+1)*S) of the next Gemm/MatMul's input rows; Concat along the channel axis shifts
 *   positions by the channels before it;
 * - sinks: the next Conv's input channels (kernel axis 1), ConvTranspose's (axis 0), Gemm's and
 *   MatMul's input rows.
 *
 * Channels tied together (a residual Add of two layers' outputs, an element-wise op between
 * computed tensors) form one group: the same channel indices are removed from every source in
 * it, chosen by the sum of their L2 norms, at the largest fraction requested within the group.
 * A group whose channels reach a graph output, a subgraph, a graph input, or an op that mixes or
 * reshapes channels (Softmax, Transpose, Reshape to other shapes, Shape, LayerNormalization,
 * grouped convolution, ...) is refused with the reason and left as it was.
 *
 * The count removed is exactly round(fraction * C), keeping at least one channel; ties in norm
 * go to the lower index. Deterministic. Mutates the model (compressModel passes its clone).
 */
import { AppError, throwIfAborted } from '../../core/errors';
import { attr } from '../../onnx/build';
import { findLayers, type Layer, type LayerWeight } from '../../onnx/layers';
import { graphPath, modelGraphs, type GraphRecord } from '../../onnx/names';
import { dtypeBits, elementCount, tensorFloats, tensorRawBytes } from '../../onnx/tensor';
import { DataType, type ExternalDataResolver, type Graph, type Model, type Node, type ValueInfo } from '../../onnx/types';
import { ConstEditor, isDefaultDomain, subgraphReads, type ConstRef } from '../cleanup/graph-scope';
import { bytesOf } from '../emit';
import { constScope, type NameAllocator } from '../graph-edit';
import { effectiveWeight, FLOAT_TYPES } from '../weights';
import { axisIndex, identityMap, removedPositions, sameLayout, sliceAxis, sumSquaresAlong, unitSize, type ChannelMap } from './channel-map';
import { pruneCount } from './prune';
import { attrInt, attrInts } from '../../onnx/attributes';

export interface ChannelPruneRequest {
  /** layer key (node name) */
  key: string;
  /** fraction of its output channels to remove */
  fraction: number;
}

export interface ChannelGroupReport {
  /** layers whose output channels were removed (the requested ones and those tied to them) */
  sources: string[];
  /** the requested layers of the group */
  requested: string[];
  fraction: number;
  channels: number;
  removed: number[];
  /** nodes whose inputs (constants, kernels, `group`, shapes) were rewritten */
  rewired: string[];
}

export interface ChannelPruneReport {
  groups: ChannelGroupReport[];
  refused: { layers: string[]; reason: string }[];
  /** elements of every float tensor constant of the model, before and after */
  paramsBefore: number;
  paramsAfter: number;
}

export interface ChannelLayerOutcome {
  error?: string;
  notes: string[];
  /** the layer's weight (input 1) before its channels were cut, and what was cut (recovery refits the rest) */
  cut?: WeightCut;
}

/** A weight as it was before channel pruning, and the positions removed along each axis. */
export interface WeightCut {
  dims: number[];
  values: Float32Array;
  /** axis -> removed positions (sorted) */
  removed: Map<number, number[]>;
}

export interface ChannelPruneResult {
  report: ChannelPruneReport;
  /** per layer key: the refusal, or what happened to it */
  layers: Map<string, ChannelLayerOutcome>;
}

export interface ChannelPruneOptions {
  names: NameAllocator;
  external?: ExternalDataResolver;
  signal?: AbortSignal;
}

// ---------------------------------------------------------------- op tables

/** One data input (0), the channels pass through; other inputs are scalar parameters. */
const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Softsign', 'Gelu', 'Erf',
  'Exp', 'Log', 'Abs', 'Neg', 'Sqrt', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Mish', 'ThresholdedRelu',
  'Clip', 'Cast', 'Identity', 'Dropout', 'Shrink', 'Not', 'IsNaN', 'IsInf',
]);
/** Element-wise with broadcasting: constants are sliced, computed operands are tied. */
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Where', 'Equal', 'Less', 'Greater']);
/** Per-channel parameters at these inputs, channel axis 1. */
const NORMS: Record<string, number[]> = { BatchNormalization: [1, 2, 3, 4], InstanceNormalization: [1, 2] };
const POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'GlobalLpPool']);

function refuse(msg: string): never {
  throw new AppError('unsupported', msg);
}

function attrFloats(n: Node, name: string): number[] | undefined {
  const a = n.attributes.find((x) => x.name === name);
  return a && a.floats.length > 0 ? a.floats : undefined;
}

const label = (n: Node) => `${n.opType} "${n.name || n.outputs[0] || ''}"`;

/** Elements of every float tensor constant (initializers, sparse values, Constant nodes) of the model. */
export function floatParamCount(model: Model): number {
  let n = 0;
  const add = (dataType: number | undefined, dims: number[]) => {
    if (dataType !== undefined && FLOAT_TYPES.has(dataType)) n += elementCount(dims);
  };
  for (const rec of modelGraphs(model)) {
    for (const t of rec.graph?.initializers ?? []) add(t.dataType, t.dims);
    for (const s of rec.graph?.sparseInitializers ?? []) add(s.values?.dataType, s.values?.dims ?? []);
    for (const node of rec.nodes) {
      if (node.opType !== 'Constant' || !isDefaultDomain(node.domain)) continue;
      for (const a of node.attributes) {
        if (a.t) add(a.t.dataType, a.t.dims);
        if (a.name === 'value_floats') n += a.floats.length;
        if (a.name === 'value_float') n += 1;
      }
    }
  }
  return n;
}

// ---------------------------------------------------------------- one graph's view

interface ConstInfo {
  dims: number[];
  dataType: number;
  /** the stored tensor, when read directly */
  ref?: ConstRef;
  /** the layer weight, when reached through shape ops */
  weight?: LayerWeight;
}

/** One graph as channel pruning reads it: producers, consumers, shapes, and its constants (sliceable or not). */
class ChannelGraph {
  readonly rec: GraphRecord;
  readonly graph: Graph;
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly outputs: Set<string>;
  readonly inputs: Set<string>;
  readonly subReads: Set<string>;
  readonly shapes = new Map<string, (number | undefined)[]>();
  private readonly ed: ConstEditor;
  private readonly layers: Map<Node, Layer>;
  private readonly external?: ExternalDataResolver;
  private readonly scope;

  constructor(rec: GraphRecord, ed: ConstEditor, layers: Map<Node, Layer>, external?: ExternalDataResolver) {
    this.rec = rec;
    this.graph = rec.graph as Graph;
    this.ed = ed;
    this.layers = layers;
    this.external = external;
    this.scope = constScope(rec);
    for (const n of rec.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of new Set(n.inputs)) {
        if (!i) continue;
        const list = this.consumers.get(i);
        if (list) list.push(n);
        else this.consumers.set(i, [n]);
      }
    }
    this.outputs = new Set(this.graph.outputs.map((v) => v.name ?? ''));
    const inits = new Set(this.graph.initializers.map((t) => t.name));
    this.inputs = new Set(this.graph.inputs.map((v) => v.name ?? '').filter((n) => !inits.has(n)));
    this.subReads = subgraphReads(rec.nodes);
    const addShape = (v: ValueInfo) => {
      const dims = v.type?.tensorType?.shape?.dim;
      if (v.name && dims) this.shapes.set(v.name, dims.map((d) => (d.dimValue !== undefined ? Number(d.dimValue) : undefined)));
    };
    this.graph.inputs.forEach(addShape);
    this.graph.valueInfo.forEach(addShape);
    this.graph.outputs.forEach(addShape);
  }

  /** A constant input of a node: directly stored, or a layer weight behind shape ops. */
  constInfo(node: Node, index: number): ConstInfo | undefined {
    const name = node.inputs[index];
    if (!name) return undefined;
    const ref = this.ed.consts.lookup(this.rec, name);
    if (ref) return { dims: [...ref.tensor.dims], dataType: ref.tensor.dataType ?? 0, ref };
    const w = this.layers.get(node)?.weights.find((x) => x.inputIndex === index);
    if (!w || w.sparse) return undefined;
    const eff = effectiveWeight(w, this.scope, false, this.external);
    return { dims: eff.shape, dataType: eff.dataType, weight: w };
  }

  /** Float values of a constant input (for norms). */
  floats(info: ConstInfo): Float32Array {
    if (info.ref) return tensorFloats(info.ref.tensor, this.external);
    return effectiveWeight(info.weight as LayerWeight, this.scope, true, this.external).values as Float32Array;
  }

  /** Raw bytes of a constant input, for slicing. */
  raw(info: ConstInfo): { raw: Uint8Array; dataType: number; elemBytes: number } {
    if (info.ref) {
      const t = info.ref.tensor;
      return { raw: tensorRawBytes(t, this.external), dataType: t.dataType ?? 0, elemBytes: dtypeBits(t.dataType) / 8 };
    }
    return { raw: bytesOf(this.floats(info)), dataType: DataType.FLOAT, elemBytes: 4 };
  }

  /** A constant input that can be sliced, or a refusal saying why not. */
  sliceable(node: Node, index: number, what: string): ConstInfo {
    const info = this.constInfo(node, index);
    if (!info) refuse(`${what} of ${label(node)} (${node.inputs[index]}) is not a constant`);
    if (info.ref) {
      const bits = dtypeBits(info.ref.tensor.dataType);
      if (bits < 8 || bits % 8 !== 0) refuse(`${what} of ${label(node)} is stored as a ${bits}-bit type`);
      if (info.ref.tensor.dataType === DataType.STRING) refuse(`${what} of ${label(node)} holds strings`);
    } else if (info.dataType !== DataType.FLOAT) refuse(`${what} of ${label(node)} is not float32`);
    return info;
  }

  rankOf(name: string): number | undefined {
    return this.shapes.get(name)?.length;
  }
}

// ---------------------------------------------------------------- group analysis

interface ConstEdit {
  node: Node;
  input: number;
  axis: number;
  map: ChannelMap;
  info: ConstInfo;
}

interface Source {
  node: Node;
  /** weight input and the axis of its output channels */
  input: number;
  axis: number;
  map: ChannelMap;
  info: ConstInfo;
}

/**
 * One group of tied channels: grown from a seed tensor by visiting producers and consumers
 * (`run`), noting each constant slice (`edits`), the layers whose output channels these are
 * (`sources`), and the depthwise and Reshape nodes that follow. Refuses (throws) what it cannot
 * rewire.
 */
class Group {
  readonly view: ChannelGraph;
  readonly tensors = new Map<string, ChannelMap>();
  readonly queue: string[] = [];
  readonly edits = new Map<string, ConstEdit>();
  readonly sources = new Map<Node, Source>();
  /** depthwise convolutions whose `group` follows their input map */
  readonly groupEdits = new Map<Node, ChannelMap>();
  /** Reshape nodes whose 2-D target's second entry shrinks with the input map */
  readonly reshapeEdits = new Map<Node, ChannelMap>();
  readonly touched = new Set<Node>();
  readonly channels: number;
  private readonly ids = new Map<Node, number>();

  constructor(view: ChannelGraph, channels: number) {
    this.view = view;
    this.channels = channels;
  }

  assign(name: string, map: ChannelMap): void {
    if (!name) return;
    const have = this.tensors.get(name);
    if (have) {
      if (!sameLayout(have, map)) refuse(`channels meet with different layouts at ${name}`);
      return;
    }
    if (this.view.outputs.has(name)) refuse(`its channels reach the graph output ${name}`);
    if (this.view.subReads.has(name)) refuse(`its channels are read inside a subgraph (${name})`);
    const rank = map.rank ?? this.view.rankOf(name);
    this.tensors.set(name, rank === map.rank ? map : { ...map, rank });
    this.queue.push(name);
  }

  edit(node: Node, input: number, axis: number, map: ChannelMap, info: ConstInfo): void {
    let id = this.ids.get(node);
    if (id === undefined) this.ids.set(node, (id = this.ids.size));
    this.edits.set(`${id}|${input}|${axis}`, { node, input, axis, map, info });
    this.touched.add(node);
  }

  /** Slices a constant that broadcasts against a tensor laid out as `map`, when it varies along the channel axis. */
  broadcastEdit(node: Node, input: number, map: ChannelMap, what: string): void {
    const info = this.view.constInfo(node, input);
    if (!info) refuse(`${what} of ${label(node)} is not a constant`);
    const ai = info.dims.length + map.axis;
    if (ai < 0 || info.dims[ai] === 1) return;
    this.view.sliceable(node, input, what);
    unitSize(map, info.dims[ai], `${what} of ${label(node)}`);
    this.edit(node, input, ai, map, info);
  }

  run(signal?: AbortSignal): void {
    for (let q = 0; q < this.queue.length; q++) {
      if ((q & 255) === 0) throwIfAborted(signal);
      const name = this.queue[q];
      const p = this.view.producer.get(name);
      if (p) this.visit(p);
      else if (this.view.inputs.has(name)) refuse(`its channels are tied to the graph input ${name}`);
      else refuse(`its channels are tied to ${name}, which no node of this graph computes`);
      for (const c of this.view.consumers.get(name) ?? []) this.visit(c);
    }
    if (this.sources.size === 0) refuse('no layer produces these channels');
  }

  mapOf(name: string | undefined): ChannelMap | undefined {
    return name ? this.tensors.get(name) : undefined;
  }

  private visit(node: Node): void {
    const op = node.opType ?? '';
    if (!isDefaultDomain(node.domain)) refuse(`its channels flow into ${label(node)} (domain ${node.domain}), which this pass cannot rewire`);
    if (UNARY.has(op) || ELEMENTWISE.has(op) || op in NORMS || POOLS.has(op) || op === 'Pad' || op === 'Resize' || op === 'Upsample') {
      rewireChannelWise(this, node, op);
      return;
    }
    switch (op) {
      case 'Conv':
        rewireConv(this, node);
        return;
      case 'ConvTranspose':
        rewireConvTranspose(this, node);
        return;
      case 'Gemm':
        rewireGemm(this, node);
        return;
      case 'MatMul':
        rewireMatMul(this, node);
        return;
      case 'Flatten':
      case 'Reshape':
        rewireFlatten(this, node, op);
        return;
      case 'Concat':
        rewireConcat(this, node);
        return;
      default:
        refuse(`its channels flow into ${label(node)}, which this pass cannot rewire`);
    }
  }

  needAxis1(node: Node, m: ChannelMap): void {
    if (m.flat || axisIndex(m) !== 1) refuse(`${label(node)} needs the channels on axis 1 of a tensor of known rank`);
  }

  weightInfo(node: Node, index: number): ConstInfo {
    return this.view.sliceable(node, index, index === 1 ? 'the weight' : `input ${index}`);
  }

  addSource(node: Node, input: number, axis: number, map: ChannelMap, info: ConstInfo): void {
    if (map.flat || map.extent !== info.dims[axis]) refuse(`${label(node)} has ${info.dims[axis]} output channels, the group ${map.extent}`);
    this.sources.set(node, { node, input, axis, map, info });
    this.edit(node, input, axis, map, info);
  }

  bias(node: Node, index: number, map: ChannelMap): void {
    if (!node.inputs[index]) return;
    const info = this.view.sliceable(node, index, 'the bias');
    if (info.dims.length !== 1) refuse(`the bias of ${label(node)} is not a vector`);
    this.edit(node, index, 0, map, info);
  }
}

// Per-op rules: how channels pass through each op the group meets (a Group visits them).

/** Ops whose output has the same channel layout as their data inputs. */
function rewireChannelWise(g: Group, node: Node, op: string): void {
  const params = new Set<number>(NORMS[op] ?? []);
  if (UNARY.has(op)) for (let i = 1; i < node.inputs.length; i++) params.add(i);
  if (op === 'Pad' || op === 'Resize' || op === 'Upsample') for (let i = 1; i < node.inputs.length; i++) params.add(i);
  let m: ChannelMap | undefined;
  const data = node.inputs.map((_, i) => i).filter((i) => !params.has(i) && node.inputs[i]);
  for (const i of data) m ??= g.mapOf(node.inputs[i]);
  m ??= g.mapOf(node.outputs[0]);
  if (!m) {
    const at = node.inputs.findIndex((n) => g.tensors.has(n));
    refuse(`its channels reach input ${at} of ${label(node)}, a parameter this pass cannot rewire`);
  }
  for (const i of params) if (g.tensors.has(node.inputs[i])) refuse(`its channels reach input ${i} of ${label(node)}, a parameter this pass cannot rewire`);
  if (op in NORMS || POOLS.has(op)) g.needAxis1(node, m);
  if (op === 'MaxPool' && node.outputs[1] && (g.view.consumers.get(node.outputs[1]) || g.view.outputs.has(node.outputs[1]))) {
    refuse(`${label(node)}'s indices output is read`);
  }
  if (op === 'Pad' || op === 'Resize' || op === 'Upsample') checkLayoutOp(g, node, op, m);
  for (const i of data) {
    const name = node.inputs[i];
    const c = g.view.constInfo(node, i);
    if (c && m.rank !== undefined && c.dims.length > m.rank) refuse(`input ${i} of ${label(node)} broadcasts the channels to a higher rank`);
    if (c) g.broadcastEdit(node, i, m, `input ${i}`);
    else if (g.view.shapes.get(name)?.[(g.view.rankOf(name) ?? 0) + m.axis] === 1) continue; // broadcast along the channels
    else g.assign(name, m);
  }
  if (op in NORMS) {
    for (const i of NORMS[op]) {
      if (!node.inputs[i]) continue;
      const info = g.view.sliceable(node, i, `parameter ${i}`);
      if (info.dims.length !== 1) refuse(`parameter ${i} of ${label(node)} is not a vector`);
      unitSize(m, info.dims[0], `parameter ${i} of ${label(node)}`);
      g.edit(node, i, 0, m, info);
    }
    if (node.outputs.slice(1).some((o) => o && g.view.consumers.has(o))) refuse(`${label(node)}'s running statistics are read`);
  }
  if (op === 'Dropout' && node.outputs[1]) g.assign(node.outputs[1], m);
  if (op === 'Clip') {
    for (const i of [1, 2]) {
      if (!node.inputs[i]) continue;
      const info = g.view.constInfo(node, i);
      if (!info || elementCount(info.dims) !== 1) refuse(`${label(node)}'s bounds are not scalar constants`);
    }
  }
  g.assign(node.outputs[0], m);
}

/** Pad / Resize / Upsample: allowed when they leave the channel axis alone. */
function checkLayoutOp(g: Group, node: Node, op: string, m: ChannelMap): void {
  g.needAxis1(node, m);
  const rank = m.rank as number;
  const constVals = (i: number): number[] | undefined => {
    if (!node.inputs[i]) return undefined;
    const info = g.view.constInfo(node, i);
    if (!info?.ref) refuse(`input ${i} of ${label(node)} is not a constant`);
    return Array.from(tensorFloats(info.ref.tensor));
  };
  if (op === 'Pad') {
    if (node.inputs[3]) refuse(`${label(node)} pads selected axes`);
    const pads = attrInts(node, 'pads') ?? constVals(1);
    if (!pads || pads.length !== 2 * rank) refuse(`${label(node)} has no constant pads for every axis`);
    if (pads[1] !== 0 || pads[rank + 1] !== 0) refuse(`${label(node)} pads the channel axis`);
    return;
  }
  if (op === 'Resize' && node.inputs[3]) refuse(`${label(node)} resizes to given sizes`);
  const scales = attrFloats(node, 'scales') ?? constVals(op === 'Resize' && node.inputs.length > 2 ? 2 : 1);
  if (!scales || scales.length !== rank || scales[1] !== 1) refuse(`${label(node)} scales the channel axis`);
}

function rewireConv(g: Group, node: Node): void {
  const w = g.weightInfo(node, 1);
  const rank = w.dims.length;
  const group = attrInt(node, 'group', 1);
  const inMap = g.mapOf(node.inputs[0]);
  const outMap = g.mapOf(node.outputs[0]);
  if (node.inputs.slice(1).some((i) => g.tensors.has(i))) refuse(`its channels reach the weights of ${label(node)}`);
  for (const m of [inMap, outMap]) if (m && (m.flat || m.axis !== 1 - rank)) refuse(`${label(node)} reads its channels in another layout`);
  if (group === 1) {
    if (inMap) {
      unitSize(inMap, w.dims[1], `the kernel of ${label(node)}`);
      g.edit(node, 1, 1, inMap, w);
    }
    if (outMap) {
      g.addSource(node, 1, 0, outMap, w);
      g.bias(node, 2, outMap);
    }
    return;
  }
  const k = w.dims[0] / group;
  if (w.dims[1] !== 1 || !Number.isInteger(k)) refuse(`${label(node)} is a grouped convolution (group ${group}), which ties channels in blocks`);
  // depthwise: output channel c*k + j reads input channel c only
  if (inMap) {
    if (inMap.extent !== group) refuse(`${label(node)} has ${group} groups and its input ${inMap.extent} channels`);
    const out: ChannelMap = { ...inMap, rank, extent: inMap.extent * k, pos: inMap.pos.map((p) => p * k), width: inMap.width * k };
    g.assign(node.outputs[0], out);
    g.edit(node, 1, 0, out, w);
    g.bias(node, 2, out);
    g.groupEdits.set(node, inMap);
  } else if (outMap) {
    if (outMap.width % k !== 0 || outMap.pos.some((p) => p % k !== 0)) refuse(`${label(node)} (depthwise, multiplier ${k}) would lose part of a channel's filters`);
    g.assign(node.inputs[0], { ...outMap, extent: outMap.extent / k, pos: outMap.pos.map((p) => p / k), width: outMap.width / k });
  }
}

function rewireConvTranspose(g: Group, node: Node): void {
  const w = g.weightInfo(node, 1);
  const rank = w.dims.length;
  if (attrInt(node, 'group', 1) !== 1) refuse(`${label(node)} is a grouped transposed convolution`);
  if (node.inputs.slice(1).some((i) => g.tensors.has(i))) refuse(`its channels reach the weights of ${label(node)}`);
  const inMap = g.mapOf(node.inputs[0]);
  const outMap = g.mapOf(node.outputs[0]);
  for (const m of [inMap, outMap]) if (m && (m.flat || m.axis !== 1 - rank)) refuse(`${label(node)} reads its channels in another layout`);
  if (inMap) {
    unitSize(inMap, w.dims[0], `the kernel of ${label(node)}`);
    g.edit(node, 1, 0, inMap, w);
  }
  if (outMap) {
    g.addSource(node, 1, 1, outMap, w);
    g.bias(node, 2, outMap);
  }
}

function rewireGemm(g: Group, node: Node): void {
  if (g.tensors.has(node.inputs[1]) || g.tensors.has(node.inputs[2] ?? '')) refuse(`its channels reach the weights of ${label(node)}`);
  const w = g.weightInfo(node, 1);
  if (w.dims.length !== 2) refuse(`the weight of ${label(node)} is not a matrix`);
  const transB = attrInt(node, 'transB', 0) !== 0;
  const inMap = g.mapOf(node.inputs[0]);
  const outMap = g.mapOf(node.outputs[0]);
  if (inMap) {
    if (attrInt(node, 'transA', 0) !== 0 || inMap.axis !== -1) refuse(`${label(node)} reads its channels along another axis`);
    const kAxis = transB ? 1 : 0;
    unitSize(inMap, w.dims[kAxis], `the weight of ${label(node)}`);
    g.edit(node, 1, kAxis, inMap, w);
  }
  if (outMap) {
    if (outMap.axis !== -1) refuse(`${label(node)} writes its channels along another axis`);
    g.addSource(node, 1, transB ? 0 : 1, outMap, w);
    if (node.inputs[2]) {
      const info = g.view.sliceable(node, 2, 'the bias');
      const last = info.dims.length - 1;
      if (last >= 0 && info.dims[last] !== 1) {
        unitSize(outMap, info.dims[last], `the bias of ${label(node)}`);
        g.edit(node, 2, last, outMap, info);
      }
    }
  }
}

function rewireMatMul(g: Group, node: Node): void {
  const b = g.view.constInfo(node, 1);
  if (!b || g.tensors.has(node.inputs[1])) refuse(`${label(node)} multiplies two computed tensors`);
  g.view.sliceable(node, 1, 'the weight');
  const r = b.dims.length;
  if (r < 2) refuse(`the weight of ${label(node)} is a vector`);
  const inMap = g.mapOf(node.inputs[0]);
  const outMap = g.mapOf(node.outputs[0]);
  if (inMap) {
    if (inMap.axis !== -1) refuse(`${label(node)} reads its channels along another axis`);
    unitSize(inMap, b.dims[r - 2], `the weight of ${label(node)}`);
    g.edit(node, 1, r - 2, inMap, b);
  }
  if (outMap) {
    if (outMap.axis !== -1) refuse(`${label(node)} writes its channels along another axis`);
    g.addSource(node, 1, r - 1, outMap, b);
  }
}

/** Flatten(axis 1), or Reshape to [N, -1] / [N, K]: channel c becomes a block of the rows. */
function rewireFlatten(g: Group, node: Node, op: string): void {
  if (node.inputs.slice(1).some((i) => g.tensors.has(i))) refuse(`its channels reach the shape input of ${label(node)}`);
  const inMap = g.mapOf(node.inputs[0]);
  if (!inMap) refuse(`its channels come out of ${label(node)}, a reshape, and are tied to other tensors`);
  if (inMap.flat) refuse(`${label(node)} flattens a tensor that is already flat`);
  const ai = axisIndex(inMap);
  if (ai !== 1) refuse(`${label(node)} needs the channels on axis 1 of a tensor of known rank`);
  if (op === 'Flatten') {
    if (attrInt(node, 'axis', 1) !== 1) refuse(`${label(node)} does not flatten at axis 1`);
  } else {
    const info = g.view.constInfo(node, 1);
    if (!info?.ref) refuse(`${label(node)} has no constant shape`);
    const target = Array.from(tensorFloats(info.ref.tensor));
    const okFirst = target.length === 2 && (target[0] === 0 || target[0] > 0 || (target[0] === -1 && target[1] > 0));
    if (!okFirst || !(target[1] === -1 || target[1] > 0) || attrInt(node, 'allowzero', 0) !== 0) {
      refuse(`${label(node)} reshapes to [${target.join(', ')}], which moves channels (only [N, -1] and [N, K] are rewired)`);
    }
    if (target[1] > 0) {
      g.view.sliceable(node, 1, 'the shape');
      if (target[1] % inMap.extent !== 0) refuse(`${label(node)} reshapes to [${target.join(', ')}], which does not split into ${inMap.extent} channels`);
      g.reshapeEdits.set(node, inMap);
      g.touched.add(node);
    }
  }
  g.assign(node.outputs[0], { ...inMap, axis: -1, rank: 2, flat: inMap.rank !== 2 });
}

/** Channels along the Concat axis: offsets by the inputs before. */
function rewireConcat(g: Group, node: Node): void {
  const axis = attrInt(node, 'axis', 0);
  let m: ChannelMap | undefined;
  let j = -1;
  for (let i = 0; i < node.inputs.length && !m; i++) {
    m = g.mapOf(node.inputs[i]);
    j = i;
  }
  if (!m) refuse(`its channels come out of ${label(node)} and are tied to other tensors`);
  const onChannels = axis < 0 ? axis === m.axis : m.rank !== undefined && axis === m.rank + m.axis;
  if (!onChannels) {
    if (axis >= 0 && m.rank === undefined) refuse(`${label(node)} concatenates along axis ${axis} of a tensor of unknown rank`);
    rewireChannelWise(g, node, 'Add');
    return;
  }
  if (m.flat) refuse(`${label(node)} concatenates flattened channels`);
  const ai = axisIndex(m);
  let offset = 0;
  let total = 0;
  node.inputs.forEach((name, i) => {
    const e = i === j ? m.extent : extentOf(g, name, ai, 0);
    if (e === undefined) refuse(`${label(node)}: how many channels ${name} has is not known`);
    if (i < j) offset += e;
    total += e;
  });
  for (let i = j + 1; i < node.inputs.length; i++) {
    if (g.tensors.has(node.inputs[i])) refuse(`${label(node)} concatenates channels of the same group twice`);
  }
  g.assign(node.outputs[0], { ...m, extent: total, pos: m.pos.map((p) => p + offset) });
}

/** Channels of a tensor along axis index `ai`, from shapes or producers. */
function extentOf(g: Group, name: string, ai: number | undefined, depth: number): number | undefined {
  const m = g.tensors.get(name);
  if (m && !m.flat) return m.extent;
  const shape = g.view.shapes.get(name);
  if (shape && ai !== undefined && shape[ai] !== undefined) return shape[ai];
  const p = g.view.producer.get(name);
  if (!p || depth > 64 || !isDefaultDomain(p.domain)) return undefined;
  const op = p.opType ?? '';
  const w = () => g.view.constInfo(p, 1)?.dims;
  if (op === 'Conv' && ai === 1) return w()?.[0];
  if (op === 'ConvTranspose' && ai === 1) {
    const d = w();
    return d ? d[1] * attrInt(p, 'group', 1) : undefined;
  }
  if (UNARY.has(op) || op in NORMS || POOLS.has(op) || op === 'Pad' || op === 'Resize' || op === 'Upsample') return extentOf(g, p.inputs[0], ai, depth + 1);
  if (op === 'Concat' && ai !== undefined && attrInt(p, 'axis', 0) === ai) {
    let s = 0;
    for (const i of p.inputs) {
      const e = extentOf(g, i, ai, depth + 1);
      if (e === undefined) return undefined;
      s += e;
    }
    return s;
  }
  return undefined;
}

// ---------------------------------------------------------------- the pass

function requestableReason(layer: Layer): string | undefined {
  const ops = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];
  if (!ops.includes(layer.op) || !isDefaultDomain(layer.domain)) return `channel pruning handles Conv, ConvTranspose, Gemm and MatMul layers, not ${layer.op}`;
  return undefined;
}

/** The tensor and layout a requested layer's group starts from. */
function seed(view: ChannelGraph, layer: Layer): { name: string; map: ChannelMap } {
  const node = layer.node;
  const w = view.constInfo(node, 1);
  if (!w) refuse(`its weight (input 1) is not a constant`);
  const d = w.dims;
  switch (layer.op) {
    case 'Conv': {
      const group = attrInt(node, 'group', 1);
      if (group > 1 && d[1] === 1) return { name: node.inputs[0], map: identityMap(group, 1 - d.length, d.length) }; // depthwise: tied to its input
      return { name: node.outputs[0], map: identityMap(d[0], 1 - d.length, d.length) };
    }
    case 'ConvTranspose':
      return { name: node.outputs[0], map: identityMap(d[1] * attrInt(node, 'group', 1), 1 - d.length, d.length) };
    case 'Gemm':
      return { name: node.outputs[0], map: identityMap(attrInt(node, 'transB', 0) ? d[0] : d[1], -1, 2) };
    default:
      if (d.length < 2) refuse('its weight is a vector');
      return { name: node.outputs[0], map: identityMap(d[d.length - 1], -1) };
  }
}

/** Indices of the k smallest scores, ties to the lower index, ascending. */
function smallest(scores: Float64Array, k: number): number[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b] || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

interface Pending {
  view: ChannelGraph;
  node: Node;
  input: number;
  info: ConstInfo;
  axes: Map<number, Set<number>>;
}

/** What channelPrune's steps share. */
interface PruneRun {
  model: Model;
  options: ChannelPruneOptions;
  report: ChannelPruneReport;
  outcome: Map<string, ChannelLayerOutcome>;
  byNode: Map<Node, Layer>;
  fractions: Map<string, number>;
  ed: ConstEditor;
  note: (key: string, text: string) => void;
  fail: (key: string, reason: string) => void;
}

interface AcceptedGroup {
  group: Group;
  requested: string[];
  fraction: number;
}

/** What step 2 collects for step 3: slices per constant input, depthwise `group` cuts, Reshape target cuts. */
interface Cuts {
  pending: Map<Node, Map<number, Pending>>;
  groupCuts: Map<Node, number>;
  reshapeCuts: Map<Node, { view: ChannelGraph; cut: number }>;
}

/**
 * Removes output channels of the requested layers (see the file comment). Layers not found, not
 * prunable, or whose group is refused get an `error`; the model is changed only for accepted
 * groups.
 *
 * Steps: buildGroups, chooseChannels per group, rewriteCuts.
 */
export function channelPrune(model: Model, requests: readonly ChannelPruneRequest[], options: ChannelPruneOptions): ChannelPruneResult {
  const paramsBefore = floatParamCount(model);
  const outcome = new Map<string, ChannelLayerOutcome>();
  const report: ChannelPruneReport = { groups: [], refused: [], paramsBefore, paramsAfter: paramsBefore };
  const wanted = requests.filter((r) => r.fraction > 0);
  if (wanted.length === 0) return { report, layers: outcome };
  const layers = findLayers(model);
  const byNode = new Map(layers.map((l) => [l.node, l]));
  const fractions = new Map(wanted.map((r) => [r.key, r.fraction]));
  const note = (key: string, text: string) => {
    let o = outcome.get(key);
    if (!o) outcome.set(key, (o = { notes: [] }));
    o.notes.push(text);
  };
  const fail = (key: string, reason: string) => {
    let o = outcome.get(key);
    if (!o) outcome.set(key, (o = { notes: [] }));
    o.error = reason;
  };
  const run: PruneRun = { model, options, report, outcome, byNode, fractions, ed: new ConstEditor(model, options.names), note, fail };
  const accepted = buildGroups(run, wanted, layers);
  const cuts: Cuts = { pending: new Map(), groupCuts: new Map(), reshapeCuts: new Map() };
  for (const a of accepted) chooseChannels(run, a, cuts);
  recordCuts(run, cuts);
  rewriteCuts(run.ed, cuts);
  run.ed.finish();
  report.paramsAfter = floatParamCount(model);
  return { report, layers: outcome };
}

/** 1. Build every group (nothing changes yet); a group that cannot be rewired is refused with its layers. */
function buildGroups(run: PruneRun, wanted: readonly ChannelPruneRequest[], layers: readonly Layer[]): AcceptedGroup[] {
  const { model, options, report, byNode, fractions, ed, fail } = run;
  const byKey = new Map(layers.map((l) => [l.key, l]));
  const views = new Map<GraphRecord, ChannelGraph>();
  const records = new Map(modelGraphs(model).map((r) => [graphPath(r), r]));
  const done = new Set<Node>();
  const accepted: AcceptedGroup[] = [];
  for (const req of wanted) {
    throwIfAborted(options.signal);
    const layer = byKey.get(req.key);
    if (!layer) {
      fail(req.key, 'no such layer');
      continue;
    }
    if (done.has(layer.node)) continue;
    const why = requestableReason(layer);
    const rec = records.get(layer.graphPath);
    if (why || !rec?.graph || rec.kind === 'training') {
      fail(req.key, why ?? 'layers of functions and training graphs are not pruned');
      continue;
    }
    let view = views.get(rec);
    if (!view) views.set(rec, (view = new ChannelGraph(rec, ed, byNode, options.external)));
    let group: Group | undefined;
    try {
      const s = seed(view, layer);
      group = new Group(view, s.map.pos.length);
      group.assign(s.name, s.map);
      group.run(options.signal);
    } catch (e) {
      if (!(e instanceof AppError) || e.code === 'aborted') throw e;
      // the layers found to share these channels so far share the refusal
      const members = [...(group?.sources.keys() ?? []), ...(group?.groupEdits.keys() ?? [])];
      const keys = [...new Set([req.key, ...members.map((n) => byNode.get(n)?.key).filter((k): k is string => !!k && fractions.has(k))])];
      for (const k of keys) fail(k, e.message);
      for (const n of members) done.add(n);
      done.add(layer.node);
      report.refused.push({ layers: keys, reason: e.message });
      continue;
    }
    // sources and depthwise layers belong to this group; sinks may still start groups of their own
    const members = [...group.sources.keys(), ...group.groupEdits.keys()];
    for (const n of members) done.add(n);
    const requested = [...new Set(members.map((n) => byNode.get(n)?.key).filter((k): k is string => !!k && fractions.has(k)))];
    accepted.push({ group, requested, fraction: Math.max(...requested.map((k) => fractions.get(k) ?? 0)) });
  }

  return accepted;
}

/** 2. Choose the channels of one group (smallest summed L2 norms) and collect the slices per constant input. */
function chooseChannels(run: PruneRun, { group, requested, fraction }: AcceptedGroup, cuts: Cuts): void {
  const { report, byNode, note } = run;
  const { pending, groupCuts, reshapeCuts } = cuts;
  const C = group.channels;
  const scores = new Float64Array(C);
  for (const s of group.sources.values()) {
    const ss = sumSquaresAlong(group.view.floats(s.info), s.info.dims, s.axis);
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let u = s.map.pos[c]; u < s.map.pos[c] + s.map.width; u++) sum += ss[u];
      scores[c] += Math.sqrt(sum);
    }
  }
  const k = Math.min(C - 1, pruneCount(C, fraction));
  const removed = smallest(scores, k);
  const sources = [...group.sources.keys()].map((n) => byNode.get(n)?.key ?? n.name ?? '');
  const rewired = [...group.touched].filter((n) => !group.sources.has(n)).map((n) => n.name || n.outputs[0] || '');
  report.groups.push({ sources, requested, fraction, channels: C, removed, rewired });
  const tied = sources.length > 1 ? `, tied across ${sources.join(', ')}` : '';
  const how = `removed ${k} by ${sources.length > 1 ? 'summed ' : ''}L2 norm${tied}`;
  for (const n of group.sources.keys()) note(byNode.get(n)?.key ?? '', `output channels ${C} -> ${C - k} (${how})`);
  for (const n of group.groupEdits.keys()) note(byNode.get(n)?.key ?? '', `depthwise: channels ${C} -> ${C - k} with its input (${how})`);
  for (const n of group.touched) {
    const key = byNode.get(n)?.key;
    if (key && !group.sources.has(n) && !group.groupEdits.has(n)) note(key, `input channels follow ${sources.join(', ')}: ${k} of ${C} removed`);
  }
  if (k === 0) return;
  for (const e of group.edits.values()) {
    const S = unitSize(e.map, e.info.dims[e.axis], 'a constant');
    let byInput = pending.get(e.node);
    if (!byInput) pending.set(e.node, (byInput = new Map()));
    let p = byInput.get(e.input);
    if (!p) byInput.set(e.input, (p = { view: group.view, node: e.node, input: e.input, info: e.info, axes: new Map() }));
    let set = p.axes.get(e.axis);
    if (!set) p.axes.set(e.axis, (set = new Set()));
    for (const x of removedPositions(e.map, removed, S)) set.add(x);
  }
  for (const [node, m] of group.groupEdits) groupCuts.set(node, (groupCuts.get(node) ?? 0) + removedPositions(m, removed).length);
  for (const [node, m] of group.reshapeEdits) {
    const target = Array.from(tensorFloats(group.view.constInfo(node, 1)!.ref!.tensor));
    const S = target[1] / m.extent;
    const prev = reshapeCuts.get(node)?.cut ?? 0;
    reshapeCuts.set(node, { view: group.view, cut: prev + removedPositions(m, removed, S).length });
  }
  updateShapes(group, removed);
}

/** 3. Rewrite the constants, `group` attributes and Reshape targets. */
/** Keeps each layer's float weight (input 1) as it is before the cuts, with what is cut: recovery refits what stays. */
function recordCuts(run: PruneRun, { pending }: Cuts): void {
  for (const [node, byInput] of pending) {
    const layer = run.byNode.get(node);
    const p = byInput.get(1);
    if (!layer || !p || p.info.dataType !== DataType.FLOAT || attrInt(node, 'group', 1) !== 1) continue;
    let o = run.outcome.get(layer.key);
    if (!o) run.outcome.set(layer.key, (o = { notes: [] }));
    o.cut = { dims: [...p.info.dims], values: Float32Array.from(p.view.floats(p.info)), removed: new Map([...p.axes].map(([axis, set]) => [axis, [...set].sort((a, b) => a - b)])) };
  }
}

function rewriteCuts(ed: ConstEditor, { pending, groupCuts, reshapeCuts }: Cuts): void {
  for (const byInput of pending.values()) {
    for (const p of byInput.values()) {
      const src = p.view.raw(p.info);
      const { dataType, elemBytes } = src;
      let { raw } = src;
      let dims = p.info.dims;
      for (const [axis, set] of p.axes) ({ raw, dims } = sliceAxis(raw, elemBytes, dims, axis, set));
      const old = p.node.inputs[p.input];
      ed.replaceInput(p.view.rec, p.node, p.input, { dataType, dims, raw: raw.slice() }, `${p.info.weight?.name ?? old}_pruned`, p.info.weight);
    }
  }
  for (const [node, cut] of groupCuts) {
    const g = attrInt(node, 'group', 1) - cut;
    node.attributes = [...node.attributes.filter((a) => a.name !== 'group'), attr.int('group', g)];
  }
  for (const [node, { view, cut }] of reshapeCuts) {
    const info = view.constInfo(node, 1)!;
    const target = Array.from(tensorFloats(info.ref!.tensor));
    const values = BigInt64Array.from([BigInt(target[0]), BigInt(target[1] - cut)]);
    ed.replaceInput(view.rec, node, 1, { dataType: DataType.INT64, dims: [2], raw: bytesOf(values) }, `${node.inputs[1]}_pruned`);
  }
}

/** Shrinks the channel axis in the value_info entries of the group's tensors. */
function updateShapes(group: Group, removed: number[]): void {
  const g = group.view.graph;
  for (const v of g.valueInfo) {
    const m = v.name ? group.tensors.get(v.name) : undefined;
    const dims = v.type?.tensorType?.shape?.dim;
    if (!m || !dims) continue;
    const ai = dims.length + m.axis;
    const d = dims[ai];
    if (ai < 0 || d?.dimValue === undefined) continue;
    const S = m.flat ? Number(d.dimValue) / m.extent : 1;
    if (!Number.isInteger(S)) continue;
    d.dimValue = Number(d.dimValue) - removedPositions(m, removed, S).length;
  }
}
