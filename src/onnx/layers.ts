/**
 * Layers: the nodes that consume weight tensors (see RECIPE.md), each with its weights found
 * wherever the model keeps them: graph initializers (also of enclosing graphs, for subgraphs),
 * sparse initializers, Constant nodes (value, sparse_value, value_float(s), value_int(s)),
 * external data, and behind shape-only ops (Unsqueeze, Reshape, Transpose, Identity, Cast,
 * Squeeze, Flatten) and dequantization (DequantizeLinear, Mul by a constant scale) between the
 * stored tensor and the layer.
 *
 * Producers are indexed once per graph, so the whole pass is linear in the model's size.
 * Call assignNodeNames first so that every layer has a unique key.
 */
import { graphPath, modelGraphs, type GraphRecord } from './names';
import { dtypeName, isExternal, isFloatType, makeTensor } from './tensor';
import { DataType, type Graph, type Model, type Node, type SparseTensor, type Tensor } from './types';

export type WeightRole = 'weight' | 'bias' | 'other';
export type WeightSource = 'initializer' | 'constant' | 'sparse' | 'external';

/** Where a weight tensor is stored, so a compressor can replace it in place. */
export type WeightOwner =
  | { kind: 'initializer'; graph: Graph; index: number }
  | { kind: 'sparse-initializer'; graph: Graph; index: number }
  /** a Constant node; `attribute` is value | sparse_value | value_float | value_floats | value_int | value_ints */
  | { kind: 'constant'; node: Node; attribute: string };

/** A stored tensor: where it is kept, its type and shape. */
export interface StoredTensorRef {
  /** the stored tensor's name (initializer name, or the Constant node's output) */
  name: string;
  /** dtype name of the stored tensor ('float32', 'int8', ...) */
  dtype: string;
  dataType: number;
  /** shape of the stored tensor (the layer may see it reshaped: see `via`) */
  shape: number[];
  /** element count of the stored tensor (dense count for sparse tensors); 0 when dims are invalid */
  elements: number;
  source: WeightSource;
  /** the dense tensor (for value_float(s)/value_int(s) a tensor made from the attribute) */
  tensor?: Tensor;
  /** the sparse tensor, for sparse initializers and Constant sparse_value */
  sparse?: SparseTensor;
  owner: WeightOwner;
  /** graphPath of the graph that stores it (an enclosing graph for outer-scope references) */
  storedIn: string;
}

export interface LayerWeight extends StoredTensorRef {
  /** the input of the layer that leads to it, and its position */
  input: string;
  inputIndex: number;
  role: WeightRole;
  /** op types passed through, from the stored tensor towards the layer */
  via: string[];
  /**
   * the nodes between the stored tensor(s) and the layer, each after the nodes it reads (a
   * straight chain for shape ops; a tree where a Concat joins several stored tensors)
   */
  viaNodes: Node[];
  /** the other stored tensors joined by a Concat on the way (PyTorch's gate re-ordering), when any */
  parts?: StoredTensorRef[];
}

export interface Layer {
  /** the node's name (unique after assignNodeNames): the recipe's layer key */
  key: string;
  op: string;
  domain: string;
  /** where the node lives: 'main', '<parentNode>/<attr>', 'training_info.0/algorithm', '<domain>.<function>' */
  graphPath: string;
  /** its graph is a subgraph of a subgraph (an If inside an If branch, a Loop body's If …) */
  nested?: boolean;
  /**
   * a recurrent layer (LSTM, GRU, RNN) seen through its recurrent weights R (input 2), whose inputs
   * are the layer's own states (its output Y): recovery's view of R, keyed `<key>#R`
   */
  recurrentState?: boolean;
  /** the nodes whose subgraphs hold it, innermost first, up to the main graph: name, op and attribute (then_branch, body …) */
  ancestors?: { node: string; op: string; attr: string }[];
  node: Node;
  nodeIndex: number;
  /** elements in all of its weights (weights, biases and other constants) */
  params: number;
  weights: LayerWeight[];
  /** set when its weights are stored quantized already: what it is ('MatMulNBits 4-bit', 'DequantizeLinear int8 → float32' …) */
  quantized?: string;
}

