/**
 * GPTQ-style reconstruction (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for
 * Generative Pre-trained Transformers"): the weights of a layer are quantized one input column at
 * a time, and each column's rounding error is spread onto the columns not yet quantized, weighted
 * by the inverse Hessian H = XᵀX of the layer's real inputs, so the layer's outputs on those inputs
 * move as little as possible.
 *
 * The grid (scales and zero points per group) is the round-to-nearest quantizer's, computed from
 * the original weights: only the codes change, so every encoding writes the result unchanged.
 *
 * Pure math over a weight matrix view [rows = output channels, cols = reduction], float64.
 */
import { codeRange, type QuantizedTensor } from '../quantize/quantize';

/** A weight tensor seen as a matrix: element index of (row, col) in the tensor's element order. */
export interface WeightMatrix {
  rows: number;
  cols: number;
  at(r: number, c: number): number;
}

export interface GptqOptions {
  /** damping as a fraction of the mean diagonal of H (default 0.01) */
  damp?: number;
}

export interface GptqResult {
  ok: boolean;
  /** why round-to-nearest codes were kept */
  note?: string;
  /** output error on the inputs H came from, relative to the output energy: round-to-nearest, then GPTQ */
  errorBefore: number;
  errorAfter: number;
}

/** The group (scale / zero point index) of each element, from the quantizer's view. */
export function groupOfElement(qt: QuantizedTensor, e: number): number {
  const { view, layout } = qt;
  if (layout.kind === 'tensor') return 0;
  const l = Math.floor(e / view.inner) % view.len;
  if (layout.kind === 'channel') return l;
  const o = Math.floor(e / (view.len * view.inner));
  const i = e % view.inner;
  return (o * view.blocks + Math.floor(l / layout.blockSize)) * view.inner + i;
}

/** Lower Cholesky factor of a symmetric n×n matrix in place (row-major); false when not positive definite. */
export function choleskyLower(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0) || !Number.isFinite(d)) return false;
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[j * n + k] = 0;
  }
  return true;
}

/**
 * The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), row-major, or undefined when H (damped) is not
 * positive definite. With J the reversal permutation, JHJ = L Lᵀ gives H = U₁U₁ᵀ with U₁ = JLJ
 * upper triangular, so H⁻¹ = U₁⁻ᵀU₁⁻¹ and U = U₁⁻¹: one Cholesky and one triangular inverse.
 */
export function inverseUpperFactor(h: Float64Array, n: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) l[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
  if (!choleskyLower(l, n)) return undefined;
  // U₁ = J L J (upper): U₁[i][j] = L[n-1-i][n-1-j]
  const u1 = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u1[i * n + j] = l[(n - 1 - i) * n + (n - 1 - j)];
  // U = U₁⁻¹ (upper), by back substitution row by row from the bottom
  const u = new Float64Array(n * n);
  for (let i = n - 1; i >= 0; i--) {
    const d = u1[i * n + i];
    u[i * n + i] = 1 / d;
    for (let j = i + 1; j < n; j++) {
      // (U₁ U)[i][j] = 0 for j > i: Σ_{k=i..j} U₁[i][k] U[k][j] = 0
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += u1[i * n + k] * u[k * n + j];
      u[i * n + j] = -s / d;
    }
  }
  return u;
}

/** eHeᵀ for one row e (H symmetric: the upper triangle only). */
function rowError(e: Float64Array, off: number, n: number, h: Float64Array): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const di = e[off + i];
    if (di === 0) continue;
    const o = i * n;
    let s = 0;
    for (let j = i + 1; j < n; j++) s += h[o + j] * e[off + j];
    total += di * (h[o + i] * di + 2 * s);
  }
  return total;
}

/**
 * Replaces the codes of `rows` (of the matrix view `m` over the quantized tensor `qt`, whose grid
 * came from `values`) by GPTQ codes for inputs with Hessian `h` (cols×cols, XᵀX). Rows whose
 * result would be worse, and every row when H cannot be factored, keep their codes.
 */
