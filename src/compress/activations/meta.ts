/** int8 activations (recipe key `activations: "int8"`, target `wasm`): id, label, what it writes. */
import { choice, type ValuesOf } from '../method';
import type { TensorRange } from './calibrate';

export const id = 'activations';
export const label = 'Quantize activations (int8, wasm)';

export const ACTIVATION_MODES = ['fp32', 'int8'] as const;
export type ActivationMode = (typeof ACTIVATION_MODES)[number];

/** Its recipe key (RECIPE.md): `activations`. */
export const settings = {
  activations: choice({
    values: ACTIVATION_MODES,
    default: 'fp32',
    label: 'Activations',
    hint: 'int8 quantizes the activations too (target wasm): Conv layers get static QDQ that onnxruntime fuses into integer kernels, with ranges calibrated on 8 random input sets in the page (the CLI takes real ones: compress --samples DIR); MatMul/Gemm get dynamic quantization. Layers where integer kernels would not be faster stay weights-only, and the report says why.',
    // int8 activations are written for the wasm target only (integer kernels on the CPU)
    shown: (s, target) => target === 'wasm' || s.activations !== 'fp32',
  }),
} as const;
export type ActivationSettings = ValuesOf<typeof settings>;

/**
 * How a layer with int8 activations is written:
 * - 'int8-qdq' (static, calibrated): uint8 QuantizeLinear/DequantizeLinear pairs on the layer's
 *   input and output activations, int8 per-channel symmetric weights and an int32 bias through
 *   DequantizeLinear; onnxruntime fuses the unit into QLinearConv / QLinearMatMul / QGemm /
 *   MatMulIntegerToFloat. The bias's row says 'int32-bias'.
 * - 'int8-dynamic' (MatMul/Gemm without calibration): DynamicQuantizeLinear + MatMulInteger with
 *   int8 per-channel weights + Cast + Mul by the scales; onnxruntime fuses it into
 *   DynamicQuantizeMatMul. The cost guard also picks it for a calibrated MatMul that sits alone
 *   between float ops (no Q/DQ pair at its edges).
 * - 'int8-dynamic-conv' (a Conv alone between float ops, chosen by the cost guard): DynamicQuantizeLinear
 *   + ConvInteger with the weight's int8 per-channel symmetric codes stored as uint8 (code + 128,
 *   zero point 128: onnxruntime's ConvInteger takes uint8 weights only) + Cast + Mul by
 *   x_scale * w_scale per output channel + Add of the float bias. No calibration needed.
 */
export type ActivationEncoding = 'int8-qdq' | 'int8-dynamic' | 'int8-dynamic-conv' | 'int32-bias';

/** The opsets the encodings need: per-axis DequantizeLinear (13), DynamicQuantizeLinear (11). */
export const STATIC_MIN_OPSET = 13;
export const DYNAMIC_MIN_OPSET = 11;

/** What a layer's row says about its activations. */
export interface ActivationReport {
  mode: 'static' | 'dynamic';
  /** the activation tensor the layer reads */
  input: string;
  /** static: the calibrated range its scale comes from */
  inputRange?: TensorRange;
  /** static Conv: the tensor quantized after the layer (its output, or the Relu's after it) */
  output?: string;
  outputRange?: TensorRange;
  /** static: the Relu (or Clip from 0) folded into the output quantization */
  fused?: string;
}