type Spec = { roles: Record<number, WeightRole>; rest?: WeightRole; gather?: boolean };

const w = 'weight' as const;
const b = 'bias' as const;
const o = 'other' as const;

/** The nodes holding a subgraph's record, innermost first (see Layer.ancestors). */
function ancestorsOf(rec: GraphRecord): { node: string; op: string; attr: string }[] {
  const out: { node: string; op: string; attr: string }[] = [];
  for (let r: GraphRecord | undefined = rec; r?.parent && r.parentNode !== undefined; r = r.parent) {
    const n = r.parent.nodes[r.parentNode];
    out.push({ node: n?.name ?? '', op: n?.opType ?? '', attr: r.label });
  }
  return out;
}

/** Default-domain layer ops: which inputs hold weights, biases and other constants. */
const ONNX_LAYERS: Record<string, Spec> = {
  Conv: { roles: { 1: w, 2: b } },
  ConvTranspose: { roles: { 1: w, 2: b } },
  DeformConv: { roles: { 1: w, 3: b } },
  MatMul: { roles: { 0: w, 1: w } },
  Gemm: { roles: { 0: w, 1: w, 2: b } },
  Gather: { roles: { 0: w }, gather: true },
  LSTM: { roles: { 1: w, 2: w, 3: b, 7: o } },
  GRU: { roles: { 1: w, 2: w, 3: b } },
  RNN: { roles: { 1: w, 2: w, 3: b } },
  Einsum: { roles: {}, rest: w },
  MatMulInteger: { roles: { 0: w, 1: w, 2: o, 3: o } },
  ConvInteger: { roles: { 1: w, 2: o, 3: o } },
  QLinearConv: { roles: { 1: o, 2: o, 3: w, 4: o, 5: o, 6: o, 7: o, 8: b } },
  QLinearMatMul: { roles: { 0: w, 1: o, 2: o, 3: w, 4: o, 5: o, 6: o, 7: o } },
};

/** com.microsoft contrib ops that carry weights. */
const MS_LAYERS: Record<string, Spec> = {
  MatMulNBits: { roles: { 1: w, 2: o, 3: o, 4: o, 5: b } },
  MatMulBnb4: { roles: { 1: w, 2: o } },
  DynamicQuantizeMatMul: { roles: { 1: w, 2: o, 3: o, 4: b } },
  MatMulIntegerToFloat: { roles: { 0: w, 1: w, 2: o, 3: o, 4: o, 5: o, 6: b } },
  QGemm: { roles: { 1: o, 2: o, 3: w, 4: o, 5: o, 6: b, 7: o, 8: o } },
  QLinearConv: { roles: { 1: o, 2: o, 3: w, 4: o, 5: o, 6: o, 7: o, 8: b } },
  QLinearMatMul: { roles: { 0: w, 1: o, 2: o, 3: w, 4: o, 5: o, 6: o, 7: o } },
  FusedConv: { roles: { 1: w, 2: b } },
  FusedGemm: { roles: { 0: w, 1: w, 2: b } },
  FusedMatMul: { roles: { 0: w, 1: w } },
  Attention: { roles: { 1: w, 2: b } },
  QAttention: { roles: { 1: w, 2: b, 3: o, 4: o, 6: o, 7: o } },
  GatherBlockQuantized: { roles: { 0: w, 2: o, 3: o }, gather: true },
  ConvTransposeWithDynamicPads: { roles: { 1: w, 2: b } },
};

/** Ops that only move or retype the data of their first input. */
const PASS_THROUGH = new Set(['Unsqueeze', 'Reshape', 'Transpose', 'Identity', 'Cast', 'Squeeze', 'Flatten', 'DequantizeLinear']);

