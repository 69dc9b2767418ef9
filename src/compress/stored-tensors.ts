/**
 * The compression step for stored tensors no layer claims (onnx/stored-tensors.ts): each is
 * replaced where it is stored by its compressed form and a decode whose output keeps the
 * tensor's name, so every consumer (in its own graph or in a subgraph) is unchanged.
 *
 * They follow the recipe like layers (`defaults`, or `layers["<tensor name>"]`):
 * - `int8` / `int4`: per-tensor, per-channel (one scale per index of axis 0) or blocks along the
 *   last axis; the target's encoding as for layers (portable and wasm: Cast → Mul, folded at
 *   load; webgpu: DequantizeLinear where the opset allows it, else Cast → Mul).
 * - `fp16`: float16 + Cast back (left to the float16 compute pass when the recipe turns it on).
 * - `prune` (magnitude) zeroes the smallest values first; channel pruning and int8 activations
 *   apply to layers only, and the row says so.
 * Float16 stored tensors are quantized from their float16 values.
 */
import { AppError } from '../core/errors';
import { makeValueInfo } from '../onnx/build';
import { modelGraphs } from '../onnx/names';
import type { TensorLayer } from '../onnx/stored-tensors';
import { tensorByteLength, tensorFloats } from '../onnx/tensor';
import { DataType, type ExternalDataResolver, type Graph, type Model, type Node, type Tensor } from '../onnx/types';
import type { Encoding, LayerReport, WeightReport } from './types';
import { bytesOf, Emitter } from './emit';
import { toFloat16 } from './fp16/fp16';
import type { NameAllocator } from './graph-edit';
import { magnitudePrune } from './prune/prune';
import { dequantizeLinearOpset, emitDequantizeLinear, emitPortable, PORTABLE_MIN_OPSET } from './quantize/encode';
import type { QuantBits } from './quantize/meta';
import { quantizeTensor, type GroupLayout } from './quantize/quantize';
import { resolveRecipe, type LayerSettings, type Recipe, type Target } from './recipe';

export interface StoredTensorContext {
  target: Target;
  names: NameAllocator;
  /** the default-domain opset the compressed model has */
  opset: number;
  external?: ExternalDataResolver;
  /** the recipe turns the float computation to float16 (fp16/compute.ts runs afterwards) */
  fp16Compute: boolean;
  /** nodes the float16 compute pass must leave in float32 (int8/int4 decodes are added) */
  keepFp32?: Map<Node, string>;
}

function describe(e: unknown): string {
  if (e instanceof AppError) return e.message;
  return e instanceof Error ? `Unexpected error: ${e.message}` : String(e);
}

/** Where a tensor is stored now, found by identity (indices shift as other steps edit the graph). */
function locate(model: Model, t: TensorLayer): { graph: Graph; nodes: Node[]; initializer?: Tensor; constant?: Node } | undefined {
  const w = t.weights[0];
  for (const rec of modelGraphs(model)) {
    const graph = rec.graph;
    if (!graph) continue;
    if (w.owner.kind === 'initializer' && w.owner.graph === graph) {
      const initializer = graph.initializers.find((x) => x === w.tensor);
      return initializer ? { graph, nodes: rec.nodes, initializer } : undefined;
    }
    if (w.owner.kind === 'constant' && rec.nodes.includes(w.owner.node)) return { graph, nodes: rec.nodes, constant: w.owner.node };
  }
  return undefined;
}

function layoutFor(s: LayerSettings, shape: number[]): GroupLayout {
  if (s.granularity === 'per-tensor') return { kind: 'tensor' };
  if (s.granularity === 'per-channel') return { kind: 'channel', axis: 0 };
  return { kind: 'block', axis: shape.length - 1, blockSize: s.blockSize };
}

/** Compresses each stored tensor as the recipe asks; returns one report row per tensor. */
export function compressStoredTensors(model: Model, tensors: readonly TensorLayer[], recipe: Recipe, ctx: StoredTensorContext): LayerReport[] {
  if (tensors.length === 0) return [];
  const keys = new Set(tensors.map((t) => t.key));
  const own = Object.fromEntries(Object.entries(recipe.layers).filter(([k]) => keys.has(k)));
  const resolved = resolveRecipe({ ...recipe, layers: own }, tensors);
  return tensors.map((t, i) => {
    const requested = resolved[i].settings;
    const w = t.weights[0];
    const bytes = w.tensor ? safeBytes(w.tensor) : 0;
    const row: LayerReport = {
      key: t.key,
      op: t.op,
      graphPath: t.graphPath,
      requested,
      applied: 'unchanged',
      weights: [],
      bytesBefore: bytes,
      bytesAfter: bytes,
      params: t.params,
      notes: [],
    };
    try {
      compressOne(model, t, row, ctx);
    } catch (e) {
      if (e instanceof AppError && e.code === 'aborted') throw e;
      row.error = describe(e);
      row.weights = [];
      row.applied = 'unchanged';
      row.bytesAfter = row.bytesBefore;
    }
    return row;
  });
}

function safeBytes(t: Tensor): number {
  try {
    return tensorByteLength(t);
  } catch {
    return 0;
  }
}

