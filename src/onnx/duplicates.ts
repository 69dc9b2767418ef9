/**
 * Initializers that hold what an earlier one holds: the same bytes (type and shape alike), or, for
 * a 2-D float table, its transpose (torch's constant folding writes a tied output layer's
 * `weight.t()` as a transposed copy of the embedding table). Clean-up's "share identical
 * initializers" stores each once (compress/cleanup/share-initializers.ts); the model summary and
 * the size projection count them so.
 */
import { graphPath, modelGraphs, type GraphRecord } from './names';
import { tensorRawBytes } from './tensor';
import { DataType, type Model, type Tensor } from './types';

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

/** Bytes per element of the float types a transposed copy is looked for in. */
const ELEMENT_BYTES: Partial<Record<number, number>> = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.BFLOAT16]: 2, [DataType.DOUBLE]: 8 };

/** A transposed copy smaller than this stays (the Transpose node would save little). */
export const TRANSPOSED_MIN_BYTES = 4096;

/**
 * Whether b ([cols, rows]) is a ([rows, cols]) transposed, element by element (`e` bytes each):
 * a few spread-out elements first, then every one.
 */
function transposedBytes(a: Uint8Array, b: Uint8Array, rows: number, cols: number, e: number): boolean {
  const n = rows * cols;
  if (a.length !== n * e || b.length !== n * e) return false;
  const same = (i: number, j: number): boolean => {
    const x = (i * cols + j) * e;
    const y = (j * rows + i) * e;
    for (let k = 0; k < e; k++) if (a[x + k] !== b[y + k]) return false;
    return true;
  };
  for (let k = 0; k < 16; k++) {
    const f = Math.floor((k * (n - 1)) / 15);
    if (!same(Math.floor(f / cols), f % cols)) return false;
  }
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (!same(i, j)) return false;
  return true;
}

/** One initializer the pass removes: `name` reads as `keep` (or as its transpose). */
export interface DuplicateInitializer {
  rec: GraphRecord;
  name: string;
  keep: string;
  transposed: boolean;
  bytes: number;
}

/**
 * The initializers shareInitializers removes, graph by graph, in file order: exact duplicates of
 * an earlier one, and 2-D float ones that are an earlier one's transpose. Reads the bytes only of
 * tensors alike in type and shape (a few spread-out probes first). `model` is not changed.
 */
export function findDuplicateInitializers(model: Model): DuplicateInitializer[] {
  const out: DuplicateInitializer[] = [];
  const records = modelGraphs(model);
  // names training graphs read from the main graph: never renamed
  const trainingReads = new Set<string>();
  for (const rec of records) if (rec.kind === 'training') for (const n of rec.nodes) for (const i of n.inputs) trainingReads.add(i);
  for (const rec of records) {
    const g = rec.graph;
    if (!g || rec.kind === 'training') continue;
    const outputs = new Set(g.outputs.map((v) => v.name));
    // (IR 4 and later: an initializer also listed as a graph input is a default a caller may feed; its transpose is not taken for a copy)
    const overridable = new Set((model.irVersion ?? 0) >= 4 ? g.inputs.map((v) => v.name) : []);
    const groups = new Map<string, { name: string; raw: Uint8Array }[]>();
    /** kept 2-D float tensors by `type|rows,cols` */
    const matrices = new Map<string, { name: string; raw: Uint8Array }[]>();
    for (const t of g.initializers) {
      const name = t.name ?? '';
      if (!name || outputs.has(name) || trainingReads.has(name)) continue;
      const raw = rawOf(t);
      if (!raw) continue;
      const key = `${t.dataType}|${t.dims.join(',')}|${raw.length}`;
      const list = groups.get(key);
      const same = list?.find((k) => sameBytes(k.raw, raw));
      if (same) {
        out.push({ rec, name, keep: same.name, transposed: false, bytes: raw.length });
        continue;
      }
      const e = t.dataType === undefined ? undefined : ELEMENT_BYTES[t.dataType];
      if (e && t.dims.length === 2 && raw.length >= TRANSPOSED_MIN_BYTES && !overridable.has(name)) {
        const [rows, cols] = t.dims.map(Number);
        const twin = matrices.get(`${t.dataType}|${cols},${rows}`)?.find((k) => transposedBytes(k.raw, raw, cols, rows, e));
        if (twin) {
          out.push({ rec, name, keep: twin.name, transposed: true, bytes: raw.length });
          continue;
        }
        const mk = `${t.dataType}|${rows},${cols}`;
        matrices.set(mk, [...(matrices.get(mk) ?? []), { name, raw }]);
      }
      if (list) list.push({ name, raw });
      else groups.set(key, [{ name, raw }]);
    }
  }
  return out;
}

/** Where each removed initializer's readers read from, by `<graph path>|<name>` (the projection's weight ids). */
export function duplicateAliases(model: Model): { alias: Map<string, string>; bytes: number } {
  const alias = new Map<string, string>();
  let bytes = 0;
  for (const d of findDuplicateInitializers(model)) {
    const path = graphPath(d.rec);
    alias.set(`${path}|${d.name}`, `${path}|${d.keep}`);
    bytes += d.bytes;
  }
  return { alias, bytes };
}