/**
 * Ops that select or re-order the data of their first input, followed when all their other
 * inputs are stored constants. (Concat, whose every input is data, is followed when every part
 * leads to stored tensors. Expand and Tile are not followed: the layer's view of the weight is
 * larger than what is stored, so it is compressed where it is stored instead.)
 */
const DATA_MOVEMENT = new Set(['Slice', 'Split', 'Gather']);

/** Hops followed from a layer input back to a stored tensor. */
const MAX_HOPS = 32;

const isDefaultDomain = (d: string | undefined) => !d || d === 'ai.onnx';

type Def =
  | { kind: 'init'; tensor: Tensor; index: number }
  | { kind: 'sparse'; sparse: SparseTensor; index: number }
  | { kind: 'node'; node: Node }
  | { kind: 'input' };

interface Scope {
  rec: GraphRecord;
  defs: Map<string, Def>;
  outer?: Scope;
}

function buildScope(rec: GraphRecord, outer: Scope | undefined): Scope {
  const defs = new Map<string, Def>();
  if (rec.graph) {
    for (const v of rec.graph.inputs) if (v.name) defs.set(v.name, { kind: 'input' });
  } else if (rec.fn) {
    for (const n of rec.fn.inputs) if (n) defs.set(n, { kind: 'input' });
  }
  for (const node of rec.nodes) {
    for (const out of node.outputs) if (out) defs.set(out, { kind: 'node', node });
  }
  // Initializers win over graph inputs of the same name (IR < 4 lists weights as inputs too).
  if (rec.graph) {
    rec.graph.sparseInitializers.forEach((sparse, index) => {
      const name = sparse.values?.name;
      if (name) defs.set(name, { kind: 'sparse', sparse, index });
    });
    rec.graph.initializers.forEach((tensor, index) => {
      if (tensor.name) defs.set(tensor.name, { kind: 'init', tensor, index });
    });
  }
  return { rec, defs, outer };
}

function resolve(scope: Scope | undefined, name: string): { def: Def; scope: Scope } | undefined {
  for (let s = scope; s; s = s.outer) {
    const def = s.defs.get(name);
    if (def) return { def, scope: s };
  }
  return undefined;
}

/** Product of dims, 0 when a dim is negative or not an integer, capped at MAX_SAFE_INTEGER. */
export function safeElementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return 0;
    n *= d;
  }
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/** The stored tensor behind a Constant node, or undefined for string/absent values. */
export function constantValue(
  node: Node,
): { tensor?: Tensor; sparse?: SparseTensor; attribute: string } | undefined {
  const name = node.outputs[0] ?? '';
  for (const a of node.attributes) {
    switch (a.name) {
      case 'value':
        if (a.t) return { tensor: a.t, attribute: 'value' };
        break;
      case 'sparse_value':
        if (a.sparseTensor) return { sparse: a.sparseTensor, attribute: 'sparse_value' };
        break;
      case 'value_float':
        return { tensor: makeTensor(name, DataType.FLOAT, [], [a.f ?? 0]), attribute: 'value_float' };
      case 'value_floats':
        return { tensor: makeTensor(name, DataType.FLOAT, [a.floats.length], a.floats), attribute: 'value_floats' };
      case 'value_int':
        return { tensor: makeTensor(name, DataType.INT64, [], [a.i ?? 0]), attribute: 'value_int' };
      case 'value_ints':
        return { tensor: makeTensor(name, DataType.INT64, [a.ints.length], a.ints), attribute: 'value_ints' };
      default:
        break;
    }
  }
  return undefined;
}

/** A stored tensor reached from a layer input (the layer-specific fields are filled in later). */
interface Found {
  name: string;
  dtype: string;
  dataType: number;
  shape: number[];
  elements: number;
  source: WeightSource;
  tensor?: Tensor;
  sparse?: SparseTensor;
  owner: WeightOwner;
  scope: Scope;
  /** pass-through nodes from the stored tensor towards the layer */
  viaNodes: Node[];
  /** the other stored tensors a Concat on the way joins to this one */
  parts: Found[];
}

