/**
 * The quantize method's steps in compressModel (`weights: "int8" | "int4"`): the group layout and
 * the target's encoding of one weight (plan), the portable fallback when the opset cannot be
 * raised, and the codes and decode nodes (stage). See encode.ts for the encodings.
 */
import { AppError } from '../../core/errors';
import type { Layer } from '../../onnx/layers';
import { DataType } from '../../onnx/types';
import type { Emitter } from '../emit';
import type { LayerSettings, Target } from '../recipe';
import type { Encoding, WeightPlan } from '../types';
import { weightAxes } from '../weights';
import { dequantizeLinearOpset, emitDequantizeLinear, emitMatMulNBits, emitPortable, PORTABLE_MIN_OPSET } from './encode';
import type { QuantBits } from './meta';
import { quantizeTensor, type GroupLayout, type QuantizedTensor } from './quantize';

type PlanBase = Pick<WeightPlan, 'weight' | 'shape' | 'dataType'>;

export const portableEncoding = (bits: QuantBits): Encoding => (bits === 8 ? 'int8-cast-mul' : 'int4-nibbles-mul');
const dqEncoding = (bits: QuantBits): Encoding => (bits === 8 ? 'int8-dequantize-linear' : 'int4-dequantize-linear');

/** The group layout a granularity gives this weight, and the shape the quantizer sees. */
function layoutOf(layer: Layer, base: PlanBase, s: LayerSettings): { layout: GroupLayout; quantShape: number[] } {
  const { weight: w, shape } = base;
  const rank = shape.length;
  const axes = weightAxes(layer, w.inputIndex, rank);
  if (s.granularity === 'per-tensor') return { layout: { kind: 'tensor' }, quantShape: shape };
  if (s.granularity === 'per-channel') {
    if (axes.channelAxis === undefined) {
      throw new AppError('unsupported', `per-channel needs an output-channel axis, and ${layer.op} input ${w.inputIndex} (rank ${rank}) has none`);
    }
    return { layout: { kind: 'channel', axis: axes.channelAxis }, quantShape: shape };
  }
  if (axes.blockAxis === undefined) {
    throw new AppError('unsupported', `block needs a reduction axis, and ${layer.op} input ${w.inputIndex} (rank ${rank}) has none`);
  }
  if (axes.flattenForBlock) {
    return { layout: { kind: 'block', axis: 1, blockSize: s.blockSize }, quantShape: [shape[0], shape.slice(1).reduce((p, d) => p * d, 1)] };
  }
  return { layout: { kind: 'block', axis: axes.blockAxis, blockSize: s.blockSize }, quantShape: shape };
}

/**
 * onnxruntime-web's WebGPU DequantizeLinear takes int8, uint8 and int32 codes only: an int4 one is
 * placed on the CPU and runs there every call (its float output uploaded again), seen in the
 * verbose placement log on Dawn (scripts/webgpu-device). The portable encoding is folded into a
 * float initializer when the session loads.
 */
export const INT4_DQ_NOTE = "onnxruntime-web's WebGPU DequantizeLinear has no int4 kernel (it would run on the CPU every call): portable encoding, folded at load";

/** `weights: "int8" | "int4"`: layout and encoding for the target (no tensor data is read). */
export function planQuantizedWeight(layer: Layer, base: PlanBase, s: LayerSettings, target: Target): WeightPlan {
  const bits: QuantBits = s.weights === 'int8' ? 8 : 4;
  const { layout, quantShape } = layoutOf(layer, base, s);
  const plan = { ...base, bits, layout, quantShape };
  if (target === 'webgpu') {
    const isMatMulB = layer.op === 'MatMul' && (!layer.domain || layer.domain === 'ai.onnx') && base.weight.inputIndex === 1 && base.shape.length === 2;
    if (bits === 4 && layout.kind === 'block' && isMatMulB && base.dataType === DataType.FLOAT) {
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
    if (bits === 4) {
      return { ...plan, encoding: portableEncoding(bits), needOpset: PORTABLE_MIN_OPSET, note: INT4_DQ_NOTE };
    }
    return { ...plan, encoding: dqEncoding(bits), needOpset: dequantizeLinearOpset(bits, layout) };
  }
  return { ...plan, encoding: portableEncoding(bits), needOpset: PORTABLE_MIN_OPSET };
}

/**
 * A quantized weight whose DequantizeLinear needs a higher opset than the model got: the
 * portable encoding instead, with the reason (`refusals`: why each opset could not be reached).
 */
export function fallBackToPortable(w: WeightPlan, opset: number, opsetBefore: number | undefined, refusals: readonly string[]): void {
  if (!(w.needOpset > opset && w.bits)) return;
  const why = refusals.find((r) => r.startsWith(`opset ${w.needOpset}:`)) ?? `opset ${w.needOpset} is needed`;
  w.note = `DequantizeLinear needs opset ${w.needOpset} and the model (opset ${opsetBefore}) cannot be raised (${why.replace(/^opset \d+: /, '')}): portable encoding`;
  w.encoding = portableEncoding(w.bits);
  w.needOpset = PORTABLE_MIN_OPSET;
}

/** Quantizes the values and writes the decode nodes; returns the value the layer reads, or the MatMulNBits inputs. */
export function stageQuantizedWeight(
  e: Emitter,
  plan: WeightPlan,
  values: Float32Array,
  symmetric: boolean,
  /** changes the codes on the quantizer's grid before they are written (recovery) */
  refine?: (qt: QuantizedTensor) => void,
): { output?: string; matMulNBits?: ReturnType<typeof emitMatMulNBits> } {
  const qt = quantizeTensor(values, plan.quantShape as number[], plan.layout as GroupLayout, plan.bits as QuantBits, symmetric);
  refine?.(qt);
  if (plan.encoding === 'int4-matmul-nbits') return { matMulNBits: emitMatMulNBits(e, qt) };
  if (plan.encoding === 'int8-cast-mul' || plan.encoding === 'int4-nibbles-mul') return { output: emitPortable(e, qt, plan.shape, plan.dataType) };
  return { output: emitDequantizeLinear(e, qt, plan.shape, plan.dataType) };
}
