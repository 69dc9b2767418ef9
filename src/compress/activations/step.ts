/**
 * The activations method's steps in compressModel (`activations: "int8"`, target wasm): what the
 * planner needs to know about the model (PlanEnv), the cost guard over the planned layers, and the
 * notes the report gets.
 */
import type { Layer } from '../../onnx/layers';
import type { ExternalDataResolver, Model } from '../../onnx/types';
import { canRaiseOpset } from '../opset';
import type { Target } from '../recipe';
import type { CompressOptions } from '../types';
import { GraphIndex, type PlanEnv } from './activations';
import type { Calibration } from './calibrate';
import { guardActivations, type GuardLayer } from './cost';

/** A lazily built PlanEnv: built on the first layer that asks for int8 activations. */
export function activationEnv(model: Model, target: Target, opsetBefore: number | undefined, calibration?: Calibration, external?: ExternalDataResolver): () => PlanEnv {
  let env: PlanEnv | undefined;
  return () => {
    if (env) return env;
    const allowed = new Map<number, boolean>();
    const opsetAllows = (v: number) => {
      if ((opsetBefore ?? 0) >= v) return true;
      if (!allowed.has(v)) allowed.set(v, canRaiseOpset(model, v).ok);
      return allowed.get(v) as boolean;
    };
    return (env = { target, calibration, opsetAllows, graph: new GraphIndex(model), external });
  };
}

/**
 * The cost guard (cost.ts): of the layers planned with int8 activations, which keep them. Returns
 * the keys that lose them with the reason, and a model note when some were dropped.
 */
export function guardActivationLayers(
  model: Model,
  planned: readonly { layer: Layer; activation?: { plan: { mode: 'static' | 'dynamic'; output?: string } } }[],
  options: Pick<CompressOptions, 'activationCostGuard' | 'calibration' | 'activationForm'>,
): { drop: Map<string, string>; gains: Map<string, string>; dynamic: Set<string>; note?: string } {
  const drop = new Map<string, string>();
  const gains = new Map<string, string>();
  if (options.activationForm === 'dynamic') {
    const dynamic = new Set(planned.filter((p) => p.activation?.plan.mode === 'static' && p.layer.op !== 'Gemm').map((p) => p.layer.key));
    return { drop, gains, dynamic };
  }
  if (planned.length === 0 || options.activationCostGuard === false) return { drop, gains, dynamic: new Set() };
  // at the sizes of the user's samples where they calibrated (a symbolic dim is otherwise unknown)
  const decision = guardActivations(
    model,
    planned.map((p): GuardLayer => ({ key: p.layer.key, node: p.layer.node, mode: p.activation?.plan.mode, ...(p.activation?.plan.output ? { output: p.activation.plan.output } : {}) })),
    options.calibration?.inputDims,
  );
  for (const p of planned) {
    const k = p.layer.key;
    const us = ((decision.gains.get(k) ?? 0) / 1000).toFixed(1);
    if (!decision.keep.has(k)) drop.set(k, decision.reasons.get(k) ?? 'int8 activations: weights only');
    else if (decision.dynamic.has(k)) {
      const op = p.layer.op === 'Conv' ? 'ConvInteger' : 'MatMulInteger';
      gains.set(k, `int8 activations, dynamic form (DynamicQuantizeLinear + ${op}): alone between float ops it skips the quantize / dequantize pair static QDQ pays at its edges; estimated to save ${us} µs per run on wasm (1 thread)`);
    } else gains.set(k, `int8 activations: estimated to save ${us} µs per run on wasm (1 thread), its quantize / dequantize steps counted`);
  }
  return { drop, gains, dynamic: decision.dynamic, ...(decision.dropped ? { note: decision.dropped } : {}) };
}

/** The report's notes for target wasm. */
export function wasmNotes(activationLayers: number, options: Pick<CompressOptions, 'activationCostGuard' | 'calibration'>): string[] {
  const notes = ['wasm: weight-only encodings are folded to float32 at load (fp32 speed); int8 activations run integer kernels (static QDQ: QLinearConv/QLinearMatMul/QGemm; dynamic: DynamicQuantizeMatMul, ConvInteger)'];
  if (activationLayers === 0) return notes;
  notes.push(
    options.activationCostGuard === false
      ? 'int8 activations written wherever asked (cost guard off): on small layers the quantize steps around them can cost more than they save (measure: scripts/bench-wasm-speed.ts)'
      : 'int8 activations kept only on layers whose estimated saving (MACs, from shapes) is larger than the quantize / dequantize steps at their float edges on wasm (docs/WEB-SPEED.md)',
  );
  const cal = options.calibration;
  if (cal) {
    const sets = cal.source === 'synthesized' ? 'synthesized (random) input sets' : 'sample input sets';
    notes.push(`calibration: ${cal.samples ?? 'unknown number of'} ${sets}, ranges clipped at the ${cal.percentile ?? 100}th percentile`);
  }
  return notes;
}
