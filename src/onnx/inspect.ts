/**
 * The inspector's work on a loaded model (the model worker runs it on the model it keeps):
 * details of one node (attributes, inputs/outputs with shapes, weight tensors) and statistics of
 * one tensor (cached). The recipe's size projection is src/compress/project-recipe.ts.
 *
 * Everything is indexed lazily, once per loaded model (WeakMap caches), and answers are small
 * plain objects: no tensor data crosses to the page except a histogram and up to 16 values.
 */
import { AppError } from '../core/errors';
import { constantValue, findLayers, safeElementCount, type Layer, type WeightRole, type WeightSource } from './layers';
import type { LoadedModel } from './load';
import { graphPath, modelGraphs, type GraphRecord } from './names';
import { tensorStats, type TensorStats } from './stats';
import { dtypeBits, dtypeName, isExternal, tensorByteLength, tensorValues, type TensorValues } from './tensor';
import { AttributeType, DataType, type Attribute, type Graph, type Int64, type Node, type SparseTensor, type Tensor, type TypeProto, type ValueInfo } from './types';

export type Dim = number | string;

export interface AttributeView {
  name: string;
  /** 'float', 'int', 'string', 'tensor', 'graph', 'floats', ... */
  type: string;
  /** a readable one-line rendering */
  value: string;
}

export type ValueKind = 'activation' | 'graph-input' | 'initializer' | 'constant' | 'optional' | 'unknown';

export interface ValueView {
  name: string;
  /** 'float32', ...; '?' when unknown */
  dtype: string;
  /** null when the shape is not known */
  shape: Dim[] | null;
  kind: ValueKind;
  /** graph output of the node's graph */
  isOutput?: boolean;
}

export interface WeightView {
  /** handle for tensorStats */
  id: string;
  name: string;
  /** the node input that leads to it and its position */
  input: string;
  inputIndex: number;
  /** 'weight' | 'bias' | 'other' for a layer's weights, 'constant' for other nodes' constant inputs */
  role: WeightRole | 'constant';
  dtype: string;
  shape: number[];
  elements: number;
  bytes: number;
  source: WeightSource;
  /** shape ops passed through on the way to the node */
  via: string[];
  /** every value, for tensors of up to 16 values */
  values?: (number | string)[];
}

export interface NodeDetails {
  key: string;
  op: string;
  domain: string;
  /** 'main' or where a subgraph lives */
  graphPath: string;
  docString?: string;
  isLayer: boolean;
  /** elements in the layer's weights (layers only) */
  params?: number;
  attributes: AttributeView[];
  inputs: ValueView[];
  outputs: ValueView[];
  weights: WeightView[];
}

export interface TensorStatsView extends TensorStats {
  id: string;
  /** set instead of figures when the type has no numeric statistics (strings, float8) */
  unavailable?: string;
}

/** Where a node lives. */
interface NodeRef {
  rec: GraphRecord;
  node: Node;
  index: number;
}

type ConstDef = { tensor: Tensor } | { sparse: SparseTensor };

interface ModelIndex {
  nodes: Map<string, NodeRef>;
  layers: Layer[];
  layerByKey: Map<string, Layer>;
  /** per graph record: value name -> value info, constants */
  values: Map<GraphRecord, Map<string, ValueInfo>>;
  consts: Map<GraphRecord, Map<string, ConstDef>>;
  outputs: Map<GraphRecord, Set<string>>;
  inputs: Map<GraphRecord, Set<string>>;
  /** tensor handles given out in NodeDetails */
  tensors: Map<string, ConstDef>;
  stats: Map<string, TensorStatsView>;
}

const indexes = new WeakMap<LoadedModel, ModelIndex>();

function indexOf(loaded: LoadedModel): ModelIndex {
  let ix = indexes.get(loaded);
  if (ix) return ix;
  const nodes = new Map<string, NodeRef>();
  for (const rec of modelGraphs(loaded.model)) {
    rec.nodes.forEach((node, index) => {
      const key = node.name ?? '';
      if (key && !nodes.has(key)) nodes.set(key, { rec, node, index });
    });
  }
  const layers = findLayers(loaded.model);
  ix = {
    nodes,
    layers,
    layerByKey: new Map(layers.map((l) => [l.key, l])),
    values: new Map(),
    consts: new Map(),
    outputs: new Map(),
    inputs: new Map(),
    tensors: new Map(),
    stats: new Map(),
  };
  indexes.set(loaded, ix);
  return ix;
}

