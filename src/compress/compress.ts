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
 *
 * The pipeline (compressModel below) runs these steps, each a function of its own:
 *   prepare          clone, name nodes, resolve the recipe once (its layer keys checked first)
 *   cleanup          the clean-up passes (cleanup/)
 *   channel pruning  prune/step.ts
 *   plan             per layer: its row, and the weight plans (layer-weights.ts: fp16/, quantize/)
 *                    or the int8 activation plan (activations/)
 *   guard            the activations' cost guard (activations/step.ts)
 *   opset            raise the opset as far as the plans need and every node allows
 *   apply            stage and commit every layer's weights; int8 activations in one pass
 *   stored tensors   large float tensors no layer claims, where they are stored (stored-tensors.ts)
 *   remove unused    tensors and chains nothing reads any more
 *   float16 compute  fp16/step.ts (target webgpu, fp16 default weights)
 *   report           bytes, counts and the model's notes
 */
import { AppError, throwIfAborted } from '../core/errors';
import { attrInt, attrInts } from '../onnx/attributes';
import { attr } from '../onnx/build';
import { findLayers, type Layer, type LayerWeight } from '../onnx/layers';
import { assignNodeNames, modelGraphs, type GraphRecord } from '../onnx/names';
import { findStoredTensors, type TensorLayer } from '../onnx/stored-tensors';
import { tensorByteLength, tensorValues } from '../onnx/tensor';
import type { Attribute, Model, Node, SparseTensor, Tensor } from '../onnx/types';
import { applyActivations, asDynamic, planActivation, type ActivationItem, type ActivationPlan, type PlanEnv } from './activations/activations';
import { activationEnv, guardActivationLayers, wasmNotes } from './activations/step';
import { runCleanup } from './cleanup/cleanup';
import type { CleanupReport } from './cleanup/meta';
import type { Fp16ComputeReport } from './fp16/compute';
import { fp16ComputeStep } from './fp16/step';
import { addCandidates, cloneModel, collectNames, constScope, graphRecordsByPath, NameAllocator, removeUnused, type ConstScope, type RemovalCandidates } from './graph-edit';
import { commitLayer, planLayerWeights, stageCorrectedBias, stageWeight, summarizeEncodings, toMatMulNBits, type StageEnv, type WrittenWeight } from './layer-weights';
import { canRaiseOpset, defaultOpset, raiseOpset } from './opset';
import type { ChannelPruneResult } from './prune/channel';
import { floatParamCount } from './prune/channel';
import { afterChannelPruning, channelPruneStep } from './prune/step';
import { equalizeModel } from './recovery/equalize';
import { accumulateHessian, recoveredInput, sharedHessian, stateKey, stateRecoverable, weightMatrix, type HessianSource, type LayerHessian } from './recovery/hessian';
import { biasDelta } from './recovery/step';
import { PORTABLE_MIN_OPSET } from './quantize/encode';
import { fallBackToPortable } from './quantize/step';
import { cleanupOptions, fp16Compute as isFp16Compute, settingsResolver, type LayerSettings, type Recipe, type Target } from './recipe';
import { compressStoredTensors } from './stored-tensors';
import type { CompressOptions, CompressResult, LayerReport, StagedWeight, WeightPlan, WeightReport } from './types';
import { weightAxes, weightStoredBytes } from './weights';

export type { CompressOptions, CompressReport, CompressResult, Encoding, LayerReport, WeightReport } from './types';

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

/** One compression run: what every step reads and adds to. */
interface Run {
  /** the copy being compressed */
  out: Model;
  recipe: Recipe;
  options: CompressOptions;
  names: NameAllocator;
  target: Target;
  /** webgpu with float16 weights by default: the whole float computation goes float16 (fp16/compute.ts) */
  fp16Compute: boolean;
  /** a layer's effective settings (the recipe resolved once) */
  settingsOf: (key: string) => LayerSettings;
  paramsBefore: number;
  cleanup: CleanupReport;
  /** the layers after clean-up and channel pruning */
  layers: Layer[];
  /** stored bytes and params of each layer before channel pruning */
  before: Map<string, { params: number; bytes: number }>;
  channel?: ChannelPruneResult;
  /** large float tensors no layer claims, compressed where they are stored (stored-tensors.ts) */
  storedTensors: TensorLayer[];
  /** stored bytes of each row's layer after channel pruning (what quantization starts from) */
  baseBytes: Map<LayerReport, number>;
  opsetBefore: number | undefined;
  /** the report's model-wide notes */
  notes: string[];
  /** H comes for the recovered layers (CompressOptions.recovery, or a HessianSource) */
  recovering: boolean;
}