export function gptqRows(values: Float32Array, qt: QuantizedTensor, m: WeightMatrix, rows: readonly number[], hIn: Float64Array, options: GptqOptions = {}): GptqResult {
  const n = m.cols;
  const R = rows.length;
  const [tmin, tmax] = codeRange(qt.bits);
  const qmin = qt.symmetric && qt.bits === 8 ? -127 : tmin;
  const h = Float64Array.from(hIn);
  // the weights, and the round-to-nearest codes' values, as [R, n]
  const w = new Float64Array(R * n);
  const rtn = new Float64Array(R * n);
  const scale = new Float64Array(R * n);
  const zero = new Float64Array(R * n);
  rows.forEach((r, k) => {
    for (let c = 0; c < n; c++) {
      const e = m.at(r, c);
      const g = groupOfElement(qt, e);
      const s = qt.scales[g];
      const z = qt.zeroPoints ? qt.zeroPoints[g] : 0;
      w[k * n + c] = values[e];
      scale[k * n + c] = s;
      zero[k * n + c] = z;
      rtn[k * n + c] = (qt.q[e] - z) * s;
    }
  });
  // dead inputs (never non-zero in the data): no information; their weights do not matter
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += h[i * n + i];
  meanDiag /= n;
  const energyH = Float64Array.from(h);
  for (let i = 0; i < n; i++) if (!(h[i * n + i] > 0)) h[i * n + i] = 1;
  const diffRtn = new Float64Array(R * n);
  for (let i = 0; i < R * n; i++) diffRtn[i] = w[i] - rtn[i];
  let energy = 0;
  const errRtn = new Float64Array(R);
  for (let k = 0; k < R; k++) {
    energy += rowError(w, k * n, n, energyH);
    errRtn[k] = rowError(diffRtn, k * n, n, energyH);
  }
  const sumRtn = errRtn.reduce((a, b) => a + b, 0);
  const before = energy > 0 ? sumRtn / energy : 0;
  if (!(meanDiag > 0)) return { ok: false, note: 'its inputs were all zero on the calibration samples', errorBefore: before, errorAfter: before };
  let u: Float64Array | undefined;
  // more damping when H is singular (fewer input rows than columns, repeated inputs)
  let damp = options.damp ?? 0.01;
  for (let attempt = 0; attempt < 5 && !u; attempt++, damp = Math.max(1e-3, damp * 10)) {
    const hd = Float64Array.from(h);
    for (let i = 0; i < n; i++) hd[i * n + i] += damp * meanDiag;
    u = inverseUpperFactor(hd, n);
  }
  if (!u) return { ok: false, note: 'its input Hessian could not be factored even with damping', errorBefore: before, errorAfter: before };
  // column by column: quantize, then spread the error onto the columns not yet quantized
  const work = Float64Array.from(w);
  const codes = new Int32Array(R * n);
  for (let i = 0; i < n; i++) {
    const d = u[i * n + i];
    for (let k = 0; k < R; k++) {
      const at = k * n + i;
      const s = scale[at];
      const z = zero[at];
      let q = Math.round(work[at] / s) + z;
      q = q < qmin ? qmin : q > tmax ? tmax : q;
      codes[at] = q;
      const err = (work[at] - (q - z) * s) / d;
      if (err === 0) continue;
      for (let j = i + 1; j < n; j++) work[k * n + j] -= err * u[i * n + j];
    }
  }
  // per row: keep GPTQ's codes only where they lower that row's output error
  const diff = new Float64Array(n);
  let sumAfter = 0;
  for (let k = 0; k < R; k++) {
    for (let c = 0; c < n; c++) diff[c] = w[k * n + c] - (codes[k * n + c] - zero[k * n + c]) * scale[k * n + c];
    const g = rowError(diff, 0, n, energyH);
    const use = Number.isFinite(g) && g <= errRtn[k];
    sumAfter += use ? g : errRtn[k];
    if (use) for (let c = 0; c < n; c++) qt.q[m.at(rows[k], c)] = codes[k * n + c];
  }
  const after = energy > 0 ? sumAfter / energy : 0;
  return { ok: true, errorBefore: before, errorAfter: after };
}
