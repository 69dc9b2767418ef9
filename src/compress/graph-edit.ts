/**
 * Small graph-editing tools shared by the compression passes: a structural clone that shares
 * tensor bytes, a fresh-name allocator, constant lookup through graph scopes, and removal of
 * tensors and nodes left without consumers.
 */
import { constantValue, type LayerWeight } from '../onnx/layers';
import { graphPath, modelGraphs, type GraphRecord } from '../onnx/names';
import { tensorValues } from '../onnx/tensor';
import type { ExternalDataResolver, Graph, Model, Node, Tensor } from '../onnx/types';

/**
 * A deep copy of the model's structure (objects and arrays); typed arrays (tensor bytes) are
 * shared, never copied. Passes create new arrays instead of writing into existing ones.
 */
export function cloneModel(model: Model): Model {
  return cloneValue(model) as Model;
}

function cloneValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map(cloneValue);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = cloneValue(x);
  return out;
}

/** Every name in the model: node names and value names of every graph. */
export function collectNames(model: Model): Set<string> {
  const names = new Set<string>();
  const add = (s: string | undefined) => {
    if (s) names.add(s);
  };
  for (const rec of modelGraphs(model)) {
    for (const n of rec.nodes) {
      add(n.name);
      n.inputs.forEach(add);
      n.outputs.forEach(add);
    }
    const g = rec.graph;
    if (g) {
      g.initializers.forEach((t) => add(t.name));
      g.sparseInitializers.forEach((s) => add(s.values?.name));
      g.inputs.forEach((v) => add(v.name));
      g.outputs.forEach((v) => add(v.name));
    }
    if (rec.fn) {
      rec.fn.inputs.forEach(add);
      rec.fn.outputs.forEach(add);
    }
  }
  return names;
}

/** Hands out names no other node or value uses; deterministic for a given call order. */
export class NameAllocator {
  private readonly taken: Set<string>;
  constructor(taken: Set<string>) {
    this.taken = taken;
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }
}

/** Name -> constant tensor, looked up from a graph outwards through its enclosing graphs. */
export interface ConstScope {
  lookup(name: string): Tensor | undefined;
}

export function graphRecordsByPath(model: Model): Map<string, GraphRecord> {
  const out = new Map<string, GraphRecord>();
  for (const rec of modelGraphs(model)) {
    const path = graphPath(rec);
    if (!out.has(path)) out.set(path, rec);
  }
  return out;
}

/** Constants (initializers and Constant nodes) visible from `rec`. */
export function constScope(rec: GraphRecord): ConstScope {
  const chain: GraphRecord[] = [];
  for (let r: GraphRecord | undefined = rec; r; r = r.parent ?? r.outer) chain.push(r);
  const cache = new Map<GraphRecord, Map<string, Tensor>>();
  const table = (r: GraphRecord) => {
    let m = cache.get(r);
    if (!m) {
      m = new Map();
      for (const n of r.nodes) {
        if (n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx') && n.outputs[0]) {
          const c = constantValue(n);
          if (c?.tensor) m.set(n.outputs[0], c.tensor);
        }
      }
      if (r.graph) for (const t of r.graph.initializers) if (t.name) m.set(t.name, t);
      cache.set(r, m);
    }
    return m;
  };
  return {
    lookup(name: string) {
      for (const r of chain) {
        const t = table(r).get(name);
        if (t) return t;
      }
      return undefined;
    },
  };
}

/** Integer values of a small constant tensor (shapes, axes). */
export function constInts(t: Tensor, external?: ExternalDataResolver): number[] {
  const v = tensorValues(t, external);
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) out.push(Number(v[i]));
  return out;
}

/** How many times each value name is read: node inputs (all graphs) and graph outputs. */
export function useCounts(model: Model): Map<string, number> {
  const uses = new Map<string, number>();
  const inc = (s: string) => {
    if (s) uses.set(s, (uses.get(s) ?? 0) + 1);
  };
  for (const rec of modelGraphs(model)) {
    for (const n of rec.nodes) n.inputs.forEach(inc);
    rec.graph?.outputs.forEach((v) => inc(v.name ?? ''));
    rec.fn?.outputs.forEach(inc);
  }
  return uses;
}

