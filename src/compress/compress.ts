/**
 * compressModel: applies a recipe to a model, layer by layer, and reports what each layer got.
 *
 * - The input model is never modified (the result is a structural clone sharing tensor bytes).
 * - A bad recipe (unknown layer key) throws before anything is done.
 * - A layer that cannot take its settings is left exactly as it was, with the reason in its row.
 * - Deterministic: the same model and recipe give identical encodeModel bytes.
 *
 * Per layer, for each weight input (role 'weight'; biases and normalization parameters stay as
 * they are): evaluate the weight as the layer sees it (through Identity/Cast/Reshape/Transpose/
 * Unsqueeze/Squeeze/Flatten), prune (magnitude) first, then store it as the requested type with
 * the target's encoding (see quantize/encode.ts), insert the decode nodes right before the layer
 * in the layer's own graph, point the layer at the result, and finally drop the original tensor,
 * Constant node and shape-op chain when nothing else reads them.
 */
import { AppError, throwIfAborted } from '../core/errors';
import { findLayers, type Layer, type LayerWeight } from '../onnx/layers';
import { assignNodeNames, modelGraphs, type GraphRecord } from '../onnx/names';
import { tensorByteLength } from '../onnx/tensor';
import { DataType, type ExternalDataResolver, type Graph, type Model, type Node, type SparseTensor, type Tensor } from '../onnx/types';
import { makeValueInfo } from '../onnx/build';
import { bytesOf, Emitter } from './emit';
import { toFloat16 } from './fp16/fp16';
import {
  cloneModel,
  collectNames,
  constScope,
  graphRecordsByPath,
  NameAllocator,
  removeUnused,
  type ConstScope,
  type RemovalCandidates,
} from './graph-edit';
import { canRaiseOpset, defaultOpset, raiseOpset } from './opset';
import { magnitudePrune } from './prune/prune';
import { dequantizeLinearOpset, emitDequantizeLinear, emitMatMulNBits, emitPortable, PORTABLE_MIN_OPSET } from './quantize/encode';
import type { QuantBits } from './quantize/meta';
import { quantizeTensor, type GroupLayout } from './quantize/quantize';
import { resolveRecipe, type LayerSettings, type Recipe, type Target } from './recipe';
import { effectiveWeight, weightAxes } from './weights';

export type Encoding =
  | 'unchanged'
  | 'pruned'
  | 'fp16-cast'
  | 'int8-cast-mul'
  | 'int4-nibbles-mul'
  | 'int8-dequantize-linear'
  | 'int4-dequantize-linear'
  | 'int4-matmul-nbits';

export interface WeightReport {
  /** the stored tensor's name */
  name: string;
  /** which input of the layer */
  input: number;
  /** shape as the layer sees it */
  shape: number[];
  encoding: Encoding;
  bytesBefore: number;
  bytesAfter: number;
  /** values set to zero by magnitude pruning */
  pruned?: number;
  note?: string;
}

export interface LayerReport {
  key: string;
  op: string;
  graphPath: string;
  requested: LayerSettings;
  /** the encodings its weights got, comma-separated ('unchanged' when none changed) */
  applied: string;
  weights: WeightReport[];
  /** stored bytes of all the layer's constant inputs (weights, biases, others) before and after */
  bytesBefore: number;
  bytesAfter: number;
  params: number;
  notes: string[];
  /** why the layer could not take its settings; it was left as it was */
  error?: string;
}

export interface CompressReport {
  target: Target;
  opset: { before: number | undefined; after: number | undefined; note?: string };
  layers: LayerReport[];
  /** stored bytes of every tensor constant of the model (initializers, Constant nodes, sparse) */
  bytesBefore: number;
  bytesAfter: number;
  layersChanged: number;
  layersFailed: number;
  notes: string[];
}

export interface CompressOptions {
  signal?: AbortSignal;
  /** called before the first layer (0, total, '') and after each layer */
  onProgress?: (done: number, total: number, layerKey: string) => void;
  /** reads weights stored in external data files */
  external?: ExternalDataResolver;
}

export interface CompressResult {
  model: Model;
  report: CompressReport;
}

