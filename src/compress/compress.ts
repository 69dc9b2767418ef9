/**
 * compressModel: applies a recipe to a model, layer by layer, and reports what each layer got.
 *
 * - The input model is never modified (the result is a structural clone sharing tensor bytes).
 * - A bad recipe (unknown layer key) throws before anything is done.
 * - A layer that cannot take its settings is left exactly as it was, with the reason in its row.
 * - Deterministic: the same model and recipe give identical encodeModel bytes.
 *
 * First the clean-up passes the recipe asks for (all by default: Constants to initializers, drop
 * Identity/Dropout, fold BatchNormalization, dead code, shared initializers; see cleanup/), so
 * that scales are chosen on folded weights; then channel pruning (prune/channel.ts) for the layers
 * asking for `pruneMethod: "channel"`, which removes output channels and rewires their consumers.
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
import { findStoredTensors } from '../onnx/stored-tensors';
import { assignNodeNames, modelGraphs, type GraphRecord } from '../onnx/names';
import { tensorByteLength } from '../onnx/tensor';
import { DataType, type ExternalDataResolver, type Graph, type Model, type Node, type SparseTensor, type Tensor } from '../onnx/types';
import { makeValueInfo } from '../onnx/build';
import { applyActivations, GraphIndex, planActivation, type ActivationItem, type ActivationPlan, type ActivationReport, type PlanEnv } from './activations/activations';
import type { Calibration } from './activations/calibrate';
import { guardActivations } from './activations/cost';
import type { ActivationEncoding } from './activations/meta';
import { runCleanup } from './cleanup/cleanup';
import type { CleanupReport } from './cleanup/meta';
import { bytesOf, Emitter } from './emit';
import { convertComputeToFloat16, type Fp16ComputeReport } from './fp16/compute';
import { toFloat16 } from './fp16/fp16';
import {
  addCandidates,
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
import { channelPrune, floatParamCount, type ChannelPruneReport } from './prune/channel';
import { magnitudePrune } from './prune/prune';
import { dequantizeLinearOpset, emitDequantizeLinear, emitMatMulNBits, emitPortable, PORTABLE_MIN_OPSET } from './quantize/encode';
import type { QuantBits } from './quantize/meta';
import { quantizeTensor, type GroupLayout } from './quantize/quantize';
import { cleanupOptions, fp16Compute as isFp16Compute, resolveRecipe, type LayerSettings, type Recipe, type Target } from './recipe';
import { compressStoredTensors } from './stored-tensors';
import { effectiveWeight, weightAxes, weightStoredBytes } from './weights';

export type Encoding =
  | 'unchanged'
  | 'pruned'
  | 'channel-pruned'
  | 'fp16-cast'
  | 'fp16-compute'
  | 'int8-cast-mul'
  | 'int4-nibbles-mul'
  | 'int8-dequantize-linear'
  | 'int4-dequantize-linear'
  | 'int4-matmul-nbits'
  | ActivationEncoding;

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
  /** elements of all its constant inputs, before compression */
  params: number;
  /** the same after channel pruning (present when its tensors shrank) */
  paramsAfter?: number;
  notes: string[];
  /** int8 activations: static (calibrated) or dynamic, and the tensors quantized */
  activations?: ActivationReport;
  /** why the layer could not take its settings; it was left as it was */
  error?: string;
  /** its weights were stored quantized already (what it is: 'MatMulNBits 4-bit', 'QLinearConv int8' …); it was left as it was */
  quantized?: string;
  /** target webgpu with fp16 weights: whether the layer computes in float16, or why not */
  compute?: { type: 'fp16' | 'fp32'; reason?: string };
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
  /** what each clean-up pass did */
  cleanup?: CleanupReport;
  /** channel pruning: the groups pruned and refused */
  pruning?: ChannelPruneReport;
  /** elements of every float tensor constant: of the input, and after clean-up and pruning (quantizing keeps the count) */
  params?: { before: number; after: number };
  /** target webgpu with fp16 default weights: the float16 compute conversion (fp16/compute.ts) */
  fp16Compute?: Fp16ComputeReport;
}

export interface CompressOptions {
  signal?: AbortSignal;
  /** called before the first layer (0, total, '') and after each layer */
  onProgress?: (done: number, total: number, layerKey: string) => void;
  /** reads weights stored in external data files */
  external?: ExternalDataResolver;
  /** activation ranges for `activations: "int8"` (activations/calibrate.ts collects them) */
  calibration?: Calibration;
  /**
   * int8 activations only where the shape-based cost estimate says integer kernels pay off
   * (activations/cost.ts); default true. false writes them wherever asked (tests, benchmarks).
   */
  activationCostGuard?: boolean;
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
  /** int8 activations (its weights are written by applyActivations) */
  activation?: { plan: ActivationPlan; settings: LayerSettings };
}

