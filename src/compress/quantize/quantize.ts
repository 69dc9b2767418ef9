/**
 * Linear quantization of float weights to int8 / int4, with onnxruntime's own formulas so that a
 * tensor quantized here holds the same bits as one quantized by onnxruntime's tools.
 *
 * Per-tensor and per-channel follow onnxruntime/python/tools/quantization/quant_utils.py
 * (compute_scale_zp + quantize_nparray):
 *   - range widened to include 0; symmetric uses [-max|w|, +max|w|];
 *   - (qmin, qmax): int8 symmetric [-127, 127], int8 asymmetric [-128, 127]; int4 has no
 *     symmetric entry in quant_utils, so both use [-8, 7];
 *   - scale = float64(float32(rmax - rmin)) / (qmax - qmin), stored as float32; a scale below
 *     FLT_MIN becomes 1 with zero point 0;
 *   - zero point: symmetric round_half_even((qmin + qmax) / 2) (= 0), asymmetric
 *     round_half_even(qmin - rmin / scale) (in float64, before the scale is rounded to float32);
 *   - q = clip(round_half_even(float32(w / scale)) + zp, type min, type max).
 *   Asymmetric codes are kept signed: onnxruntime's uint8/uint4 codes and zero points are these
 *   plus 128 / 8 (an even shift, so every rounding is the same), and dequantize identically.
 *
 * Block-wise follows onnxruntime's block quantizer (MLAS BlockwiseQDQQuantizer, used by
 * matmul_nbits_quantizer for MatMulNBits and blocked DequantizeLinear), per block of `blockSize`
 * elements along one axis:
 *   - symmetric: m = the block's value of largest magnitude (signed), scale = float32(-m / 2^(b-1))
 *     (so m maps to -2^(b-1) exactly: int4 uses all of [-8, 7]), zero point 0;
 *   - asymmetric (MLAS computes unsigned codes; kept signed here as above):
 *     scale = float32(float32(max - min) / (2^b - 1)) over the range widened to include 0,
 *     zp = round_half_away(clamp(-float32(min / scale), 0, 2^b - 1));
 *   - q = clamp(round_half_away(float32(w * float32(1 / scale))) + zp, type min, type max),
 *     with 1/scale taken as 0 for a zero scale.
 *
 * Dequantized value: float32((q - zp) * scale).
 * All loops run over typed arrays with no per-element allocation.
 */
import { AppError } from '../../core/errors';
import type { QuantBits } from './meta';

/** How elements are grouped under one scale. Axes are non-negative. */
export type GroupLayout =
  | { kind: 'tensor' }
  | { kind: 'channel'; axis: number }
  | { kind: 'block'; axis: number; blockSize: number };

/**
 * The tensor viewed as [outer, len, inner] around the layout's axis. Group index:
 *   tensor: 0; channel: the index along the axis; block: (o * blocks + floor(l / blockSize)) * inner + i
 * which is also the row-major order of a DequantizeLinear scale tensor of the same layout.
 */
export interface GroupView {
  outer: number;
  len: number;
  inner: number;
  /** blocks along the axis (block layout), else 1 */
  blocks: number;
  groups: number;
}

export type QuantFormula = 'ort-quant-utils' | 'ort-blockwise';

export interface QuantizedTensor {
  bits: QuantBits;
  symmetric: boolean;
  formula: QuantFormula;
  shape: number[];
  layout: GroupLayout;
  view: GroupView;
  /** signed codes in the tensor's element order, within [-2^(bits-1), 2^(bits-1) - 1] */
  q: Int8Array;
  /** one scale per group (GroupView order) */
  scales: Float32Array;
  /** one signed zero point per group; undefined when symmetric (all zero) */
  zeroPoints?: Int8Array;
}

const FLT_MIN = 1.1754943508222875e-38;
const fround = Math.fround;

/** round half to even (numpy.round / std::nearbyint), for |x| < 2^52. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** round half away from zero (C roundf). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Signed code range of the type: int8 [-128, 127], int4 [-8, 7]. */
export function codeRange(bits: QuantBits): [number, number] {
  return bits === 8 ? [-128, 127] : [-8, 7];
}

function product(dims: readonly number[], from: number, to: number): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= dims[i];
  return n;
}

