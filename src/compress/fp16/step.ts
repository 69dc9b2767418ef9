/**
 * The fp16 method's steps in compressModel: how a layer's weight is stored as float16 (plan and
 * stage), and the whole-graph float16 compute conversion (target webgpu, fp16 default weights).
 */
import type { Layer } from '../../onnx/layers';
import { DataType, type Model, type Node } from '../../onnx/types';
import { bytesOf, storeFloats, type Emitter } from '../emit';
import type { NameAllocator } from '../graph-edit';
import { PORTABLE_MIN_OPSET } from '../quantize/encode';
import type { LayerSettings } from '../recipe';
import type { Encoding, LayerReport, WeightPlan, WeightReport } from '../types';
import { convertComputeToFloat16, type Fp16ComputeReport } from './compute';
import { toFloat16 } from './fp16';
import type { ExternalDataResolver } from '../../onnx/types';

type PlanBase = Pick<WeightPlan, 'weight' | 'shape' | 'dataType'>;

/** `weights: "fp16"`: float16 storage (cast back at load), or read directly under float16 compute. */
export function planFp16Weight(base: PlanBase, s: LayerSettings, fp16Compute: boolean): WeightPlan {
  if (base.dataType === DataType.FLOAT16 || base.weight.dataType === DataType.FLOAT16) {
    // stored as float16 already (read as is, or through a Cast): nothing to gain unless pruned
    if (s.prune === 0) return { ...base, encoding: 'unchanged', needOpset: 0, note: 'already float16' };
    if (base.dataType === DataType.FLOAT16) return { ...base, encoding: 'pruned', needOpset: 0 };
  }
  if (fp16Compute && base.dataType === DataType.FLOAT) return { ...base, encoding: 'fp16-compute', needOpset: PORTABLE_MIN_OPSET };
  return { ...base, encoding: 'fp16-cast', needOpset: PORTABLE_MIN_OPSET };
}

/**
 * Writes the float16 tensor; returns the value the layer reads and the encoding it got (values
 * beyond float16's range keep the weight as it was, or pruned, with the reason in the report).
 */
export function stageFp16Weight(e: Emitter, plan: WeightPlan, values: Float32Array, report: WeightReport): { output?: string; encoding: Encoding } {
  const r = toFloat16(values);
  if (r.ok) {
    const half = e.init('_fp16', DataType.FLOAT16, plan.shape, bytesOf(r.bits));
    // fp16 compute: the layer reads the float16 tensor itself (the graph is converted afterwards)
    return { output: plan.encoding === 'fp16-compute' ? half : e.cast(half, plan.dataType), encoding: plan.encoding };
  }
  report.note = r.reason;
  if (report.pruned !== undefined) return { output: storeFloats(e, '_pruned', values, plan.shape, plan.dataType), encoding: 'pruned' };
  return { encoding: 'unchanged' };
}

/** What the float16 compute step needs from the layer step. */
export interface Fp16ComputeInput {
  layers: readonly Layer[];
  /** the rows of `layers`, index for index */
  rows: readonly LayerReport[];
  names: NameAllocator;
  /** nodes kept in float32, with the reason (decode chains of non-fp16 layers) */
  keep: Map<Node, string>;
  /** float16 weights the layers read directly */
  halfWeights: Set<string>;
  external?: ExternalDataResolver;
}

/** float16 compute: every float computation of the graph in float16, casts at the model's edges; returns its report and a model note. */
export function fp16ComputeStep(out: Model, input: Fp16ComputeInput): { report: Fp16ComputeReport; note: string } {
  const { layers, rows, keep } = input;
  for (const [i, layer] of layers.entries()) {
    const row = rows[i];
    if (row.error) keep.set(layer.node, `left as it was (${row.error})`);
    else if (row.requested.weights !== 'fp16') keep.set(layer.node, `the recipe asks for ${row.requested.weights} weights here`);
  }
  const r = convertComputeToFloat16(out, { names: input.names, keep, halfWeights: input.halfWeights, external: input.external });
  layers.forEach((layer, i) => {
    const c = r.compute.get(layer.node);
    if (c === undefined) return;
    rows[i].compute = c === 'fp16' ? { type: 'fp16' } : { type: 'fp32', reason: c };
    rows[i].notes.push(c === 'fp16' ? 'computes in float16' : `computes in float32: ${c}`);
  });
  const report = r.report;
  const big = report.overflow.map((o) => `${o.name} (${o.count} value${o.count === 1 ? '' : 's'}, max |v| ${o.maxAbs})`);
  const note =
    `webgpu fp16: float16 compute in ${report.converted} nodes, ${report.kept.length} kept in float32 (${report.casts} casts at the boundaries); inputs and outputs stay float32` +
    (big.length > 0 ? `; beyond float16's range, kept float32 with their readers: ${big.join(', ')}` : '');
  return { report, note };
}
