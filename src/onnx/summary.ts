/**
 * A model's summary: the object `inspect --json` prints, and what the studio shows first.
 * Works on any decodable model, however odd (negative or huge dims, missing types, broken
 * external references): every count is guarded and nothing here throws.
 */
import { duplicateAliases } from './duplicates';
import { constantValue, findLayers, safeElementCount, type WeightRole, type WeightSource } from './layers';
import { findStoredTensors } from './stored-tensors';
import type { LoadedModel } from './load';
import { modelGraphs } from './names';
import { dtypeBits, dtypeName, externalInfo, isExternal } from './tensor';
import { DataType, type SparseTensor, type Tensor, type TypeProto, type ValueInfo } from './types';

export type Dim = number | string;

export interface IoSummary {
  name: string;
  /** 'float32', ... ; 'sequence<float32>', 'map<int64,float32>', 'optional<...>', 'sparse<float32>'; '?' when absent */
  dtype: string;
  /** dims: numbers, symbolic names as strings, '?' for unknown; null for an unranked tensor or a non-tensor */
  shape: Dim[] | null;
}

export interface LayerSummary {
  key: string;
  op: string;
  domain: string;
  /** 'main', or where the node lives: '<parentNode>/<attr>', ... */
  graph: string;
  params: number;
  weights: { name: string; dtype: string; shape: number[]; role: WeightRole; source: WeightSource; via: string[] }[];
  /** its weights are stored quantized already: what it is ('MatMulNBits 4-bit', 'DequantizeLinear int8' …); the compressor leaves it alone */
  quantized?: string;
  /** an earlier layer that reads the same stored weight (tied, written once by the exporter, or a duplicate of its bytes or of its transpose: duplicates.ts): the compressor stores it once */
  sharedWith?: string;
}

export interface ModelSummary {
  fileName: string;
  fileSize: number;
  irVersion: number | null;
  producer: { name: string; version: string };
  domain: string;
  modelVersion: number | null;
  /** domain -> version; '' is the default (ai.onnx) domain */
  opsets: Record<string, number>;
  inputs: IoSummary[];
  outputs: IoSummary[];
  /** every node of every graph: main graph, subgraphs, training graphs, function bodies */
  nodeCount: number;
  graphCount: number;
  functionCount: number;
  /** op type -> count over all graphs, most frequent first */
  opCounts: Record<string, number>;
  /** elements in all stored tensors: initializers, sparse initializers (dense count), Constant-node tensors, subgraph initializers */
  params: number;
  /** bytes those tensors take as stored (external data counted by its declared length) */
  weightBytes: number;
  /** bytes of it stored in external data files */
  externalBytes: number;
  externalFiles: string[];
  /** nodes given a generated name on load because theirs was empty or repeated */
  renamedNodes: number;
  /** nodes that read a value made by a node listed after them: put in topological order on load */
  reorderedNodes?: number;
  layers: LayerSummary[];
  metadata: Record<string, string>;
}

const MAX = Number.MAX_SAFE_INTEGER;
/** A record without a prototype, so keys from the file ('__proto__', 'constructor') are plain keys. */
const dict = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;
const add = (a: number, b: number) => Math.min(MAX, a + (Number.isFinite(b) && b > 0 ? b : 0));

function typeName(t: TypeProto | undefined, depth = 0): string {
  if (!t || depth > 16) return '?';
  if (t.tensorType) return t.tensorType.elemType === undefined ? '?' : dtypeName(t.tensorType.elemType);
  if (t.sparseTensorType) return `sparse<${t.sparseTensorType.elemType === undefined ? '?' : dtypeName(t.sparseTensorType.elemType)}>`;
  if (t.sequenceType) return `sequence<${typeName(t.sequenceType.elemType, depth + 1)}>`;
  if (t.mapType) return `map<${dtypeName(t.mapType.keyType)},${typeName(t.mapType.valueType, depth + 1)}>`;
  if (t.optionalType) return `optional<${typeName(t.optionalType.elemType, depth + 1)}>`;
  if (t.opaqueType) return `opaque<${t.opaqueType.domain ?? ''}.${t.opaqueType.name ?? ''}>`;
  return '?';
}

function ioSummary(v: ValueInfo): IoSummary {
  const tt = v.type?.tensorType ?? v.type?.sparseTensorType;
  const shape = tt?.shape
    ? tt.shape.dim.map((d): Dim => (d.dimValue !== undefined ? d.dimValue : d.dimParam ? d.dimParam : '?'))
    : null;
  return { name: v.name ?? '', dtype: typeName(v.type), shape };
}

