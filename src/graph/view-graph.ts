/**
 * The neutral model as the graph view sees it: op nodes, graph inputs and outputs as nodes, and
 * edges carrying tensor names. Weight-only nodes are folded into the node that uses them:
 * Constant nodes, initializers, and every node whose inputs are all constant (a Transpose or
 * DequantizeLinear of a weight, a shape computed from constants) — the consumer lists them as
 * its weights, with the stored tensor's dtype and shape and the folded ops on the way.
 *
 * Covers the main graph and, nested below their If/Loop/Scan nodes, every subgraph (at any
 * depth). A subgraph node that reads a value of an enclosing graph gets an edge from that value's
 * producer, so the control-flow node sits after everything its bodies use. Training graphs and
 * function bodies are not part of the drawn graph.
 *
 * Iterative throughout (a worker's stack is small); linear in the size of the model.
 * Call assignNodeNames (src/onnx/load.ts does) first: node names are the keys.
 */
import { constantValue, findLayers, safeElementCount, type Layer } from '../onnx/layers';
import { graphPath, modelGraphs, type GraphRecord } from '../onnx/names';
import { topoOrder } from '../onnx/topo';
import { dtypeName, tensorValues } from '../onnx/tensor';
import { DataType, type Graph, type Model, type Node, type Tensor } from '../onnx/types';
import { inferNode, valueInfoType, type TensorType } from './shapes';
import type { WeightChip } from './scene-types';

export interface VNode {
  /** scene id: 'n:<key>' for ops, 'i:<graph>:<name>' / 'o:<graph>:<name>' for I/O */
  id: string;
  kind: 'op' | 'input' | 'output';
  /** ops: the unique node name */
  key?: string;
  op: string;
  domain: string;
  /** ops: the node name; I/O: the tensor name */
  name: string;
  /** index into ViewGraph.graphs */
  graph: number;
  /** a topological rank over the whole view graph (inputs first, subgraphs after their parents) */
  rank: number;
  weights: WeightChip[];
  params: number;
  isLayer: boolean;
  /** ops with graph attributes: one entry per subgraph */
  subgraphs: { attr: string; graph: number }[];
  /** I/O: declared type */
  type?: TensorType;
}

export interface VEdge {
  from: number;
  to: number;
  tensor: string;
  /** a structural edge from a control-flow node to the first nodes of its body */
  control?: boolean;
}

export interface VGraph {
  /** graphPath of the record ('main', '<node>/<attr>') */
  path: string;
  /** the control-flow node that owns it (-1 for the main graph) */
  owner: number;
  attr: string;
  /** VNode indexes, in rank order */
  nodes: number[];
}

export interface ViewGraph {
  nodes: VNode[];
  edges: VEdge[];
  graphs: VGraph[];
  /** out-edge and in-edge lists per node (edge indexes) */
  outEdges: number[][];
  inEdges: number[][];
  /** nodes folded into consumers */
  folded: number;
  /** tensor type by graph index and name (declared or propagated) */
  typeOf(graph: number, tensor: string): TensorType | undefined;
}

/** Constant information for a tensor name: the stored tensor behind it. */
interface ConstInfo {
  stored: string;
  dtype: string;
  dataType: number;
  shape: number[];
  elements: number;
  via: string[];
  tensor?: Tensor;
}

type Def = { kind: 'const'; info: ConstInfo } | { kind: 'node'; node: number } | { kind: 'input'; node: number };

interface Scope {
  defs: Map<string, Def>;
  types: Map<string, TensorType>;
  outer?: Scope;
  graph: number;
}

const isDefaultDomain = (d: string | undefined) => !d || d === 'ai.onnx';
/** Ops never folded even when their inputs are constant (they are not functions of their inputs). */
const NO_FOLD = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout']);
/** Integer constants up to this many elements are read for shape propagation (Reshape targets, axes). */
const SMALL_INTS = 64;

function lookup(scope: Scope | undefined, name: string): Def | undefined {
  for (let s = scope; s; s = s.outer) {
    const d = s.defs.get(name);
    if (d) return d;
  }
  return undefined;
}
function lookupType(scope: Scope | undefined, name: string): TensorType | undefined {
  for (let s = scope; s; s = s.outer) {
    const t = s.types.get(name);
    if (t) return t;
  }
  return undefined;
}

function tensorInfo(name: string, t: Tensor): ConstInfo {
  return {
    stored: name,
    dtype: dtypeName(t.dataType),
    dataType: t.dataType ?? 0,
    shape: t.dims.slice(),
    elements: safeElementCount(t.dims),
    via: [],
    tensor: t,
  };
}