function noModel(): never {
  throw new AppError('invalid-argument', 'No model is open.');
}

/** Value infos, constants, inputs and outputs of one graph, built on first use. */
function tablesOf(ix: ModelIndex, rec: GraphRecord) {
  let values = ix.values.get(rec);
  let consts = ix.consts.get(rec);
  let outputs = ix.outputs.get(rec);
  let inputs = ix.inputs.get(rec);
  if (!values || !consts || !outputs || !inputs) {
    values = new Map();
    consts = new Map();
    outputs = new Set();
    inputs = new Set();
    const g: Graph | undefined = rec.graph;
    if (g) {
      for (const v of [...g.valueInfo, ...g.outputs, ...g.inputs]) if (v.name) values.set(v.name, v);
      for (const v of g.outputs) if (v.name) outputs.add(v.name);
      for (const v of g.inputs) if (v.name) inputs.add(v.name);
      for (const s of g.sparseInitializers) if (s.values?.name) consts.set(s.values.name, { sparse: s });
      for (const t of g.initializers) if (t.name) consts.set(t.name, { tensor: t });
    } else if (rec.fn) {
      for (const n of rec.fn.inputs) if (n) inputs.add(n);
      for (const n of rec.fn.outputs) if (n) outputs.add(n);
      for (const v of rec.fn.valueInfo) if (v.name) values.set(v.name, v);
    }
    for (const n of rec.nodes) {
      if (n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx') && n.outputs[0]) {
        const c = constantValue(n);
        if (c?.tensor) consts.set(n.outputs[0], { tensor: c.tensor });
        else if (c?.sparse) consts.set(n.outputs[0], { sparse: c.sparse });
      }
    }
    ix.values.set(rec, values);
    ix.consts.set(rec, consts);
    ix.outputs.set(rec, outputs);
    ix.inputs.set(rec, inputs);
  }
  return { values, consts, outputs, inputs };
}

/** The graph and its enclosing graphs, innermost first. */
function scopeChain(rec: GraphRecord): GraphRecord[] {
  const out: GraphRecord[] = [];
  for (let r: GraphRecord | undefined = rec; r && out.length < 64; r = r.parent ?? r.outer) out.push(r);
  return out;
}

function typeName(t: TypeProto | undefined, depth = 0): string {
  if (!t || depth > 8) return '?';
  if (t.tensorType) return t.tensorType.elemType === undefined ? '?' : dtypeName(t.tensorType.elemType);
  if (t.sparseTensorType) return `sparse<${dtypeName(t.sparseTensorType.elemType)}>`;
  if (t.sequenceType) return `sequence<${typeName(t.sequenceType.elemType, depth + 1)}>`;
  if (t.mapType) return `map<${dtypeName(t.mapType.keyType)},${typeName(t.mapType.valueType, depth + 1)}>`;
  if (t.optionalType) return `optional<${typeName(t.optionalType.elemType, depth + 1)}>`;
  if (t.opaqueType) return `opaque<${t.opaqueType.domain ?? ''}.${t.opaqueType.name ?? ''}>`;
  return '?';
}

function shapeOf(t: TypeProto | undefined): Dim[] | null {
  const tt = t?.tensorType ?? t?.sparseTensorType;
  if (!tt?.shape) return null;
  return tt.shape.dim.map((d): Dim => (d.dimValue !== undefined ? d.dimValue : d.dimParam ? d.dimParam : '?'));
}

function constView(def: ConstDef): { dtype: string; shape: number[] } {
  if ('tensor' in def) return { dtype: dtypeName(def.tensor.dataType), shape: [...def.tensor.dims] };
  return { dtype: dtypeName(def.sparse.values?.dataType), shape: [...def.sparse.dims] };
}

function valueView(ix: ModelIndex, rec: GraphRecord, name: string): ValueView {
  if (!name) return { name: '', dtype: '', shape: null, kind: 'optional' };
  const chain = scopeChain(rec);
  const own = tablesOf(ix, rec);
  const isOutput = own.outputs.has(name) || undefined;
  for (const r of chain) {
    const { values, consts, inputs } = tablesOf(ix, r);
    const c = consts.get(name);
    if (c) {
      const v = constView(c);
      const viaConstantNode = r.nodes.some((n) => n.opType === 'Constant' && n.outputs[0] === name);
      return { name, ...v, kind: viaConstantNode ? 'constant' : 'initializer', ...(isOutput ? { isOutput } : {}) };
    }
    const vi = values.get(name);
    if (vi) {
      return { name, dtype: typeName(vi.type), shape: shapeOf(vi.type), kind: inputs.has(name) ? 'graph-input' : 'activation', ...(isOutput ? { isOutput } : {}) };
    }
    if (inputs.has(name)) return { name, dtype: '?', shape: null, kind: 'graph-input' };
  }
  return { name, dtype: '?', shape: null, kind: 'activation', ...(isOutput ? { isOutput } : {}) };
}