export interface RemovalCandidates {
  /** nodes (Constant nodes, shape-only ops of weight chains) to remove once nothing reads them */
  nodes: Set<Node>;
  /** initializer names per graph to remove once nothing reads them */
  initializers: Map<Graph, Set<string>>;
}

/** Marks a layer weight's storage (its Constant node or initializer) and shape-op chain for removal. */
export function addCandidates(c: RemovalCandidates, w: LayerWeight): void {
  for (const n of w.viaNodes) c.nodes.add(n);
  if (w.owner.kind === 'constant') c.nodes.add(w.owner.node);
  else {
    let set = c.initializers.get(w.owner.graph);
    if (!set) c.initializers.set(w.owner.graph, (set = new Set()));
    set.add(w.name);
  }
}

/**
 * Removes candidate nodes and initializers whose values nobody reads any more, following chains
 * backwards: a removed node frees its inputs, and a Constant node or initializer read only by
 * removed nodes goes too. Graph inputs that only declared a removed initializer (IR < 4 style)
 * are removed with it. Nothing else is touched (this is not a general dead-code pass). Returns
 * the names of the removed nodes and initializers.
 */
export function removeUnused(model: Model, c: RemovalCandidates): string[] {
  const uses = useCounts(model);
  const recs = modelGraphs(model);
  const producer = new Map<string, Node>();
  const initOwners = new Map<string, Graph[]>();
  for (const rec of recs) {
    for (const n of rec.nodes) {
      const constant = n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx');
      if (constant || c.nodes.has(n)) for (const o of n.outputs) if (o) producer.set(o, n);
    }
    const g = rec.graph;
    if (!g) continue;
    const names = [...g.initializers.map((t) => t.name), ...g.sparseInitializers.map((sp) => sp.values?.name)];
    for (const nm of names) {
      if (!nm) continue;
      const list = initOwners.get(nm);
      if (list) list.push(g);
      else initOwners.set(nm, [g]);
    }
  }
  const dead = new Set<Node>();
  const deadInits = new Map<Graph, Set<string>>();
  const queue: string[] = [];
  for (const n of c.nodes) for (const o of n.outputs) if (o) queue.push(o);
  for (const names of c.initializers.values()) queue.push(...names);
  for (let qi = 0; qi < queue.length; qi++) {
    const name = queue[qi];
    if ((uses.get(name) ?? 0) > 0) continue;
    const p = producer.get(name);
    if (p) {
      if (!dead.has(p) && p.outputs.every((o) => !o || (uses.get(o) ?? 0) === 0)) {
        dead.add(p);
        for (const i of p.inputs) {
          if (!i) continue;
          uses.set(i, (uses.get(i) ?? 1) - 1);
          queue.push(i);
        }
      }
      continue;
    }
    for (const g of initOwners.get(name) ?? []) {
      let set = deadInits.get(g);
      if (!set) deadInits.set(g, (set = new Set()));
      set.add(name);
    }
  }
  const removed: string[] = [];
  for (const rec of recs) {
    if (!rec.nodes.some((n) => dead.has(n))) continue;
    const keep: Node[] = [];
    for (const n of rec.nodes) {
      if (dead.has(n)) removed.push(n.name || (n.outputs[0] ?? ''));
      else keep.push(n);
    }
    // the nodes array is shared with its graph or function: change it in place
    rec.nodes.splice(0, rec.nodes.length, ...keep);
  }
  for (const [g, names] of deadInits) {
    const gone = (n: string | undefined) => !!n && names.has(n) && (uses.get(n) ?? 0) === 0;
    g.initializers = g.initializers.filter((t) => !gone(t.name));
    g.sparseInitializers = g.sparseInitializers.filter((sp) => !gone(sp.values?.name));
    g.inputs = g.inputs.filter((v) => !gone(v.name));
    removed.push(...names);
  }
  return removed;
}
