/**
 * Topological order of a graph's nodes. ONNX asks for nodes in topological order, but
 * onnxruntime sorts a graph itself and runs one that is not: exports edited by tools that append
 * nodes (a float16 converter put its Casts and Resizes at the end of IS-Net's node list: 79 nodes
 * read a value made by a node listed after them) load and run there. Code that walks a node list
 * in order (the recovery statistics' copy keeps the nodes its outputs need walking backwards, the
 * float16 compute pass reads element types forwards) needs the order, so the model is put in it
 * on load (`sortNodes`).
 */
import { modelGraphs } from './names';
import type { Graph, Node } from './types';

/** The graphs held by a node's attributes (If branches, Loop and Scan bodies). */
export function nodeSubgraphs(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of node.attributes) {
    if (a.g) out.push(a.g);
    out.push(...a.graphs);
  }
  return out;
}

/** Names a node's subgraphs read at any depth (their nodes' inputs and their outputs): outer-scope values among them are inputs of the node too. */
function readsInside(node: Node, into: Set<string>): void {
  for (const g of nodeSubgraphs(node)) {
    for (const v of g.outputs) if (v.name) into.add(v.name);
    for (const n of g.nodes) {
      for (const i of n.inputs) if (i) into.add(i);
      readsInside(n, into);
    }
  }
}

/** Each node's inputs, with the outer-scope names its subgraphs read. */
function dependencies(nodes: readonly Node[]): string[][] {
  return nodes.map((n) => {
    if (!n.attributes.some((a) => a.g || a.graphs.length > 0)) return n.inputs;
    const s = new Set(n.inputs);
    readsInside(n, s);
    return [...s];
  });
}

/**
 * Kahn's topological order of a graph's nodes, ties broken by file order (a sorted list comes back
 * as it is). Inputs produced outside the graph (outer scope, initializers, graph inputs) impose no
 * constraint; a node holding subgraphs depends on the values they read. Nodes caught in a cycle (a
 * malformed file) come last, in file order.
 */
export function topoOrder(nodes: readonly Node[]): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o && !producer.has(o)) producer.set(o, i);
  });
  const deps = dependencies(nodes);
  const indeg = new Int32Array(nodes.length);
  const succ: number[][] = nodes.map(() => []);
  const stamp = new Int32Array(nodes.length).fill(-1);
  for (let i = 0; i < nodes.length; i++) {
    for (const inp of deps[i]) {
      const p = inp ? producer.get(inp) : undefined;
      if (p === undefined || p === i || stamp[p] === i) continue;
      stamp[p] = i;
      succ[p].push(i);
      indeg[i]++;
    }
  }
  // A binary heap on the index keeps file order among ready nodes.
  const heap: number[] = [];
  const push = (v: number) => {
    heap.push(v);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p] <= v) break;
      heap[i] = heap[p];
      i = p;
    }
    heap[i] = v;
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    const size = heap.length;
    if (size > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && heap[r] < heap[l] ? r : l;
        if (heap[c] >= last) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  for (let i = 0; i < nodes.length; i++) if (indeg[i] === 0) push(i);
  const order: number[] = [];
  const done = new Uint8Array(nodes.length);
  while (heap.length > 0) {
    const v = pop();
    order.push(v);
    done[v] = 1;
    for (const s of succ[v]) if (--indeg[s] === 0) push(s);
  }
  if (order.length < nodes.length) for (let i = 0; i < nodes.length; i++) if (!done[i]) order.push(i);
  return order;
}

/** How many nodes of the list read a value made by a node listed after them (0: sorted). */
export function readsAhead(nodes: readonly Node[]): number {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o && !producer.has(o)) producer.set(o, i);
  });
  const deps = dependencies(nodes);
  let ahead = 0;
  for (let i = 0; i < nodes.length; i++) if (deps[i].some((x) => (producer.get(x) ?? -1) > i)) ahead++;
  return ahead;
}

/**
 * Puts every graph of the model (the main graph, subgraphs, training graphs, function bodies) in
 * topological order where it is not: returns how many nodes read a value made by a node listed
 * after them before (0: nothing moved).
 */
export function sortNodes(model: Parameters<typeof modelGraphs>[0]): number {
  let ahead = 0;
  for (const rec of modelGraphs(model)) {
    const k = readsAhead(rec.nodes);
    if (k === 0) continue;
    ahead += k;
    const order = topoOrder(rec.nodes);
    const sorted = order.map((i) => rec.nodes[i]);
    rec.nodes.splice(0, rec.nodes.length, ...sorted);
  }
  return ahead;
}