const decoder = new TextDecoder('utf-8');
const MAX_LIST = 16;

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(7)));
}

function list<T>(items: readonly T[], show: (x: T) => string): string {
  const head = items.slice(0, MAX_LIST).map(show).join(', ');
  return items.length > MAX_LIST ? `[${head}, … ${items.length} in all]` : `[${head}]`;
}

function int(v: Int64): string {
  return String(v);
}

function str(b: Uint8Array): string {
  return JSON.stringify(decoder.decode(b));
}

function shapeText(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

/** Up to 16 values of a small tensor, as numbers (strings for string tensors). */
function smallValues(t: Tensor, loaded: LoadedModel): (number | string)[] | undefined {
  const n = safeElementCount(t.dims);
  if (n > MAX_LIST || (t.dims.length > 0 && n === 0)) return undefined;
  try {
    if (t.dataType === DataType.STRING) return t.stringData.slice(0, n).map((b) => decoder.decode(b));
    const dt = t.dataType ?? 0;
    if (dtypeBits(dt) === 0 || (dt >= DataType.FLOAT8E4M3FN && dt <= DataType.FLOAT8E5M2FNUZ) || dt === DataType.FLOAT4E2M1 || dt === DataType.FLOAT8E8M0) {
      return undefined;
    }
    const v = tensorValues(t, loaded.external);
    return Array.from({ length: Math.min(n, v.length) }, (_, i) => Number(v[i]));
  } catch {
    return undefined;
  }
}

function tensorText(t: Tensor, loaded: LoadedModel): string {
  const head = `tensor ${dtypeName(t.dataType)} ${shapeText(t.dims)}`;
  const v = smallValues(t, loaded);
  if (!v) return head;
  return `${head} = ${list(v, (x) => (typeof x === 'number' ? num(x) : JSON.stringify(x)))}`;
}

function graphText(g: Graph): string {
  return `graph${g.name ? ` "${g.name}"` : ''} (${g.nodes.length} node${g.nodes.length === 1 ? '' : 's'})`;
}

const TYPE_NAMES: Record<number, string> = {
  [AttributeType.FLOAT]: 'float',
  [AttributeType.INT]: 'int',
  [AttributeType.STRING]: 'string',
  [AttributeType.TENSOR]: 'tensor',
  [AttributeType.GRAPH]: 'graph',
  [AttributeType.FLOATS]: 'floats',
  [AttributeType.INTS]: 'ints',
  [AttributeType.STRINGS]: 'strings',
  [AttributeType.TENSORS]: 'tensors',
  [AttributeType.GRAPHS]: 'graphs',
  [AttributeType.SPARSE_TENSOR]: 'sparse tensor',
  [AttributeType.SPARSE_TENSORS]: 'sparse tensors',
  [AttributeType.TYPE_PROTO]: 'type',
  [AttributeType.TYPE_PROTOS]: 'types',
};

/** The attribute's type: declared, or (files that leave it out) read from the field that is set. */
function attrType(a: Attribute): number {
  if (a.type) return a.type;
  if (a.g) return AttributeType.GRAPH;
  if (a.t) return AttributeType.TENSOR;
  if (a.sparseTensor) return AttributeType.SPARSE_TENSOR;
  if (a.tp) return AttributeType.TYPE_PROTO;
  if (a.s) return AttributeType.STRING;
  if (a.i !== undefined) return AttributeType.INT;
  if (a.f !== undefined) return AttributeType.FLOAT;
  if (a.graphs.length) return AttributeType.GRAPHS;
  if (a.tensors.length) return AttributeType.TENSORS;
  if (a.sparseTensors.length) return AttributeType.SPARSE_TENSORS;
  if (a.typeProtos.length) return AttributeType.TYPE_PROTOS;
  if (a.strings.length) return AttributeType.STRINGS;
  if (a.ints.length) return AttributeType.INTS;
  if (a.floats.length) return AttributeType.FLOATS;
  return AttributeType.UNDEFINED;
}

function sparseText(s: SparseTensor): string {
  const nnz = s.values ? safeElementCount(s.values.dims) : 0;
  return `sparse ${dtypeName(s.values?.dataType)} ${shapeText(s.dims)} (${nnz} stored value${nnz === 1 ? '' : 's'})`;
}

/** One attribute as a readable line. */
export function attributeView(a: Attribute, loaded: LoadedModel): AttributeView {
  const type = attrType(a);
  const name = a.name ?? '';
  const typeLabel = TYPE_NAMES[type] ?? 'undefined';
  if (a.refAttrName) return { name, type: typeLabel, value: `refers to the function's attribute "${a.refAttrName}"` };
  let value: string;
  switch (type) {
    case AttributeType.FLOAT:
      value = num(a.f ?? 0);
      break;
    case AttributeType.INT:
      value = int(a.i ?? 0);
      break;
    case AttributeType.STRING:
      value = a.s ? str(a.s) : '""';
      break;
    case AttributeType.TENSOR:
      value = a.t ? tensorText(a.t, loaded) : 'tensor (empty)';
      break;
    case AttributeType.GRAPH:
      value = a.g ? graphText(a.g) : 'graph (empty)';
      break;
    case AttributeType.FLOATS:
      value = list(a.floats, num);
      break;
    case AttributeType.INTS:
      value = list(a.ints, int);
      break;
    case AttributeType.STRINGS:
      value = list(a.strings, str);
      break;
    case AttributeType.TENSORS:
      value = list(a.tensors, (t) => `${dtypeName(t.dataType)} ${shapeText(t.dims)}`);
      break;
    case AttributeType.GRAPHS:
      value = list(a.graphs, graphText);
      break;
    case AttributeType.SPARSE_TENSOR:
      value = a.sparseTensor ? sparseText(a.sparseTensor) : 'sparse tensor (empty)';
      break;
    case AttributeType.SPARSE_TENSORS:
      value = list(a.sparseTensors, sparseText);
      break;
    case AttributeType.TYPE_PROTO:
      value = typeName(a.tp);
      break;
    case AttributeType.TYPE_PROTOS:
      value = list(a.typeProtos, (t) => typeName(t));
      break;
    default:
      value = '(no value)';
  }
  return { name, type: typeLabel, value };
}

function storedBytes(def: ConstDef): number {
  try {
    if ('tensor' in def) return tensorByteLength(def.tensor);
    const s = def.sparse;
    return (s.values ? tensorByteLength(s.values) : 0) + (s.indices ? tensorByteLength(s.indices) : 0);
  } catch {
    return 0;
  }
}

function sourceOf(def: ConstDef, viaConstant: boolean): WeightSource {
  if ('sparse' in def) return 'sparse';
  if (isExternal(def.tensor)) return 'external';
  return viaConstant ? 'constant' : 'initializer';
}

/** Details of the node named `key`. */
export function nodeDetails(loaded: LoadedModel | undefined, key: string): NodeDetails {
  if (!loaded) noModel();
  const ix = indexOf(loaded);
  const ref = ix.nodes.get(key);
  if (!ref) throw new AppError('invalid-argument', `No node is named "${key}".`);
  const { rec, node } = ref;
  const path = graphPath(rec);
  const layer = ix.layerByKey.get(key);
  const weights: WeightView[] = [];
  const register = (id: string, def: ConstDef) => {
    if (!ix.tensors.has(id)) ix.tensors.set(id, def);
  };
  if (layer) {
    for (const w of layer.weights) {
      const def: ConstDef | undefined = w.sparse ? { sparse: w.sparse } : w.tensor ? { tensor: w.tensor } : undefined;
      if (!def) continue;
      const id = `${w.storedIn}|${w.name}`;
      register(id, def);
      weights.push({
        id,
        name: w.name,
        input: w.input,
        inputIndex: w.inputIndex,
        role: w.role,
        dtype: w.dtype,
        shape: w.shape,
        elements: w.elements,
        bytes: storedBytes(def),
        source: w.source,
        via: w.via,
        ...('tensor' in def ? { values: smallValues(def.tensor, loaded) } : {}),
      });
    }
  } else {
    const chain = scopeChain(rec);
    node.inputs.forEach((input, inputIndex) => {
      if (!input) return;
      for (const r of chain) {
        const def = tablesOf(ix, r).consts.get(input);
        if (!def) continue;
        const id = `${graphPath(r)}|${input}`;
        register(id, def);
        const v = constView(def);
        const viaConstant = r.nodes.some((n) => n.opType === 'Constant' && n.outputs[0] === input);
        weights.push({
          id,
          name: input,
          input,
          inputIndex,
          role: 'constant',
          dtype: v.dtype,
          shape: v.shape,
          elements: safeElementCount(v.shape),
          bytes: storedBytes(def),
          source: sourceOf(def, viaConstant),
          via: [],
          ...('tensor' in def ? { values: smallValues(def.tensor, loaded) } : {}),
        });
        break;
      }
    });
  }
  for (const w of weights) if (w.values === undefined) delete w.values;
  return {
    key,
    op: node.opType ?? '',
    domain: node.domain ?? '',
    graphPath: path,
    ...(node.docString ? { docString: node.docString } : {}),
    isLayer: layer !== undefined,
    ...(layer ? { params: layer.params } : {}),
    attributes: node.attributes.map((a) => attributeView(a, loaded)),
    inputs: node.inputs.map((name) => valueView(ix, rec, name)),
    outputs: node.outputs.map((name) => valueView(ix, rec, name)),
    weights,
  };
}

/** Dense values of a sparse tensor (COO, linear or per-dimension indices). */
function densify(s: SparseTensor, loaded: LoadedModel): Float64Array {
  const n = safeElementCount(s.dims);
  if (n > 64_000_000) throw new AppError('too-large', 'This sparse tensor is too large to expand for statistics.');
  const out = new Float64Array(n);
  if (!s.values || !s.indices) return out;
  const vals = tensorValues(s.values, loaded.external);
  const idx = tensorValues(s.indices, loaded.external);
  const rank = s.dims.length;
  const coords = s.indices.dims.length === 2;
  for (let k = 0; k < vals.length; k++) {
    let pos = 0;
    if (coords) for (let d = 0; d < rank; d++) pos = pos * s.dims[d] + Number(idx[k * rank + d]);
    else pos = Number(idx[k]);
    if (pos >= 0 && pos < n) out[pos] = Number(vals[k]);
  }
  return out;
}

const NO_STATS = new Set<number>([
  DataType.STRING,
  DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ,
  DataType.FLOAT8E5M2,
  DataType.FLOAT8E5M2FNUZ,
  DataType.FLOAT4E2M1,
  DataType.FLOAT8E8M0,
  DataType.COMPLEX64,
  DataType.COMPLEX128,
]);

function unavailable(id: string, count: number, why: string): TensorStatsView {
  return {
    id,
    unavailable: why,
    count,
    sampled: 0,
    isSampled: false,
    stride: 1,
    min: NaN,
    max: NaN,
    mean: NaN,
    std: NaN,
    zeros: 0,
    sparsity: 0,
    nan: 0,
    infinite: 0,
    histogram: { min: 0, max: 0, width: 0, counts: [] },
  };
}

/** A tensor handed out by nodeDetails, by its id (for src/workers/tensor-values.ts). */
export function inspectedTensor(loaded: LoadedModel | undefined, id: string): { tensor: Tensor } | { sparse: SparseTensor } | undefined {
  return loaded ? indexOf(loaded).tensors.get(id) : undefined;
}

/** Statistics of a tensor handed out by nodeDetails (computed once per tensor). */
export function tensorStatsOf(loaded: LoadedModel | undefined, id: string): TensorStatsView {
  if (!loaded) noModel();
  const ix = indexOf(loaded);
  const cached = ix.stats.get(id);
  if (cached) return cached;
  const def = ix.tensors.get(id);
  if (!def) throw new AppError('invalid-argument', `No tensor "${id}" was shown.`);
  let result: TensorStatsView;
  const dataType = 'tensor' in def ? def.tensor.dataType : def.sparse.values?.dataType;
  const count = safeElementCount('tensor' in def ? def.tensor.dims : def.sparse.dims);
  if (dataType === undefined || NO_STATS.has(dataType) || dtypeBits(dataType) === 0) {
    result = unavailable(id, count, `no statistics for ${dtypeName(dataType)} values`);
  } else {
    const values: TensorValues | Float64Array = 'tensor' in def ? tensorValues(def.tensor, loaded.external) : densify(def.sparse, loaded);
    result = { id, ...tensorStats(values) };
  }
  ix.stats.set(id, result);
  return result;
}