interface LayerPlan {
  layer: Layer;
  row: LayerReport;
  rec: GraphRecord;
  scope: ConstScope;
  weights: WeightPlan[];
  /** int8 activations (its weights are written by applyActivations) */
  activation?: { plan: ActivationPlan; settings: LayerSettings };
  /** layers that read the same weight tensor(s) the same way, after this one: they read its encoding (shareWeights) */
  followers?: LayerPlan[];
  /** on a follower: the layer whose encoding it reads */
  leader?: LayerPlan;
  /** a layer that reads, through a chain of its own (a Transpose …), a stored tensor an earlier layer reads as it is: it reads that layer's decoded tensor through a copy of its chain (shareWeights) */
  viewOf?: LayerPlan;
  /** on a Gather whose table a MatMul reads transposed (a tied embedding: viewOf): that MatMul, whose H recovers the table */
  viewSource?: LayerPlan;
  /** on a follower: the tensors it reads as they are (a bias) that its leader's row counts (uncount) */
  uncounted?: Set<string>;
  /** on a leader with followers in other subgraphs: the enclosing graph that stores its weights, where its encoding and decode nodes go (at its start) so that every reader sees them */
  home?: GraphRecord;
  /** on a leader, once applied: its staged weights, and its weight's written values (the followers' bias correction) */
  staged?: StagedWeight[];
  written?: WrittenWeight;
}

/** Steps 1-3: a structural clone with unique node names, the recipe resolved, clean-up and channel pruning done. */
function prepare(model: Model, recipe: Recipe, options: CompressOptions, streaming: boolean): Run {
  const { signal, external } = options;
  const out = cloneModel(model);
  assignNodeNames(out);
  const names = new NameAllocator(collectNames(out));
  // layer keys are checked before anything changes
  const original = findLayers(out);
  const settingsOf = settingsResolver(recipe, [...original, ...findStoredTensors(out, original)]);
  const paramsBefore = floatParamCount(out);
  const cleanup = runCleanup(out, cleanupOptions(recipe), { names, external });
  throwIfAborted(signal);
  // (a dead layer removed by clean-up is no longer addressed)
  let layers = findLayers(out);
  const before = new Map(layers.map((l) => [l.key, { params: l.params, bytes: l.weights.reduce((n, w) => n + weightStoredBytes(w), 0) }]));
  // cross-layer equalization (data-free) where a Conv asks for it, before pruning and quantization
  const keyOf = new Map(layers.map((l) => [l.node, l.key]));
  const equalized = equalizeModel(out, (n) => keyOf.has(n) && settingsOf(keyOf.get(n) as string).equalize === true, { names, external });
  if (equalized.pairs.length > 0) layers = findLayers(out);
  const channel = channelPruneStep(out, layers, settingsOf, { names, external, signal });
  if (channel) layers = findLayers(out);
  return {
    out,
    recipe,
    options,
    names,
    target: recipe.target,
    fp16Compute: isFp16Compute(recipe),
    settingsOf,
    paramsBefore,
    cleanup,
    layers,
    before,
    channel,
    storedTensors: findStoredTensors(out, layers),
    baseBytes: new Map(),
    opsetBefore: defaultOpset(out),
    recovering: streaming || options.recovery !== undefined,
    notes: equalized.pairs.length > 0 ? [`cross-layer equalization: ${equalized.pairs.length} Conv pair${equalized.pairs.length === 1 ? '' : 's'} (${equalized.pairs.join(', ')})`] : [],
  };
}

/** A layer's report row before its weights are written (channel pruning's outcome included). */
function startRow(run: Run, layer: Layer, requested: LayerSettings): LayerReport {
  let bytes = 0;
  for (const w of layer.weights) bytes += weightStoredBytes(w);
  const was = run.before.get(layer.key);
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
  run.baseBytes.set(row, bytes);
  const ch = run.channel?.layers.get(layer.key);
  if (ch) {
    row.notes.push(...ch.notes);
    if (layer.params !== row.params) row.paramsAfter = layer.params;
    if (ch.error) row.error = ch.error;
    else if (ch.notes.some((n) => !n.startsWith('input channels'))) row.applied = 'channel-pruned';
  }
  return row;
}

interface PlanContext {
  records: Map<string, GraphRecord>;
  scopes: Map<GraphRecord, ConstScope>;
  activationEnv: () => PlanEnv;
}

/** Plans one layer without reading weight data; throws (AppError 'unsupported') when it cannot take its settings. */
function planLayer(run: Run, ctx: PlanContext, layer: Layer, row: LayerReport): LayerPlan {
  // channel pruning is done: what is left for this layer is its weight encoding
  const s = afterChannelPruning(row.requested);
  const rec = ctx.records.get(layer.graphPath);
  if (!rec) throw new AppError('unsupported', 'its graph was not found');
  if (!rec.graph) throw new AppError('unsupported', 'layers inside model-local functions are not supported yet');
  if (rec.kind === 'training') throw new AppError('unsupported', 'layers of training graphs are not supported');
  const opsetBefore = run.opsetBefore;
  if (opsetBefore === undefined || opsetBefore < PORTABLE_MIN_OPSET) {
    throw new AppError('unsupported', `the model's opset (${opsetBefore ?? 'none'}) is below ${PORTABLE_MIN_OPSET}, the oldest this compressor writes for`);
  }
  let scope = ctx.scopes.get(rec);
  if (!scope) ctx.scopes.set(rec, (scope = constScope(rec)));
  let activation: LayerPlan['activation'];
  if (s.activations === 'int8') {
    const r = planActivation(layer, rec, scope, s, ctx.activationEnv());
    if ('plan' in r) activation = { plan: r.plan, settings: s };
    else row.notes.push(r.fallback);
  }
  const weights = activation ? [] : planLayerWeights(layer, scope, s, run.target, run.options.external, run.fp16Compute);
  return { layer, row, rec, scope, weights, activation };
}