/** Stored bytes of a tensor, never throwing (external length, raw bytes, typed fields, or shape x bits). */
function storedBytes(t: Tensor): number {
  if (t.rawData) return t.rawData.length;
  if (isExternal(t)) {
    try {
      const len = externalInfo(t).length;
      if (len !== undefined) return len;
    } catch {
      return 0;
    }
  }
  if (t.dataType === DataType.STRING) {
    let n = 0;
    for (const s of t.stringData) n = add(n, s.length);
    return n;
  }
  const typed = t.floatData ?? t.int32Data ?? t.int64Data ?? t.doubleData ?? t.uint64Data;
  if (typed) {
    // Report the size the values take in raw form (int8 in int32_data takes one byte each).
    const bits = dtypeBits(t.dataType);
    return bits > 0 ? Math.ceil((safeElementCount(t.dims) * bits) / 8) : typed.byteLength;
  }
  return isExternal(t) ? Math.ceil((safeElementCount(t.dims) * dtypeBits(t.dataType)) / 8) : 0;
}

function sparseBytes(s: SparseTensor): number {
  return add(s.values ? storedBytes(s.values) : 0, s.indices ? storedBytes(s.indices) : 0);
}

/** The inspect summary of a loaded model. Never throws. */
export function summarizeModel(loaded: LoadedModel): ModelSummary {
  const { model } = loaded;
  const records = modelGraphs(model);
  const g = model.graph;

  const opsets = dict<number>();
  for (const o of model.opsetImport) {
    const d = !o.domain || o.domain === 'ai.onnx' ? '' : o.domain;
    opsets[d] = o.version ?? 0;
  }

  const initNames = new Set((g?.initializers ?? []).map((t) => t.name ?? ''));
  const inputs = (g?.inputs ?? []).filter((v) => !initNames.has(v.name ?? '')).map(ioSummary);
  const outputs = (g?.outputs ?? []).map(ioSummary);

  let nodeCount = 0;
  let params = 0;
  let weightBytes = 0;
  let externalBytes = 0;
  const externalFiles = new Set<string>();
  const counts = new Map<string, number>();
  const countTensor = (t: Tensor) => {
    params = add(params, safeElementCount(t.dims));
    const bytes = storedBytes(t);
    weightBytes = add(weightBytes, bytes);
    if (isExternal(t)) {
      externalBytes = add(externalBytes, bytes);
      const loc = t.externalData.find((e) => e.key === 'location')?.value;
      if (loc) externalFiles.add(loc);
    }
  };
  const countSparse = (s: SparseTensor) => {
    params = add(params, safeElementCount(s.dims));
    weightBytes = add(weightBytes, sparseBytes(s));
  };
  for (const rec of records) {
    nodeCount += rec.nodes.length;
    if (rec.graph) {
      for (const t of rec.graph.initializers) countTensor(t);
      for (const s of rec.graph.sparseInitializers) countSparse(s);
    }
    for (const node of rec.nodes) {
      const op = node.opType ?? '';
      counts.set(op, (counts.get(op) ?? 0) + 1);
      if (op === 'Constant' && (!node.domain || node.domain === 'ai.onnx')) {
        const c = constantValue(node);
        if (c?.tensor) countTensor(c.tensor);
        else if (c?.sparse) countSparse(c.sparse);
      }
    }
  }
  const opCounts = dict<number>();
  for (const [op, n] of [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    opCounts[op] = n;
  }

  // layers, then the large float tensors no layer claims (op "tensor", keyed by the tensor's name)
  const found = findLayers(model);
  // the first layer reading each stored weight (a duplicate initializer counts as the one it duplicates)
  const readers = new Map<string, string>();
  const { alias } = duplicateAliases(model);
  const layers: LayerSummary[] = [...found, ...findStoredTensors(model, found)].map((l) => {
    let sharedWith: string | undefined;
    for (const w of l.weights) {
      if (w.role !== 'weight') continue;
      const own = `${w.storedIn}|${w.name}`;
      const id = alias.get(own) ?? own;
      const first = readers.get(id);
      if (first === undefined) readers.set(id, l.key);
      else sharedWith ??= first;
    }
    return {
      key: l.key,
      op: l.op,
      domain: l.domain,
      graph: l.graphPath,
      params: l.params,
      weights: l.weights.map((w) => ({ name: w.name, dtype: w.dtype, shape: w.shape, role: w.role, source: w.source, via: w.via })),
      ...('quantized' in l && l.quantized ? { quantized: l.quantized } : {}),
      ...(sharedWith !== undefined ? { sharedWith } : {}),
    };
  });

  const metadata = dict<string>();
  for (const p of model.metadataProps) if (p.key !== undefined) metadata[p.key] = p.value ?? '';

  return {
    fileName: loaded.fileName,
    fileSize: loaded.fileSize,
    irVersion: model.irVersion ?? null,
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    domain: model.domain ?? '',
    modelVersion: model.modelVersion ?? null,
    opsets,
    inputs,
    outputs,
    nodeCount,
    graphCount: records.filter((r) => r.graph).length,
    functionCount: model.functions.length,
    opCounts,
    params,
    weightBytes,
    externalBytes,
    externalFiles: [...externalFiles],
    renamedNodes: loaded.renamedNodes,
    ...(loaded.reorderedNodes ? { reorderedNodes: loaded.reorderedNodes } : {}),
    layers,
    metadata,
  };
}
