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
 *
 * Speed (see docs/COMPRESS-SPEED.md): a range pass and a codes pass, tight loops over typed arrays
 * specialised per layout and run back to back per group (or per tile of 32 rows x 256 columns)
 * while the values are in cache; no per-element calls or allocations; symmetric codes test one
 * bound (the other cannot be passed), NaN sits on the rare branch. Exact shortcuts:
 *   - round half to even as (x + 1.5 * 2^52) - 1.5 * 2^52 (IEEE round-to-nearest-even on a double,
 *     exact for |x| < 2^51); round half away from zero as that plus a fix-up of exact ties;
 *   - float32(w / s) computed as float32(w * (1 / s)): for float32 w and s, w / s is never within
 *     2^-49 (relative) of a float32 rounding midpoint (a midpoint has 25 significant bits, w / s
 *     exactly one would need w to have more than 24), while w * (1 / s) in float64 is within 2^-52
 *     of w / s, so both round to the same float32 (results below the normal float32 range round to
 *     code 0 either way).
 */
import { AppError } from '../../core/errors';
import { quantizeBlockColumnsSimd, quantizeRunsSimd } from './blockwise-simd';
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
/** 1.5 * 2^52: for |x| < 2^51, (x + ROUND) - ROUND is x rounded to the nearest integer, ties to even. */
const ROUND = 6755399441055744;

/** round half to even (numpy.round / std::nearbyint), for |x| < 2^51. */
export function roundHalfEven(x: number): number {
  return x + ROUND - ROUND;
}

