/**
 * Repair after channel pruning: a layer that lost input channels (the producer's removed outputs)
 * and maybe output channels of its own keeps the rows and columns left; those are refit by least
 * squares so that, on the calibration inputs, its outputs stay close to the original layer's on
 * the full input (the kept channels are correlated with the removed ones and take over what they
 * carried), and the bias absorbs the rest of the mean:
 *
 *   minimize over w', δ:  E ‖ x·w − x_S·w' − δ ‖²    (x: a layer input row, S: the columns kept)
 *   normal equations:     [ E[x_S x_Sᵀ]  E[x_S] ] [w']   [ E[x_S xᵀ] w ]
 *                         [ E[x_S]ᵀ       1     ] [δ ] = [ E[x]ᵀ w     ]
 *
 * with E[xxᵀ] = H / rows and E[x] the mean row, both from the original model (collectHessians).
 * One Cholesky for every row of the layer. Mode "bias" keeps w' = w_S and only moves the mean
 * (δ = E[x_removed]·w_removed).
 */
import type { Layer } from '../../onnx/layers';
import type { WeightCut } from '../prune/channel';
import type { RecoveryReport } from '../types';
import { choleskyLower } from './gptq';
import { weightMatrix, type LayerHessian } from './hessian';

export interface Refit {
  /** the kept elements, refit, in the original element order (the pruned tensor's order) */
  values: Float32Array;
  /** per kept output row: what its bias must add */
  delta: Float64Array;
  report?: RecoveryReport;
  note?: string;
}

/** Solves L Lᵀ z = b in place (L lower, row-major n×n). */
function solve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

/** E[(x·d − δ)²] for a column-space difference d, with E[xxᵀ] = hn and E[x] = mean. */
function expectedSquare(d: Float64Array, delta: number, hn: Float64Array, mean: Float64Array, n: number): number {
  let q = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const di = d[i];
    if (di === 0) continue;
    m += mean[i] * di;
    let s = 0;
    const o = i * n;
    for (let j = 0; j < n; j++) s += hn[o + j] * d[j];
    q += di * s;
  }
  return q - 2 * delta * m + delta * delta;
}

/**
 * The refit of a channel-pruned layer's weight: `cut` is its weight before the cuts (shape as the
 * layer reads it) and what was cut; `hessian` its inputs' statistics from the original model.
 */