/** Step 4: every layer's row, and a plan for each layer that asks for a change and can take it. */
function planLayers(run: Run): { rows: LayerReport[]; plans: LayerPlan[] } {
  const ctx: PlanContext = {
    records: graphRecordsByPath(run.out),
    scopes: new Map(),
    activationEnv: activationEnv(run.out, run.target, run.opsetBefore, run.options.calibration, run.options.external),
  };
  const rows: LayerReport[] = [];
  const plans: LayerPlan[] = [];
  for (const layer of run.layers) {
    const row = startRow(run, layer, run.settingsOf(layer.key));
    rows.push(row);
    if (row.error) {
      // refused its own channel pruning, yet a consumer whose input channels were cut: recovery
      // still refits what is left of its float weight (nothing else is applied to it)
      const r = row.requested;
      const cutInputs = r.recovery !== 'none' && run.channel?.layers.get(layer.key)?.cut !== undefined && run.recovering;
      if (cutInputs && r.weights === 'fp32' && r.activations === 'fp32' && !layer.quantized) {
        try {
          const lp = planLayer(run, ctx, layer, row);
          lp.weights = lp.weights.length > 0 ? lp.weights : planLayerWeights(layer, lp.scope, { ...afterChannelPruning(r), prune: 0 }, run.target, run.options.external, run.fp16Compute);
          plans.push(lp);
        } catch {
          // left as it was, as its row says
        }
      }
      continue;
    }
    if (layer.quantized) {
      // stored quantized already (ConvInteger, QLinear*, MatMulNBits, DequantizeLinear …): left alone
      row.quantized = layer.quantized;
      row.notes.push(`already quantized (${layer.quantized}): left as it is`);
      continue;
    }
    const s = afterChannelPruning(row.requested);
    // nothing to write, unless recovery refits what channel pruning left of its weight
    const refit = s.recovery !== 'none' && run.channel?.layers.get(layer.key)?.cut !== undefined && run.recovering;
    if (s.weights === 'fp32' && s.prune === 0 && s.activations === 'fp32' && !refit) continue;
    try {
      plans.push(planLayer(run, ctx, layer, row));
    } catch (e) {
      row.error = describeError(e);
    }
  }
  return { rows, plans };
}

/** Step 5: the cost guard; a layer that loses its int8 activations gets weight plans instead. */
function guardStep(run: Run, plans: LayerPlan[]): LayerPlan[] {
  const guarded = plans.filter((p) => p.activation);
  const { drop, gains, dynamic, note } = guardActivationLayers(run.out, guarded, run.options);
  for (const lp of guarded) {
    const gain = gains.get(lp.layer.key);
    if (gain) lp.row.notes.push(gain);
    if (lp.activation && dynamic.has(lp.layer.key)) lp.activation = { ...lp.activation, plan: asDynamic(lp.activation.plan) };
  }
  if (drop.size === 0 && note === undefined) return plans;
  for (const lp of guarded) {
    const reason = drop.get(lp.layer.key);
    if (reason === undefined) continue;
    lp.activation = undefined;
    lp.row.notes.push(reason);
    try {
      lp.weights = planLayerWeights(lp.layer, lp.scope, afterChannelPruning(lp.row.requested), run.target, run.options.external, run.fp16Compute);
    } catch (e) {
      lp.row.error = describeError(e);
      lp.weights = [];
    }
  }
  if (note) run.notes.push(note);
  return plans.filter((p) => !p.row.error);
}

/** What makes two layers read one weight the same way: their graph, op, and each weight input's tensor, shape and axes. */
function shareKey(lp: LayerPlan): string {
  const { layer } = lp;
  const inputs = lp.weights.map((wp) => {
    const i = wp.weight.inputIndex;
    return `${i}:${chainSignature(wp.weight, lp.scope) ?? layer.node.inputs[i]}:${wp.shape.join('x')}:${JSON.stringify(weightAxes(layer, i, wp.shape.length))}`;
  });
  return `${sharedHome(lp) ?? layer.graphPath}|${layer.domain}|${layer.op}|${inputs.join('|')}`;
}

/**
 * Where a layer's weights are all stored, when that is an enclosing graph of its own and each is
 * read through a chain of the layer's graph or directly: layers in different subgraphs under it
 * (the two branches of an If, as silero-vad's LSTMs) can then share one encoding, written there.
 */
function sharedHome(lp: LayerPlan): string | undefined {
  const homes = new Set(lp.weights.map((wp) => wp.weight.storedIn));
  const [home] = homes;
  return homes.size === 1 && home !== lp.layer.graphPath ? home : undefined;
}

/**
 * A weight read through a chain of its own (an Unsqueeze, a Transpose … as an exporter writes one
 * per reader: silero-vad's two LSTM nodes each unsqueeze the same weight_ih) as the stored tensor
 * and the chain's ops, attributes and other inputs (stored tensors and constants, one name for
 * equal ones after clean-up; a Concat's parts included: PyTorch's gate re-ordering of LSTM
 * weights): two chains alike give the same values, so their layers share one encoding. Undefined
 * for a weight read directly (its input name stands for it).
 */
