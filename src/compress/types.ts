/**
 * The types compressModel answers with (its report) and takes (its options), in a file of their
 * own so that the methods' steps (activations/, quantize/ …) can name them without importing the
 * pipeline that imports them.
 */
import type { LayerWeight, WeightRole } from '../onnx/layers';
import type { ExternalDataResolver, Model, Node } from '../onnx/types';
import type { ActivationEncoding, ActivationReport } from './activations/meta';
import type { Calibration } from './activations/calibrate';
import type { LayerHessian } from './recovery/hessian';
import type { CleanupReport } from './cleanup/meta';
import type { Emitter } from './emit';
import type { Fp16ComputeReport } from './fp16/compute';
import type { ChannelPruneReport } from './prune/channel';
import type { QuantBits } from './quantize/meta';
import type { GroupLayout } from './quantize/quantize';
import type { LayerSettings, Target } from './recipe';

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
  /** recovery: the layer's output error on the calibration inputs (relative), round-to-nearest and after */
  recovery?: RecoveryReport;
  note?: string;
}

export interface RecoveryReport {
  method: 'gptq';
  /**
   * The layer's output error on the calibration inputs relative to its output's energy, over its
   * whole output (Σ‖Ŷ − Y‖² / Σ‖Y‖² over every output channel and input row; Conv groups solved
   * one by one are summed, not averaged): round to nearest (or pruning alone), then with recovery
   */
  errorBefore: number;
  errorAfter: number;
  /** calibration input rows (tokens, patches) H was built from */
  rows: number;
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
  /** per layer key, H of its inputs on the calibration samples, for `recovery: "gptq"` (recovery/hessian.ts collects them) */
  recovery?: ReadonlyMap<string, LayerHessian>;
  /**
   * int8 activations only where the shape-based cost estimate says integer kernels pay off
   * (activations/cost.ts); default true. false writes them wherever asked (tests, benchmarks).
   */
  activationCostGuard?: boolean;
  /**
   * 'dynamic': every calibrated Conv / MatMul with int8 activations is written in the dynamic form
   * (DynamicQuantizeLinear + ConvInteger / MatMulInteger), past the cost guard (tests,
   * benchmarks). Default: the cost guard chooses per layer.
   */
  activationForm?: 'dynamic';
  /**
   * After the repair of magnitude pruning (recovery gptq or sequential, with statistics; not layers
   * aiming at the teacher): each output channel's variance and mean re-estimated on the calibration
   * inputs (recovery/variance.ts; docs/RECIPE-NOTES.md). Default true; false leaves it out (measurements).
   */
  varianceMatch?: boolean;
}

export interface CompressResult {
  model: Model;
  report: CompressReport;
}

/** How one weight of a layer will be stored (chosen before any tensor data is read). */
export interface WeightPlan {
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

/** A weight's plan carried out: its decode nodes and initializers (in `emitter`), not yet in the graph. */
export interface StagedWeight {
  plan: WeightPlan;
  /** the value the layer reads instead of the weight */
  output?: string;
  emitter?: Emitter;
  /** int4 blocks of a MatMul's B on webgpu: the layer becomes MatMulNBits with these */
  matMulNBits?: { inputs: string[]; attributes: Node['attributes'] };
  report: WeightReport;
}

/** One constant input of a layer, reduced to what the projection needs. */
export interface ProjectionWeight {
  /** `<graph path>|<tensor name>`: the stored tensor, counted once even when shared */
  id: string;
  /** the id of the tensor it is an exact or transposed duplicate of (clean-up's shared initializers store it once) */
  sameAs?: string;
  role: WeightRole;
  /** stored bytes now */
  bytes: number;
  /** values in the tensor */
  elements: number;
  /** output channels (the length of the per-channel scale axis), when the op has that axis */
  channels?: number;
  /** length of the reduction axis that blocks run along (Conv kernels: every axis after the first) */
  blockLen?: number;
  /** the layer reads it as float16 already */
  fp16?: boolean;
  /** the B input of a plain MatMul (rank 2, float32): int4 blocks become MatMulNBits on webgpu */
  matMulB?: boolean;
  /** why the compressor cannot quantize it (it is then counted unchanged) */
  unsupported?: string;
}

/**
 * A method's step over one weight's values, before the weight is encoded (value-steps.ts lists
 * them): what it makes of the values, and what it makes of the projected download size.
 */
/** What a value step may know of the layer beyond its weights. */
export interface ValueStepContext {
  /**
   * One non-negative factor per weight value: how strongly its input reaches the layer's output on
   * the calibration inputs (√H_jj of its input column, recovery with statistics). Magnitude pruning
   * then prunes the smallest |w|·importance (the mask chosen with the inputs) instead of |w|.
   */
  importance?: Float32Array;
}

export interface ValueStep {
  id: string;
  /** the values to encode (the same array when the settings do not ask for this step); `pruned` counts values set to zero, for the report */
  apply(values: Float32Array, s: LayerSettings, context?: ValueStepContext): { values: Float32Array; pruned?: number };
  /** the projected download bytes of the encoded weight: `after` stored bytes holding `elements` values */
  zip(after: number, elements: number, s: LayerSettings): number;
}