export function refitAfterCut(layer: Layer, cut: WeightCut, hessian: LayerHessian, mode: 'bias' | 'gptq'): Refit | { note: string } {
  // a float32 bias of its own takes the mean (δ); without one the refit has no intercept
  const b0 = layer.weights.find((v) => v.role === 'bias' && v.inputIndex === 2);
  const hasBias = !!b0 && b0.via.length === 0 && b0.dataType === 1;
  const m = weightMatrix(layer, cut.dims);
  if (!m || m.cols !== hessian.cols || hessian.mean.length !== 1) return { note: `recovery ${mode}: its weight [${cut.dims.join(', ')}] does not match its inputs; the channels left are kept as they are` };
  const total = cut.values.length;
  // which elements stay: none of their indices removed
  const strides = cut.dims.map((_, a) => cut.dims.slice(a + 1).reduce((p, d) => p * d, 1));
  const removedSets = [...cut.removed].map(([axis, list]) => ({ axis, set: new Set(list) }));
  const keep = new Uint8Array(total);
  for (let e = 0; e < total; e++) {
    let ok = 1;
    for (const { axis, set } of removedSets) {
      if (set.has(Math.floor(e / strides[axis]) % cut.dims[axis])) {
        ok = 0;
        break;
      }
    }
    keep[e] = ok;
  }
  const rows: number[] = [];
  const keptCol = new Uint8Array(m.cols);
  for (let r = 0; r < m.rows; r++) {
    let any = false;
    for (let c = 0; c < m.cols; c++) {
      if (keep[m.at(r, c)]) {
        any = true;
        keptCol[c] = 1;
      }
    }
    if (any) rows.push(r);
  }
  const S: number[] = [];
  for (let c = 0; c < m.cols; c++) if (keptCol[c]) S.push(c);
  const n = m.cols;
  const k = S.length;
  // only output channels were cut: the rows left are the original rows, nothing to refit
  if (k === n) return { note: '' };
  const mean = hessian.mean[0];
  const hn = new Float64Array(n * n);
  const h = hessian.h[0];
  const full = mode === 'gptq' && h !== undefined && h.length === n * n;
  if (full) for (let i = 0; i < n * n; i++) hn[i] = h[i] / hessian.rows;

  const w = new Float64Array(n);
  const values = new Float32Array(total);
  const delta = new Float64Array(rows.length);
  let l: Float64Array | undefined;
  if (full) {
    // the Gram matrix of [x_S, 1] (of x_S without a bias), damped like GPTQ's (more when rows < columns)
    const a = hasBias ? k + 1 : k;
    l = new Float64Array(a * a);
    let meanDiag = 0;
    for (const c of S) meanDiag += hn[c * n + c];
    meanDiag = meanDiag / Math.max(1, k) || 1;
    const damp = (hessian.rows >= k ? 0.01 : Math.min(1, 0.01 * (k / Math.max(1, hessian.rows)) ** 2)) * meanDiag;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) l[i * a + j] = hn[S[i] * n + S[j]];
      l[i * a + i] += damp;
      if (hasBias) {
        l[i * a + k] = mean[S[i]];
        l[k * a + i] = mean[S[i]];
      }
    }
    if (hasBias) l[k * a + k] = 1 + 1e-9;
    if (!choleskyLower(l, a)) return { note: `recovery ${mode}: its kept inputs' statistics could not be factored; the channels left are kept as they are` };
  }
  let before = 0;
  let after = 0;
  let energy = 0;
  const out = new Float64Array(n);
  rows.forEach((r, ri) => {
    for (let c = 0; c < n; c++) w[c] = cut.values[m.at(r, c)];
    // pruned only: w' = w_S, δ = E[x_removed]·w_removed (the mean the removed inputs carried)
    let d0 = 0;
    if (hasBias) for (let c = 0; c < n; c++) if (!keptCol[c]) d0 += mean[c] * w[c];
    out.set(w);
    let d = d0;
    if (full && l) {
      const a = hasBias ? k + 1 : k;
      const b = new Float64Array(a);
      for (let i = 0; i < k; i++) {
        let s = 0;
        const o = S[i] * n;
        for (let c = 0; c < n; c++) s += hn[o + c] * w[c];
        b[i] = s;
      }
      let mw = 0;
      for (let c = 0; c < n; c++) mw += mean[c] * w[c];
      if (hasBias) b[k] = mw;
      solve(l, a, b);
      for (let i = 0; i < k; i++) out[S[i]] = b[i];
      d = hasBias ? b[k] : 0;
      // keep the refit only where it lowers this row's output error on the calibration inputs
      const diffPruned = Float64Array.from(w, (v, c) => (keptCol[c] ? 0 : v));
      const diffRefit = Float64Array.from(w, (v, c) => (keptCol[c] ? v - Math.fround(out[c]) : v));
      const e0 = expectedSquare(diffPruned, d0, hn, mean, n);
      const e1 = expectedSquare(diffRefit, d, hn, mean, n);
      energy += expectedSquare(w, 0, hn, mean, n);
      before += e0;
      if (!(e1 <= e0) || !Number.isFinite(e1)) {
        out.set(w);
        d = d0;
        after += e0;
      } else after += e1;
    }
    delta[ri] = d;
    for (const c of S) values[m.at(r, c)] = out[c];
  });
  // the kept elements, in the original element order: the pruned tensor's order
  let at = 0;
  const packed = new Float32Array(rows.length * k);
  for (let e = 0; e < total; e++) if (keep[e]) packed[at++] = values[e];
  const report: RecoveryReport | undefined = full ? { method: 'gptq', errorBefore: energy > 0 ? before / energy : 0, errorAfter: energy > 0 ? after / energy : 0, rows: hessian.rows } : undefined;
  const few = full && hessian.rows < k ? `; ${hessian.rows} input rows for ${k} columns: damped` : '';
  return {
    values: packed,
    delta,
    ...(report ? { report } : {}),
    note:
      mode === 'gptq'
        ? `recovery gptq: the ${k} of ${n} input columns left refit to make up for the channels removed${delta.some((d) => d !== 0) ? ', bias moved' : ''}${few}`
        : `recovery bias: the bias takes the mean the ${n - k} removed input columns carried`,
  };
}
