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
 * Pure math over a weight matrix view [rows = output channels, cols = reduction]. The dense parts
 * run on WebAssembly SIMD in float32 where the engine has it (gptq-simd.ts: H held once, the rows a
 * block at a time); the scalar float64 loops here are the fallback and the reference (the same
 * codes on the tests' layers, errors to float32 rounding).
 */
import { codeRange, type QuantizedTensor } from '../quantize/quantize';
import { GptqWorkspace, type BlockProjection, type HMatrix, type ProjectionMode } from './gptq-simd';

export type { HMatrix };

/** A weight tensor seen as a matrix: element index of (row, col) in the tensor's element order. */
export interface WeightMatrix {
  rows: number;
  cols: number;
  at(r: number, c: number): number;
  /** where `at` is r·strides[0] + c·strides[1] (every view weightMatrix makes): the loops over a row's elements step through them without calling `at` */
  strides?: readonly [number, number];
}

export interface GptqOptions {
  /** damping as a fraction of the mean diagonal of H (default 0.01) */
  damp?: number;
  /**
   * Activation order: columns are quantized in order of decreasing H diagonal (the inputs with the
   * most energy first, while the most columns are left to take their error). The grid stays the
   * one computed from the original weights in their own order (static groups), so the encoding
   * and file size are unchanged.
   */
  actOrder?: boolean;
}

/** Column order for the sweep: by decreasing H diagonal (stable), or the identity. */
export function columnOrder(h: HMatrix, n: number, actOrder: boolean | undefined): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  if (!actOrder) return order;
  return order.sort((a, b) => h[b * n + b] - h[a * n + a] || a - b);
}

/** H with rows and columns in `order` (H'[i][j] = H[order[i]][order[j]]). */
function permuted(h: HMatrix, n: number, order: Int32Array): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = order[i] * n;
    const dst = i * n;
    for (let j = 0; j < n; j++) out[dst + j] = h[src + order[j]];
  }
  return out;
}

export interface GptqResult {
  ok: boolean;
  /** why round-to-nearest codes were kept */
  note?: string;
  /** output error on the inputs H came from, relative to the output energy: round-to-nearest, then GPTQ */
  errorBefore: number;
  errorAfter: number;
  /**
   * The same as sums over the rows (Σ‖ΔY‖² before and after, Σ‖Y‖²), so that a layer solved in
   * several groups can say its whole output's error (a group whose inputs were all zero adds 0 to
   * each)
   */
  sumBefore: number;
  sumAfter: number;
  energy: number;
  /** each row's output error as written (Σ‖ΔY‖² of the row: GPTQ's where it kept them, else round to nearest's), in the order of the rows given */
  rowErrors?: Float64Array;
}

/**
 * Columns a tile of the loops that read a weight row by row (GPTQ's fill, the bias correction): a
 * MatMul weight [K, N] holds a row (an output) every N floats, so a row at a time reads a new cache
 * line per element; a tile of columns for every row reads each line once for 16 rows (the bias
 * correction of a 3072×2048 MatMul weight: 35-50 ms tiled, 55-67 ms a whole row at a time).
 */
export const ROW_TILE = 64;

/**
 * For a strided view (WeightMatrix.strides: its rows and columns are disjoint axes of the tensor),
 * the group of (0, c) for every column c: the group of (r, c) is then the group of (r, 0) plus
 * it (the group index is a sum of one part per axis, and the quantized axis is a row axis or a
 * column axis, not both). Those loops read a group per weight: through groupOfElement, its 3-4
 * divisions were most of their time (the bias correction of a 3072×2048 MatMul weight at int4
 * block-32: 85 ms, 36 ms with these groups and the tiles).
 */
