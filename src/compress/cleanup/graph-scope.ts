/**
 * Scope-aware graph helpers for the clean-up and channel-pruning passes: which names a graph
 * defines, renaming the reads of a value in a graph and the subgraphs that see it, looking up
 * constants (initializers and Constant nodes, of the graph and its enclosing graphs) with where
 * they are stored, and replacing a node's constant input with new data: in place when nothing
 * else reads the tensor, as a fresh initializer otherwise (the old one goes once unused).
 *
 * Passes mutate the model they are given (compressModel hands them its own clone).
 */
import { AppError } from '../../core/errors';
import { attr, emptyTensor, makeValueInfo } from '../../onnx/build';
import { constantValue, type LayerWeight } from '../../onnx/layers';
import { modelGraphs, type GraphRecord } from '../../onnx/names';
import type { Graph, Model, Node, Tensor, ValueInfo } from '../../onnx/types';
import { removeUnused, useCounts, type NameAllocator, type RemovalCandidates } from '../graph-edit';
import { nodeSubgraphs } from '../../onnx/topo';

export const isDefaultDomain = (d: string | undefined): boolean => !d || d === 'ai.onnx';

export function isOp(n: Node, op: string): boolean {
  return n.opType === op && isDefaultDomain(n.domain);
}

/** The graphs held by a node's attributes (If branches, Loop/Scan bodies). */
export { nodeSubgraphs };

/** Names a graph defines at its own level: inputs, initializers, sparse initializers, node outputs. */
export function definedNames(g: Graph): Set<string> {
  const s = new Set<string>();
  for (const v of g.inputs) if (v.name) s.add(v.name);
  for (const t of g.initializers) if (t.name) s.add(t.name);
  for (const sp of g.sparseInitializers) if (sp.values?.name) s.add(sp.values.name);
  for (const n of g.nodes) for (const o of n.outputs) if (o) s.add(o);
  return s;
}

/** True when some subgraph (at any depth) under `nodes` that reads `from` from outside defines `to` itself. */
function shadowed(nodes: Node[], from: string, to: string): boolean {
  for (const n of nodes) {
    for (const g of nodeSubgraphs(n)) {
      const defs = definedNames(g);
      if (defs.has(from)) continue;
      if (defs.has(to)) return true;
      if (shadowed(g.nodes, from, to)) return true;
    }
  }
  return false;
}

/**
 * Renames every read of `from` to `to` in `nodes` and in the subgraphs below them that see the
 * outer `from` (a subgraph defining its own `from` is left alone); subgraph outputs are renamed
 * too (they bind by position). The graph's own outputs are the caller's business. Returns false
 * and changes nothing when a subgraph defines its own `to`, so that the reads would bind to it.
 */
export function renameUses(nodes: Node[], from: string, to: string): boolean {
  if (shadowed(nodes, from, to)) return false;
  const walk = (list: Node[]) => {
    for (const n of list) {
      for (let i = 0; i < n.inputs.length; i++) if (n.inputs[i] === from) n.inputs[i] = to;
      for (const g of nodeSubgraphs(n)) {
        if (definedNames(g).has(from)) continue;
        for (const v of g.outputs) if (v.name === from) v.name = to;
        walk(g.nodes);
      }
    }
  };
  walk(nodes);
  return true;
}

/** Names read inside the subgraphs of `nodes` (at any depth), whatever graph defines them. */
export function subgraphReads(nodes: Node[]): Set<string> {
  const s = new Set<string>();
  const walk = (list: Node[], top: boolean) => {
    for (const n of list) {
      if (!top) for (const i of n.inputs) if (i) s.add(i);
      for (const g of nodeSubgraphs(n)) {
        for (const v of g.outputs) if (v.name) s.add(v.name);
        walk(g.nodes, false);
      }
    }
  };
  walk(nodes, true);
  return s;
}

/** Drops value_info entries of a graph that name `name`. */
export function dropValueInfo(g: Graph, name: string): void {
  if (g.valueInfo.some((v) => v.name === name)) g.valueInfo = g.valueInfo.filter((v) => v.name !== name);
}

export function countNodes(model: Model): number {
  let n = 0;
  for (const rec of modelGraphs(model)) n += rec.nodes.length;
  return n;
}

/** Where a constant is stored. */
export type ConstOwner = { kind: 'initializer'; graph: Graph } | { kind: 'constant'; node: Node };

export interface ConstRef {
  name: string;
  tensor: Tensor;
  owner: ConstOwner;
  /** the record that stores it (the record itself or an enclosing one) */
  rec: GraphRecord;
}

/** Constants visible from each graph record, found through the enclosing graphs. */
export class ConstTable {
  private readonly tables = new Map<GraphRecord, Map<string, ConstRef>>();
  private readonly defined = new Map<GraphRecord, Set<string>>();

  private defines(rec: GraphRecord): Set<string> {
    let s = this.defined.get(rec);
    if (!s) {
      s = rec.graph ? definedNames(rec.graph) : new Set([...(rec.fn?.inputs ?? []), ...rec.nodes.flatMap((n) => n.outputs)]);
      this.defined.set(rec, s);
    }
    return s;
  }

  private table(rec: GraphRecord): Map<string, ConstRef> {
    let m = this.tables.get(rec);
    if (!m) {
      m = new Map();
      for (const n of rec.nodes) {
        if (!isOp(n, 'Constant') || !n.outputs[0]) continue;
        const c = constantValue(n);
        if (c?.tensor) m.set(n.outputs[0], { name: n.outputs[0], tensor: c.tensor, owner: { kind: 'constant', node: n }, rec });
      }
      const g = rec.graph;
      if (g) for (const t of g.initializers) if (t.name) m.set(t.name, { name: t.name, tensor: t, owner: { kind: 'initializer', graph: g }, rec });
      this.tables.set(rec, m);
    }
    return m;
  }