/** round half away from zero (C roundf), for |x| < 2^51. */
export function roundHalfAway(x: number): number {
  const r = x + ROUND - ROUND;
  const d = x - r;
  return d === 0.5 || d === -0.5 ? (x > 0 ? x + 0.5 : x - 0.5) : r;
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

// ------------------------------------------------------------------------------------------------
// Scales and zero points

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
  // symmetric: round_half_even((qmin + qmax) / 2), which is 0 for both ranges used here
  const zp = symmetric ? 0 : roundHalfEven(qmin - lo / scale64);
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
 * Per-group parameters being filled in: the stored scale and zero point, and the multiplier each
 * value is scaled by (quant_utils: 1 / scale in float64, see the header; blockwise: float32(1 /
 * scale), 0 for a zero scale, as MLAS). Float32Array where float32 is exact: less cache.
 */
class Params {
  readonly scales: Float32Array;
  readonly zps: Int8Array;
  /** quant_utils multipliers: 1 / scale in float64 */
  readonly mult: Float64Array;
  /** blockwise multipliers: float32(1 / scale), 0 for a zero scale */
  readonly recip: Float32Array;
  readonly bits: QuantBits;
  readonly symmetric: boolean;
  /** false once a group's range is infinite */
  finite = true;

  constructor(groups: number, bits: QuantBits, symmetric: boolean, blockwise: boolean) {
    this.scales = new Float32Array(groups);
    this.zps = new Int8Array(groups);
    this.mult = new Float64Array(blockwise ? 0 : groups);
    this.recip = new Float32Array(blockwise ? groups : 0);
    this.bits = bits;
    this.symmetric = symmetric;
  }

  /** quant_utils parameters of group g from its range (for symmetric, lo = -max|w| and hi = max|w| will do). */
  quantUtils(g: number, lo: number, hi: number): void {
    if (lo === -Infinity || hi === Infinity) this.finite = false;
    let scale: number;
    if (this.symmetric) {
      const a = Math.max(-lo, hi, 0);
      const scale64 = fround(2 * a) / (this.bits === 8 ? 254 : 15);
      scale = scale64 < FLT_MIN ? 1 : fround(scale64);
    } else {
      const p = ortScaleZeroPoint(lo, hi, this.bits, false);
      scale = p.scale;
      this.zps[g] = p.zeroPoint;
    }
    this.scales[g] = scale;
    this.mult[g] = 1 / scale;
  }

  /** MLAS blockwise parameters of group g from its range. */
  blockwise(g: number, lo: number, hi: number): void {
    if (lo === -Infinity || hi === Infinity) this.finite = false;
    const half = this.bits === 8 ? 128 : 8;
    let scale: number;
    if (this.symmetric) {
      // + 0: an all-zero block's scale is +0 whichever sign its zeros had (as the SIMD kernels)
      scale = fround(-(Math.abs(hi) > Math.abs(lo) ? hi : lo) / half) + 0;
    } else {
      const p = blockwiseScaleZeroPoint(lo, hi, this.bits, false);
      scale = p.scale;
      this.zps[g] = p.zeroPoint;
    }
    this.scales[g] = scale;
    this.recip[g] = scale !== 0 ? 1 / scale : 0;
  }
}

/**
 * Codes of values[from, to) with one group's multiplier and zero point:
 * q = clamp(round(float32(v * m)) + zp, tmin, tmax), rounding half to even (quant_utils).
 * Returns false when it met a NaN value. (NaN fails `k >= tmin`, so the test costs nothing on
 * the common path; a NaN code from a zero value times an infinite multiplier stays code 0, as
 * before.)
 */
function codesEven(values: Float32Array, q: Int8Array, from: number, to: number, m: number, zp: number, tmin: number, tmax: number): boolean {
  let ok = true;
  for (let idx = from; idx < to; idx++) {
    const k = fround(values[idx] * m) + ROUND - ROUND + zp;
    if (k >= tmin) q[idx] = k <= tmax ? k : tmax;
    else if (k < tmin) q[idx] = tmin;
    else if (values[idx] !== values[idx]) ok = false;
  }
  return ok;
}

/** As codesEven, rounding half away from zero (MLAS). */
function codesAway(values: Float32Array, q: Int8Array, from: number, to: number, m: number, zp: number, tmin: number, tmax: number): boolean {
  let ok = true;
  for (let idx = from; idx < to; idx++) {
    const x = fround(values[idx] * m);
    let k = x + ROUND - ROUND;
    const d = x - k;
    if (Math.abs(d) === 0.5) k = x > 0 ? x + 0.5 : x - 0.5;
    k += zp;
    if (k >= tmin) q[idx] = k <= tmax ? k : tmax;
    else if (k < tmin) q[idx] = tmin;
    else if (values[idx] !== values[idx]) ok = false;
  }
  return ok;
}

/**
 * Symmetric codes (zero point 0), where only the upper bound can be passed: quant_utils maps
 * +-max|w| to +-127 (int8) or +-7.5 (int4, rounding to 8), MLAS maps the block's extreme to -8 and
 * its opposite to at most +8, so k >= tmin always holds. One predictable compare per value.
 */
function codesEvenSym(values: Float32Array, q: Int8Array, from: number, to: number, m: number, tmax: number): boolean {
  let ok = true;
  for (let idx = from; idx < to; idx++) {
    const k = fround(values[idx] * m) + ROUND - ROUND;
    if (k <= tmax) q[idx] = k;
    else if (k > tmax) q[idx] = tmax;
    else if (values[idx] !== values[idx]) ok = false;
  }
  return ok;
}

/** As codesEvenSym, rounding half away from zero (MLAS). */
function codesAwaySym(values: Float32Array, q: Int8Array, from: number, to: number, m: number, tmax: number): boolean {
  let ok = true;
  for (let idx = from; idx < to; idx++) {
    const x = fround(values[idx] * m);
    let k = x + ROUND - ROUND;
    const d = x - k;
    if (Math.abs(d) === 0.5) k = x > 0 ? x + 0.5 : x - 0.5;
    if (k <= tmax) q[idx] = k;
    else if (k > tmax) q[idx] = tmax;
    else if (values[idx] !== values[idx]) ok = false;
  }
  return ok;
}

/** Symmetric codes of `rows` rows of `cols` values (as codesColumnsEven), half to even. */
function codesColumnsEvenSym(values: Float32Array, q: Int8Array, start: number, rows: number, cols: number, stride: number, first: number, mult: Float64Array, tmax: number): boolean {
  let ok = true;
  for (let r = 0; r < rows; r++) {
    let idx = start + r * stride;
    for (let g = first, end = first + cols; g < end; g++, idx++) {
      const k = fround(values[idx] * mult[g]) + ROUND - ROUND;
      if (k <= tmax) q[idx] = k;
      else if (k > tmax) q[idx] = tmax;
      else if (values[idx] !== values[idx]) ok = false;
    }
  }
  return ok;
}

/** Symmetric codes of rows of columns (as codesColumnsEven), half away from zero. */
function codesColumnsAwaySym(values: Float32Array, q: Int8Array, start: number, rows: number, cols: number, stride: number, first: number, recip: Float32Array, tmax: number): boolean {
  let ok = true;
  for (let r = 0; r < rows; r++) {
    let idx = start + r * stride;
    for (let g = first, end = first + cols; g < end; g++, idx++) {
      const x = fround(values[idx] * recip[g]);
      let k = x + ROUND - ROUND;
      const d = x - k;
      if (Math.abs(d) === 0.5) k = x > 0 ? x + 0.5 : x - 0.5;
      if (k <= tmax) q[idx] = k;
      else if (k > tmax) q[idx] = tmax;
      else if (values[idx] !== values[idx]) ok = false;
    }
  }
  return ok;
}

/** Codes of `rows` rows of `cols` values from `start`, column c in group first + c, half to even. */
function codesColumnsEven(
  values: Float32Array, q: Int8Array, start: number, rows: number, cols: number, stride: number,
  first: number, p: Params, tmin: number, tmax: number,
): boolean {
  const { mult, zps } = p;
  let ok = true;
  for (let r = 0; r < rows; r++) {
    let idx = start + r * stride;
    for (let g = first, end = first + cols; g < end; g++, idx++) {
      const k = fround(values[idx] * mult[g]) + ROUND - ROUND + zps[g];
      if (k >= tmin) q[idx] = k <= tmax ? k : tmax;
      else if (k < tmin) q[idx] = tmin;
      else if (values[idx] !== values[idx]) ok = false;
    }
  }
  return ok;
}

/** As codesColumnsEven, rounding half away from zero. */
function codesColumnsAway(
  values: Float32Array, q: Int8Array, start: number, rows: number, cols: number, stride: number,
  first: number, p: Params, tmin: number, tmax: number,
): boolean {
  const { recip, zps } = p;
  let ok = true;
  for (let r = 0; r < rows; r++) {
    let idx = start + r * stride;
    for (let g = first, end = first + cols; g < end; g++, idx++) {
      const x = fround(values[idx] * recip[g]);
      let k = x + ROUND - ROUND;
      const d = x - k;
      if (Math.abs(d) === 0.5) k = x > 0 ? x + 0.5 : x - 0.5;
      k += zps[g];
      if (k >= tmin) q[idx] = k <= tmax ? k : tmax;
      else if (k < tmin) q[idx] = tmin;
      else if (values[idx] !== values[idx]) ok = false;
    }
  }
  return ok;
}

// ------------------------------------------------------------------------------------------------
// Layout drivers. Where a group's elements are close together (a contiguous run: per-tensor,
// per-channel on axis 0, blocks along the last axis; or a tile of columns across a block of rows:
// blocks along an earlier axis), its range and codes are computed back to back while the values
// are still in cache. Per-channel on a later axis needs the whole tensor for each range: two passes.

/** Groups that are contiguous runs: `runs` runs of `runLen` per row of `rowLen` (the last run may be shorter). */
function quantizeRuns(values: Float32Array, q: Int8Array, outer: number, rowLen: number, runs: number, runLen: number, p: Params, blockwise: boolean, tmin: number, tmax: number): boolean {
  let ok = true;
  let g = 0;
  for (let o = 0; o < outer; o++) {
    const rowEnd = (o + 1) * rowLen;
    for (let from = o * rowLen, r = 0; r < runs; r++, g++, from += runLen) {
      const to = Math.min(from + runLen, rowEnd);
      let lo = Infinity;
      let hi = -Infinity;
      for (let idx = from; idx < to; idx++) {
        const v = values[idx];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (blockwise) {
        p.blockwise(g, lo, hi);
        if (p.symmetric) ok = codesAwaySym(values, q, from, to, p.recip[g], tmax) && ok;
        else ok = codesAway(values, q, from, to, p.recip[g], p.zps[g], tmin, tmax) && ok;
      } else {
        p.quantUtils(g, lo, hi);
        if (p.symmetric) ok = codesEvenSym(values, q, from, to, p.mult[g], tmax) && ok;
        else ok = codesEven(values, q, from, to, p.mult[g], p.zps[g], tmin, tmax) && ok;
      }
    }
  }
  return ok;
}

const TILE = 256;

/**
 * Blocks along a non-last axis of [outer, len, inner]: block b of outer index o holds rows
 * [b * bs, (b + 1) * bs) and one group per column i: (o * blocks + b) * inner + i. Done per tile of
 * TILE columns: ranges, parameters, codes.
 */
function quantizeBlockColumns(values: Float32Array, q: Int8Array, outer: number, len: number, inner: number, bs: number, p: Params, tmin: number, tmax: number): boolean {
  const lo = new Float32Array(TILE);
  const hi = new Float32Array(TILE);
  let ok = true;
  let base = 0;
  for (let o = 0; o < outer; o++) {
    for (let l0 = 0; l0 < len; l0 += bs, base += inner) {
      const rows = Math.min(bs, len - l0);
      const rowStart = (o * len + l0) * inner;
      for (let c0 = 0; c0 < inner; c0 += TILE) {
        const cols = Math.min(TILE, inner - c0);
        lo.fill(Infinity);
        hi.fill(-Infinity);
        for (let r = 0; r < rows; r++) {
          let idx = rowStart + r * inner + c0;
          for (let j = 0; j < cols; j++, idx++) {
            const v = values[idx];
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
          }
        }
        for (let j = 0; j < cols; j++) p.blockwise(base + c0 + j, lo[j], hi[j]);
        ok =
          (p.symmetric
            ? codesColumnsAwaySym(values, q, rowStart + c0, rows, cols, inner, base + c0, p.recip, tmax)
            : codesColumnsAway(values, q, rowStart + c0, rows, cols, inner, base + c0, p, tmin, tmax)) && ok;
      }
    }
  }
  return ok;
}

/** Per-channel on the last axis of [rows, cols] (quant_utils): ranges over all rows, then codes. */
function quantizeLastAxis(values: Float32Array, q: Int8Array, rows: number, cols: number, p: Params, tmin: number, tmax: number): boolean {
  if (p.symmetric) {
    const amax = new Float32Array(cols);
    let idx = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, idx++) {
        const a = Math.abs(values[idx]);
        if (a > amax[c]) amax[c] = a;
      }
    }
    for (let c = 0; c < cols; c++) p.quantUtils(c, -amax[c], amax[c]);
  } else {
    const lo = new Float32Array(cols).fill(Infinity);
    const hi = new Float32Array(cols).fill(-Infinity);
    let idx = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, idx++) {
        const v = values[idx];
        if (v < lo[c]) lo[c] = v;
        if (v > hi[c]) hi[c] = v;
      }
    }
    for (let c = 0; c < cols; c++) p.quantUtils(c, lo[c], hi[c]);
  }
  if (!p.finite) return true;
  if (p.symmetric) return codesColumnsEvenSym(values, q, 0, rows, cols, cols, 0, p.mult, tmax);
  return codesColumnsEven(values, q, 0, rows, cols, cols, 0, p, tmin, tmax);
}