function chainSignature(w: LayerWeight, scope: ConstScope): string | undefined {
  if (w.viaNodes.length === 0) return undefined;
  const local = new Map<string, string>([[w.name, '#w']]);
  const value = (a: Attribute) => [a.name, a.i, a.f, a.s ? Array.from(a.s) : undefined, a.ints, a.floats].map((v) => String(v ?? '')).join('=');
  // a small constant (Slice bounds, axes) by its values: each branch of an If holds its own copies
  const constant = (x: string) => {
    const t = scope.lookup(x);
    if (!t || t.dims.reduce((p, d) => p * Number(d), 1) > 64) return undefined;
    try {
      return `=${t.dataType}[${t.dims.join(',')}]${Array.from(tensorValues(t) as ArrayLike<number | bigint>, String).join(',')}`;
    } catch {
      return undefined;
    }
  };
  const steps = w.viaNodes.map((n, k) => {
    const sig = `${n.domain ?? ''}:${n.opType}(${n.inputs.map((x) => local.get(x) ?? constant(x) ?? x).join(',')})[${n.attributes.map(value).join(';')}]`;
    n.outputs.forEach((o, j) => local.set(o, `#${k}.${j}`));
    return sig;
  });
  return `${w.storedIn}|${w.name}<${steps.join('>')}`;
}

/**
 * Step 5b: layers that read the same weight tensor(s) the same way (a tied weight, or one an
 * exporter deduplicated: torch writes identical parameters once) share one encoding, the first
 * reader's, instead of one copy each: the file stores the weight once, as the size projection
 * counts it (project.ts). A follower's row counts none of the shared bytes (its leader's does)
 * and says whose settings it follows. Layers with int8 activations or cut by channel pruning keep
 * their own.
 */
function shareWeights(run: Run, plans: readonly LayerPlan[]): void {
  const first = new Map<string, LayerPlan>();
  let records: Map<string, GraphRecord> | undefined;
  for (const lp of plans) {
    if (lp.activation || lp.weights.length === 0 || lp.row.error || run.channel?.layers.get(lp.layer.key)?.cut) continue;
    const key = shareKey(lp);
    const leader = first.get(key);
    if (!leader) {
      first.set(key, lp);
      continue;
    }
    if (lp.rec !== leader.rec) {
      // in another subgraph under the graph storing the weights: the leader's encoding goes there
      const home = sharedHome(lp);
      records ??= graphRecordsByPath(run.out);
      const rec = home !== undefined ? records.get(home) : undefined;
      if (!rec?.graph) continue;
      leader.home = rec;
    } else if (lp.rec.nodes.indexOf(lp.layer.node) < leader.rec.nodes.indexOf(leader.layer.node)) {
      // (the leader's decode nodes go right before it: a follower must come after it)
      continue;
    }
    lp.leader = leader;
    (leader.followers ??= []).push(lp);
    uncount(run, lp, leader);
  }
  // one stored tensor read through different views (a tied embedding: Gather reads it, the output
  // MatMul reads its Transpose): the layers reading another view read the first plain reader's
  // decoded tensor through a copy of their own chain
  const plain = new Map<string, LayerPlan>();
  for (const lp of first.values()) {
    const w = lp.weights.length === 1 ? lp.weights[0].weight : undefined;
    if (!w || w.parts) continue;
    const id = `${lp.layer.graphPath}|${w.name}`;
    const leader = plain.get(id);
    if (!leader) {
      if (w.viaNodes.length === 0) plain.set(id, lp);
      continue;
    }
    // (its chain's copy goes right before it, after the leader's decode nodes)
    if (w.viaNodes.length === 0 || lp.rec !== leader.rec || lp.rec.nodes.indexOf(lp.layer.node) < leader.rec.nodes.indexOf(leader.layer.node)) continue;
    lp.viewOf = leader;
    if (!leader.viewSource && tiedTable(leader, lp)) leader.viewSource = lp;
    uncount(run, lp);
    for (const f of lp.followers ?? []) uncount(run, f);
  }
}

/**
 * A tied embedding: `table` a Gather (axis 0) of a [V, D] table, `reader` a MatMul reading it
 * through one Transpose ([D, V]). Its output rows are the table's rows, its columns the table's:
 * the MatMul's H (D columns) recovers the table as it is stored (recoveryView).
 */
function tiedTable(table: LayerPlan, reader: LayerPlan): boolean {
  const w = reader.weights[0]?.weight;
  const t = w?.viaNodes[0];
  const perm = t && attrInts(t, 'perm');
  return (
    table.layer.op === 'Gather' &&
    attrInt(table.layer.node, 'axis', 0) === 0 &&
    table.weights[0]?.shape.length === 2 &&
    reader.layer.op === 'MatMul' &&
    w?.viaNodes.length === 1 &&
    t?.opType === 'Transpose' &&
    (!perm || (perm[0] === 1 && perm[1] === 0))
  );
}

/** The table of a tied embedding seen as the rows × columns its MatMul reads (a Gemm with transB: [V, D], V rows of D columns). */
function tableView(layer: Layer): Layer {
  return { ...layer, op: 'Gemm', domain: '', node: { ...layer.node, opType: 'Gemm', domain: '', attributes: [attr.int('transB', 1)] } };
}