function found(
  name: string,
  dataType: number | undefined,
  dims: number[],
  source: WeightSource,
  owner: WeightOwner,
  scope: Scope,
  tensor: Tensor | undefined,
  sparse: SparseTensor | undefined,
): Found {
  return {
    name,
    dtype: dtypeName(dataType),
    dataType: dataType ?? 0,
    shape: dims.slice(),
    elements: safeElementCount(dims),
    source,
    tensor,
    sparse,
    owner,
    scope,
    viaNodes: [],
    parts: [],
  };
}

function storedWeight(def: Def, scope: Scope, name: string): Found | undefined {
  const graph = scope.rec.graph;
  if (def.kind === 'init' && graph) {
    const t = def.tensor;
    const owner: WeightOwner = { kind: 'initializer', graph, index: def.index };
    return found(name, t.dataType, t.dims, isExternal(t) ? 'external' : 'initializer', owner, scope, t, undefined);
  }
  if (def.kind === 'sparse' && graph) {
    const s = def.sparse;
    const owner: WeightOwner = { kind: 'sparse-initializer', graph, index: def.index };
    return found(name, s.values?.dataType, s.dims, 'sparse', owner, scope, undefined, s);
  }
  if (def.kind === 'node') {
    const c = constantValue(def.node);
    if (!c) return undefined;
    const owner: WeightOwner = { kind: 'constant', node: def.node, attribute: c.attribute };
    if (c.sparse) return found(name, c.sparse.values?.dataType, c.sparse.dims, 'sparse', owner, scope, undefined, c.sparse);
    const t = c.tensor as Tensor;
    if (t.dataType === DataType.STRING) return undefined;
    return found(name, t.dataType, t.dims, isExternal(t) ? 'external' : 'constant', owner, scope, t, undefined);
  }
  return undefined;
}

const isConstantOp = (n: Node) => n.opType === 'Constant' && isDefaultDomain(n.domain);

/** Whether `name` is a stored constant (initializer, sparse initializer or Constant node) seen from `scope`; '' (an omitted optional input) counts. */
function isStoredConstant(scope: Scope, name: string): boolean {
  if (!name) return true;
  const r = resolve(scope, name);
  if (!r) return false;
  return r.def.kind === 'init' || r.def.kind === 'sparse' || (r.def.kind === 'node' && isConstantOp(r.def.node));
}

/** A node's inputs after the first are all stored constants (Slice starts/ends/axes/steps, Gather indices, Split sizes). */
const constantArgs = (scope: Scope, node: Node) => node.inputs.slice(1).every((i) => isStoredConstant(scope, i));

/** Nodes visited per traced layer input (bounds the work on DAG-shaped chains such as Concat of Concats). */
const TRACE_BUDGET = 256;

/**
 * Follows `start` back to the stored tensor(s) it is computed from, through pass-through ops and
 * the data-movement ops whose other arguments are constants (Slice, Split, Gather with constant
 * indices, Concat of constant parts: PyTorch's gate re-ordering of LSTM/GRU weights). A Mul whose
 * operands both lead to stored tensors (a dequantization scale) is passed towards the larger one,
 * once. For a Concat the largest part becomes the weight and the others its `parts`; `viaNodes`
 * holds every node of the chain, each after the nodes it reads (stored tensor first, layer last).
 */
