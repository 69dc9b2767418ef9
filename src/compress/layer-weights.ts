/**
 * The weight step of compressModel for one layer: each weight input is planned by the method its
 * `weights` setting names (fp32: prune only; fp16/; quantize/), staged (values read, magnitude
 * pruning, encoding written into an Emitter), and committed into the layer's graph.
 */
import { AppError } from '../core/errors';
import type { Layer, LayerWeight } from '../onnx/layers';
import { makeValueInfo } from '../onnx/build';
import type { GraphRecord } from '../onnx/names';
import { type ExternalDataResolver, type Graph, type Model, type Node } from '../onnx/types';
import { Emitter, storeFloats } from './emit';
import { planFp16Weight, stageFp16Weight } from './fp16/step';
import { addCandidates, type ConstScope, type NameAllocator, type RemovalCandidates } from './graph-edit';
import { planQuantizedWeight, stageQuantizedWeight } from './quantize/step';
import type { LayerSettings, Target } from './recipe';
import type { Encoding, StagedWeight, WeightPlan, WeightReport } from './types';
import { VALUE_STEPS } from './value-steps';
import type { QuantizedTensor } from './quantize/quantize';
import { pruneImportance, recoverWeight, repairPrunedWeight, scaleOwners, varianceStep } from './recovery/step';
import { groupOfElement } from './recovery/gptq';
import { clipSearch } from './recovery/clip';
import { recoveryMethod } from './recovery/meta';
import { refitAfterCut } from './recovery/refit';
import type { WeightCut } from './prune/channel';
import { RECURRENT, recoveredInput, stateRecoverable, type LayerHessian } from './recovery/hessian';
import { effectiveWeight, FLOAT_TYPES, weightStoredBytes } from './weights';

/** A relative error as a percentage with 3 significant digits. */
const pct = (x: number) => `${(x * 100).toPrecision(3)}%`;

/** Chooses layout and encoding for one weight (no tensor data is read). */
export function planWeight(layer: Layer, w: LayerWeight, scope: ConstScope, s: LayerSettings, target: Target, external?: ExternalDataResolver, fp16Compute = false): WeightPlan {
  const eff = effectiveWeight(w, scope, false, external);
  const base = { weight: w, shape: eff.shape, dataType: eff.dataType };
  if (eff.shape.some((d) => d === 0)) throw new AppError('unsupported', `its weight ${w.name} is empty`);
  if (s.weights === 'fp32') return { ...base, encoding: s.prune > 0 ? 'pruned' : 'unchanged', needOpset: 0 };
  if (s.weights === 'fp16') return planFp16Weight(base, s, fp16Compute);
  return planQuantizedWeight(layer, base, s, target);
}

/** Plans of a layer's weight inputs (role 'weight'; biases and normalization parameters stay). */
export function planLayerWeights(layer: Layer, scope: ConstScope, s: LayerSettings, target: Target, external: ExternalDataResolver | undefined, fp16Compute: boolean): WeightPlan[] {
  const plans: WeightPlan[] = [];
  for (const w of layer.weights) if (w.role === 'weight') plans.push(planWeight(layer, w, scope, s, target, external, fp16Compute));
  return plans;
}

export interface StageEnv {
  scope: ConstScope;
  names: NameAllocator;
  opset: number;
  external?: ExternalDataResolver;
  /** the layer, and H of its inputs for `recovery: "gptq"` */
  layer?: Layer;
  hessian?: LayerHessian;
  /** set by the weight's recovery: what the layer's bias must add (bias correction) */
  biasDelta?: Float64Array;
  /** the layer's weight before channel pruning cut it (recovery refits what is left) */
  cut?: WeightCut;
  /** CompressOptions.varianceMatch (false: left out) */
  varianceMatch?: boolean;
  /** why the bias moves, when not for rounding */
  biasWhy?: string;
  /** set `written` (a weight other layers share: their biases are corrected from it) */
  keepWritten?: boolean;
  /** the weight's original values and what was written for them: quantized codes or float values */
  written?: WrittenWeight;
  /**
   * a weight another layer reads as a plain matrix (a tied embedding: a Gather's table, which the
   * output MatMul reads transposed): recovery sees it as that layer's rows × columns (`layer`, a
   * Gemm with transB) on that layer's H, whichever input of its own layer it is
   */
  recoveryView?: Layer;
  /** a recurrent layer's R: H of its own states (hessian.ts stateView), where GPTQ solves R */
  stateHessian?: LayerHessian;
}