/**
 * A row whose weights another layer's row counts (shareWeights): its shared bytes come off its row;
 * for a follower of `leader`, so do the tensors it reads as they are that the leader reads too (a
 * bias both read: silero-vad's LSTM pairs), which the leader's row counts.
 */
function uncount(run: Run, lp: LayerPlan, leader?: LayerPlan): void {
  const off = (bytes: number) => {
    lp.row.bytesBefore -= bytes;
    run.baseBytes.set(lp.row, (run.baseBytes.get(lp.row) ?? lp.row.bytesBefore + bytes) - bytes);
  };
  for (const wp of lp.weights) off(weightStoredBytes(wp.weight));
  if (!leader) return;
  const planned = new Set(lp.weights.map((wp) => wp.weight));
  const theirs = new Set(leader.layer.weights.map((w) => `${w.storedIn}|${w.name}`));
  for (const w of lp.layer.weights) {
    const id = `${w.storedIn}|${w.name}`;
    if (planned.has(w) || !theirs.has(id)) continue;
    off(weightStoredBytes(w));
    (lp.uncounted ??= new Set()).add(id);
  }
}

/** Step 6: raise the opset only as far as every node stays valid; quantized weights that needed more fall back to portable. */
function decideOpset(run: Run, plans: readonly LayerPlan[]): { opset: number; note?: string } {
  const opsetBefore = run.opsetBefore;
  let opset = opsetBefore ?? 0;
  let note: string | undefined;
  const needs = [...new Set(plans.flatMap((p) => [...p.weights.map((w) => w.needOpset), p.activation?.plan.needOpset ?? 0]).filter((v) => v > opset))].sort((a, b) => b - a);
  const refusals: string[] = [];
  for (const v of needs) {
    const check = canRaiseOpset(run.out, v);
    if (check.ok) {
      raiseOpset(run.out, v);
      note = `raised from ${opset} to ${v} for DequantizeLinear`;
      opset = v;
      break;
    }
    refusals.push(`opset ${v}: ${check.reason}`);
  }
  for (const p of plans) for (const w of p.weights) fallBackToPortable(w, opset, opsetBefore, refusals);
  if (refusals.length > 0) note = note ? `${note}; not to ${refusals.join('; ')}` : `kept: ${refusals.join('; ')}`;
  return { opset, ...(note ? { note } : {}) };
}

/** What the apply step leaves for the later steps. */
interface Applied {
  candidates: RemovalCandidates;
  /** float16 weights the layers read directly (float16 compute) */
  halfWeights: Set<string>;
  /** nodes the float16 compute conversion keeps in float32, with the reason */
  keepFp32: Map<Node, string>;
  activationLayers: number;
}

/** Writes one layer's planned weights; a failing layer is left as it was, with the reason in its row. */
function applyLayer(run: Run, lp: LayerPlan, opset: number, applied: Applied, hessian: LayerHessian | undefined, recoveryView?: Layer, stateHessian?: LayerHessian): void {
  const row = lp.row;
  try {
    const cut = run.channel?.layers.get(lp.layer.key)?.cut;
    const env: StageEnv = {
      scope: lp.scope,
      names: run.names,
      opset,
      external: run.options.external,
      layer: lp.layer,
      ...(hessian ? { hessian } : {}),
      ...(cut ? { cut } : {}),
      ...(run.options.varianceMatch === false ? { varianceMatch: false } : {}),
      ...(lp.followers ? { keepWritten: true } : {}),
      ...(recoveryView ? { recoveryView } : {}),
      ...(stateHessian ? { stateHessian } : {}),
    };
    const staged = lp.weights.map((wp) => stageWeight(wp, row.requested, env));
    // (kept for the layers that read it: followers, and layers reading another view of it)
    lp.staged = staged;
    if (lp.followers) lp.written = env.written;
    const env2 = env;
    const corrected = env2.biasDelta ? stageCorrectedBias(lp.layer, env2.biasDelta, env2, env2.biasWhy) : undefined;
    // (a leader with followers in other subgraphs: its encoding at the start of the graph storing the weights; its own corrected bias with it)
    const emitted = lp.home
      ? [...commitLayer(run.out, lp.layer, lp.rec, staged, applied.candidates, lp.home), ...(corrected ? commitLayer(run.out, lp.layer, lp.rec, [corrected.staged], applied.candidates) : [])]
      : commitLayer(run.out, lp.layer, lp.rec, corrected ? [...staged, corrected.staged] : staged, applied.candidates);
    if (corrected) row.notes.push(corrected.note);
    else if (env2.biasDelta && row.requested.recovery === 'bias') row.notes.push('recovery bias: the layer has no float32 bias of its own to correct');
    if (run.fp16Compute) {
      for (const st of staged) if (st.report.encoding === 'fp16-compute' && st.output) applied.halfWeights.add(st.output);
      if (row.requested.weights !== 'fp16') for (const n of emitted) applied.keepFp32.set(n, `decodes the ${row.requested.weights} weights of ${lp.layer.key}`);
    }
    row.weights = staged.map((st) => st.report);
    const enc = summarizeEncodings(row.weights);
    row.applied = row.applied === 'channel-pruned' ? (enc === 'unchanged' ? row.applied : `channel-pruned, ${enc}`) : enc;
    for (const st of staged) if (st.report.note) row.notes.push(`${st.report.name}: ${st.report.note}`);
  } catch (e) {
    if (e instanceof AppError && e.code === 'aborted') throw e;
    row.error = describeError(e);
  }
}