/** Per-channel on a middle axis of [outer, len, inner] (quant_utils): run ranges folded per channel, then codes. */
function quantizeMiddleAxis(values: Float32Array, q: Int8Array, outer: number, len: number, inner: number, p: Params, tmin: number, tmax: number): boolean {
  const lo = new Float64Array(len).fill(Infinity);
  const hi = new Float64Array(len).fill(-Infinity);
  let idx = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < len; c++) {
      let a = lo[c];
      let b = hi[c];
      for (const end = idx + inner; idx < end; idx++) {
        const v = values[idx];
        if (v < a) a = v;
        if (v > b) b = v;
      }
      lo[c] = a;
      hi[c] = b;
    }
  }
  for (let c = 0; c < len; c++) p.quantUtils(c, lo[c], hi[c]);
  if (!p.finite) return true;
  let ok = true;
  idx = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < len; c++, idx += inner) {
      if (p.symmetric) ok = codesEvenSym(values, q, idx, idx + inner, p.mult[c], tmax) && ok;
      else ok = codesEven(values, q, idx, idx + inner, p.mult[c], p.zps[c], tmin, tmax) && ok;
    }
  }
  return ok;
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
  const { outer, len, inner, groups } = view;
  const n = outer * len * inner;
  if (n === 0) throw new AppError('invalid-argument', 'The tensor is empty.');
  if (values.length !== n) throw new AppError('invalid-argument', `${values.length} values for shape [${shape.join(', ')}].`);
  const p = new Params(groups, bits, symmetric, layout.kind === 'block');
  const q = new Int8Array(n);
  const [tmin, tmax] = codeRange(bits);
  let ok: boolean;
  if (layout.kind === 'tensor') ok = quantizeRuns(values, q, 1, n, 1, n, p, false, tmin, tmax);
  else if (layout.kind === 'block') {
    const bs = layout.blockSize;
    const out = { q, scales: p.scales, zps: p.zps };
    let simd: boolean | undefined;
    if (inner === 1) {
      if (len % bs === 0) simd = quantizeRunsSimd(values, out, outer * view.blocks, bs, bits, symmetric);
      ok = simd ?? quantizeRuns(values, q, outer, len, view.blocks, bs, p, true, tmin, tmax);
    } else {
      simd = quantizeBlockColumnsSimd(values, out, outer, len, inner, bs, bits, symmetric);
      ok = simd ?? quantizeBlockColumns(values, q, outer, len, inner, bs, p, tmin, tmax);
    }
  } else if (outer === 1) ok = quantizeRuns(values, q, 1, n, len, inner, p, false, tmin, tmax);
  else if (inner === 1) ok = quantizeLastAxis(values, q, outer, len, p, tmin, tmax);
  else ok = quantizeMiddleAxis(values, q, outer, len, inner, p, tmin, tmax);
  if (!ok || !p.finite) throw new AppError('invalid-argument', 'The weights contain NaN or infinite values.');
  return {
    bits,
    symmetric,
    formula: formulaFor(layout),
    shape: [...shape],
    layout,
    view,
    q,
    scales: p.scales,
    zeroPoints: symmetric ? undefined : p.zps,
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