/** A staged weight's original values and what stands for them now (the codes on their grid, or float values). */
export interface WrittenWeight {
  values: Float32Array;
  qt?: QuantizedTensor;
  floats?: Float32Array;
}

/** Reads the weight's values, prunes them, and writes them in the planned encoding (not yet into the graph). */
export function stageWeight(plan: WeightPlan, s: LayerSettings, env: StageEnv): StagedWeight {
  const w = plan.weight;
  const report: WeightReport = {
    name: w.name,
    input: w.inputIndex,
    shape: plan.shape,
    encoding: plan.encoding,
    bytesBefore: weightStoredBytes(w),
    bytesAfter: weightStoredBytes(w),
    ...(plan.note ? { note: plan.note } : {}),
  };
  const note = (text: string) => (report.note = report.note ? `${report.note}; ${text}` : text);
  // channel pruning cut this weight: recovery refits what is left (recovery/refit.ts)
  let refit: Float32Array | undefined;
  const solved = env.layer ? recoveredInput(env.layer) : 1;
  if (env.cut && env.layer && w.role === 'weight' && w.inputIndex === solved && s.recovery !== 'none') {
    const r = env.hessian ? refitAfterCut(env.layer, env.cut, env.hessian, recoveryMethod(s.recovery)) : { note: `recovery ${s.recovery}: no calibration inputs for this layer (give samples)` };
    if ('values' in r && r.values.length === w.elements) {
      refit = r.values;
      if (r.delta.some((d) => d !== 0)) {
        env.biasDelta = r.delta;
        env.biasWhy = 'the refit after channel pruning (the mean the removed inputs carried)';
      }
      if (r.report) report.recovery = r.report;
    }
    if (r.note) note(r.note);
  }
  if (plan.encoding === 'unchanged') {
    if (!refit) return { plan, report };
    // float weights stay float: the refit values replace the channel-pruned ones
    const e = new Emitter(env.names, env.opset, w.name);
    const output = storeFloats(e, '_refit', refit, plan.shape, plan.dataType);
    report.bytesAfter = e.storedBytes();
    return { plan, output, emitter: e, report };
  }
  const eff = effectiveWeight(w, env.scope, true, env.external);
  // the methods' value steps (value-steps.ts: magnitude pruning), then the weight's encoding
  let values = refit ?? (eff.values as Float32Array);
  const original = values;
  // (after a channel-pruning refit the layer's H no longer matches its columns: round to nearest on the refit values)
  const rl = env.recoveryView ?? env.layer;
  // a recurrent layer's R: solved on the layer's own states where they were collected; its mean error adds to W's in Wb (the same gates)
  const stateR = env.layer !== undefined && RECURRENT.has(env.layer.op) && w.role === 'weight' && w.inputIndex === 2;
  const recovering = s.recovery !== 'none' && rl && w.role === 'weight' && (w.inputIndex === solved || env.recoveryView !== undefined || (stateR && env.stateHessian !== undefined)) && !refit;
  const hessian = stateR ? env.stateHessian : env.hessian;
  if (s.recovery !== 'none' && stateR && !env.stateHessian) note(stateNote(s.recovery, env.layer as Layer));
  // with the layer's input statistics, magnitude pruning picks its mask by |w|·√H_jj (Wanda)
  const importance = recovering && s.prune > 0 && s.pruneMethod === 'magnitude' ? pruneImportance(rl as Layer, plan.shape, hessian, values) : undefined;
  for (const step of VALUE_STEPS) {
    const r = step.apply(values, s, importance ? { importance } : undefined);
    values = r.values;
    if (r.pruned !== undefined) report.pruned = r.pruned;
  }
  if (importance && report.pruned !== undefined) note('pruning mask chosen with the calibration inputs (smallest |w|·‖x‖ per output channel, not |w|)');
  const e = new Emitter(env.names, env.opset, w.name);
  let encoding: Encoding = plan.encoding;
  let output: string | undefined;
  let matMulNBits: StagedWeight['matMulNBits'];
  // magnitude pruning zeroed some weights: recovery refits the rest to match the original
  const kept = values !== original ? (i: number) => values[i] !== 0 || original[i] === 0 : undefined;
  if (plan.encoding === 'pruned') {
    if (recovering && kept) {
      values = Float32Array.from(values);
      const r = repairPrunedWeight(rl as Layer, plan.shape, original, values, hessian, recoveryMethod(s.recovery));
      if (r.report) report.recovery = r.report;
      if (r.delta) takeDelta(env, r.delta, stateR);
      // float weights: nothing was rounded (the note said 'the mean rounding error')
      env.biasWhy = 'the mean error of the pruned weights on the calibration inputs';
      if (r.note) report.note = report.note ? `${report.note}; ${r.note}` : r.note;
      if (env.varianceMatch !== false && recoveryMethod(s.recovery) === 'gptq' && !stateR) {
        const v = varianceStep(rl as Layer, plan.shape, original, env.hessian, (e) => values[e], () => true);
        if (v) {
          v.apply((e, f) => (values[e] = Math.fround(values[e] * f)));
          env.biasDelta = v.delta;
          note(v.note);
        }
      }
    }
    output = storeFloats(e, '_pruned', values, plan.shape, plan.dataType);
    if (env.keepWritten && w.inputIndex === solved) env.written = { values: original, floats: values };
  } else if (plan.encoding === 'fp16-cast' || plan.encoding === 'fp16-compute') ({ output, encoding } = stageFp16Weight(e, plan, values, report));
  else {
    const refine =
      recovering || s.clipSearch
        ? (qt: QuantizedTensor) => {
            if (s.clipSearch) {
              const c = clipSearch(values, qt);
              const note = `clip search: ${c.clipped} of ${c.groups} groups narrowed, weight error ${pct(c.errorBefore)} → ${pct(c.errorAfter)}`;
              report.note = report.note ? `${report.note}; ${note}` : note;
            }
            if (!recovering) return;
            const r = recoverWeight(rl as Layer, plan.shape, original, qt, hessian, recoveryMethod(s.recovery), kept, s.orderSearch === true ? 'both' : s.actOrder === true);
            if (r.report) report.recovery = r.report;
            if (r.delta) takeDelta(env, r.delta, stateR);
            if (r.note) report.note = report.note ? `${report.note}; ${r.note}` : r.note;
            if (env.varianceMatch !== false && recoveryMethod(s.recovery) === 'gptq' && kept && !stateR) {
              const value = (e: number) => {
                const g = groupOfElement(qt, e);
                return (qt.q[e] - (qt.zeroPoints ? qt.zeroPoints[g] : 0)) * qt.scales[g];
              };
              const owner = scaleOwners(rl as Layer, plan.shape, qt);
              if (owner && !owner.own.some((x) => x === 1)) note('output variance not re-estimated: every channel shares its scale (per-tensor), so no channel can be scaled exactly');
              const v = owner && varianceStep(rl as Layer, plan.shape, original, env.hessian, value, (r) => owner.own[r] === 1);
              if (v && owner) {
                const done = new Uint8Array(qt.scales.length);
                v.apply((e, f) => {
                  const g = groupOfElement(qt, e);
                  if (!done[g]) qt.scales[g] *= f;
                  done[g] = 1;
                });
                env.biasDelta = v.delta;
                note(v.note);
              }
            }
          }
        : undefined;
    const keep = env.keepWritten && w.inputIndex === solved
      ? (qt: QuantizedTensor) => {
          refine?.(qt);
          env.written = { values: original, qt };
        }
      : refine;
    ({ output, matMulNBits } = stageQuantizedWeight(e, plan, values, s.symmetric, keep));
  }
  report.encoding = encoding;
  if (encoding !== 'unchanged') report.bytesAfter = e.storedBytes();
  return { plan, output, emitter: encoding === 'unchanged' ? undefined : e, matMulNBits, report };
}

