/**
 * Output variance re-estimation after pruning (what re-estimating folded BatchNorm statistics
 * does): per output channel, the compressed layer's output on the calibration inputs is scaled so
 * its variance equals the original layer's, and the bias moves so its mean does too. Computed from
 * the statistics recovery already has: with E[xxᵀ] = H / rows and μ the mean input row,
 * var(w·x) = w·H·wᵀ / rows − (w·μ)² (its group's H and μ for Conv groups).
 *
 * A channel takes the change only where it lowers that channel's output error on those inputs
 * (mean matched both ways, the error is var(a) + s²·var(b) − 2s·cov(a, b) against var(a) +
 * var(b) − 2·cov(a, b) with the bias correction alone). The scale must be exact: float weights
 * scale their values; quantized weights scale the scales of the groups (per-channel, blocks) that
 * belong to that channel alone; a channel sharing a scale (per-tensor) is left as it is.
 *
 * On by default after the repair of magnitude pruning (recovery gptq/sequential; CompressOptions.varianceMatch
 * false leaves it out). Measured: docs/RECIPE-NOTES.md ("Output variance re-estimation").
 */
import type { WeightMatrix } from './gptq';
import type { LayerHessian } from './hessian';

export interface VarianceMatch {
  /** per output channel: the factor its weights take (1 where unchanged) */
  scale: Float64Array;
  /** per output channel: what the bias must add, a·μ − s·b·μ (the bias correction with the scale) */
  delta: Float64Array;
  /** channels whose scale changed, of `channels` */
  changed: number;
  channels: number;
  /** relative output error on the calibration inputs (mean matched), before and after */
  errorBefore: number;
  errorAfter: number;
}

/**
 * The scales and bias moves for the compressed weights `written(e)` against the original `target`,
 * or undefined where the statistics cannot tell (no H, or the teacher's inputs: their H is not
 * collected). `exact(r)`: whether channel r can be scaled exactly (quantized: its scales are its own).
 */
export function matchVariance(
  target: Float32Array,
  written: (e: number) => number,
  m: WeightMatrix,
  hessian: LayerHessian,
  exact: (r: number) => boolean = () => true,
): VarianceMatch | undefined {
  const groups = hessian.h.length;
  if (groups === 0 || hessian.cross || hessian.rows === 0 || hessian.mean.length !== groups || m.rows % groups !== 0 || m.cols !== hessian.cols) return undefined;
  const n = m.cols;
  const per = m.rows / groups;
  const count = hessian.rows;
  const scale = new Float64Array(m.rows).fill(1);
  const delta = new Float64Array(m.rows);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  let changed = 0;
  let before = 0;
  let after = 0;
  let energy = 0;
  for (let r = 0; r < m.rows; r++) {
    const g = Math.floor(r / per);
    const h = hessian.h[g];
    const mu = hessian.mean[g];
    for (let c = 0; c < n; c++) {
      const e = m.at(r, c);
      a[c] = target[e];
      b[c] = written(e);
    }
    // a·H·aᵀ, b·H·bᵀ, a·H·bᵀ
    let aa = 0;
    let bb = 0;
    let ab = 0;
    for (let i = 0; i < n; i++) {
      const o = i * n;
      let ha = 0;
      let hb = 0;
      for (let j = 0; j < n; j++) {
        ha += h[o + j] * a[j];
        hb += h[o + j] * b[j];
      }
      aa += a[i] * ha;
      bb += b[i] * hb;
      ab += a[i] * hb;
    }
    let am = 0;
    let bm = 0;
    for (let c = 0; c < n; c++) {
      am += a[c] * mu[c];
      bm += b[c] * mu[c];
    }
    const va = Math.max(0, aa / count - am * am);
    const vb = Math.max(0, bb / count - bm * bm);
    const cov = ab / count - am * bm;
    const errBase = Math.max(0, va + vb - 2 * cov);
    let s = 1;
    let err = errBase;
    if (vb > 0 && va > 0 && exact(r)) {
      const t = Math.sqrt(va / vb);
      const e = Math.max(0, va + t * t * vb - 2 * t * cov);
      if (Number.isFinite(t) && e < errBase) {
        s = t;
        err = e;
        changed++;
      }
    }
    scale[r] = s;
    delta[r] = am - s * bm;
    before += errBase;
    after += err;
    energy += aa / count;
  }
  return { scale, delta, changed, channels: m.rows, errorBefore: energy > 0 ? before / energy : 0, errorAfter: energy > 0 ? after / energy : 0 };
}
