/**
 * Shares identical initializers: within each graph, initializers with the same data type, dims
 * and bytes (grouped by type and shape, then compared byte for byte) become one, the first in file order; the reads
 * of the others (in the graph and the subgraphs that see it) read that one, and the others go.
 * Left alone: external and string tensors, a tensor that is a graph output, and a duplicate whose
 * readers include a subgraph defining its own copy of the kept name. Values are not touched.
 */
import { modelGraphs } from '../../onnx/names';
import { tensorRawBytes } from '../../onnx/tensor';
import { DataType, type Model, type Tensor } from '../../onnx/types';
import { renameUses } from './graph-scope';
import { plural, type PassResult } from './pass';

/**
 * Byte equality with an early exit. Tensors are grouped by type and shape first, and distinct
 * weights differ within their first bytes, so reading every byte (as a hash would) is avoided:
 * only true duplicates are read in full. A few spread-out probes go first.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let k = 0; k < 16 && n > 0; k++) {
    const i = Math.floor((k * (n - 1)) / 15);
    if (a[i] !== b[i]) return false;
  }
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function rawOf(t: Tensor): Uint8Array | undefined {
  if (t.dataType === DataType.STRING || t.dataLocation === 1 || t.segment) return undefined;
  try {
    return tensorRawBytes(t);
  } catch {
    return undefined;
  }
}

export function shareInitializers(model: Model): PassResult {
  let merged = 0;
  let bytes = 0;
  const details: string[] = [];
  const records = modelGraphs(model);
  // names training graphs read from the main graph: never renamed
  const trainingReads = new Set<string>();
  for (const rec of records) if (rec.kind === 'training') for (const n of rec.nodes) for (const i of n.inputs) trainingReads.add(i);
  for (const rec of records) {
    const g = rec.graph;
    if (!g || rec.kind === 'training') continue;
    const outputs = new Set(g.outputs.map((v) => v.name));
    const groups = new Map<string, { name: string; raw: Uint8Array }[]>();
    const gone = new Set<string>();
    for (const t of g.initializers) {
      const name = t.name ?? '';
      if (!name || outputs.has(name) || trainingReads.has(name)) continue;
      const raw = rawOf(t);
      if (!raw) continue;
      const key = `${t.dataType}|${t.dims.join(',')}|${raw.length}`;
      const list = groups.get(key);
      const same = list?.find((k) => sameBytes(k.raw, raw));
      if (!same) {
        if (list) list.push({ name, raw });
        else groups.set(key, [{ name, raw }]);
        continue;
      }
      if (!renameUses(rec.nodes, name, same.name)) continue;
      gone.add(name);
      merged++;
      bytes += raw.length;
      details.push(`${name} -> ${same.name} (${raw.length} bytes)`);
    }
    if (gone.size > 0) {
      g.initializers = g.initializers.filter((t) => !gone.has(t.name ?? ''));
      g.inputs = g.inputs.filter((v) => !gone.has(v.name ?? ''));
      g.valueInfo = g.valueInfo.filter((v) => !gone.has(v.name ?? ''));
    }
  }
  return { count: merged, summary: `${plural(merged, 'duplicate initializer')} shared (${bytes} bytes saved)`, details };
}
