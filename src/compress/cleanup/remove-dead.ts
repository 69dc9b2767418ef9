/**
 * Removes nodes none of whose outputs is read (by any node of any graph, subgraphs included, or
 * as a graph or function output), then initializers nobody reads, in every graph (main graph,
 * subgraphs, function bodies; training graphs are left alone but what they read is kept).
 * A value read only from inside a subgraph counts as read, so outer-scope values a subgraph uses
 * always stay. Graph inputs stay (they are the model's signature), except those that only
 * declared a removed initializer. Also drops value_info entries for names no longer in the graph.
 * Values are not touched (bit-identical outputs).
 */
import { modelGraphs } from '../../onnx/names';
import type { Graph, Model, Node } from '../../onnx/types';
import { useCounts } from '../graph-edit';
import { definedNames, nodeSubgraphs } from './graph-scope';
import { plural, type PassResult } from './pass';

/** Names read by the nodes of a graph and everything below it (used when a node with subgraphs goes). */
function readsBelow(nodes: Node[], into: string[], graphs: Set<Graph>): void {
  for (const n of nodes) {
    for (const i of n.inputs) if (i) into.push(i);
    for (const g of nodeSubgraphs(n)) {
      graphs.add(g);
      for (const v of g.outputs) if (v.name) into.push(v.name);
      readsBelow(g.nodes, into, graphs);
    }
  }
}

export function removeDead(model: Model): PassResult {
  const uses = useCounts(model);
  const release = (names: string[]) => {
    for (const i of names) uses.set(i, (uses.get(i) ?? 1) - 1);
  };
  let nodes = 0;
  let inits = 0;
  const details: string[] = [];
  /** subgraphs of removed nodes: gone with them */
  const removedGraphs = new Set<Graph>();
  // sweep until nothing changes: removing a node with subgraphs frees names in other graphs
  for (let changed = true; changed; ) {
    changed = false;
    for (const rec of modelGraphs(model)) {
      if (rec.kind === 'training' || (rec.graph && removedGraphs.has(rec.graph))) continue;
      const dead = new Set<Node>();
      // backwards: a chain of dead nodes goes in one sweep (graphs are topologically sorted)
      for (let i = rec.nodes.length - 1; i >= 0; i--) {
        const n = rec.nodes[i];
        if (n.outputs.length === 0 || n.outputs.some((o) => o && (uses.get(o) ?? 0) > 0)) continue;
        dead.add(n);
        const freed: string[] = [];
        readsBelow([n], freed, removedGraphs);
        release(freed);
        details.push(`node ${n.name || n.outputs[0] || '(unnamed)'} (${n.opType})`);
      }
      if (dead.size > 0) {
        rec.nodes.splice(0, rec.nodes.length, ...rec.nodes.filter((n) => !dead.has(n)));
        nodes += dead.size;
        changed = true;
      }
      const g = rec.graph;
      if (!g) continue;
      const unread = (name: string | undefined) => !!name && (uses.get(name) ?? 0) === 0;
      const goneInits = g.initializers.filter((t) => unread(t.name)).map((t) => t.name as string);
      const goneSparse = g.sparseInitializers.filter((s) => unread(s.values?.name)).map((s) => s.values?.name as string);
      const gone = new Set([...goneInits, ...goneSparse]);
      if (gone.size > 0) {
        g.initializers = g.initializers.filter((t) => !gone.has(t.name ?? ''));
        g.sparseInitializers = g.sparseInitializers.filter((s) => !gone.has(s.values?.name ?? ''));
        g.inputs = g.inputs.filter((v) => !gone.has(v.name ?? ''));
        inits += gone.size;
        for (const name of gone) details.push(`initializer ${name}`);
      }
    }
  }
  for (const rec of modelGraphs(model)) if (rec.graph) pruneValueInfo(rec.graph);
  const summary = `${plural(nodes, 'dead node')} and ${plural(inits, 'unused initializer')} removed`;
  return { count: nodes + inits, summary, details };
}

/** value_info entries for names the graph no longer defines (nor reads from outside) go. */
function pruneValueInfo(g: Graph): void {
  const defs = definedNames(g);
  const reads = new Set<string>();
  for (const n of g.nodes) for (const i of n.inputs) reads.add(i);
  const keep = g.valueInfo.filter((v) => !v.name || defs.has(v.name) || reads.has(v.name));
  if (keep.length !== g.valueInfo.length) g.valueInfo = keep;
}
