/**
 * Unique, stable node names (see RECIPE.md: a recipe addresses layers by node name).
 *
 * Every node in every graph of the model (main graph, subgraphs in If/Loop/Scan attributes at any
 * depth, training_info graphs, model-local function bodies) ends up with a non-empty name that no
 * other node has. Traversal order is fixed: the main graph breadth-first (its nodes, then the
 * subgraphs of its nodes in node and attribute order, level by level), then each training_info's
 * initialization and algorithm graphs, then each function body. The first node to carry a name
 * keeps it; a node whose name is empty or already taken gets a generated one:
 *   main graph:   `<OpType>_<index>`
 *   subgraph:     `<parentNodeName>/<attrName>/<OpType>_<index>` (`<attrName>.<k>` for the k-th
 *                 graph of a `graphs` attribute)
 *   training:     `training_info.<k>/<initialization|algorithm>/<OpType>_<index>`
 *   function:     `<domain>.<functionName>/<OpType>_<index>`
 * where index is the node's position in its own graph; `_<n>` is appended while the name is
 * taken. Generated names never collide with names in the file. Running it again renames nothing.
 * Iterative (no recursion), linear in the number of nodes.
 */
import type { FunctionDef, Graph, Model, Node } from './types';

/** One graph of the model (or a function body), as visited by the traversal above. */
export interface GraphRecord {
  kind: 'main' | 'subgraph' | 'training' | 'function';
  nodes: Node[];
  /** the graph (undefined for a function body) */
  graph?: Graph;
  /** the function whose body this is */
  fn?: FunctionDef;
  /** for a subgraph: the record and node index of the node whose attribute holds it */
  parent?: GraphRecord;
  parentNode?: number;
  /** for a subgraph: the attribute name (`<attr>.<k>` within a `graphs` list); for a root: its label */
  label: string;
  /** for training graphs: the record of the main graph, whose names they may reference */
  outer?: GraphRecord;
}

/** Where a record lives, for display: `main`, `<parentNode>/<attr>`, `training_info.0/algorithm`, `function:<domain>.<name>`. */
export function graphPath(rec: GraphRecord): string {
  if (rec.parent && rec.parentNode !== undefined) {
    return `${rec.parent.nodes[rec.parentNode]?.name ?? ''}/${rec.label}`;
  }
  return rec.label;
}

function collect(records: GraphRecord[], root: GraphRecord, seen: Set<object>): void {
  const queue: GraphRecord[] = [root];
  for (let q = 0; q < queue.length; q++) {
    const rec = queue[q];
    records.push(rec);
    const nodes = rec.nodes;
    for (let i = 0; i < nodes.length; i++) {
      for (const a of nodes[i].attributes) {
        const attrName = a.name ?? '';
        if (a.g && !seen.has(a.g)) {
          seen.add(a.g);
          queue.push({ kind: 'subgraph', nodes: a.g.nodes, graph: a.g, parent: rec, parentNode: i, label: attrName });
        }
        for (let k = 0; k < a.graphs.length; k++) {
          const g = a.graphs[k];
          if (seen.has(g)) continue;
          seen.add(g);
          queue.push({ kind: 'subgraph', nodes: g.nodes, graph: g, parent: rec, parentNode: i, label: `${attrName}.${k}` });
        }
      }
    }
  }
}

/**
 * Every graph of the model in the naming traversal order: the main graph and its subgraphs
 * breadth-first, then training_info graphs (and theirs), then function bodies (and theirs).
 * Parents always come before their subgraphs. Iterative.
 */
export function modelGraphs(model: Model): GraphRecord[] {
  const records: GraphRecord[] = [];
  const seen = new Set<object>();
  let main: GraphRecord | undefined;
  if (model.graph) {
    seen.add(model.graph);
    main = { kind: 'main', nodes: model.graph.nodes, graph: model.graph, label: 'main' };
    collect(records, main, seen);
  }
  model.trainingInfo.forEach((t, k) => {
    for (const [g, part] of [
      [t.initialization, 'initialization'],
      [t.algorithm, 'algorithm'],
    ] as const) {
      if (!g || seen.has(g)) continue;
      seen.add(g);
      collect(records, { kind: 'training', nodes: g.nodes, graph: g, label: `training_info.${k}/${part}`, outer: main }, seen);
    }
  });
  model.functions.forEach((f, k) => {
    if (seen.has(f.nodes)) return;
    seen.add(f.nodes);
    const fname = f.name || `function${k}`;
    collect(records, { kind: 'function', nodes: f.nodes, fn: f, label: `${f.domain ? `${f.domain}.` : ''}${fname}` }, seen);
  });
  return records;
}

/**
 * Gives every node a unique, stable name where its name is empty or repeats; returns how many
 * nodes were renamed. Mutates the model's nodes.
 */
export function assignNodeNames(model: Model): number {
  const records = modelGraphs(model);
  const taken = new Set<string>();
  const rename: boolean[][] = [];
  let count = 0;
  for (const rec of records) {
    const flags: boolean[] = new Array<boolean>(rec.nodes.length);
    for (let i = 0; i < rec.nodes.length; i++) {
      const name = rec.nodes[i].name;
      if (name && !taken.has(name)) {
        taken.add(name);
        flags[i] = false;
      } else {
        flags[i] = true;
        count++;
      }
    }
    rename.push(flags);
  }
  if (count === 0) return 0;

  records.forEach((rec, r) => {
    // Parents come earlier in the order, so the parent node's name is already final.
    const prefix = rec.kind === 'main' ? '' : `${graphPath(rec)}/`;
    const flags = rename[r];
    for (let i = 0; i < rec.nodes.length; i++) {
      if (!flags[i]) continue;
      const node = rec.nodes[i];
      const base = `${prefix}${node.opType || 'Node'}_${i}`;
      let name = base;
      for (let n = 1; taken.has(name); n++) name = `${base}_${n}`;
      taken.add(name);
      node.name = name;
    }
  });
  return count;
}