function constantInfo(node: Node): ConstInfo | undefined {
  const name = node.outputs[0] ?? '';
  const c = constantValue(node);
  if (!c) return { stored: name, dtype: 'string', dataType: DataType.STRING, shape: [], elements: 1, via: [] };
  if (c.sparse) {
    const dt = c.sparse.values?.dataType;
    return { stored: name, dtype: dtypeName(dt), dataType: dt ?? 0, shape: c.sparse.dims.slice(), elements: safeElementCount(c.sparse.dims), via: [] };
  }
  return tensorInfo(name, c.tensor!);
}

function hasGraphAttr(node: Node): boolean {
  for (const a of node.attributes) if (a.g || a.graphs.length > 0) return true;
  return false;
}

/** The records of the main graph and its subgraphs (not training graphs or function bodies). */
function drawnRecords(model: Model): GraphRecord[] {
  const all = modelGraphs(model);
  const keep = new Set<GraphRecord>();
  for (const rec of all) {
    if (rec.kind === 'main') keep.add(rec);
    else if (rec.kind === 'subgraph' && rec.parent && keep.has(rec.parent)) keep.add(rec);
  }
  return all.filter((r) => keep.has(r));
}

/** What buildViewGraph's steps share while they add graphs, nodes and edges. */
interface ViewBuild {
  nodes: VNode[];
  edges: VEdge[];
  graphs: VGraph[];
  scopes: Map<GraphRecord, Scope>;
  /** the VNode of each model Node that became a node */
  vnodeOf: Map<Node, number>;
  /** in-edges per node while building (for de-duplication) */
  inEdges: number[][];
  folded: number;
  layerOf: Map<Node, Layer>;
  opset: number;
}

/** What the steps over one graph's nodes share: the graph, its scope and the shape helpers. */
interface GraphBuild {
  gi: number;
  path: string;
  vg: VGraph;
  scope: Scope;
  typeOf: (name: string) => TensorType | undefined;
  constInts: (name: string) => number[] | undefined;
}

/**
 * Builds the view graph of a model, graph by graph (the main graph, then each subgraph after its
 * owner): types, inputs, constants, nodes (folding constant ones), outputs; then the control
 * edges into the bodies.
 */
export function buildViewGraph(model: Model, layers: Layer[] = findLayers(model)): ViewGraph {
  const layerOf = new Map<Node, Layer>();
  for (const l of layers) layerOf.set(l.node, l);
  const opset = model.opsetImport.find((o) => isDefaultDomain(o.domain))?.version ?? 13;
  const b: ViewBuild = { nodes: [], edges: [], graphs: [], scopes: new Map(), vnodeOf: new Map(), inEdges: [], folded: 0, layerOf, opset };

  for (const rec of drawnRecords(model)) addGraph(b, rec);

  // Ranks: the main graph first, each subgraph right after its owner's rank (ordering only).
  // Creation order already puts parents before subgraphs; nodes get rank = creation index.
  addControlEdges(b);
  const { nodes, edges, graphs, inEdges, folded } = b;
  const outEdges: number[][] = nodes.map(() => []);
  for (let i = 0; i < nodes.length; i++) inEdges[i] ??= [];
  edges.forEach((e, i) => outEdges[e.from].push(i));

  const scopeByGraph: Scope[] = [];
  for (const s of b.scopes.values()) scopeByGraph[s.graph] = s;
  return {
    nodes,
    edges,
    graphs,
    outEdges,
    inEdges,
    folded,
    typeOf: (graph, tensor) => lookupType(scopeByGraph[graph], tensor),
  };
}

function addEdge(b: ViewBuild, from: number, to: number, tensor: string, control = false): void {
  if (from === to) return;
  const { edges } = b;
  const list = (b.inEdges[to] ??= []);
  for (const e of list) if (edges[e].from === from && edges[e].tensor === tensor) return;
  list.push(edges.length);
  edges.push(control ? { from, to, tensor, control } : { from, to, tensor });
}