interface WeightPlan {
  weight: LayerWeight;
  shape: number[];
  dataType: number;
  encoding: Encoding;
  bits?: QuantBits;
  layout?: GroupLayout;
  /** shape the quantizer sees (Conv kernels flattened to [M, rest] for blocks) */
  quantShape?: number[];
  needOpset: number;
  note?: string;
}

interface LayerPlan {
  layer: Layer;
  row: LayerReport;
  rec: GraphRecord;
  scope: ConstScope;
  weights: WeightPlan[];
}

const portableEncoding = (bits: QuantBits): Encoding => (bits === 8 ? 'int8-cast-mul' : 'int4-nibbles-mul');
const dqEncoding = (bits: QuantBits): Encoding => (bits === 8 ? 'int8-dequantize-linear' : 'int4-dequantize-linear');

function sparseBytes(s: SparseTensor): number {
  return (s.values ? tensorByteLength(s.values) : 0) + (s.indices ? tensorByteLength(s.indices) : 0);
}

function storedBytes(w: LayerWeight): number {
  try {
    if (w.sparse) return sparseBytes(w.sparse);
    return w.tensor ? tensorByteLength(w.tensor) : 0;
  } catch {
    return 0;
  }
}

/** Stored bytes of every tensor constant in the model. */
export function modelTensorBytes(model: Model): number {
  let n = 0;
  const add = (t: Tensor | undefined) => {
    if (!t) return;
    try {
      n += tensorByteLength(t);
    } catch {
      /* malformed external info: counted as 0 */
    }
  };
  for (const rec of modelGraphs(model)) {
    if (rec.graph) {
      rec.graph.initializers.forEach(add);
      rec.graph.sparseInitializers.forEach((s) => (n += sparseBytes(s)));
    }
    for (const node of rec.nodes) {
      if (node.opType !== 'Constant') continue;
      for (const a of node.attributes) {
        add(a.t);
        if (a.sparseTensor) n += sparseBytes(a.sparseTensor);
      }
    }
  }
  return n;
}

function describeError(e: unknown): string {
  if (e instanceof AppError) return e.message;
  if (e instanceof Error) return `Unexpected error: ${e.message}`;
  return String(e);
}

/** Chooses layout and encoding for one weight (no tensor data is read). */
function planWeight(layer: Layer, w: LayerWeight, scope: ConstScope, s: LayerSettings, target: Target, external?: ExternalDataResolver): WeightPlan {
  const eff = effectiveWeight(w, scope, false, external);
  const base = { weight: w, shape: eff.shape, dataType: eff.dataType };
  if (eff.shape.some((d) => d === 0)) throw new AppError('unsupported', `its weight ${w.name} is empty`);
  if (s.weights === 'fp32') return { ...base, encoding: s.prune > 0 ? 'pruned' : 'unchanged', needOpset: 0 };
  if (s.weights === 'fp16') {
    if (eff.dataType === DataType.FLOAT16 || w.dataType === DataType.FLOAT16) {
      // stored as float16 already (read as is, or through a Cast): nothing to gain unless pruned
      if (s.prune === 0) return { ...base, encoding: 'unchanged', needOpset: 0, note: 'already float16' };
      if (eff.dataType === DataType.FLOAT16) return { ...base, encoding: 'pruned', needOpset: 0 };
    }
    return { ...base, encoding: 'fp16-cast', needOpset: PORTABLE_MIN_OPSET };
  }
  const bits: QuantBits = s.weights === 'int8' ? 8 : 4;
  const rank = eff.shape.length;
  const axes = weightAxes(layer, w.inputIndex, rank);
  let layout: GroupLayout;
  let quantShape = eff.shape;
  if (s.granularity === 'per-tensor') layout = { kind: 'tensor' };
  else if (s.granularity === 'per-channel') {
    if (axes.channelAxis === undefined) {
      throw new AppError('unsupported', `per-channel needs an output-channel axis, and ${layer.op} input ${w.inputIndex} (rank ${rank}) has none`);
    }
    layout = { kind: 'channel', axis: axes.channelAxis };
  } else {
    if (axes.blockAxis === undefined) {
      throw new AppError('unsupported', `block needs a reduction axis, and ${layer.op} input ${w.inputIndex} (rank ${rank}) has none`);
    }
    if (axes.flattenForBlock) {
      quantShape = [eff.shape[0], eff.shape.slice(1).reduce((p, d) => p * d, 1)];
      layout = { kind: 'block', axis: 1, blockSize: s.blockSize };
    } else layout = { kind: 'block', axis: axes.blockAxis, blockSize: s.blockSize };
  }
  const plan = { ...base, bits, layout, quantShape };
  if (target === 'webgpu') {
    const isMatMulB = layer.op === 'MatMul' && (!layer.domain || layer.domain === 'ai.onnx') && w.inputIndex === 1 && rank === 2;
    if (bits === 4 && layout.kind === 'block' && isMatMulB && eff.dataType === DataType.FLOAT) {
      return { ...plan, encoding: 'int4-matmul-nbits', needOpset: 0 };
    }
    if (layout.kind === 'tensor') {
      return {
        ...plan,
        encoding: portableEncoding(bits),
        needOpset: PORTABLE_MIN_OPSET,
        note: 'per-tensor DequantizeLinear has known WebGPU (JSEP) bugs (onnxruntime #32578): portable encoding, folded at load',
      };
    }
    return { ...plan, encoding: dqEncoding(bits), needOpset: dequantizeLinearOpset(bits, layout) };
  }
  return { ...plan, encoding: portableEncoding(bits), needOpset: PORTABLE_MIN_OPSET };
}