function compressOne(model: Model, t: TensorLayer, row: LayerReport, ctx: StoredTensorContext): void {
  const s = row.requested;
  const w = t.weights[0];
  const prune = s.pruneMethod === 'magnitude' ? s.prune : 0;
  if (s.prune > 0 && s.pruneMethod === 'channel') row.notes.push('channel pruning applies to layers: a stored tensor is not pruned');
  if (s.activations === 'int8') row.notes.push('int8 activations apply to layers: only its storage follows the recipe');
  if (s.weights === 'fp32' && prune === 0) return;
  if (s.weights === 'fp16' && ctx.fp16Compute) {
    row.notes.push('float16 compute converts it with the rest of the graph');
    return;
  }
  if (s.weights === 'fp16' && w.dataType === DataType.FLOAT16 && prune === 0) {
    row.notes.push(`${w.name}: already float16`);
    return;
  }
  if (ctx.opset < PORTABLE_MIN_OPSET) throw new AppError('unsupported', `the model's opset (${ctx.opset}) is below ${PORTABLE_MIN_OPSET}, the oldest this compressor writes for`);
  const at = locate(model, t);
  if (!at || !w.tensor) throw new AppError('unsupported', `its tensor ${w.name} was not found where it was stored`);
  let values = tensorFloats(w.tensor, ctx.external);
  const shape = w.shape;
  const report: WeightReport = { name: w.name, input: 0, shape, encoding: 'unchanged', bytesBefore: row.bytesBefore, bytesAfter: row.bytesBefore };
  if (prune > 0) {
    const r = magnitudePrune(values, prune);
    values = r.values;
    report.pruned = r.pruned;
  }
  const e = new Emitter(ctx.names, ctx.opset, w.name);
  let encoding: Encoding;
  let output: string;
  const pruned = (): string => {
    if (w.dataType === DataType.FLOAT16) {
      const r = toFloat16(values);
      if (r.ok) return e.init('_pruned', DataType.FLOAT16, shape, bytesOf(r.bits));
    }
    const f = e.floats('_pruned', shape, values);
    return w.dataType === DataType.FLOAT ? f : e.cast(f, w.dataType);
  };
  if (s.weights === 'fp32' || (s.weights === 'fp16' && w.dataType === DataType.FLOAT16)) {
    encoding = 'pruned';
    output = pruned();
  } else if (s.weights === 'fp16') {
    const r = toFloat16(values);
    if (r.ok) {
      encoding = 'fp16-cast';
      output = e.cast(e.init('_fp16', DataType.FLOAT16, shape, bytesOf(r.bits)), w.dataType);
    } else {
      report.note = r.reason;
      if (prune === 0) {
        row.notes.push(`${w.name}: ${r.reason}`);
        return;
      }
      encoding = 'pruned';
      output = pruned();
    }
  } else {
    const bits: QuantBits = s.weights === 'int8' ? 8 : 4;
    const layout = layoutFor(s, shape);
    const qt = quantizeTensor(values, shape, layout, bits, s.symmetric);
    // webgpu: int8 DequantizeLinear per axis or blocked (per-tensor has JSEP bugs; int4 has no WebGPU kernel, INT4_DQ_NOTE), where the opset has it
    if (ctx.target === 'webgpu' && bits === 8 && layout.kind !== 'tensor' && ctx.opset >= dequantizeLinearOpset(bits, layout)) {
      encoding = 'int8-dequantize-linear';
      output = emitDequantizeLinear(e, qt, shape, w.dataType);
    } else {
      encoding = bits === 8 ? 'int8-cast-mul' : 'int4-nibbles-mul';
      output = emitPortable(e, qt, shape, w.dataType);
    }
    for (const n of e.nodes) ctx.keepFp32?.set(n, `decodes the ${s.weights} stored tensor ${w.name}`);
  }
  // the decode's last node writes the tensor's own name, so its readers are unchanged
  const last = e.nodes.find((n) => n.outputs.includes(output));
  if (last) last.outputs = last.outputs.map((o) => (o === output ? w.name : o));
  const listInputs = at.graph === model.graph && (model.irVersion ?? 0) < 4;
  if (at.initializer) {
    at.graph.initializers = at.graph.initializers.filter((x) => x !== at.initializer);
    if (listInputs) at.graph.inputs = at.graph.inputs.filter((v) => v.name !== w.name);
  }
  for (const x of e.initializers) {
    if (!last) {
      // no node: the new initializer itself takes the name (pruned in place)
      x.name = x.name === output ? w.name : x.name;
    }
    at.graph.initializers.push(x);
    if (listInputs) at.graph.inputs.push(makeValueInfo(x.name ?? '', x.dataType, x.dims));
  }
  const pos = at.constant ? at.nodes.indexOf(at.constant) : 0;
  at.nodes.splice(Math.max(0, pos), at.constant ? 1 : 0, ...e.nodes);
  report.encoding = encoding;
  report.bytesAfter = e.storedBytes();
  row.weights = [report];
  row.applied = encoding;
  row.bytesAfter = report.bytesAfter;
  if (report.note) row.notes.push(`${w.name}: ${report.note}`);
}