/** Adds one graph: its scope and declared types, inputs, constants, nodes and outputs. */
function addGraph(b: ViewBuild, rec: GraphRecord): void {
  const { nodes, graphs } = b;
  const g = rec.graph!;
  const gi = graphs.length;
  const path = graphPath(rec);
  const ownerNode = rec.parent && rec.parentNode !== undefined ? rec.parent.nodes[rec.parentNode] : undefined;
  const owner = ownerNode ? (b.vnodeOf.get(ownerNode) ?? -1) : -1;
  const vg: VGraph = { path, owner, attr: rec.label, nodes: [] };
  graphs.push(vg);
  if (owner >= 0) nodes[owner].subgraphs.push({ attr: rec.label, graph: gi });

  const outer = rec.parent ? b.scopes.get(rec.parent) : undefined;
  const scope: Scope = { defs: new Map(), types: new Map(), outer, graph: gi };
  b.scopes.set(rec, scope);

  for (const v of g.valueInfo) {
    const t = v.name ? valueInfoType(v) : undefined;
    if (t) scope.types.set(v.name!, t);
  }
  for (const v of g.outputs) {
    const t = v.name ? valueInfoType(v) : undefined;
    if (t) scope.types.set(v.name!, t);
  }
  const gb: GraphBuild = { gi, path, vg, scope, typeOf: (name) => lookupType(scope, name), constInts: (name) => constInts(scope, name) };
  addGraphInputs(b, gb, g);
  declareInitializers(scope, g);
  for (const i of topoOrder(rec.nodes)) {
    const node = rec.nodes[i];
    if (isFoldable(scope, node)) foldNode(b, gb, node);
    else addOpNode(b, gb, node, i);
  }
  addGraphOutputs(b, gb, g);
}

/** Graph inputs (those that are not initializers: IR < 4 lists weights as inputs too). */
function addGraphInputs(b: ViewBuild, gb: GraphBuild, g: Graph): void {
  const { nodes } = b;
  const { gi, path, vg, scope } = gb;
  const initNames = new Set<string>();
  for (const t of g.initializers) if (t.name) initNames.add(t.name);
  for (const s of g.sparseInitializers) if (s.values?.name) initNames.add(s.values.name);
  for (const v of g.inputs) {
    const name = v.name ?? '';
    if (!name || initNames.has(name)) continue;
    const type = valueInfoType(v);
    if (type) scope.types.set(name, type);
    const idx = nodes.length;
    nodes.push({
      id: `i:${path}:${name}`,
      kind: 'input',
      op: 'Input',
      domain: '',
      name,
      graph: gi,
      rank: idx,
      weights: [],
      params: 0,
      isLayer: false,
      subgraphs: [],
      type,
    });
    vg.nodes.push(idx);
    scope.defs.set(name, { kind: 'input', node: idx });
  }
}

/** Initializers (dense and sparse) become constants of the scope, with their types. */
function declareInitializers(scope: Scope, g: Graph): void {
  for (const t of g.initializers) {
    if (!t.name) continue;
    scope.defs.set(t.name, { kind: 'const', info: tensorInfo(t.name, t) });
    if (!scope.types.has(t.name)) scope.types.set(t.name, { dtype: dtypeName(t.dataType), shape: t.dims.slice() });
  }
  for (const s of g.sparseInitializers) {
    const name = s.values?.name;
    if (!name) continue;
    const dt = s.values?.dataType;
    scope.defs.set(name, {
      kind: 'const',
      info: { stored: name, dtype: dtypeName(dt), dataType: dt ?? 0, shape: s.dims.slice(), elements: safeElementCount(s.dims), via: [] },
    });
    if (!scope.types.has(name)) scope.types.set(name, { dtype: dtypeName(dt), shape: s.dims.slice() });
  }
}

/** A small constant integer tensor's values (for shape inference), or undefined. */
function constInts(scope: Scope, name: string): number[] | undefined {
  const d = lookup(scope, name);
  if (d?.kind !== 'const' || d.info.via.length > 0 || !d.info.tensor) return undefined;
  const t = d.info.tensor;
  if (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32) return undefined;
  if (d.info.elements > SMALL_INTS) return undefined;
  try {
    return Array.from(tensorValues(t) as ArrayLike<number | bigint>, Number);
  } catch {
    return undefined;
  }
}

/** Fold: Constant, and any deterministic default-domain op whose inputs are all constant. */
function isFoldable(scope: Scope, node: Node): boolean {
  const op = node.opType ?? '';
  const defaultDomain = isDefaultDomain(node.domain);
  if (defaultDomain && op === 'Constant') return true;
  if (!defaultDomain || NO_FOLD.has(op) || hasGraphAttr(node)) return false;
  let any = false;
  for (const inp of node.inputs) {
    if (!inp) continue;
    any = true;
    if (lookup(scope, inp)?.kind !== 'const') return false;
  }
  return any;
}