function storeFloats(e: Emitter, suffix: string, values: Float32Array, shape: number[], dataType: number): string {
  if (dataType === DataType.FLOAT) return e.floats(suffix, shape, values);
  if (dataType === DataType.FLOAT16) {
    const r = toFloat16(values);
    if (r.ok) return e.init(suffix, DataType.FLOAT16, shape, bytesOf(r.bits));
  }
  return e.cast(e.floats(suffix, shape, values), dataType);
}

interface Staged {
  plan: WeightPlan;
  output?: string;
  emitter?: Emitter;
  matMulNBits?: { inputs: string[]; attributes: Node['attributes'] };
  report: WeightReport;
}

function stageWeight(plan: WeightPlan, lp: LayerPlan, names: NameAllocator, opset: number, external?: ExternalDataResolver): Staged {
  const w = plan.weight;
  const s = lp.row.requested;
  const report: WeightReport = {
    name: w.name,
    input: w.inputIndex,
    shape: plan.shape,
    encoding: plan.encoding,
    bytesBefore: storedBytes(w),
    bytesAfter: storedBytes(w),
    ...(plan.note ? { note: plan.note } : {}),
  };
  if (plan.encoding === 'unchanged') return { plan, report };
  const eff = effectiveWeight(w, lp.scope, true, external);
  let values = eff.values as Float32Array;
  if (s.prune > 0 && s.pruneMethod === 'magnitude') {
    const r = magnitudePrune(values, s.prune);
    values = r.values;
    report.pruned = r.pruned;
  }
  const e = new Emitter(names, opset, w.name);
  let encoding: Encoding = plan.encoding;
  let output: string | undefined;
  let matMulNBits: Staged['matMulNBits'];
  switch (plan.encoding) {
    case 'pruned':
      output = storeFloats(e, '_pruned', values, plan.shape, plan.dataType);
      break;
    case 'fp16-cast': {
      const r = toFloat16(values);
      if (r.ok) {
        output = e.cast(e.init('_fp16', DataType.FLOAT16, plan.shape, bytesOf(r.bits)), plan.dataType);
      } else {
        report.note = r.reason;
        if (report.pruned !== undefined) {
          encoding = 'pruned';
          output = storeFloats(e, '_pruned', values, plan.shape, plan.dataType);
        } else encoding = 'unchanged';
      }
      break;
    }
    default: {
      const qt = quantizeTensor(values, plan.quantShape as number[], plan.layout as GroupLayout, plan.bits as QuantBits, s.symmetric);
      if (plan.encoding === 'int4-matmul-nbits') matMulNBits = emitMatMulNBits(e, qt);
      else if (plan.encoding === 'int8-cast-mul' || plan.encoding === 'int4-nibbles-mul') output = emitPortable(e, qt, plan.shape, plan.dataType);
      else output = emitDequantizeLinear(e, qt, plan.shape, plan.dataType);
    }
  }
  report.encoding = encoding;
  if (encoding !== 'unchanged') report.bytesAfter = e.storedBytes();
  return { plan, output, emitter: encoding === 'unchanged' ? undefined : e, matMulNBits, report };
}

