/**
 * Moves the tensors held by Constant nodes to initializers of the same graph (main graph and
 * subgraphs), under the Constant's output name, and removes the nodes. The values are not
 * touched (bit-identical outputs). Left as they are: sparse and string constants, Constants whose
 * output is the graph's output, and those in function bodies (functions have no initializers).
 * IR < 4 files list every initializer of the main graph as an input too; the moved ones are added.
 */
import { makeValueInfo } from '../../onnx/build';
import { constantValue } from '../../onnx/layers';
import { modelGraphs } from '../../onnx/names';
import { dtypeName } from '../../onnx/tensor';
import type { Model, Node } from '../../onnx/types';
import { isOp } from './graph-scope';
import { plural, type PassResult } from './pass';

export function constantsToInitializers(model: Model): PassResult {
  let moved = 0;
  let kept = 0;
  const details: string[] = [];
  for (const rec of modelGraphs(model)) {
    const g = rec.graph;
    if (!g || rec.kind === 'training') continue;
    const outputs = new Set(g.outputs.map((v) => v.name));
    const taken = new Set(g.initializers.map((t) => t.name));
    const keep: Node[] = [];
    for (const n of rec.nodes) {
      const out = n.outputs[0];
      if (!isOp(n, 'Constant') || !out || n.outputs.length !== 1) {
        keep.push(n);
        continue;
      }
      const c = constantValue(n);
      if (!c?.tensor || outputs.has(out) || taken.has(out)) {
        if (c) kept++;
        keep.push(n);
        continue;
      }
      const t = { ...c.tensor, name: out };
      g.initializers.push(t);
      taken.add(out);
      if (g === model.graph && (model.irVersion ?? 0) < 4) g.inputs.push(makeValueInfo(out, t.dataType, t.dims));
      moved++;
      details.push(`${out} (${dtypeName(t.dataType)} [${t.dims.join(', ')}])`);
    }
    if (keep.length !== rec.nodes.length) rec.nodes.splice(0, rec.nodes.length, ...keep);
  }
  const summary = `${plural(moved, 'Constant')} moved to initializers${kept ? `; ${kept} left (sparse, a graph output, or a name already taken)` : ''}`;
  return { count: moved, summary, details };
}