  lookup(rec: GraphRecord, name: string): ConstRef | undefined {
    if (!name) return undefined;
    for (let r: GraphRecord | undefined = rec; r; r = r.parent ?? r.outer) {
      // a name the graph defines otherwise (an input, a node output) hides outer constants
      const hit = this.table(r).get(name);
      if (hit) return hit;
      if (this.defines(r).has(name)) return undefined;
    }
    return undefined;
  }

  /** Forget cached tables (after the graphs changed). */
  reset(): void {
    this.tables.clear();
    this.defined.clear();
  }
}

/** New data for a constant input: raw little-endian bytes of `dataType`, shaped `dims`. */
export interface ConstData {
  dataType: number;
  dims: number[];
  raw: Uint8Array;
}

function shapeInfo(name: string, d: ConstData, old?: ValueInfo): ValueInfo {
  const v = makeValueInfo(name, d.dataType, d.dims);
  if (old?.docString) v.docString = old.docString;
  return v;
}

/**
 * Replaces constant inputs of nodes with new data, keeping use counts current, and removes the
 * tensors (and Constant nodes, and shape-op chains of layer weights) left unread at the end.
 */
export class ConstEditor {
  private readonly model: Model;
  private readonly names: NameAllocator;
  readonly consts = new ConstTable();
  readonly uses: Map<string, number>;
  private readonly candidates: RemovalCandidates = { nodes: new Set(), initializers: new Map() };

  constructor(model: Model, names: NameAllocator) {
    this.model = model;
    this.names = names;
    this.uses = useCounts(model);
  }

  private addCandidate(ref: ConstRef): void {
    if (ref.owner.kind === 'constant') this.candidates.nodes.add(ref.owner.node);
    else {
      let set = this.candidates.initializers.get(ref.owner.graph);
      if (!set) this.candidates.initializers.set(ref.owner.graph, (set = new Set()));
      set.add(ref.name);
    }
  }

  /** Marks a tensor a node no longer reads (after the caller rewired it) for removal once unread. */
  released(rec: GraphRecord, name: string): void {
    this.uses.set(name, (this.uses.get(name) ?? 1) - 1);
    const ref = this.consts.lookup(rec, name);
    if (ref) this.addCandidate(ref);
  }

  /**
   * Points input `index` of `node` (a node of `rec`) at `data`. The tensor it read is rewritten in
   * place (same name) when it lives in the node's own graph, nothing else reads it and it is
   * plain data; otherwise a new initializer named after `base` is added to the node's graph and
   * the old tensor is removed at finish() if nothing reads it any more. `weight` is the layer
   * weight behind the input when it is reached through shape ops (its chain goes too).
   */
  replaceInput(rec: GraphRecord, node: Node, index: number, data: ConstData, base: string, weight?: LayerWeight): string {
    const g = rec.graph;
    if (!g) throw new AppError('unsupported', 'nodes of model-local functions are not edited');
    const old = node.inputs[index] ?? '';
    const ref = old ? this.consts.lookup(rec, old) : undefined;
    if (ref && ref.rec === rec && (this.uses.get(old) ?? 0) === 1) {
      const t = emptyTensor({ name: old, dataType: data.dataType, dims: [...data.dims], rawData: data.raw });
      if (ref.tensor.docString) t.docString = ref.tensor.docString;
      if (ref.owner.kind === 'initializer') {
        const at = g.initializers.findIndex((x) => x.name === old);
        g.initializers[at] = t;
        const inp = g.inputs.findIndex((v) => v.name === old);
        if (inp >= 0) g.inputs[inp] = shapeInfo(old, data, g.inputs[inp]);
      } else {
        ref.owner.node.attributes = [attr.tensor('value', t)];
      }
      this.consts.reset();
      return old;
    }
    const name = this.names.fresh(base);
    g.initializers.push(emptyTensor({ name, dataType: data.dataType, dims: [...data.dims], rawData: data.raw }));
    // IR < 4 files list every initializer of the main graph as an input too: keep to their convention
    if (g === this.model.graph && (this.model.irVersion ?? 0) < 4) g.inputs.push(shapeInfo(name, data));
    if (index < node.inputs.length) node.inputs[index] = name;
    else {
      while (node.inputs.length < index) node.inputs.push('');
      node.inputs.push(name);
    }
    this.uses.set(name, 1);
    if (old) {
      this.uses.set(old, (this.uses.get(old) ?? 1) - 1);
      if (ref) this.addCandidate(ref);
      else if (weight) {
        for (const n of weight.viaNodes) this.candidates.nodes.add(n);
        if (weight.owner.kind === 'constant') this.candidates.nodes.add(weight.owner.node);
        else {
          let set = this.candidates.initializers.get(weight.owner.graph);
          if (!set) this.candidates.initializers.set(weight.owner.graph, (set = new Set()));
          set.add(weight.name);
        }
      }
    }
    this.consts.reset();
    return name;
  }

  /** Removes what the replacements left unread; returns the removed names. */
  finish(): string[] {
    const removed = removeUnused(this.model, this.candidates);
    this.candidates.nodes.clear();
    this.candidates.initializers.clear();
    this.consts.reset();
    return removed;
  }
}