function addCandidates(c: RemovalCandidates, w: LayerWeight): void {
  for (const n of w.viaNodes) c.nodes.add(n);
  if (w.owner.kind === 'constant') c.nodes.add(w.owner.node);
  else {
    let set = c.initializers.get(w.owner.graph);
    if (!set) c.initializers.set(w.owner.graph, (set = new Set()));
    set.add(w.name);
  }
}

function commitLayer(model: Model, lp: LayerPlan, staged: Staged[], c: RemovalCandidates): void {
  const graph = lp.rec.graph as Graph;
  const node = lp.layer.node;
  const newNodes: Node[] = [];
  const listInputs = graph === model.graph && (model.irVersion ?? 0) < 4;
  for (const st of staged) {
    if (!st.emitter) continue;
    newNodes.push(...st.emitter.nodes);
    for (const t of st.emitter.initializers) {
      graph.initializers.push(t);
      // IR < 4 files list every initializer as a graph input too: keep to their convention
      if (listInputs) graph.inputs.push(makeValueInfo(t.name ?? '', t.dataType, t.dims));
    }
    if (st.matMulNBits) {
      node.opType = 'MatMulNBits';
      node.domain = 'com.microsoft';
      node.inputs = [node.inputs[0], ...st.matMulNBits.inputs];
      node.attributes = st.matMulNBits.attributes;
      if (!model.opsetImport.some((o) => o.domain === 'com.microsoft')) model.opsetImport.push({ domain: 'com.microsoft', version: 1 });
    } else if (st.output) {
      node.inputs[st.plan.weight.inputIndex] = st.output;
    }
    addCandidates(c, st.plan.weight);
  }
  const at = lp.rec.nodes.indexOf(node);
  lp.rec.nodes.splice(at < 0 ? 0 : at, 0, ...newNodes);
}

function summarize(weights: WeightReport[]): string {
  const set = [...new Set(weights.map((w) => w.encoding).filter((x) => x !== 'unchanged'))];
  return set.length === 0 ? 'unchanged' : set.join(', ');
}

