/**
 * Whether a model's default-domain opset can be raised without changing what any node means.
 *
 * Most operator revisions only widen types or add optional attributes; a node written for the
 * old opset then stays valid at the new one. The table lists, per op, the opsets at which a node
 * valid before could become invalid or change meaning (an attribute turned into an input, a
 * removed attribute, a changed default, a removed op), with a predicate where only some nodes are
 * affected. An op missing from KNOWN_OPS is treated as unknown, and blocks any raise.
 * Sources: onnx/docs/Changelog.md and Operators.md (ai.onnx operator history).
 */
import { modelGraphs } from '../onnx/names';
import type { Model, Node } from '../onnx/types';

type Break = number | { at: number; when: (n: Node) => boolean; why: string };

const hasAttr = (name: string) => (n: Node) => n.attributes.some((a) => a.name === name);
const lacksInput = (i: number) => (n: Node) => !n.inputs[i];

/** op -> opsets where existing nodes may break. */
const BREAKS: Record<string, Break[]> = {
  BatchNormalization: [
    { at: 9, when: hasAttr('spatial'), why: 'the spatial attribute was removed' },
    { at: 14, when: (n) => n.outputs.filter(Boolean).length > 1, why: 'optional outputs changed meaning' },
  ],
  Clip: [{ at: 11, when: (n) => hasAttr('min')(n) || hasAttr('max')(n), why: 'min/max became inputs' }],
  DFT: [20],
  Dropout: [{ at: 12, when: hasAttr('ratio'), why: 'ratio became an input' }],
  GridSample: [20],
  GroupNormalization: [21],
  Hardmax: [13],
  LogSoftmax: [13],
  Pad: [11],
  ReduceL1: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceL2: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceLogSum: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceLogSumExp: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceMax: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceMean: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceMin: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceProd: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceSumSquare: [{ at: 18, when: hasAttr('axes'), why: 'axes became an input' }],
  ReduceSum: [{ at: 13, when: hasAttr('axes'), why: 'axes became an input' }],
  Resize: [11],
  RoiAlign: [16],
  Scan: [9],
  Scatter: [11],
  Slice: [10],
  Softmax: [13],
  Split: [
    { at: 13, when: hasAttr('split'), why: 'split became an input' },
    { at: 18, when: lacksInput(1), why: 'num_outputs is required without a split input' },
  ],
  Squeeze: [{ at: 13, when: hasAttr('axes'), why: 'axes became an input' }],
  TopK: [10],
  Unsqueeze: [{ at: 13, when: hasAttr('axes'), why: 'axes became an input' }],
  Upsample: [10],
  // experimental ops dropped in opset 10
  ATen: [10],
  Affine: [10],
  ConstantFill: [10],
  Crop: [10],
  DynamicSlice: [10],
  GRUUnit: [10],
  GivenTensorFill: [10],
  ImageScaler: [10],
  ParametricSoftplus: [10],
  Scale: [10],
  ScaledTanh: [10],
};

/** Default-domain ops whose revisions from opset 7 to 21 keep earlier nodes valid (or are listed in BREAKS). */
const KNOWN_OPS = new Set<string>([
  ...Object.keys(BREAKS),
  ...`Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool Bernoulli BitShift
BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike Ceil Celu CenterCropPad Col2Im Compress
Concat ConcatFromSequence Constant ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumSum DeformConv
DepthToSpace DequantizeLinear Det Div DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor
GRU Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual
HammingWindow HannWindow HardSigmoid HardSwish Identity If ImageDecoder InstanceNormalization IsInf IsNaN LRN LSTM
LayerNormalization LeakyRelu Less LessOrEqual Log Loop LpNormalization LpPool MatMul MatMulInteger Max MaxPool
MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min Mish Mod Mul Multinomial Neg
NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement OptionalHasElement Or
PRelu Pow QLinearConv QLinearMatMul QuantizeLinear RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike
Range Reciprocal RegexFullMatch Relu Reshape ReverseSequence Round STFT ScatterElements ScatterND Selu SequenceAt
SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape Shrink Sigmoid Sign
Sin Sinh Size Softplus Softsign SoftmaxCrossEntropyLoss SpaceToDepth SplitToSequence Sqrt StringConcat
StringNormalizer StringSplit Sub Sum Tan Tanh TfIdfVectorizer ThresholdedRelu Tile Transpose Trilu Unique Where Xor`
    .split(/\s+/)
    .filter(Boolean),
]);

const isDefault = (d: string | undefined) => !d || d === 'ai.onnx';

/** The model's default-domain opset version (undefined when it imports none). */
export function defaultOpset(model: Model): number | undefined {
  for (const o of model.opsetImport) if (isDefault(o.domain)) return o.version;
  return undefined;
}

/** The lowest IR version a given opset requires (ONNX versioning table). */
export function irVersionFor(opset: number): number {
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 13) return 7;
  if (opset >= 12) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  return 3;
}

export type RaiseCheck = { ok: true } | { ok: false; reason: string };

/** Whether every node of the model stays valid, with the same meaning, at opset `to`. */
export function canRaiseOpset(model: Model, to: number): RaiseCheck {
  const from = defaultOpset(model);
  if (from === undefined) return { ok: false, reason: 'the model imports no default-domain opset' };
  if (to <= from) return { ok: true };
  if (model.functions.length > 0) return { ok: false, reason: 'the model defines local functions, whose bodies pin their own opsets' };
  for (const rec of modelGraphs(model)) {
    for (const n of rec.nodes) {
      if (!isDefault(n.domain)) continue;
      const op = n.opType ?? '';
      if (!KNOWN_OPS.has(op)) return { ok: false, reason: `node "${n.name ?? ''}" (${op}) is not an operator this check knows` };
      for (const b of BREAKS[op] ?? []) {
        const at = typeof b === 'number' ? b : b.at;
        if (at <= from || at > to) continue;
        if (typeof b === 'number' || b.when(n)) {
          const why = typeof b === 'number' ? 'its definition changed' : b.why;
          return { ok: false, reason: `node "${n.name ?? ''}" (${op}) would change at opset ${at}: ${why}` };
        }
      }
    }
  }
  return { ok: true };
}

/** Sets the default-domain opset to `to` (never lowers it) and the IR version to what it needs. */
export function raiseOpset(model: Model, to: number): void {
  const o = model.opsetImport.find((x) => isDefault(x.domain));
  if (!o) return;
  if ((o.version ?? 0) < to) o.version = to;
  const ir = irVersionFor(to);
  if ((model.irVersion ?? 0) < ir) model.irVersion = ir;
}
