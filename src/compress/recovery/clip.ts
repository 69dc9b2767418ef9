/**
 * Clipping search (recipe key `clipSearch`): round to nearest spans each group's full range, so one
 * outlier widens the grid for every other weight of the group. Here each group's range is shrunk
 * by the factor of CLIP_FACTORS that gives the smallest squared weight error Σ (w − ŵ)², the
 * outliers then clipped to the grid's end (the MSE-optimal scale of the group, searched on a
 * grid of factors). Data-free; GPTQ (when asked) then works on this grid. The encoding, the
 * number of groups and the file size are unchanged: only scales, zero points and codes.
 */
import { codeRange, type QuantizedTensor } from '../quantize/quantize';
import { groupOfElement } from './gptq';

/** Range factors tried (1: round to nearest's own range). */
export const CLIP_FACTORS: readonly number[] = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5];

export interface ClipResult {
  /** groups whose range was shrunk */
  clipped: number;
  groups: number;
  /** Σ (w − ŵ)² relative to Σ w², before and after */
  errorBefore: number;
  errorAfter: number;
}

/** Searches every group's clipping factor of `qt` (quantized from `values`) and rewrites the group in place. */
export function clipSearch(values: Float32Array, qt: QuantizedTensor): ClipResult {
  const groups = qt.scales.length;
  // the elements of each group (offsets into values), built once
  const count = new Int32Array(groups + 1);
  const groupOf = new Int32Array(values.length);
  for (let e = 0; e < values.length; e++) {
    const g = groupOfElement(qt, e);
    groupOf[e] = g;
    count[g + 1]++;
  }
  for (let g = 0; g < groups; g++) count[g + 1] += count[g];
  const fill = count.slice(0, groups);
  const members = new Int32Array(values.length);
  for (let e = 0; e < values.length; e++) members[fill[groupOf[e]]++] = e;

  const [tmin, tmax] = codeRange(qt.bits);
  const qmin = qt.symmetric && qt.bits === 8 && qt.formula === 'ort-quant-utils' ? -127 : tmin;
  const f = Math.fround;
  let energy = 0;
  let before = 0;
  let after = 0;
  let clipped = 0;
  for (let g = 0; g < groups; g++) {
    const from = count[g];
    const to = count[g + 1];
    const scale0 = qt.scales[g];
    const zp0 = qt.zeroPoints ? qt.zeroPoints[g] : 0;
    if (scale0 === 0 || to === from) continue;
    let lo = 0;
    let hi = 0;
    for (let k = from; k < to; k++) {
      const v = values[members[k]];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const errorOf = (scale: number, zp: number): number => {
      let s = 0;
      const inv = 1 / scale;
      for (let k = from; k < to; k++) {
        const v = values[members[k]];
        let q = Math.round(v * inv) + zp;
        q = q < qmin ? qmin : q > tmax ? tmax : q;
        const d = v - f((q - zp) * scale);
        s += d * d;
      }
      return s;
    };
    let e0 = 0;
    for (let k = from; k < to; k++) {
      const e = members[k];
      const d = values[e] - f((qt.q[e] - zp0) * scale0);
      e0 += d * d;
      energy += values[e] * values[e];
    }
    let best = { err: e0, scale: scale0, zp: zp0 };
    for (const a of CLIP_FACTORS) {
      if (a === 1) continue;
      let scale: number;
      let zp = 0;
      if (qt.symmetric) scale = f(scale0 * a);
      else {
        const span = f(hi * a - lo * a);
        scale = f(span / (tmax - tmin));
        if (!(scale > 0)) continue;
        zp = Math.round(tmin - (lo * a) / scale);
        zp = zp < tmin ? tmin : zp > tmax ? tmax : zp;
      }
      if (scale === 0 || !Number.isFinite(scale)) continue;
      const err = errorOf(scale, zp);
      if (err < best.err) best = { err, scale, zp };
    }
    before += e0;
    after += best.err;
    if (best.scale === scale0 && best.zp === zp0) continue;
    clipped++;
    qt.scales[g] = best.scale;
    if (qt.zeroPoints) qt.zeroPoints[g] = best.zp;
    const inv = 1 / best.scale;
    for (let k = from; k < to; k++) {
      const e = members[k];
      let q = Math.round(values[e] * inv) + best.zp;
      q = q < qmin ? qmin : q > tmax ? tmax : q;
      qt.q[e] = q;
    }
  }
  return { clipped, groups, errorBefore: energy > 0 ? before / energy : 0, errorAfter: energy > 0 ? after / energy : 0 };
}