/** A weight's bias correction into the layer's; a recurrent layer's R adds to W's (both feed the gates whose bias Wb takes it). */
function takeDelta(env: StageEnv, d: Float64Array, adds: boolean): void {
  env.biasDelta = adds && env.biasDelta ? env.biasDelta.map((v, i) => v + d[i]) : d;
}

/** Why a recurrent layer's R keeps round to nearest (no H of its states). */
function stateNote(recovery: LayerSettings['recovery'], layer: Layer): string {
  const why = recovery === 'bias' ? "bias correction takes W's inputs only" : layer.op === 'GRU' && !stateRecoverable(layer) ? 'a GRU without linear_before_reset reads r ⊙ h through R, not its states' : 'no states of the layer were collected';
  return `recovery ${recovery}: the recurrent weights R keep round to nearest (${why}; W is recovered on its inputs)`;
}

/**
 * Puts the staged weights into the layer's graph: initializers, decode nodes right before the
 * layer, the layer reading the results; the old tensors become removal candidates. Returns the
 * nodes it inserted.
 */
export function commitLayer(model: Model, layer: Layer, rec: GraphRecord, staged: readonly StagedWeight[], c: RemovalCandidates, home?: GraphRecord): Node[] {
  // (`home`: an enclosing graph that stores the weights; the encoding and its decode nodes go at its start, where every subgraph under it sees them)
  const graph = (home ?? rec).graph as Graph;
  const node = layer.node;
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
      toMatMulNBits(model, node, st.matMulNBits);
    } else if (st.output) {
      node.inputs[st.plan.weight.inputIndex] = st.output;
    }
    addCandidates(c, st.plan.weight);
  }
  if (home) home.nodes.splice(0, 0, ...newNodes);
  else {
    const at = rec.nodes.indexOf(node);
    rec.nodes.splice(at < 0 ? 0 : at, 0, ...newNodes);
  }
  return newNodes;
}