/** A shared weight's line in a reader's row: no bytes of its own (its leader's row counts them). */
function sharedReport(r: WeightReport, leader: LayerPlan): WeightReport {
  return { name: r.name, input: r.input, shape: r.shape, encoding: r.encoding, bytesBefore: 0, bytesAfter: 0, note: `shared with ${leader.layer.key}: stored once, counted there` };
}

/**
 * A follower (shareWeights) reads its leader's encoding: its weight inputs point at the leader's
 * decoded tensors (or it becomes MatMulNBits on the leader's blocks), and its own float32 bias is
 * corrected by the shared weight's error on its own mean input (`mean`) where its recipe asks for
 * recovery. Where the leader's weights were not written, the follower is applied on its own.
 */
function applyFollower(run: Run, lp: LayerPlan, opset: number, applied: Applied, mean: readonly Float64Array[] | undefined): void {
  const leader = lp.leader as LayerPlan;
  const staged = leader.staged;
  const row = lp.row;
  if (leader.row.error || !staged) {
    applyLayer(run, lp, opset, applied, undefined);
    return;
  }
  try {
    const node = lp.layer.node;
    for (const st of staged) {
      if (!st.emitter && !st.output) continue;
      const own = lp.weights.find((wp) => wp.weight.inputIndex === st.plan.weight.inputIndex);
      if (st.matMulNBits) toMatMulNBits(run.out, node, st.matMulNBits);
      else if (st.output) node.inputs[st.plan.weight.inputIndex] = st.output;
      if (own) addCandidates(applied.candidates, own.weight);
    }
    const enc = summarizeEncodings(staged.map((st) => st.report));
    row.weights = staged.map((st) => sharedReport(st.report, leader));
    const same = JSON.stringify(row.requested) === JSON.stringify(leader.row.requested);
    row.notes.push(`reads the same weight as ${leader.layer.key}: one ${enc} tensor for both${same ? '' : ` (${leader.layer.key}'s settings: one encoding serves every layer that reads it)`}`);
    const written = leader.written;
    const m = written && mean && mean.length > 0 ? weightMatrix(lp.layer, staged.find((st) => st.plan.weight.inputIndex === recoveredInput(lp.layer))?.plan.shape ?? []) : undefined;
    if (row.requested.recovery !== 'none' && written && m && mean && m.cols === mean[0].length && m.rows % mean.length === 0) {
      const env: StageEnv = { scope: lp.scope, names: run.names, opset, external: run.options.external };
      const corrected = stageCorrectedBias(lp.layer, biasDelta(written.values, written.qt, m, mean, written.floats), env);
      if (corrected) {
        commitLayer(run.out, lp.layer, lp.rec, [corrected.staged], applied.candidates);
        // (a bias its leader reads too is counted in the leader's row: this row adds only the corrected copy)
        const b = corrected.staged.plan.weight;
        if (lp.uncounted?.has(`${b.storedIn}|${b.name}`)) corrected.staged.report.bytesBefore = 0;
        row.weights.push(corrected.staged.report);
        row.notes.push(`${corrected.note}, on its own inputs`);
      }
    }
    row.applied = row.applied === 'channel-pruned' ? `channel-pruned, ${enc}` : enc;
  } catch (e) {
    if (e instanceof AppError && e.code === 'aborted') throw e;
    row.error = describeError(e);
  }
}

/**
 * A layer reading another view of a stored tensor whose plain reader was applied (shareWeights
 * viewOf): a copy of its weight's chain (Transpose, Reshape …) reads that reader's decoded tensor,
 * and the layer reads the copy. Where the reader wrote no decoded tensor (MatMulNBits) or failed,
 * the layer is applied on its own.
 */
function applyViewFollower(run: Run, lp: LayerPlan, opset: number, applied: Applied, hessian: LayerHessian | undefined): void {
  const leader = lp.viewOf as LayerPlan;
  const st = leader.staged?.[0];
  const wp = lp.weights[0];
  if (leader.row.error || !st?.output || !wp) {
    applyLayer(run, lp, opset, applied, hessian);
    return;
  }
  const w = wp.weight;
  const names = new Map<string, string>([[w.name, st.output]]);
  const copies = w.viaNodes.map((n) => {
    const outputs = n.outputs.map((o) => {
      if (!o) return o;
      const fresh = run.names.fresh(`${o}_shared`);
      names.set(o, fresh);
      return fresh;
    });
    return { ...n, name: run.names.fresh(`${n.name || n.opType}_shared`), inputs: n.inputs.map((i) => names.get(i) ?? i), outputs };
  });
  const top = names.get(w.input);
  if (!top) {
    applyLayer(run, lp, opset, applied, hessian);
    return;
  }
  const node = lp.layer.node;
  const at = lp.rec.nodes.indexOf(node);
  lp.rec.nodes.splice(at < 0 ? 0 : at, 0, ...copies);
  node.inputs[w.inputIndex] = top;
  addCandidates(applied.candidates, w);
  const enc = summarizeEncodings(leader.row.weights);
  lp.row.weights = [sharedReport({ ...st.report, name: w.name, input: w.inputIndex, shape: wp.shape }, leader)];
  lp.row.notes.push(`reads the weight ${leader.layer.key} reads, through its ${w.via.join(' → ')}: one ${enc} tensor for both (${leader.layer.key}'s settings)`);
  lp.row.applied = enc;
  // its own same-view followers read the copy's output
  lp.staged = [{ plan: wp, output: top, report: lp.row.weights[0] }];
}

/**
 * Step 7: apply, layer by layer, then int8 activations in one pass over the main graph (tensors
 * are shared between layers). A generator: before each layer it yields the layer's key and is
 * given the layer's H (compressModel from its map, compressModelStreaming from a HessianSource,
 * which may first run statistics over the samples).
 */
function* applyLayers(run: Run, plans: readonly LayerPlan[], opset: number): Generator<string, Applied, LayerHessian | undefined> {
  const { signal, onProgress } = run.options;
  const applied: Applied = { candidates: { nodes: new Set(), initializers: new Map() }, halfWeights: new Set(), keepFp32: new Map(), activationLayers: 0 };
  const total = plans.length;
  onProgress?.(0, total, '');
  let done = 0;
  const actItems: ActivationItem[] = [];
  for (const lp of plans) {
    throwIfAborted(signal);
    if (lp.activation) {
      actItems.push({ layer: lp.layer, plan: lp.activation.plan, settings: lp.activation.settings, scope: lp.scope, row: lp.row });
      continue;
    }
    // applied with its leader
    if (lp.leader) continue;
    // another view of a table applied before: no H of its own is used (appliedKeys yields none)
    if (lp.viewOf) {
      applyViewFollower(run, lp, opset, applied, undefined);
      onProgress?.(++done, total, lp.layer.key);
      for (const f of lp.followers ?? []) {
        applyFollower(run, f, opset, applied, undefined);
        onProgress?.(++done, total, f.layer.key);
      }
      continue;
    }
    // a shared weight: its readers' H first (copied: a streamed H is emptied when the next is taken), then its own
    let others: LayerHessian | undefined;
    let summed = lp.followers !== undefined;
    const means: (Float64Array[] | undefined)[] = [];
    for (const f of lp.followers ?? []) {
      const h = yield f.layer.key;
      means.push(h?.mean.map((m) => Float64Array.from(m)));
      if (summed) others = accumulateHessian(others, h);
      summed &&= others !== undefined;
    }
    // a tied embedding's table: the H of the MatMul that reads it transposed (copied, as above)
    const tied = lp.viewSource ? accumulateHessian(undefined, yield lp.viewSource.layer.key) : undefined;
    // a recurrent layer's R: H of its own states (copied, as above)
    const state = stateRecoverable(lp.layer) ? accumulateHessian(undefined, yield stateKey(lp.layer.key)) : undefined;
    const own = yield lp.layer.key;
    throwIfAborted(signal);
    const hessian = summed ? sharedHessian(own, others) : own;
    const cols = lp.weights[0]?.shape[1];
    if (!hessian && tied && tied.cols === cols && lp.viewSource) {
      applyLayer(run, lp, opset, applied, tied, tableView(lp.layer));
      lp.row.notes.push(`recovery: the table is solved on the inputs of ${lp.viewSource.layer.key}, which reads it transposed (${tied.rows} rows)`);
    } else applyLayer(run, lp, opset, applied, hessian, undefined, state);
    if (hessian && hessian !== own && hessian.h.length > 0) lp.row.notes.push(`recovery: its weight is shared by ${1 + (lp.followers?.length ?? 0)} layers, solved on all of their inputs (${hessian.rows} rows)`);
    onProgress?.(++done, total, lp.layer.key);
    for (const [i, f] of (lp.followers ?? []).entries()) {
      applyFollower(run, f, opset, applied, means[i]);
      onProgress?.(++done, total, f.layer.key);
    }
  }
  throwIfAborted(signal);
  applyActivations(run.out, actItems, { names: run.names, opset, calibration: run.options.calibration, external: run.options.external, candidates: applied.candidates });
  for (const it of actItems) onProgress?.(++done, total, it.layer.key);
  throwIfAborted(signal);
  applied.activationLayers = actItems.length;
  return applied;
}

/** The keys applyLayers will yield, in order (a shared weight's followers, and a tied table's MatMul, right before their leader; none for another view of a table). */
const appliedKeys = (plans: readonly LayerPlan[]): string[] =>
  plans
    .filter((p) => !p.activation && !p.leader && !p.viewOf)
    .flatMap((p) => [...(p.followers ?? []).map((f) => f.layer.key), ...(p.viewSource ? [p.viewSource.layer.key] : []), ...(stateRecoverable(p.layer) ? [stateKey(p.layer.key)] : []), p.layer.key]);

/**
 * Portable int8/int4 weights (Cast → Mul decodes) are folded into float32 initializers when
 * onnxruntime loads the model: the file is small, the running model is not. Measured in the page's
 * Benchmark (wasm peak memory): resnet18 at int4 429 MB vs the original's 136 MB, mobilenet_v3_small
 * 99.7 vs 41.3 MB (the decode's intermediates at load).
 */
export const FOLDED_NOTE =
  'memory: the int8/int4 weights of the portable encoding (Cast → Mul) are decoded to float32 when onnxruntime loads the model: the file is smaller, but memory at run time is the original\u2019s or more while loading (the Benchmark\u2019s peak memory shows it; int8 activations or webgpu\u2019s MatMulNBits keep integer weights)';

/** Step 10: the rows' byte totals, the model's notes and counts. */
function finishReport(run: Run, model: Model, rows: LayerReport[], opset: { note?: string }, applied: Applied, fp16Report?: Fp16ComputeReport): CompressResult {
  const { out, target, notes, channel } = run;
  for (const row of rows) {
    if (row.weights.length === 0) continue;
    let delta = 0;
    for (const w of row.weights) delta += w.bytesAfter - w.bytesBefore;
    row.bytesAfter = (run.baseBytes.get(row) ?? row.bytesBefore) + delta;
  }
  if (target === 'wasm') notes.push(...wasmNotes(applied.activationLayers, run.options));
  if (rows.some((r) => r.weights.some((w) => w.encoding === 'int8-cast-mul' || w.encoding === 'int4-nibbles-mul'))) notes.push(FOLDED_NOTE);
  if (target === 'webgpu' && !run.fp16Compute && rows.some((r) => r.requested.weights === 'fp16')) {
    notes.push("webgpu: fp16 layers store float16 weights (cast to float32 at load) and compute in float32; float16 compute applies when the recipe's default weights are fp16");
  }
  return {
    model: out,
    report: {
      target,
      opset: { before: run.opsetBefore, after: defaultOpset(out), ...(opset.note ? { note: opset.note } : {}) },
      layers: rows,
      bytesBefore: modelTensorBytes(model),
      bytesAfter: modelTensorBytes(out),
      layersChanged: rows.filter((r) => !r.error && r.applied !== 'unchanged').length,
      layersFailed: rows.filter((r) => r.error !== undefined).length,
      notes,
      cleanup: run.cleanup,
      ...(channel ? { pruning: channel.report } : {}),
      params: { before: run.paramsBefore, after: channel?.report.paramsAfter ?? floatParamCount(out) },
      ...(fp16Report ? { fp16Compute: fp16Report } : {}),
    },
  };
}

/** Applies `recipe` to a copy of `model`. Throws AppError('invalid-argument') for a bad recipe, 'aborted' when cancelled. */
export function compressModel(model: Model, recipe: Recipe, options: CompressOptions = {}): CompressResult {
  throwIfAborted(options.signal);
  const { run, rows, plans, opset } = planned(model, recipe, options);
  const steps = applyLayers(run, plans, opset.opset);
  let step = steps.next();
  while (!step.done) step = steps.next(options.recovery?.get(step.value));
  return finish(run, model, rows, opset, step.value);
}

/**
 * compressModel with each layer's H from `source` (hessian.ts hessianSource: statistics run in
 * passes as the layers ask for them, each freed once its layers are written), not a map of all of
 * them: the same bytes, with about one pass of H in memory instead of every layer's.
 */
export async function compressModelStreaming(model: Model, recipe: Recipe, source: HessianSource, options: Omit<CompressOptions, 'recovery'> = {}): Promise<CompressResult> {
  throwIfAborted(options.signal);
  const { run, rows, plans, opset } = planned(model, recipe, options, true);
  source.plan(appliedKeys(plans));
  const steps = applyLayers(run, plans, opset.opset);
  let step = steps.next();
  let taken: string | undefined;
  try {
    while (!step.done) {
      if (taken !== undefined) source.release(taken);
      taken = step.value;
      step = steps.next(await source.take(taken));
    }
  } finally {
    if (taken !== undefined) source.release(taken);
  }
  return finish(run, model, rows, opset, step.value);
}

/** Steps 1-6. */
function planned(model: Model, recipe: Recipe, options: CompressOptions, streaming = false): { run: Run; rows: LayerReport[]; plans: LayerPlan[]; opset: { opset: number; note?: string } } {
  const run = prepare(model, recipe, options, streaming);
  const { rows, plans: all } = planLayers(run);
  const plans = guardStep(run, all);
  shareWeights(run, plans);
  return { run, rows, plans, opset: decideOpset(run, plans) };
}

/** Steps 8-10. */
function finish(run: Run, model: Model, rows: LayerReport[], opset: { opset: number; note?: string }, applied: Applied): CompressResult {
  const { out, names, target, fp16Compute, options } = run;
  rows.push(...compressStoredTensors(out, run.storedTensors, run.recipe, { target, names, opset: opset.opset, external: options.external, fp16Compute, keepFp32: applied.keepFp32 }));
  removeUnused(run.out, applied.candidates);
  let fp16Report: Fp16ComputeReport | undefined;
  if (run.fp16Compute) {
    const r = fp16ComputeStep(run.out, { layers: run.layers, rows, names: run.names, keep: applied.keepFp32, halfWeights: applied.halfWeights, external: options.external });
    fp16Report = r.report;
    run.notes.push(r.note);
  }
  return finishReport(run, model, rows, opset, applied, fp16Report);
}