function trace(scope: Scope, start: string, allowMul = true, budget = { left: TRACE_BUDGET }, hops = 0): Found | undefined {
  if (!start || hops >= MAX_HOPS || --budget.left < 0) return undefined;
  const r = resolve(scope, start);
  if (!r) return undefined;
  const { def } = r;
  if (def.kind === 'input') return undefined;
  if (def.kind !== 'node' || isConstantOp(def.node)) return storedWeight(def, r.scope, start);
  const node = def.node;
  if (!isDefaultDomain(node.domain)) return undefined;
  const op = node.opType ?? '';
  const follow = (): Found | undefined => {
    const f = trace(r.scope, node.inputs[0] ?? '', allowMul, budget, hops + 1);
    if (f) f.viaNodes.push(node);
    return f;
  };
  if (PASS_THROUGH.has(op)) return follow();
  if (DATA_MOVEMENT.has(op)) return constantArgs(r.scope, node) ? follow() : undefined;
  if (op === 'Concat' && node.inputs.length > 0) {
    const parts: Found[] = [];
    for (const input of node.inputs) {
      const f = trace(r.scope, input, false, budget, hops + 1);
      if (!f) return undefined;
      parts.push(f);
    }
    let big = parts[0];
    for (const p of parts) if (p.elements > big.elements) big = p;
    const nodes = new Set<Node>();
    const extra = new Map<string, Found>();
    for (const p of parts) {
      for (const n of p.viaNodes) nodes.add(n);
      for (const q of [p, ...p.parts]) {
        const k = `${graphPath(q.scope.rec)}\u0000${q.name}`;
        if (q.name !== big.name || q.scope !== big.scope) extra.set(k, q);
      }
    }
    nodes.add(node);
    big.viaNodes = [...nodes];
    big.parts = [...extra.values()];
    return big;
  }
  if (op === 'Mul' && allowMul && node.inputs.length === 2) {
    const a = trace(r.scope, node.inputs[0], false, budget, hops + 1);
    const c = a && trace(r.scope, node.inputs[1], false, budget, hops + 1);
    if (!a || !c) return undefined;
    const big = a.elements >= c.elements ? a : c;
    big.viaNodes.push(node);
    return big;
  }
  return undefined;
}

function specFor(node: Node): Spec | undefined {
  const op = node.opType ?? '';
  if (isDefaultDomain(node.domain)) return Object.hasOwn(ONNX_LAYERS, op) ? ONNX_LAYERS[op] : undefined;
  if (node.domain === 'com.microsoft') return Object.hasOwn(MS_LAYERS, op) ? MS_LAYERS[op] : undefined;
  return undefined;
}

function layerOf(node: Node, nodeIndex: number, scope: Scope, path: string): Layer | undefined {
  const spec = specFor(node);
  // Ops of other domains (custom ops) are layers when a constant float tensor of rank >= 2 feeds them.
  const custom = !spec && !isDefaultDomain(node.domain) && node.domain !== 'com.microsoft';
  if (!spec && !custom) return undefined;
  const weights: LayerWeight[] = [];
  let hasWeight = false;
  const inputs = node.inputs;
  for (let inputIndex = 0; inputIndex < inputs.length; inputIndex++) {
    const input = inputs[inputIndex];
    if (!input) continue;
    let role: WeightRole | undefined = spec ? (spec.roles[inputIndex] ?? spec.rest) : 'other';
    if (!role) continue;
    const f = trace(scope, input);
    if (!f) continue;
    if (spec?.gather && role === 'weight') {
      // An embedding table: rank 2+ float data, or quantized data dequantized on the way.
      const floatLike = isFloatType(f.dataType) || f.viaNodes.length > 0 || node.domain === 'com.microsoft';
      if (f.shape.length < 2 || !floatLike) continue;
    }
    if (custom && isFloatType(f.dataType) && f.shape.length >= 2) role = 'weight';
    if (role === 'weight') hasWeight = true;
    weights.push({
      ...storedRef(f),
      input,
      inputIndex,
      role,
      via: f.viaNodes.map((n) => n.opType ?? ''),
      viaNodes: f.viaNodes,
      ...(f.parts.length > 0 ? { parts: f.parts.map(storedRef) } : {}),
    });
  }
  if (!hasWeight) return undefined;
  let params = 0;
  for (const x of weights) {
    params += x.elements;
    for (const p of x.parts ?? []) params += p.elements;
  }
  const quantized = quantizedAs(node, weights);
  return {
    key: node.name || `${path}#${nodeIndex}`,
    op: node.opType ?? '',
    domain: node.domain ?? '',
    graphPath: path,
    node,
    nodeIndex,
    params: Math.min(params, Number.MAX_SAFE_INTEGER),
    weights,
    ...(quantized ? { quantized } : {}),
  };
}

