/** Small text helpers for the graph view. */
import type { Dim, SceneEdge, WeightChip } from '../../graph/scene-types';

export function shapeText(shape: readonly Dim[] | null | undefined): string {
  if (!shape) return '';
  if (shape.length === 0) return 'scalar';
  return `[${shape.map((d) => String(d)).join(', ')}]`;
}

/** 1234567 -> "1.2M" */
export function compactCount(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function chipLetter(w: WeightChip): string {
  return w.role === 'weight' ? 'W' : w.role === 'bias' ? 'B' : w.role === 'other' ? 'Q' : 'C';
}

/** 1234567 -> "1,234,567" (not toLocaleString: its first call sets up ICU, a long task on a slow machine). */
export function groupDigits(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return n < 0 ? `-${out}` : out;
}

export function chipTitle(w: WeightChip): string {
  const via = w.via.length > 0 ? ` via ${w.via.join(' → ')}` : '';
  const many = w.count && w.count > 1 ? `${w.count} constants like ` : '';
  return `${many}${w.name}: ${w.dtype} ${shapeText(w.shape)} (${groupDigits(w.elements)} values)${via}`;
}

/** The short label drawn on an edge: its shape, or how many tensors it stands for. */
export function edgeLabel(e: SceneEdge): string {
  if (e.control) return '';
  if (e.count > 1) return `${e.count} tensors`;
  return e.shape ? shapeText(e.shape) : '';
}

export function edgeTitle(e: SceneEdge): string {
  if (e.control) return 'runs its body';
  const more = e.count > e.tensors.length ? ` and ${e.count - e.tensors.length} more` : '';
  const type = e.count === 1 && (e.dtype || e.shape) ? `: ${e.dtype ?? '?'} ${e.shape ? shapeText(e.shape) : ''}` : '';
  return `${e.tensors.join(', ')}${more}${type}`;
}

/** Category of an op type, for its colour dot. */
export function opCategory(op: string): string {
  if (/^(Conv|ConvTranspose|Gemm|MatMul|QLinear|MatMulInteger|ConvInteger|MatMulNBits|Attention|LSTM|GRU|RNN|Einsum)/.test(op)) return 'layer';
  if (/^(Relu|LeakyRelu|PRelu|Sigmoid|Tanh|Gelu|FastGelu|Erf|Softmax|LogSoftmax|HardSigmoid|HardSwish|Elu|Selu|Softplus|Mish|Clip|Swish|Silu)/.test(op)) return 'activation';
  if (/Norm/.test(op)) return 'norm';
  if (/Pool/.test(op)) return 'pool';
  if (/^(Reshape|Transpose|Concat|Split|Slice|Gather|Squeeze|Unsqueeze|Flatten|Shape|Expand|Tile|Pad|Resize|Cast|Identity|Range|ConstantOfShape|ScatterND|Where|GatherElements|GatherND|Size)/.test(op)) return 'shape';
  if (/^(If|Loop|Scan)$/.test(op)) return 'control';
  if (/^(QuantizeLinear|DequantizeLinear|DynamicQuantizeLinear)/.test(op)) return 'quant';
  return 'math';
}