const portableEncoding = (bits: QuantBits): Encoding => (bits === 8 ? 'int8-cast-mul' : 'int4-nibbles-mul');
const dqEncoding = (bits: QuantBits): Encoding => (bits === 8 ? 'int8-dequantize-linear' : 'int4-dequantize-linear');



function sparseBytes(s: SparseTensor): number {
  return (s.values ? tensorByteLength(s.values) : 0) + (s.indices ? tensorByteLength(s.indices) : 0);
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
function planWeight(layer: Layer, w: LayerWeight, scope: ConstScope, s: LayerSettings, target: Target, external?: ExternalDataResolver, fp16Compute = false): WeightPlan {
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
    if (fp16Compute && eff.dataType === DataType.FLOAT) return { ...base, encoding: 'fp16-compute', needOpset: PORTABLE_MIN_OPSET };
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
    bytesBefore: weightStoredBytes(w),
    bytesAfter: weightStoredBytes(w),
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
    case 'fp16-cast':
    case 'fp16-compute': {
      const r = toFloat16(values);
      if (r.ok) {
        const half = e.init('_fp16', DataType.FLOAT16, plan.shape, bytesOf(r.bits));
        // fp16 compute: the layer reads the float16 tensor itself (the graph is converted afterwards)
        output = plan.encoding === 'fp16-compute' ? half : e.cast(half, plan.dataType);
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


function commitLayer(model: Model, lp: LayerPlan, staged: Staged[], c: RemovalCandidates, emitted?: Node[]): void {
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
  emitted?.push(...newNodes);
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
  const names = new NameAllocator(collectNames(out));
  // layer keys are checked before anything changes
  const original = findLayers(out);
  resolveRecipe(recipe, [...original, ...findStoredTensors(out, original)]);
  const paramsBefore = floatParamCount(out);
  const cleanup = runCleanup(out, cleanupOptions(recipe), { names, external });
  throwIfAborted(signal);
  // (a dead layer removed by clean-up is no longer addressed)
  const present = (ls: { key: string }[]) => {
    const keys = new Set(ls.map((l) => l.key));
    return { ...recipe, layers: Object.fromEntries(Object.entries(recipe.layers).filter(([k]) => keys.has(k))) };
  };
  let layers = findLayers(out);
  let resolved = resolveRecipe(present(layers), layers);
  const before = new Map(layers.map((l) => [l.key, { params: l.params, bytes: l.weights.reduce((n, w) => n + weightStoredBytes(w), 0) }]));
  const channelRequests = resolved.filter((r) => r.settings.prune > 0 && r.settings.pruneMethod === 'channel').map((r) => ({ key: r.key, fraction: r.settings.prune }));
  const channel = channelRequests.length > 0 ? channelPrune(out, channelRequests, { names, external, signal }) : undefined;
  if (channel) {
    layers = findLayers(out);
    resolved = resolveRecipe(present(layers), layers);
  }
  // large float tensors no layer claims, compressed where they are stored (stored-tensors.ts)
  const storedTensors = findStoredTensors(out, layers);
  const target = recipe.target;
  // webgpu with float16 weights by default: the whole float computation goes float16 (fp16/compute.ts)
  const fp16Compute = isFp16Compute(recipe);
  const records = graphRecordsByPath(out);
  const opsetBefore = defaultOpset(out);
  const notes: string[] = [];
  const bytesBefore = modelTensorBytes(model);
  const scopes = new Map<GraphRecord, ConstScope>();
  let actEnv: PlanEnv | undefined;
  const activationEnv = (): PlanEnv => {
    if (actEnv) return actEnv;
    const allowed = new Map<number, boolean>();
    const opsetAllows = (v: number) => {
      if ((opsetBefore ?? 0) >= v) return true;
      if (!allowed.has(v)) allowed.set(v, canRaiseOpset(out, v).ok);
      return allowed.get(v) as boolean;
    };
    return (actEnv = { target, calibration: options.calibration, opsetAllows, graph: new GraphIndex(out), external });
  };

  // 1. Plan every layer without reading weight data.
  const plans: LayerPlan[] = [];
  const rows: LayerReport[] = [];
  /** stored bytes of each row's layer after channel pruning (what quantization starts from) */
  const baseBytes = new Map<LayerReport, number>();
  layers.forEach((layer, i) => {
    const requested = resolved[i].settings;
    // channel pruning is done: what is left for this layer is its weight encoding
    const s = requested.pruneMethod === 'channel' ? { ...requested, prune: 0 } : requested;
    let bytes = 0;
    for (const w of layer.weights) bytes += weightStoredBytes(w);
    const was = before.get(layer.key);
    const row: LayerReport = {
      key: layer.key,
      op: layer.op,
      graphPath: layer.graphPath,
      requested,
      applied: 'unchanged',
      weights: [],
      bytesBefore: was?.bytes ?? bytes,
      bytesAfter: bytes,
      params: was?.params ?? layer.params,
      notes: [],
    };
    rows.push(row);
    baseBytes.set(row, bytes);
    const ch = channel?.layers.get(layer.key);
    if (ch) {
      row.notes.push(...ch.notes);
      if (layer.params !== row.params) row.paramsAfter = layer.params;
      if (ch.error) {
        row.error = ch.error;
        return;
      }
      if (ch.notes.some((n) => !n.startsWith('input channels'))) row.applied = 'channel-pruned';
    }
    if (layer.quantized) {
      // stored quantized already (ConvInteger, QLinear*, MatMulNBits, DequantizeLinear …): left alone
      row.quantized = layer.quantized;
      row.notes.push(`already quantized (${layer.quantized}): left as it is`);
      return;
    }
    if (s.weights === 'fp32' && s.prune === 0 && s.activations === 'fp32') return;
    try {
      const rec = records.get(layer.graphPath);
      if (!rec) throw new AppError('unsupported', 'its graph was not found');
      if (!rec.graph) throw new AppError('unsupported', 'layers inside model-local functions are not supported yet');
      if (rec.kind === 'training') throw new AppError('unsupported', 'layers of training graphs are not supported');
      if (opsetBefore === undefined || opsetBefore < PORTABLE_MIN_OPSET) {
        throw new AppError('unsupported', `the model's opset (${opsetBefore ?? 'none'}) is below ${PORTABLE_MIN_OPSET}, the oldest this compressor writes for`);
      }
      let scope = scopes.get(rec);
      if (!scope) scopes.set(rec, (scope = constScope(rec)));
      let activation: LayerPlan['activation'];
      if (s.activations === 'int8') {
        const r = planActivation(layer, rec, scope, s, activationEnv());
        if ('plan' in r) activation = { plan: r.plan, settings: s };
        else row.notes.push(r.fallback);
      }
      const weights: WeightPlan[] = [];
      if (!activation) for (const w of layer.weights) if (w.role === 'weight') weights.push(planWeight(layer, w, scope, s, target, external, fp16Compute));
      plans.push({ layer, row, rec, scope, weights, activation });
    } catch (e) {
      row.error = describeError(e);
    }
  });

  // 1b. The cost guard: int8 activations only where integer kernels pay off (activations/cost.ts).
  const guarded = plans.filter((p) => p.activation);
  if (guarded.length > 0 && options.activationCostGuard !== false) {
    const decision = guardActivations(out, guarded.map((p) => ({ key: p.layer.key, node: p.layer.node })));
    for (const lp of guarded) {
      if (decision.keep.has(lp.layer.key)) continue;
      lp.activation = undefined;
      lp.row.notes.push(decision.reasons.get(lp.layer.key) ?? 'int8 activations: weights only');
      try {
        for (const w of lp.layer.weights) if (w.role === 'weight') lp.weights.push(planWeight(lp.layer, w, lp.scope, lp.row.requested.pruneMethod === 'channel' ? { ...lp.row.requested, prune: 0 } : lp.row.requested, target, external, fp16Compute));
      } catch (e) {
        lp.row.error = describeError(e);
        lp.weights = [];
      }
    }
    if (decision.dropped) notes.push(decision.dropped);
    for (let i = plans.length - 1; i >= 0; i--) if (plans[i].row.error) plans.splice(i, 1);
  }

  // 2. Decide the opset: raise it only as far as every node stays valid.
  let opset = opsetBefore ?? 0;
  let opsetNote: string | undefined;
  const needs = [...new Set(plans.flatMap((p) => [...p.weights.map((w) => w.needOpset), p.activation?.plan.needOpset ?? 0]).filter((v) => v > opset))].sort((a, b) => b - a);
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
  const halfWeights = new Set<string>();
  const keepFp32 = new Map<Node, string>();
  const total = plans.length;
  onProgress?.(0, total, '');
  let done = 0;
  const actItems: ActivationItem[] = [];
  plans.forEach((lp) => {
    throwIfAborted(signal);
    if (lp.activation) {
      actItems.push({ layer: lp.layer, plan: lp.activation.plan, settings: lp.activation.settings, scope: lp.scope, row: lp.row });
      return;
    }
    try {
      const staged = lp.weights.map((wp) => stageWeight(wp, lp, names, opset, external));
      const emitted: Node[] = [];
      commitLayer(out, lp, staged, candidates, emitted);
      if (fp16Compute) {
        for (const st of staged) if (st.report.encoding === 'fp16-compute' && st.output) halfWeights.add(st.output);
        if (lp.row.requested.weights !== 'fp16') for (const n of emitted) keepFp32.set(n, `decodes the ${lp.row.requested.weights} weights of ${lp.layer.key}`);
      }
      lp.row.weights = staged.map((st) => st.report);
      const enc = summarize(lp.row.weights);
      lp.row.applied = lp.row.applied === 'channel-pruned' ? (enc === 'unchanged' ? lp.row.applied : `channel-pruned, ${enc}`) : enc;
      for (const st of staged) if (st.report.note) lp.row.notes.push(`${st.report.name}: ${st.report.note}`);
    } catch (e) {
      if (e instanceof AppError && e.code === 'aborted') throw e;
      lp.row.error = describeError(e);
    }
    onProgress?.(++done, total, lp.layer.key);
  });
  throwIfAborted(signal);
  // int8 activations: one pass over the main graph (tensors are shared between layers)
  applyActivations(out, actItems, { names, opset, calibration: options.calibration, external, candidates });
  for (const it of actItems) onProgress?.(++done, total, it.layer.key);
  throwIfAborted(signal);
  rows.push(...compressStoredTensors(out, storedTensors, recipe, { target, names, opset, external, fp16Compute, keepFp32 }));

  // 4. Drop the stored tensors and chains nothing reads any more.
  removeUnused(out, candidates);

  // 5. float16 compute: every float computation of the graph in float16, casts at the model's edges.
  let fp16Report: Fp16ComputeReport | undefined;
  if (fp16Compute) {
    for (const [i, layer] of layers.entries()) {
      const row = rows[i];
      if (row.error) keepFp32.set(layer.node, `left as it was (${row.error})`);
      else if (row.requested.weights !== 'fp16') keepFp32.set(layer.node, `the recipe asks for ${row.requested.weights} weights here`);
    }
    const r = convertComputeToFloat16(out, { names, keep: keepFp32, halfWeights, external });
    fp16Report = r.report;
    layers.forEach((layer, i) => {
      const c = r.compute.get(layer.node);
      if (c === undefined) return;
      rows[i].compute = c === 'fp16' ? { type: 'fp16' } : { type: 'fp32', reason: c };
      rows[i].notes.push(c === 'fp16' ? 'computes in float16' : `computes in float32: ${c}`);
    });
    const big = fp16Report.overflow.map((o) => `${o.name} (${o.count} value${o.count === 1 ? '' : 's'}, max |v| ${o.maxAbs})`);
    notes.push(
      `webgpu fp16: float16 compute in ${fp16Report.converted} nodes, ${fp16Report.kept.length} kept in float32 (${fp16Report.casts} casts at the boundaries); inputs and outputs stay float32` +
        (big.length > 0 ? `; beyond float16's range, kept float32 with their readers: ${big.join(', ')}` : ''),
    );
  }

  for (const row of rows) {
    if (row.weights.length === 0) continue;
    let delta = 0;
    for (const w of row.weights) delta += w.bytesAfter - w.bytesBefore;
    row.bytesAfter = (baseBytes.get(row) ?? row.bytesBefore) + delta;
  }
  if (target === 'wasm') {
    notes.push('wasm: weight-only encodings are folded to float32 at load (fp32 speed); int8 activations run integer kernels (static QDQ: QLinearConv/QLinearMatMul/QGemm; dynamic: DynamicQuantizeMatMul)');
    if (actItems.length > 0) {
      notes.push(
        options.activationCostGuard === false
          ? 'int8 activations written wherever asked (cost guard off): on small layers the quantize steps around them can cost more than they save (measure: scripts/bench-wasm-speed.ts)'
          : 'int8 activations kept only on layers whose estimated work (MACs, from shapes) is large enough for integer kernels to pay off on wasm (docs/COMPRESS-SPEED.md)',
      );
    }
    const cal = options.calibration;
    if (actItems.length > 0 && cal) {
      const sets = cal.source === 'synthesized' ? 'synthesized (random) input sets' : 'sample input sets';
      notes.push(`calibration: ${cal.samples ?? 'unknown number of'} ${sets}, ranges clipped at the ${cal.percentile ?? 100}th percentile`);
    }
  }
  if (target === 'webgpu' && !fp16Compute && rows.some((r) => r.requested.weights === 'fp16')) {
    notes.push("webgpu: fp16 layers store float16 weights (cast to float32 at load) and compute in float32; float16 compute applies when the recipe's default weights are fp16");
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
      cleanup,
      ...(channel ? { pruning: channel.report } : {}),
      params: { before: paramsBefore, after: channel?.report.paramsAfter ?? floatParamCount(out) },
      ...(fp16Report ? { fp16Compute: fp16Report } : {}),
    },
  };
}