export function groupView(shape: readonly number[], layout: GroupLayout): GroupView {
  const total = product(shape, 0, shape.length);
  if (layout.kind === 'tensor') return { outer: 1, len: total, inner: 1, blocks: 1, groups: 1 };
  const axis = layout.axis;
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new AppError('invalid-argument', `Axis ${axis} is outside a tensor of rank ${shape.length}.`);
  }
  const outer = product(shape, 0, axis);
  const len = shape[axis];
  const inner = product(shape, axis + 1, shape.length);
  if (layout.kind === 'channel') return { outer, len, inner, blocks: 1, groups: len };
  const bs = layout.blockSize;
  if (!Number.isInteger(bs) || bs < 1) throw new AppError('invalid-argument', `Invalid block size ${bs}.`);
  const blocks = Math.ceil(len / bs);
  return { outer, len, inner, blocks, groups: outer * blocks * inner };
}

/** Group min and max (float32), one pass; throws on NaN or infinite values. */
function groupRanges(values: Float32Array, view: GroupView, layout: GroupLayout): { mins: Float32Array; maxs: Float32Array } {
  const mins = new Float32Array(view.groups).fill(Infinity);
  const maxs = new Float32Array(view.groups).fill(-Infinity);
  const { outer, len, inner } = view;
  let check = 0;
  if (layout.kind === 'tensor' || layout.kind === 'channel') {
    const perChannel = layout.kind === 'channel';
    let idx = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < len; c++) {
        if (perChannel) {
          lo = mins[c];
          hi = maxs[c];
        }
        for (let i = 0; i < inner; i++) {
          const v = values[idx++];
          check += v * 0;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        if (perChannel) {
          mins[c] = lo;
          maxs[c] = hi;
        }
      }
    }
    if (!perChannel) {
      mins[0] = lo;
      maxs[0] = hi;
    }
  } else {
    const bs = layout.blockSize;
    const blocks = view.blocks;
    let idx = 0;
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        const base = (o * blocks + ((l / bs) | 0)) * inner;
        if (inner === 1) {
          const v = values[idx++];
          check += v * 0;
          if (v < mins[base]) mins[base] = v;
          if (v > maxs[base]) maxs[base] = v;
        } else {
          for (let i = 0; i < inner; i++) {
            const v = values[idx++];
            check += v * 0;
            const g = base + i;
            if (v < mins[g]) mins[g] = v;
            if (v > maxs[g]) maxs[g] = v;
          }
        }
      }
    }
  }
  if (check !== 0) throw new AppError('invalid-argument', 'The weights contain NaN or infinite values.');
  return { mins, maxs };
}

/** quant_utils.compute_scale_zp for one group. */
export function ortScaleZeroPoint(
  rmin: number,
  rmax: number,
  bits: QuantBits,
  symmetric: boolean,
): { scale: number; zeroPoint: number } {
  const [tmin, tmax] = codeRange(bits);
  const qmin = symmetric && bits === 8 ? -127 : tmin;
  const qmax = tmax;
  let lo = Math.min(fround(rmin), 0);
  let hi = Math.max(fround(rmax), 0);
  if (symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -a;
    hi = a;
  }
  const scale64 = fround(hi - lo) / (qmax - qmin);
  if (scale64 < FLT_MIN) return { scale: 1, zeroPoint: 0 };
  const zp = symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - lo / scale64);
  return { scale: fround(scale64), zeroPoint: zp | 0 };
}

/** MLAS blockwise scale / zero point for one block (signed representation). */
export function blockwiseScaleZeroPoint(
  bmin: number,
  bmax: number,
  bits: QuantBits,
  symmetric: boolean,
): { scale: number; zeroPoint: number } {
  const half = bits === 8 ? 128 : 8;
  if (symmetric) {
    const m = Math.abs(bmax) > Math.abs(bmin) ? bmax : bmin;
    return { scale: fround(-fround(m) / half), zeroPoint: 0 };
  }
  const kmax = 2 * half - 1;
  const lo = Math.min(fround(bmin), 0);
  const hi = Math.max(fround(bmax), 0);
  const scale = fround(fround(hi - lo) / kmax);
  let zpf = lo;
  if (scale !== 0) zpf = fround(0 - fround(lo / scale));
  const zpu = zpf < 0 ? 0 : zpf > kmax ? kmax : roundHalfAway(zpf);
  return { scale, zeroPoint: zpu - half };
}

