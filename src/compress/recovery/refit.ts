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
import { choleskyLower, quadraticForms } from './gptq';
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

/**
 * Keeps each row's refit only where it lowers the row's output error on the calibration inputs
 * (else the plain pruning: `refit` and `delta` reset in place): E[(x·d − δ)²] = d·H·d − 2δ E[x]·d
 * + δ², the quadratic forms on gptq.ts's (SIMD) kernel. Returns the summed errors and energy.
 */
function keepBetter(a: {
  W: Float64Array;
  refit: Float64Array;
  d0: Float64Array;
  delta: Float64Array;
  keptCol: Uint8Array;
  hn: Float64Array;
  mean: Float64Array;
  R: number;
  n: number;
}): { before: number; after: number; energy: number } {
  const { W, refit, d0, delta, keptCol, hn, mean, R, n } = a;
  const pruned = Float64Array.from(W, (v, i) => (keptCol[i % n] ? 0 : v));
  const moved = Float64Array.from(W, (v, i) => v - (keptCol[i % n] ? refit[i] : 0));
  const [q0, q1, qe] = [quadraticForms(pruned, R, n, hn), quadraticForms(moved, R, n, hn), quadraticForms(W, R, n, hn)];
  const meanDot = (x: Float64Array, ri: number) => {
    let acc = 0;
    for (let c = 0; c < n; c++) acc += mean[c] * x[ri * n + c];
    return acc;
  };
  let before = 0;
  let after = 0;
  let energy = 0;
  for (let ri = 0; ri < R; ri++) {
    const e0 = q0[ri] - 2 * d0[ri] * meanDot(pruned, ri) + d0[ri] * d0[ri];
    const e1 = q1[ri] - 2 * delta[ri] * meanDot(moved, ri) + delta[ri] * delta[ri];
    energy += qe[ri];
    before += e0;
    if (e1 <= e0 && Number.isFinite(e1)) after += e1;
    else {
      after += e0;
      refit.set(W.subarray(ri * n, (ri + 1) * n), ri * n);
      delta[ri] = d0[ri];
    }
  }
  return { before, after, energy };
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
  // every kept row: its weights w, the plain pruning's δ (the mean the removed inputs carried) and,
  // for "gptq", the least-squares refit (w' on S, δ)
  const R = rows.length;
  const W = new Float64Array(R * n);
  const refit = new Float64Array(R * n);
  const d0 = new Float64Array(R);
  const b = new Float64Array(hasBias ? k + 1 : k);
  rows.forEach((r, ri) => {
    const o = ri * n;
    for (let c = 0; c < n; c++) W[o + c] = cut.values[m.at(r, c)];
    if (hasBias) for (let c = 0; c < n; c++) if (!keptCol[c]) d0[ri] += mean[c] * W[o + c];
    refit.set(W.subarray(o, o + n), o);
    delta[ri] = d0[ri];
    if (!full || !l) return;
    for (let i = 0; i < k; i++) {
      let acc = 0;
      const h0 = S[i] * n;
      for (let c = 0; c < n; c++) acc += hn[h0 + c] * W[o + c];
      b[i] = acc;
    }
    if (hasBias) {
      let mw = 0;
      for (let c = 0; c < n; c++) mw += mean[c] * W[o + c];
      b[k] = mw;
    }
    solve(l, b.length, b);
    for (let i = 0; i < k; i++) refit[o + S[i]] = Math.fround(b[i]);
    delta[ri] = hasBias ? b[k] : 0;
  });
  const { before, after, energy } = full ? keepBetter({ W, refit, d0, delta, keptCol, hn, mean, R, n }) : { before: 0, after: 0, energy: 0 };
  rows.forEach((r, ri) => {
    for (const c of S) values[m.at(r, c)] = refit[ri * n + c];
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
