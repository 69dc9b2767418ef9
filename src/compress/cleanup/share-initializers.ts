/**
 * Shares identical initializers: within each graph, initializers with the same data type, dims
 * and bytes (grouped by type and shape, then compared byte for byte) become one, the first in file order; the reads
 * of the others (in the graph and the subgraphs that see it) read that one, and the others go.
 * Left alone: external and string tensors, a tensor that is a graph output, and a duplicate whose
 * readers include a subgraph defining its own copy of the kept name. Values are not touched.
 *
 * A 2-D float initializer that is another's transpose (torch's constant folding writes a tied
 * output layer's `weight.t()` as a transposed copy of the embedding table: GPT-2's LM head) goes
 * too: a Transpose of the kept one, with the removed one's name as its output, takes its place, so
 * its readers are unchanged and the file holds the table once (compression then shares one
 * encoding between the readers: compress.ts shareWeights). onnxruntime folds the Transpose when it
 * loads the model.
 */
import { attr, makeNode } from '../../onnx/build';
import { findDuplicateInitializers } from '../../onnx/duplicates';
import type { GraphRecord } from '../../onnx/names';
import type { Model } from '../../onnx/types';
import type { NameAllocator } from '../graph-edit';
import { renameUses } from './graph-scope';
import { plural, type PassResult } from './pass';

export function shareInitializers(model: Model, names?: NameAllocator): PassResult {
  let merged = 0;
  let bytes = 0;
  let transposed = 0;
  let transposedBytesSaved = 0;
  const details: string[] = [];
  const gone = new Map<GraphRecord, Set<string>>();
  for (const d of findDuplicateInitializers(model)) {
    const g = d.rec.graph;
    if (!g) continue;
    if (d.transposed) {
      // (a Transpose node needs a fresh node name; without an allocator the copy stays)
      if (!names) continue;
      g.nodes.unshift(makeNode('Transpose', [d.keep], [d.name], [attr.ints('perm', [1, 0])], { name: names.fresh(`${d.name}/transposed`) }));
      transposed++;
      transposedBytesSaved += d.bytes;
      details.push(`${d.name} -> Transpose(${d.keep}) (${d.bytes} bytes)`);
    } else {
      if (!renameUses(d.rec.nodes, d.name, d.keep)) continue;
      merged++;
      bytes += d.bytes;
      details.push(`${d.name} -> ${d.keep} (${d.bytes} bytes)`);
    }
    const set = gone.get(d.rec) ?? new Set<string>();
    set.add(d.name);
    gone.set(d.rec, set);
  }
  for (const [rec, set] of gone) {
    const g = rec.graph;
    if (!g) continue;
    g.initializers = g.initializers.filter((t) => !set.has(t.name ?? ''));
    g.inputs = g.inputs.filter((v) => !set.has(v.name ?? ''));
    // (a transposed copy keeps its value info: its name is now the Transpose's output, of the same type and shape)
    g.valueInfo = g.valueInfo.filter((v) => !set.has(v.name ?? '') || g.nodes.some((n) => n.outputs.includes(v.name ?? '')));
  }
  const summary = `${plural(merged, 'duplicate initializer')} shared (${bytes} bytes saved)${transposed > 0 ? `; ${plural(transposed, 'transposed copy', 'transposed copies')} read through a Transpose (${transposedBytesSaved} bytes saved)` : ''}`;
  return { count: merged + transposed, summary, details };
}