/** Applies `recipe` to a copy of `model`. Throws AppError('invalid-argument') for a bad recipe, 'aborted' when cancelled. */
export function compressModel(model: Model, recipe: Recipe, options: CompressOptions = {}): CompressResult {
  const { signal, onProgress, external } = options;
  throwIfAborted(signal);
  const out = cloneModel(model);
  assignNodeNames(out);
  const layers = findLayers(out);
  const resolved = resolveRecipe(recipe, layers);
  const target = recipe.target;
  const records = graphRecordsByPath(out);
  const names = new NameAllocator(collectNames(out));
  const opsetBefore = defaultOpset(out);
  const notes: string[] = [];
  const bytesBefore = modelTensorBytes(model);
  const scopes = new Map<GraphRecord, ConstScope>();

  // 1. Plan every layer without reading weight data.
  const plans: LayerPlan[] = [];
  const rows: LayerReport[] = [];
  layers.forEach((layer, i) => {
    const s = resolved[i].settings;
    let bytes = 0;
    for (const w of layer.weights) bytes += storedBytes(w);
    const row: LayerReport = {
      key: layer.key,
      op: layer.op,
      graphPath: layer.graphPath,
      requested: s,
      applied: 'unchanged',
      weights: [],
      bytesBefore: bytes,
      bytesAfter: bytes,
      params: layer.params,
      notes: [],
    };
    rows.push(row);
    if (s.weights === 'fp32' && s.prune === 0 && s.activations === 'fp32') return;
    try {
      if (s.activations === 'int8') throw new AppError('unsupported', 'int8 activations are not implemented yet');
      if (s.prune > 0 && s.pruneMethod === 'channel') throw new AppError('unsupported', 'channel pruning is not implemented yet');
      const rec = records.get(layer.graphPath);
      if (!rec) throw new AppError('unsupported', 'its graph was not found');
      if (!rec.graph) throw new AppError('unsupported', 'layers inside model-local functions are not supported yet');
      if (rec.kind === 'training') throw new AppError('unsupported', 'layers of training graphs are not supported');
      if (opsetBefore === undefined || opsetBefore < PORTABLE_MIN_OPSET) {
        throw new AppError('unsupported', `the model's opset (${opsetBefore ?? 'none'}) is below ${PORTABLE_MIN_OPSET}, the oldest this compressor writes for`);
      }
      let scope = scopes.get(rec);
      if (!scope) scopes.set(rec, (scope = constScope(rec)));
      const weights: WeightPlan[] = [];
      for (const w of layer.weights) if (w.role === 'weight') weights.push(planWeight(layer, w, scope, s, target, external));
      plans.push({ layer, row, rec, scope, weights });
    } catch (e) {
      row.error = describeError(e);
    }
  });

  // 2. Decide the opset: raise it only as far as every node stays valid.
  let opset = opsetBefore ?? 0;
  let opsetNote: string | undefined;
  const needs = [...new Set(plans.flatMap((p) => p.weights.map((w) => w.needOpset)).filter((v) => v > opset))].sort((a, b) => b - a);
  const refusals: string[] = [];
  for (const v of needs) {
    const check = canRaiseOpset(out, v);
    if (check.ok) {
      raiseOpset(out, v);
      opsetNote = `raised from ${opset} to ${v} for DequantizeLinear`;
      opset = v;
      break;
    }
    refusals.push(`opset ${v}: ${check.reason}`);
  }
  for (const p of plans) {
    for (const w of p.weights) {
      if (w.needOpset > opset && w.bits) {
        const why = refusals.find((r) => r.startsWith(`opset ${w.needOpset}:`)) ?? `opset ${w.needOpset} is needed`;
        w.note = `DequantizeLinear needs opset ${w.needOpset} and the model (opset ${opsetBefore}) cannot be raised (${why.replace(/^opset \d+: /, '')}): portable encoding`;
        w.encoding = portableEncoding(w.bits);
        w.needOpset = PORTABLE_MIN_OPSET;
      }
    }
  }
  if (refusals.length > 0) opsetNote = opsetNote ? `${opsetNote}; not to ${refusals.join('; ')}` : `kept: ${refusals.join('; ')}`;

  // 3. Apply, layer by layer; a failing layer is left as it was.
  const candidates: RemovalCandidates = { nodes: new Set(), initializers: new Map() };
  const total = plans.length;
  onProgress?.(0, total, '');
  plans.forEach((lp, i) => {
    throwIfAborted(signal);
    try {
      const staged = lp.weights.map((wp) => stageWeight(wp, lp, names, opset, external));
      commitLayer(out, lp, staged, candidates);
      lp.row.weights = staged.map((st) => st.report);
      lp.row.applied = summarize(lp.row.weights);
      for (const st of staged) if (st.report.note) lp.row.notes.push(`${st.report.name}: ${st.report.note}`);
    } catch (e) {
      if (e instanceof AppError && e.code === 'aborted') throw e;
      lp.row.error = describeError(e);
    }
    onProgress?.(i + 1, total, lp.layer.key);
  });
  throwIfAborted(signal);

  // 4. Drop the stored tensors and chains nothing reads any more.
  removeUnused(out, candidates);

  for (const row of rows) {
    if (row.weights.length === 0) continue;
    let delta = 0;
    for (const w of row.weights) delta += w.bytesAfter - w.bytesBefore;
    row.bytesAfter = row.bytesBefore + delta;
  }
  if (target === 'wasm') {
    notes.push('wasm: weight-only encodings folded to float32 at load (never slower than the original); int8 activations (static QDQ, dynamic MatMulInteger) are not implemented yet');
  }
  if (target === 'webgpu' && rows.some((r) => r.requested.weights === 'fp16')) {
    notes.push('webgpu: fp16 stores weights as float16 (cast to float32 at load); float16 compute is not implemented yet');
  }
  return {
    model: out,
    report: {
      target,
      opset: { before: opsetBefore, after: defaultOpset(out), ...(opsetNote ? { note: opsetNote } : {}) },
      layers: rows,
      bytesBefore,
      bytesAfter: modelTensorBytes(out),
      layersChanged: rows.filter((r) => !r.error && r.applied !== 'unchanged').length,
      layersFailed: rows.filter((r) => r.error !== undefined).length,
      notes,
    },
  };
}

