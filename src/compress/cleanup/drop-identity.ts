/**
 * Drops Identity nodes, and Dropout nodes in inference form (no training_mode, or a constant
 * false one; the mask output unread), in the main graph and subgraphs. Values are not touched.
 *
 * - `y = Identity(x)`: every read of y (in the graph and the subgraphs that see it) reads x.
 * - When y is an output of the graph, its name must stay: the node producing x in the same
 *   graph is made to write y directly and the reads of x follow. When x is not produced by a node
 *   of the graph (a graph input, an initializer, an outer-scope value) or is itself an output,
 *   the Identity stays: it is what gives the output its own name.
 */
import { modelGraphs } from '../../onnx/names';
import { tensorValues } from '../../onnx/tensor';
import type { Graph, Model, Node } from '../../onnx/types';
import { useCounts } from '../graph-edit';
import { ConstTable, dropValueInfo, isOp, renameUses } from './graph-scope';
import { plural, type PassResult } from './pass';

function isFalseConstant(consts: ConstTable, rec: Parameters<ConstTable['lookup']>[0], name: string): boolean {
  const ref = consts.lookup(rec, name);
  if (!ref) return false;
  try {
    const v = tensorValues(ref.tensor);
    return v.length === 1 && Number(v[0]) === 0;
  } catch {
    return false;
  }
}

export function dropIdentity(model: Model): PassResult {
  const uses = useCounts(model);
  const consts = new ConstTable();
  let dropped = 0;
  const kept: string[] = [];
  const details: string[] = [];
  for (const rec of modelGraphs(model)) {
    const g: Graph | undefined = rec.graph;
    if (!g || rec.kind === 'training') continue;
    const outputs = new Set(g.outputs.map((v) => v.name ?? ''));
    const producer = new Map<string, Node>();
    for (const n of rec.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
    const dead = new Set<Node>();
    for (const n of rec.nodes) {
      let passThrough = isOp(n, 'Identity') && n.inputs.length === 1 && n.outputs.length === 1;
      if (isOp(n, 'Dropout') && n.outputs[0]) {
        const maskUnread = !n.outputs[1] || (uses.get(n.outputs[1]) ?? 0) === 0;
        const inference = !n.inputs[2] || isFalseConstant(consts, rec, n.inputs[2]);
        passThrough = maskUnread && inference;
        if (!passThrough) kept.push(`${n.name ?? n.outputs[0]} (Dropout ${maskUnread ? 'in training mode' : 'whose mask is read'})`);
      }
      if (!passThrough) continue;
      const x = n.inputs[0] ?? '';
      const y = n.outputs[0] ?? '';
      const label = `${n.name || y} (${n.opType})`;
      if (!x || !y) continue;
      if (!outputs.has(y)) {
        if (!renameUses(rec.nodes, y, x)) {
          kept.push(`${label}: a subgraph defines its own ${x}`);
          continue;
        }
        dead.add(n);
        dropValueInfo(g, y);
        uses.set(x, (uses.get(x) ?? 1) - 1 + (uses.get(y) ?? 0));
        uses.delete(y);
      } else {
        const p = producer.get(x);
        if (!p || outputs.has(x) || dead.has(p)) {
          kept.push(`${label}: it names the graph output ${y}, and ${x} is ${outputs.has(x) ? 'an output too' : 'not computed in this graph'}`);
          continue;
        }
        // the producer writes y; reads of x read y
        if (!renameUses(rec.nodes, x, y)) {
          kept.push(`${label}: a subgraph defines its own ${y}`);
          continue;
        }
        p.outputs = p.outputs.map((o) => (o === x ? y : o));
        producer.delete(x);
        producer.set(y, p);
        dead.add(n);
        dropValueInfo(g, x);
        uses.set(y, (uses.get(y) ?? 0) + (uses.get(x) ?? 1) - 1);
        uses.delete(x);
      }
      // the node read x itself: renaming made it read its own output (or x); it is removed now
      dropped++;
      details.push(`${label}: ${x} -> ${y}`);
    }
    if (dead.size > 0) rec.nodes.splice(0, rec.nodes.length, ...rec.nodes.filter((n) => !dead.has(n)));
  }
  const summary = `${plural(dropped, 'Identity/Dropout node')} removed${kept.length ? `; ${kept.length} kept` : ''}`;
  return { count: dropped, summary, details: [...details, ...kept.map((k) => `kept ${k}`)] };
}