/** A folded node: its outputs become constants (the largest constant input, with the op noted on the way). */
function foldNode(b: ViewBuild, gb: GraphBuild, node: Node): void {
  const { scope } = gb;
  const op = node.opType ?? '';
  b.folded++;
  let info: ConstInfo | undefined;
  if (op === 'Constant') info = constantInfo(node);
  else {
    let best: ConstInfo | undefined;
    for (const inp of node.inputs) {
      const d = inp ? lookup(scope, inp) : undefined;
      if (d?.kind === 'const' && (!best || d.info.elements > best.elements)) best = d.info;
    }
    if (best) info = { ...best, via: [...best.via, op], tensor: best.tensor };
  }
  const outTypes = inferNode(node, gb.typeOf, gb.constInts, b.opset);
  node.outputs.forEach((o, k) => {
    if (!o || !info) return;
    scope.defs.set(o, { kind: 'const', info });
    const t = outTypes[k] ?? (op === 'Constant' ? { dtype: info.dtype, shape: info.shape } : undefined);
    if (t && !scope.types.has(o)) scope.types.set(o, t);
  });
}

/** An op node: its constant inputs become weight chips, the others edges; its outputs are defined here. */
function addOpNode(b: ViewBuild, gb: GraphBuild, node: Node, i: number): void {
  const { nodes } = b;
  const { gi, path, vg, scope } = gb;
  const idx = nodes.length;
  const key = node.name ?? `${path}#${i}`;
  const layer = b.layerOf.get(node);
  const vnode: VNode = {
    id: `n:${key}`,
    kind: 'op',
    key,
    op: node.opType ?? '',
    domain: node.domain ?? '',
    name: key,
    graph: gi,
    rank: idx,
    weights: [],
    params: 0,
    isLayer: layer !== undefined,
    subgraphs: [],
  };
  nodes.push(vnode);
  b.vnodeOf.set(node, idx);
  vg.nodes.push(idx);

  const countedStored = new Set<string>();
  node.inputs.forEach((inp, k) => {
    if (!inp) return;
    const d = lookup(scope, inp);
    if (!d) return;
    if (d.kind === 'const') {
      const lw = layer?.weights.find((w) => w.inputIndex === k);
      vnode.weights.push({
        name: d.info.stored,
        input: inp,
        inputIndex: k,
        role: lw ? lw.role : 'const',
        dtype: d.info.dtype,
        shape: d.info.shape,
        elements: d.info.elements,
        via: d.info.via,
      });
      if (!countedStored.has(d.info.stored)) {
        countedStored.add(d.info.stored);
        vnode.params = Math.min(Number.MAX_SAFE_INTEGER, vnode.params + d.info.elements);
      }
    } else {
      addEdge(b, d.node, idx, inp);
    }
  });
  const outTypes = inferNode(node, gb.typeOf, gb.constInts, b.opset);
  node.outputs.forEach((o, k) => {
    if (!o) return;
    scope.defs.set(o, { kind: 'node', node: idx });
    const t = outTypes[k];
    if (t && !scope.types.has(o)) scope.types.set(o, t);
  });
}

/** Graph outputs: a node each, fed by an edge (or showing the constant it outputs as a chip). */
function addGraphOutputs(b: ViewBuild, gb: GraphBuild, g: Graph): void {
  const { nodes } = b;
  const { gi, path, vg, scope } = gb;
  for (const v of g.outputs) {
    const name = v.name ?? '';
    if (!name) continue;
    const idx = nodes.length;
    const vnode: VNode = {
      id: `o:${path}:${name}`,
      kind: 'output',
      op: 'Output',
      domain: '',
      name,
      graph: gi,
      rank: idx,
      weights: [],
      params: 0,
      isLayer: false,
      subgraphs: [],
      type: gb.typeOf(name),
    };
    nodes.push(vnode);
    vg.nodes.push(idx);
    const d = lookup(scope, name);
    if (d?.kind === 'const') {
      vnode.weights.push({ name: d.info.stored, input: name, inputIndex: 0, role: 'const', dtype: d.info.dtype, shape: d.info.shape, elements: d.info.elements, via: d.info.via });
    } else if (d) addEdge(b, d.node, idx, name);
  }
}

/** Control edges: a control-flow node to the nodes of its bodies that have no other input there. */
function addControlEdges(b: ViewBuild): void {
  const { nodes, edges, graphs, inEdges } = b;
  for (let gi = 1; gi < graphs.length; gi++) {
    const vg = graphs[gi];
    if (vg.owner < 0) continue;
    for (const v of vg.nodes) {
      if (nodes[v].kind === 'output') continue;
      const local = (inEdges[v] ?? []).some((e) => nodes[edges[e].from].graph === gi);
      if (!local) addEdge(b, vg.owner, v, '', true);
    }
  }
}