function formulaFor(layout: GroupLayout): QuantFormula {
  return layout.kind === 'block' ? 'ort-blockwise' : 'ort-quant-utils';
}

/**
 * Quantizes `values` (row-major, of `shape`) with the given grouping. Throws
 * AppError('invalid-argument') on an empty tensor, a bad axis, or NaN/infinite values.
 */
export function quantizeTensor(
  values: Float32Array,
  shape: readonly number[],
  layout: GroupLayout,
  bits: QuantBits,
  symmetric: boolean,
): QuantizedTensor {
  const view = groupView(shape, layout);
  const n = view.outer * view.len * view.inner;
  if (n === 0) throw new AppError('invalid-argument', 'The tensor is empty.');
  if (values.length !== n) throw new AppError('invalid-argument', `${values.length} values for shape [${shape.join(', ')}].`);
  const { mins, maxs } = groupRanges(values, view, layout);
  const formula = formulaFor(layout);
  const scales = new Float32Array(view.groups);
  const zps = new Int8Array(view.groups);
  for (let g = 0; g < view.groups; g++) {
    const p =
      formula === 'ort-blockwise'
        ? blockwiseScaleZeroPoint(mins[g], maxs[g], bits, symmetric)
        : ortScaleZeroPoint(mins[g], maxs[g], bits, symmetric);
    scales[g] = p.scale;
    zps[g] = p.zeroPoint;
  }
  const q = new Int8Array(n);
  const [tmin, tmax] = codeRange(bits);
  const { outer, len, inner } = view;
  if (formula === 'ort-quant-utils') {
    // group index per element: 0 (tensor), or the channel c of (o, c, i)
    const perChannel = layout.kind === 'channel';
    let idx = 0;
    for (let o = 0; o < (perChannel ? outer : 1); o++) {
      for (let c = 0; c < (perChannel ? len : 1); c++) {
        const s = scales[c];
        const zp = zps[c];
        const end = idx + (perChannel ? inner : n);
        for (; idx < end; idx++) {
          const x = fround(values[idx] / s);
          let r = Math.round(x);
          if (r - x === 0.5 && (r & 1) !== 0) r -= 1;
          r += zp;
          q[idx] = r < tmin ? tmin : r > tmax ? tmax : r;
        }
      }
    }
  } else {
    const bs = (layout as { blockSize: number }).blockSize;
    const blocks = view.blocks;
    const recips = new Float32Array(view.groups);
    for (let g = 0; g < view.groups; g++) recips[g] = scales[g] !== 0 ? fround(1 / scales[g]) : 0;
    let idx = 0;
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        const base = (o * blocks + ((l / bs) | 0)) * inner;
        for (let i = 0; i < inner; i++, idx++) {
          const g = base + i;
          const x = fround(values[idx] * recips[g]);
          let r = x < 0 ? -Math.round(-x) : Math.round(x);
          r += zps[g];
          q[idx] = r < tmin ? tmin : r > tmax ? tmax : r;
        }
      }
    }
  }
  return {
    bits,
    symmetric,
    formula,
    shape: [...shape],
    layout,
    view,
    q,
    scales,
    zeroPoints: symmetric ? undefined : zps,
  };
}

/** float32((q - zp) * scale) for every element, as onnxruntime's DequantizeLinear computes it. */
export function dequantizeTensor(t: QuantizedTensor): Float32Array {
  const { outer, len, inner, blocks } = t.view;
  const out = new Float32Array(t.q.length);
  const zps = t.zeroPoints;
  let idx = 0;
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (let i = 0; i < inner; i++, idx++) {
        let g = 0;
        if (t.layout.kind === 'channel') g = l;
        else if (t.layout.kind === 'block') g = (o * blocks + ((l / t.layout.blockSize) | 0)) * inner + i;
        out[idx] = fround((t.q[idx] - (zps ? zps[g] : 0)) * t.scales[g]);
      }
    }
  }
  return out;
}

/** Shape of a per-group parameter tensor laid out like the weight (DequantizeLinear blocked form). */
export function groupParamShape(shape: readonly number[], layout: GroupLayout, view: GroupView): number[] {
  if (layout.kind === 'tensor') return [];
  if (layout.kind === 'channel') return [view.len];
  const s = [...shape];
  s[layout.axis] = view.blocks;
  return s;
}