function storedRef(f: Found): StoredTensorRef {
  return {
    name: f.name,
    dtype: f.dtype,
    dataType: f.dataType,
    shape: f.shape,
    elements: f.elements,
    source: f.source,
    tensor: f.tensor,
    sparse: f.sparse,
    owner: f.owner,
    storedIn: graphPath(f.scope.rec),
  };
}

const INTEGER_OPS: Record<string, string> = {
  ConvInteger: 'ConvInteger',
  MatMulInteger: 'MatMulInteger',
  QLinearConv: 'QLinearConv',
  QLinearMatMul: 'QLinearMatMul',
  QGemm: 'QGemm',
  DynamicQuantizeMatMul: 'DynamicQuantizeMatMul',
  MatMulIntegerToFloat: 'MatMulIntegerToFloat',
  QAttention: 'QAttention',
  MatMulBnb4: 'MatMulBnb4 4-bit',
  GatherBlockQuantized: 'GatherBlockQuantized',
};

/**
 * What an already-quantized layer is, or undefined when its weights are float: an integer op
 * (ConvInteger, QLinearConv, QLinearMatMul, MatMulNBits …) or a float op whose weight is
 * decoded from integer codes on the way (DequantizeLinear, or Cast + Mul by a scale).
 */
function quantizedAs(node: Node, weights: LayerWeight[]): string | undefined {
  const main = weights.filter((x) => x.role === 'weight');
  if (main.length === 0) return undefined;
  const op = node.opType ?? '';
  const dtypes = [...new Set(main.map((x) => x.dtype))].join('/');
  if (op === 'MatMulNBits' && node.domain === 'com.microsoft') {
    let bits = 4;
    for (const a of node.attributes) if (a.name === 'bits' && a.i !== undefined) bits = Number(a.i);
    return `MatMulNBits ${bits}-bit`;
  }
  if (Object.hasOwn(INTEGER_OPS, op)) return `${INTEGER_OPS[op]} ${dtypes}`;
  // a float op reading integer codes through DequantizeLinear or Cast → Mul
  const coded = main.filter((x) => !isFloatType(x.dataType) && x.viaNodes.length > 0);
  if (coded.length === 0 || coded.length !== main.length) return undefined;
  const how = coded.some((x) => x.via.includes('DequantizeLinear')) ? 'DequantizeLinear' : coded[0].via.join(' → ');
  return `${how} ${dtypes}`;
}

/** Every layer of the model, in traversal order (main graph, subgraphs, training graphs, functions). */
export function findLayers(model: Model): Layer[] {
  const records = modelGraphs(model);
  const scopes = new Map<GraphRecord, Scope>();
  const layers: Layer[] = [];
  for (const rec of records) {
    const outerRec = rec.parent ?? rec.outer;
    const scope = buildScope(rec, outerRec ? scopes.get(outerRec) : undefined);
    scopes.set(rec, scope);
    const path = graphPath(rec);
    const nodes = rec.nodes;
    for (let i = 0; i < nodes.length; i++) {
      if (!specFor(nodes[i]) && isDefaultDomain(nodes[i].domain)) continue;
      const layer = layerOf(nodes[i], i, scope, path);
      if (layer && rec.parent?.parent) layer.nested = true;
      if (layer && rec.parent) layer.ancestors = ancestorsOf(rec);
      if (layer) layers.push(layer);
    }
  }
  // A Gather with constant indices on the way to another layer (gate re-ordering) is part of
  // that layer's weight chain, not a layer of its own.
  const passed = new Set<Node>();
  for (const l of layers) for (const x of l.weights) for (const n of x.viaNodes) passed.add(n);
  return passed.size === 0 ? layers : layers.filter((l) => !passed.has(l.node));
}