export function columnGroups(qt: QuantizedTensor, m: WeightMatrix): Int32Array | undefined {
  if (!m.strides) return undefined;
  const cs = m.strides[1];
  const out = new Int32Array(m.cols);
  for (let c = 0; c < m.cols; c++) out[c] = groupOfElement(qt, c * cs);
  return out;
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
function rowError(e: Float64Array, off: number, n: number, h: HMatrix): number {
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

/** x·H·xᵀ for each row x of `x` ([R, n]; H symmetric): on the SIMD workspace when there is one. */
export function quadraticForms(x: Float64Array, R: number, n: number, h: HMatrix): Float64Array {
  const out = new Float64Array(R);
  const ws = GptqWorkspace.open(n, R);
  if (ws) {
    ws.loadH(h);
    const zero = new Float64Array(ws.block * n);
    const none: ProjectionMode = { mode: 'free' };
    for (let k0 = 0; k0 < R; k0 += ws.block * ws.lanes) {
      const used = Math.min(ws.lanes, Math.ceil((R - k0) / ws.block));
      for (let l = 0; l < used; l++) {
        const at = k0 + l * ws.block;
        const rows = Math.min(ws.block, R - at);
        ws.loadRows(l, x.subarray(at * n, (at + rows) * n), zero, rows);
      }
      // (the errors only: no sweep)
      ws.solveLanes(used, none, true);
      for (let l = 0; l < used; l++) out.set(ws.results(l, none, true).energy, k0 + l * ws.block);
    }
    return out;
  }
  for (let k = 0; k < R; k++) out[k] = rowError(x, k * n, n, h);
  return out;
}

/** The prepared inverse Hessian factor of one layer's inputs, and H as measured (for errors). */
interface Factored {
  /** upper factor of the damped H⁻¹ */
  u: Float64Array;
  /** H as measured (dead inputs included), for output errors */
  energyH: HMatrix;
}

/** Damps and factors H (more damping when it is singular); undefined with why when it cannot. */
function factor(hIn: HMatrix, n: number, damp0: number): Factored | { note: string } {
  const h = Float64Array.from(hIn);
  // dead inputs (never non-zero in the data): no information; their weights do not matter
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += h[i * n + i];
  meanDiag /= n;
  if (!(meanDiag > 0)) return { note: 'inputs were all zero on the calibration samples' };
  for (let i = 0; i < n; i++) if (!(h[i * n + i] > 0)) h[i * n + i] = 1;
  let u: Float64Array | undefined;
  // more damping when H is singular (fewer input rows than columns, repeated inputs)
  let damp = damp0;
  for (let attempt = 0; attempt < 5 && !u; attempt++, damp = Math.max(1e-3, damp * 10)) {
    const hd = Float64Array.from(h);
    for (let i = 0; i < n; i++) hd[i * n + i] += damp * meanDiag;
    u = inverseUpperFactor(hd, n);
  }
  if (!u) return { note: 'input Hessian could not be factored even with damping' };
  return { u, energyH: hIn };
}

/**
 * The column sweep shared by quantization and pruning repair: column by column, each row's value
 * is replaced by what `project` can represent (a grid point, 0 where pruned, the value itself where
 * free), and the difference is spread onto the columns not yet done through the factor `u`.
 * `work` ([R, n]) is consumed.
 */
function sweep(work: Float64Array, R: number, n: number, u: Float64Array, project: (at: number, v: number) => number): void {
  for (let i = 0; i < n; i++) {
    const d = u[i * n + i];
    for (let k = 0; k < R; k++) {
      const at = k * n + i;
      const v = work[at];
      const err = (v - project(at, v)) / d;
      if (err === 0) continue;
      const o = k * n;
      for (let j = i + 1; j < n; j++) work[o + j] -= err * u[i * n + j];
    }
  }
}

/** Per-row output error ‖diff·x‖² on the inputs of `energyH`, and each row's output energy ‖w·x‖². */
function rowErrors(w: Float64Array, diff: Float64Array, R: number, n: number, energyH: HMatrix): { errors: Float64Array; energy: Float64Array } {
  const errors = new Float64Array(R);
  const energy = new Float64Array(R);
  for (let k = 0; k < R; k++) {
    energy[k] = rowError(w, k * n, n, energyH);
    errors[k] = rowError(diff, k * n, n, energyH);
  }
  return { errors, energy };
}

/**
 * What a solve needs per block of rows [k0, k0 + rows), as [rows, n]: the target weights w, d =
 * w − the values before (its float64 difference, stored as `d` stores it), the projection's
 * inputs, and which tensor element each is (`elem`, for `write`). Into the SIMD workspace's own
 * memory where there is one (float32), else float64 arrays.
 */
type FillBlock = (k0: number, rows: number, w: Float32Array | Float64Array, d: Float32Array | Float64Array, p: BlockProjection, elem: Int32Array) => void;

/** The projection of one working value `v` of element `i` of a block (the scalar loops; the kernel's `column` does the same). */
function projectOne(p: ProjectionMode, b: BlockProjection, out: Int32Array | Float32Array, i: number, v: number): number {
  if (p.mode === 'free') {
    // a float32 value as stored
    const kept = b.keep[i] ? Math.fround(v) : 0;
    out[i] = kept;
    return kept;
  }
  const s = b.scale[i];
  const z = b.zero[i];
  let q = z;
  // an all-zero block has scale 0: its only value is 0 (code z), as round to nearest writes it
  if (b.keep[i] && s !== 0) {
    q = Math.floor(v / s + 0.5) + z;
    q = q < p.qmin ? p.qmin : q > p.qmax ? p.qmax : q;
  }
  out[i] = q;
  return (q - z) * s;
}

/**
 * For blocks of rows: the errors of `base` against the target `w`, then the sweep projecting
 * each working value as `p` says (with the block's inputs from `fill`), then the errors of its
 * values; each row whose error that lowers gets its new codes or values through `write(element,
 * value)`. On the SIMD workspace when there is one (float32, H held once, a block of rows a lane),
 * else with the scalar loops (float64). The result: the errors before and after, relative to the
 * output energy, or why H could not be factored.
 */
function solve(R: number, n: number, hIn: HMatrix, damp: number, fill: FillBlock, p: ProjectionMode, write: (e: number, v: number) => void, order?: Int32Array): GptqResult {
  const outcome = new Outcome();
  let energy = 0;
  // per row: keep the new values only where they lower that row's output error
  const done = (rows: number, elem: Int32Array, errBase: Float64Array, errors?: Float64Array, out?: Int32Array | Float32Array) => {
    for (let b = 0; b < rows; b++) {
      if (!outcome.use(errBase[b], errors, b) || !out) continue;
      for (let c = 0; c < n; c++) write(elem[b * n + c], out[b * n + c]);
    }
  };
  const ws = GptqWorkspace.open(n, R);
  if (ws) {
    // (activation order: permuted as it is written into the kernel's memory)
    ws.loadH(hIn, order);
    const failed = ws.factor(damp);
    // each lane's elements (lanes are filled before any is solved)
    const elems = Array.from({ length: ws.lanes }, () => new Int32Array(ws.block * n));
    // a round: one block a lane, the lanes solved together (on the pool's threads where there is one)
    for (let k0 = 0; k0 < R; k0 += ws.block * ws.lanes) {
      const used = Math.min(ws.lanes, Math.ceil((R - k0) / ws.block));
      for (let l = 0; l < used; l++) {
        const at = k0 + l * ws.block;
        const rows = Math.min(ws.block, R - at);
        const { w, d } = ws.lane(l, rows);
        fill(at, rows, w, d, ws.projection(l), elems[l]);
      }
      ws.solveLanes(used, p, failed !== undefined);
      for (let l = 0; l < used; l++) {
        const r = ws.results(l, p, failed !== undefined);
        for (const e of r.energy) energy += e;
        done(r.errBase.length, elems[l], r.errBase, r.errors, r.out);
      }
    }
    return outcome.result(energy, failed?.note);
  }
  const h = order ? permuted(hIn, n, order) : hIn;
  const f = factor(h, n, damp);
  const block = 64;
  for (let k0 = 0; k0 < R; k0 += block) {
    const rows = Math.min(block, R - k0);
    const w = new Float64Array(rows * n);
    const d = new Float64Array(rows * n);
    const proj: BlockProjection = { scale: new Float32Array(rows * n), zero: new Float32Array(rows * n), keep: new Uint8Array(rows * n) };
    const elem = new Int32Array(rows * n);
    fill(k0, rows, w, d, proj, elem);
    const before = rowErrors(w, d, rows, n, h);
    for (const e of before.energy) energy += e;
    if ('note' in f) {
      done(rows, elem, before.errors);
      continue;
    }
    const out = p.mode === 'grid' ? new Int32Array(rows * n) : new Float32Array(rows * n);
    const got = new Float64Array(rows * n);
    sweep(Float64Array.from(w), rows, n, f.u, (at, v) => (got[at] = projectOne(p, proj, out, at, v)));
    for (let i = 0; i < rows * n; i++) got[i] = w[i] - got[i];
    done(rows, elem, before.errors, rowErrors(w, got, rows, n, f.energyH).errors, out);
  }
  return outcome.result(energy, 'note' in f ? f.note : undefined);
}

/** Sums of a layer's per-row errors: each row keeps the new values only where they lower its error. */
class Outcome {
  sumBefore = 0;
  sumAfter = 0;
  /** each row's error as written, in the order the rows are used (the order given) */
  readonly rows: number[] = [];
  /** whether row k keeps the new values; adds its errors */
  use(errBase: number, errors: Float64Array | undefined, b: number): boolean {
    this.sumBefore += errBase;
    const use = errors !== undefined && Number.isFinite(errors[b]) && errors[b] <= errBase;
    const after = use ? (errors as Float64Array)[b] : errBase;
    this.sumAfter += after;
    this.rows.push(after);
    return use;
  }
  result(energy: number, note: string | undefined): GptqResult {
    const { sumBefore, sumAfter } = this;
    const before = energy > 0 ? sumBefore / energy : 0;
    const rowErrors = Float64Array.from(this.rows);
    if (note !== undefined) return { ok: false, note, errorBefore: before, errorAfter: before, sumBefore, sumAfter: sumBefore, energy, rowErrors };
    return { ok: true, errorBefore: before, errorAfter: energy > 0 ? sumAfter / energy : 0, sumBefore, sumAfter, energy, rowErrors };
  }
}

/**
 * Replaces the codes of `rows` (of the matrix view `m` over the quantized tensor `qt`) by GPTQ
 * codes for inputs with Hessian `h` (cols×cols, XᵀX). `target` holds the weights the outputs
 * should match: the original ones (before any pruning). With `kept` (magnitude pruning), pruned
 * elements keep the code of 0 and their loss is spread onto the kept ones (repair after pruning,
 * the same sweep: SparseGPT's idea with the mask fixed). Rows whose result would be worse, and
 * every row when H cannot be factored, keep their codes.
 */
export function gptqRows(target: Float32Array, qt: QuantizedTensor, m: WeightMatrix, rows: readonly number[], hIn: HMatrix, options: GptqOptions & { kept?: (e: number) => boolean } = {}): GptqResult {
  const n = m.cols;
  const R = rows.length;
  const [tmin, tmax] = codeRange(qt.bits);
  const qmin = qt.symmetric && qt.bits === 8 ? -127 : tmin;
  // column c of the working arrays is the weight's column order[c]
  const order = columnOrder(hIn, n, options.actOrder);
  const kept = options.kept;
  const { q, scales, zeroPoints } = qt;
  const cg = columnGroups(qt, m);
  const [rs, cs] = m.strides ?? [0, 0];
  const fill: FillBlock = (k0, count, w, d, p, elem) => {
    const put = (i: number, e: number, g: number) => {
      const z = zeroPoints ? zeroPoints[g] : 0;
      elem[i] = e;
      w[i] = target[e];
      // less the round-to-nearest code's value; the grid
      d[i] = target[e] - (q[e] - z) * scales[g];
      p.scale[i] = scales[g];
      p.zero[i] = z;
      p.keep[i] = !kept || kept(e) ? 1 : 0;
    };
    for (let c0 = 0; c0 < n; c0 += ROW_TILE) {
      const c1 = Math.min(n, c0 + ROW_TILE);
      for (let b = 0; b < count; b++) {
        const r = rows[k0 + b];
        const o = b * n;
        if (cg) {
          const rb = r * rs;
          const rg = groupOfElement(qt, rb);
          for (let c = c0; c < c1; c++) {
            const oc = order[c];
            put(o + c, rb + oc * cs, rg + cg[oc]);
          }
        } else
          for (let c = c0; c < c1; c++) {
            const e = m.at(r, order[c]);
            put(o + c, e, groupOfElement(qt, e));
          }
      }
    }
  };
  return solve(R, n, hIn, options.damp ?? 0.01, fill, { mode: 'grid', qmin, qmax: tmax }, (e, v) => (qt.q[e] = v), options.actOrder ? order : undefined);
}

/**
 * GPTQ in both column orders (natural, then activation order, each from the round-to-nearest
 * codes), each row keeping the codes whose output error on the inputs H came from is lower (the
 * activation order's on a tie): never worse than either order alone, per row. About twice one
 * order's solve time.
 */
export function gptqRowsBothOrders(target: Float32Array, qt: QuantizedTensor, m: WeightMatrix, rows: readonly number[], hIn: HMatrix, options: Omit<GptqOptions, 'actOrder'> & { kept?: (e: number) => boolean } = {}): GptqResult {
  const n = m.cols;
  const R = rows.length;
  // the rows' elements, their round-to-nearest codes, and the natural order's codes
  const elems = new Int32Array(R * n);
  for (let k = 0; k < R; k++) for (let c = 0; c < n; c++) elems[k * n + c] = m.at(rows[k], c);
  const rtn = Int8Array.from(elems, (e) => qt.q[e]);
  const a = gptqRows(target, qt, m, rows, hIn, { ...options, actOrder: false });
  const natural = Int8Array.from(elems, (e) => qt.q[e]);
  for (let i = 0; i < elems.length; i++) qt.q[elems[i]] = rtn[i];
  const b = gptqRows(target, qt, m, rows, hIn, { ...options, actOrder: true });
  if (!a.rowErrors || !b.rowErrors) return b;
  let sumAfter = 0;
  const rowErrors = new Float64Array(R);
  for (let k = 0; k < R; k++) {
    const useNatural = a.rowErrors[k] < b.rowErrors[k];
    rowErrors[k] = useNatural ? a.rowErrors[k] : b.rowErrors[k];
    sumAfter += rowErrors[k];
    if (useNatural) for (let c = 0; c < n; c++) qt.q[elems[k * n + c]] = natural[k * n + c];
  }
  const ok = a.ok || b.ok;
  return {
    ok,
    ...(ok ? {} : { note: b.note ?? a.note }),
    errorBefore: b.errorBefore,
    errorAfter: b.energy > 0 ? sumAfter / b.energy : 0,
    sumBefore: b.sumBefore,
    sumAfter,
    energy: b.energy,
    rowErrors,
  };
}

/**
 * Repair after magnitude pruning for float weights: `values` (the pruned weights, changed in
 * place) are refit so the layer's outputs on inputs with Hessian `h` stay close to those of
 * `target` (the original weights); pruned elements (`values` 0 where `target` is not) stay 0.
 * A least-squares refit of the kept weights, column by column (the sweep above with no grid).
 * Rows whose result would be worse keep their pruned values.
 */
export function repairPrunedRows(target: Float32Array, values: Float32Array, m: WeightMatrix, rows: readonly number[], h: HMatrix, options: GptqOptions = {}): GptqResult {
  const n = m.cols;
  const R = rows.length;
  const fill: FillBlock = (k0, count, w, d, p, elem) => {
    for (let b = 0; b < count; b++) {
      for (let c = 0; c < n; c++) {
        const i = b * n + c;
        const e = m.at(rows[k0 + b], c);
        elem[i] = e;
        p.keep[i] = values[e] !== 0 || target[e] === 0 ? 1 : 0;
        w[i] = target[e];
        d[i] = target[e] - values[e];
      }
    }
  };
  return solve(R, n, h, options.damp ?? 0.01, fill, { mode: 'free' }, (e, v) => (values[e] = v));
}