/** Makes the MatMul `node` a MatMulNBits reading the packed blocks (`nbits`: a staged weight's). */
export function toMatMulNBits(model: Model, node: Node, nbits: NonNullable<StagedWeight['matMulNBits']>): void {
  node.opType = 'MatMulNBits';
  node.domain = 'com.microsoft';
  node.inputs = [node.inputs[0], ...nbits.inputs];
  node.attributes = nbits.attributes;
  if (!model.opsetImport.some((o) => o.domain === 'com.microsoft')) model.opsetImport.push({ domain: 'com.microsoft', version: 1 });
}

/** The encodings a layer's weights got, comma-separated ('unchanged' when none changed). */
export function summarizeEncodings(weights: readonly WeightReport[]): string {
  const set = [...new Set(weights.map((w) => w.encoding).filter((x) => x !== 'unchanged'))];
  return set.length === 0 ? 'unchanged' : set.join(', ');
}

/**
 * Bias correction: the layer's stored float bias (input 2 of Conv, ConvTranspose and Gemm, no chain between; in its own type)
 * plus `delta`, as a new initializer the layer reads; undefined when the layer has no such bias.
 */
export function stageCorrectedBias(layer: Layer, delta: Float64Array, env: StageEnv, why = 'the mean rounding error on the calibration inputs'): { staged: StagedWeight; note: string } | undefined {
  // (LSTM, GRU, RNN: B [directions, 2·gates·hidden] is Wb then Rb per direction; Wb adds to W·x, so it takes the correction)
  const recurrent = RECURRENT.has(layer.op);
  const b = layer.weights.find((v) => v.role === 'bias' && v.inputIndex === (recurrent ? 3 : 2));
  // (a float16 layer's bias is float16: corrected in its own type)
  if (!b || b.via.length > 0 || !FLOAT_TYPES.has(b.dataType) || b.elements !== delta.length * (recurrent ? 2 : 1)) return undefined;
  const eff = effectiveWeight(b, env.scope, true, env.external);
  const per = recurrent ? delta.length / Math.max(1, eff.shape[0] ?? 1) : delta.length;
  const at = (i: number) => (recurrent ? (i % (2 * per) < per ? Math.floor(i / (2 * per)) * per + (i % (2 * per)) : -1) : i);
  const values = Float32Array.from(eff.values as ArrayLike<number>, (v, i) => (at(i) < 0 ? v : v + delta[at(i)]));
  const e = new Emitter(env.names, env.opset, b.name);
  const output = storeFloats(e, '_corrected', values, eff.shape, b.dataType);
  let largest = 0;
  for (const d of delta) largest = Math.max(largest, Math.abs(d));
    const report: WeightReport = { name: b.name, input: b.inputIndex, shape: eff.shape, encoding: 'unchanged', bytesBefore: weightStoredBytes(b), bytesAfter: e.storedBytes() };
  const plan: WeightPlan = { weight: b, shape: eff.shape, dataType: b.dataType, encoding: 'unchanged', needOpset: 0 };
  return { staged: { plan, output, emitter: e, report }, note: `bias corrected by ${why} (largest change ${largest.toExponential(2)})` };
}
