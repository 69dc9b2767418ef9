/**
 * GPTQ's dense work on WebAssembly SIMD (src/compress/recovery/gptq.wat): the output errors d H dᵀ,
 * the Cholesky factor of the damped H and the column sweep in float32 (`GptqWorkspace`), and the
 * teacher's solves in float64 (`teacherSimd`), in the module's memory.
 *
 * GPTQ's workspace holds one n×n float32 matrix and one block of weight rows: H as measured in
 * its strict upper part (its diagonal beside, in float64), the factor in its lower part and
 * diagonal, so the layer's H is held once; the weight rows go a block at a time (a block of about
 * 512 KiB stays in cache, and the kernel reads each shared pair of rows of H or of the factor once
 * for the whole block). Float32 as GPTQ's published implementation uses: twice the lanes of
 * float64 and half the memory; sums of products are float32 (four lanes, eight sums in flight),
 * everything per element (the projections, the errors' sums) float64.
 *
 * The sweep is the left-looking form of gptq.ts's: with H = U₁U₁ᵀ (U₁ upper, from one Cholesky)
 * the working value of column j is w_j + Σ_{i<j} (w_i − q_i) U₁[i][j] / U₁[j][j], the same numbers
 * as spreading each column's error through U = U₁⁻¹, without computing U (no triangular inverse).
 * Two columns go together: their sums over the columns before both are one kernel call, and the
 * second adds the first's term after the first is projected.
 *
 * Used when the engine runs WebAssembly SIMD (every browser since 2021, Node 16.4+) and the layer
 * fits (n² + 2Bn float32 under 1 GiB); otherwise gptq.ts keeps its scalar float64 loops.
 */
import { GPTQ_WASM_BASE64 } from './gptq-wasm';
import { embeddedKernel } from '../wasm-kernel';

interface Kernel {
  memory: WebAssembly.Memory;
  dots(x: number, rows: number, stride: number, y: number, len: number, out: number): void;
  dots32x2(x: number, rows: number, stride: number, y: number, ystride: number, len: number, out: number): void;
  column(
    mode: number,
    rows: number,
    n: number,
    j: number,
    u: number,
    sums: number,
    c: number,
    tjj: number,
    W: number,
    D: number,
    S: number,
    scale: number,
    zero: number,
    keep: number,
    codes: number,
    loss: number,
    qmin: number,
    qmax: number,
  ): void;
}

/** What the sweep projects each working value onto: a grid (codes, clamped to [qmin, qmax]) or free float32 values (0 where not kept). */
export type ProjectionMode = { mode: 'grid'; qmin: number; qmax: number } | { mode: 'free' };

/** A block's projection inputs (row stride n): the grid's scale and zero point per element, and whether each is kept (not pruned). */
export interface BlockProjection {
  scale: Float32Array;
  zero: Float32Array;
  keep: Uint8Array;
}

let enabled = true;

/** The instantiated kernel, or null where this engine has no WebAssembly SIMD. */
const load = embeddedKernel<Kernel>(GPTQ_WASM_BASE64);

/** Whether GPTQ runs on the SIMD kernel here. */
export function gptqSimdAvailable(): boolean {
  return enabled && load() !== null;
}

/** Turns the SIMD kernel off or on (tests compare both paths). */
export function setGptqSimd(on: boolean): void {
  enabled = on;
}

const MAX_BYTES = 2 ** 30;
/** results of one kernel call: at most BLOCK_MAX rows, two float32 (or one float64) each */
const OUT_BYTES = 1024;
const BLOCK_MAX = 64;

/** Rows per block: about 512 KiB of rows of n values of `bytes` each, a multiple of 4. */
function blockRows(n: number, bytes: number): number {
  return Math.max(4, Math.min(BLOCK_MAX, Math.floor(524288 / bytes / n / 4) * 4));
}

function grow(memory: WebAssembly.Memory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (have >= bytes) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / 65536));
    return true;
  } catch {
    return false; // memory could not grow
  }
}

/**
 * One layer's GPTQ workspace: M [n, n] float32 (strict upper: H as measured; lower and diagonal:
 * the factor, after `factor`), then per block of B rows: the target weights W and differences D
 * (float32), the projection's scale and zero point (float32) and its output (codes or values,
 * 4 bytes), each [B, n], the sweep's loss per row (float64) and which elements are kept (bytes).
 * Use: `loadH`, `factor`, then per block of rows `projection` (to fill), `loadRows`, `rowErrors`,
 * `sweep`, `output`, `sweptErrors`.
 */
export class GptqWorkspace {
  private readonly f: Float32Array;
  /** float32 offsets */
  private readonly M: number;
  private readonly W: number;
  private readonly D: number;
  private readonly SC: number;
  private readonly ZE: number;
  private readonly OUTS: number;
  /** byte offsets */
  private readonly LOSS: number;
  private readonly KEEP: number;
  private readonly out: number;
  /** H's diagonal as measured */
  private readonly hdiag: Float64Array;
  /** H_d − H on the diagonal (damping, dead inputs), after factor */
  private delta?: Float64Array;
  /** rows loaded */
  private rows = 0;
  /** d H_d dᵀ per loaded row, after sweep */
  private swept?: Float64Array;

  private constructor(
    private readonly k: Kernel,
    private readonly n: number,
    /** rows per block */
    readonly block: number,
  ) {
    const bn = block * n;
    this.out = 0;
    this.M = OUT_BYTES / 4;
    this.W = this.M + n * n;
    this.D = this.W + bn;
    this.SC = this.D + bn;
    this.ZE = this.SC + bn;
    this.OUTS = this.ZE + bn;
    const after = 4 * (this.OUTS + bn);
    this.LOSS = after + (after % 8);
    this.KEEP = this.LOSS + 8 * block;
    this.f = new Float32Array(k.memory.buffer);
    this.hdiag = new Float64Array(n);
  }

  /** bytes a workspace needs */
  private static bytes(n: number, block: number): number {
    return OUT_BYTES + (n * n + 5 * block * n) * 4 + 4 + 8 * block + block * n;
  }

  /** A workspace for up to R rows of n columns (`block` of them at a time), or undefined (no SIMD, or too large). */
  static open(n: number, R: number): GptqWorkspace | undefined {
    const k = enabled ? load() : null;
    if (!k) return undefined;
    const block = Math.min(blockRows(n, 4), Math.max(1, R));
    const bytes = GptqWorkspace.bytes(n, block);
    if (bytes > MAX_BYTES || !grow(k.memory, bytes)) return undefined;
    return new GptqWorkspace(k, n, block);
  }

  /** Loads H (as measured; symmetric, its upper part is read). */
  loadH(h: Float64Array): void {
    const { f, n, M, hdiag } = this;
    for (let i = 0; i < n; i++) {
      const o = i * n;
      hdiag[i] = h[o + i];
      for (let j = i + 1; j < n; j++) f[M + o + j] = h[o + j];
    }
    this.delta = undefined;
  }

  /** The block's projection inputs, to fill before `sweep` (views of the module's memory, row stride n). */
  projection(): BlockProjection {
    const { k, n, block, SC, ZE, KEEP } = this;
    const buffer = k.memory.buffer;
    return { scale: new Float32Array(buffer, 4 * SC, block * n), zero: new Float32Array(buffer, 4 * ZE, block * n), keep: new Uint8Array(buffer, KEEP, block * n) };
  }

  /** After `sweep`: the loaded rows' codes (a grid) or values (free), row stride n. */
  output(mode: ProjectionMode['mode']): Int32Array | Float32Array {
    const { k, n, rows, OUTS } = this;
    return mode === 'grid' ? new Int32Array(k.memory.buffer, 4 * OUTS, rows * n) : new Float32Array(k.memory.buffer, 4 * OUTS, rows * n);
  }

  /** Loads a block's target weights w [rows, n] and D = w − base. */
  loadRows(w: Float64Array, base: Float64Array, rows: number): void {
    const { f, n, W, D } = this;
    if (rows > this.block) throw new Error(`GptqWorkspace: ${rows} rows, a block holds ${this.block}`);
    const len = rows * n;
    for (let i = 0; i < len; i++) {
      f[W + i] = w[i];
      f[D + i] = w[i] - base[i];
    }
    this.rows = rows;
    this.swept = undefined;
  }

  /** d H dᵀ for each loaded row d of D (`of` 'diff') or of W ('target'). */
  rowErrors(of: 'diff' | 'target'): Float64Array {
    const { f, k, n, M, hdiag, rows, out } = this;
    const X = of === 'diff' ? this.D : this.W;
    const errors = new Float64Array(rows);
    for (let i = 0; i < n; i += 2) {
      // Σ_{j ≥ i+2} H[i][j] x_j and H[i+1][j] x_j for every row, then row i's term of column i+1
      const len = n - i - 2;
      if (len > 0) k.dots32x2(4 * (X + i + 2), rows, 4 * n, 4 * (M + i * n + i + 2), 4 * n, len, 4 * out);
      const two = i + 1 < n;
      const hi1 = two ? f[M + i * n + i + 1] : 0;
      for (let b = 0; b < rows; b++) {
        const o = X + b * n + i;
        const xi = f[o];
        const xi1 = two ? f[o + 1] : 0;
        const s0 = (len > 0 ? f[out + 2 * b] : 0) + hi1 * xi1;
        const s1 = len > 0 ? f[out + 2 * b + 1] : 0;
        errors[b] += xi * (hdiag[i] * xi + 2 * s0) + (two ? xi1 * (hdiag[i + 1] * xi1 + 2 * s1) : 0);
      }
    }
    return errors;
  }

  /**
   * Damps H as gptq.ts's `factor` does (dead inputs get a diagonal of 1, then + damp · mean
   * diagonal, ×10 up to 5 times while it is not positive definite) and factors it into M's lower
   * part (H stays in the upper part); a note when it cannot.
   */
  factor(damp0: number): { note: string } | undefined {
    const { f, n, M, hdiag } = this;
    let meanDiag = 0;
    for (let i = 0; i < n; i++) meanDiag += hdiag[i];
    meanDiag /= n;
    if (!(meanDiag > 0)) return { note: 'inputs were all zero on the calibration samples' };
    let damp = damp0;
    for (let attempt = 0; attempt < 5; attempt++, damp = Math.max(1e-3, damp * 10)) {
      // the reversed damped H (JHJ), lower part, from H's upper part: its Cholesky factor L gives U₁ = JLJ
      for (let i = 0; i < n; i++) {
        const src = M + (n - 1 - i) * n + (n - 1);
        const dst = M + i * n;
        for (let j = 0; j < i; j++) f[dst + j] = f[src - j];
        const d = hdiag[n - 1 - i];
        f[dst + i] = (d > 0 ? d : 1) + damp * meanDiag;
      }
      if (this.cholesky()) {
        this.antiTranspose();
        const delta = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const d = hdiag[i];
          delta[i] = (d > 0 ? 0 : 1 - d) + damp * meanDiag;
        }
        this.delta = delta;
        return undefined;
      }
    }
    return { note: 'input Hessian could not be factored even with damping' };
  }

  /**
   * Lower Cholesky factor of M's lower part and diagonal in place, rows a block at a time and
   * columns two at a time; false when not positive definite.
   */
  private cholesky(): boolean {
    const { f, k, n, M, out } = this;
    const B = blockRows(n, 4);
    const row = (r: number) => M + r * n;
    const diag = (j: number, less: number): boolean => {
      // L[j][j] = √(A[j][j] − Σ_{i<j} L[j][i]²), `less` the part of the sum already known
      const d = f[row(j) + j] - less;
      if (!(d > 0) || !Number.isFinite(d)) return false;
      f[row(j) + j] = Math.sqrt(d);
      return true;
    };
    for (let i0 = 0; i0 < n; i0 += B) {
      const i1 = Math.min(n, i0 + B);
      for (let j = 0; j < i1; j += 2) {
        const two = j + 1 < i1;
        const mine = j >= i0; // columns j and j + 1 hold this block's diagonal
        if (mine) {
          if (j > 0) k.dots32x2(4 * row(j), 1, 0, 4 * row(j), 0, j, 4 * out);
          if (!diag(j, j > 0 ? f[out] : 0)) return false;
        }
        // rows r0.. of the block: their sums against rows j and j + 1 over the columns before j
        const r0 = Math.max(i0, j + 1);
        const rows = i1 - r0;
        if (rows <= 0) continue;
        if (j > 0) k.dots32x2(4 * row(r0), rows, 4 * n, 4 * row(j), two ? 4 * n : 0, j, 4 * out);
        const ljj = f[row(j) + j];
        for (let b = 0; b < rows; b++) {
          const at = row(r0 + b) + j;
          f[at] = (f[at] - (j > 0 ? f[out + 2 * b] : 0)) / ljj;
        }
        if (!two) continue;
        const c = f[row(j + 1) + j];
        // row j + 1 is the block's first row here when `mine`: its sum is the diagonal's
        if (mine && !diag(j + 1, (j > 0 ? f[out + 1] : 0) + c * c)) return false;
        const l1 = f[row(j + 1) + j + 1];
        for (let b = mine ? 1 : 0; b < rows; b++) {
          const r = r0 + b;
          const at = row(r) + j + 1;
          f[at] = (f[at] - (j > 0 ? f[out + 2 * b + 1] : 0) - f[row(r) + j] * c) / l1;
        }
      }
    }
    return true;
  }

  /** M's lower part L to T = U₁ᵀ = (JLJ)ᵀ in place: T[j][i] = L[n−1−i][n−1−j], lower as well. */
  private antiTranspose(): void {
    const { f, n, M } = this;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c <= r && r + c < n - 1; c++) {
        const a = M + r * n + c;
        const b = M + (n - 1 - c) * n + (n - 1 - r);
        const t = f[a];
        f[a] = f[b];
        f[b] = t;
      }
    }
  }

  /**
   * The column sweep over the loaded rows (after `factor`, with `projection` filled): column by
   * column, each row's working value is replaced by its projection (the kernel's `column`); D
   * becomes W − the projected values, `output` their codes or values.
   */
  sweep(p: ProjectionMode): void {
    const { f, k, n, rows, M, W, D, SC, ZE, OUTS, LOSS, KEEP, out } = this;
    new Float64Array(k.memory.buffer, LOSS, rows).fill(0);
    const mode = p.mode === 'grid' ? 0 : 1;
    const [qmin, qmax] = p.mode === 'grid' ? [p.qmin, p.qmax] : [0, 0];
    // column j + u of the pair at j (the kernel's sums exist from the second pair on)
    const column = (j: number, u: number, c: number, tjj: number) =>
      k.column(mode, rows, n, j + u, u, j > 0 ? 1 : 0, c, tjj, 4 * W, 4 * D, 4 * out, 4 * SC, 4 * ZE, KEEP, 4 * OUTS, LOSS, qmin, qmax);
    for (let j = 0; j < n; j += 2) {
      const two = j + 1 < n;
      const tj = M + j * n;
      if (j > 0) k.dots32x2(4 * D, rows, 4 * n, 4 * tj, two ? 4 * n : 0, j, 4 * out);
      column(j, 0, 0, f[tj + j]);
      // the second column: its sums over the columns before j, and the first's term (U₁[j][j+1] · its new difference)
      if (two) column(j, 1, f[tj + n + j], f[tj + n + j + 1]);
    }
    this.swept = Float64Array.from(new Float64Array(k.memory.buffer, LOSS, rows));
  }

  /**
   * After `sweep`: d H dᵀ for each loaded row d of D (W − the projected values), from the sweep's
   * own terms (their squares sum to d H_d dᵀ) less the damping's part Σ δⱼ dⱼ² (H_d − H is
   * diagonal): the same numbers as rowErrors('diff') without another pass over H.
   */
  sweptErrors(): Float64Array {
    const { f, n, rows, D, swept, delta } = this;
    if (!swept || !delta) throw new Error('sweptErrors needs factor and sweep first');
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let damped = 0;
      const o = D + r * n;
      for (let j = 0; j < n; j++) damped += delta[j] * f[o + j] * f[o + j];
      out[r] = Math.max(0, swept[r] - damped);
    }
    return out;
  }
}

/**
 * The teacher's target (teacher.ts) in float64: w + H_d⁻¹(C − H)wᵀ for each row w of `w` ([R, n]),
 * H damped by `damp` × its mean diagonal (dead inputs 1); false when H_d is not positive definite,
 * undefined when this engine has no SIMD or the layer does not fit (2n² + 2Rn float64 under 1 GiB).
 * The module's memory as: E = C − H, L = the Cholesky factor of H_d (then its transpose in the
 * upper part), W = w, V = the correction.
 */
export function teacherSimd(h: Float64Array, cross: Float64Array, w: Float64Array, R: number, n: number, damp: number): Float64Array | false | undefined {
  const k = enabled ? load() : null;
  const E = OUT_BYTES / 8;
  const L = E + n * n;
  const W = L + n * n;
  const D = W + R * n;
  const bytes = (D + R * n) * 8;
  if (!k || bytes > MAX_BYTES || !grow(k.memory, bytes)) return undefined;
  const f = new Float64Array(k.memory.buffer);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += h[i * n + i];
  meanDiag /= n;
  if (!(meanDiag > 0)) return false;
  for (let i = 0; i < n * n; i++) f[E + i] = cross[i] - h[i];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) f[L + i * n + j] = h[i * n + j];
    const d = h[i * n + i];
    f[L + i * n + i] = (d > 0 ? d : 1) + damp * meanDiag;
  }
  const B = blockRows(n, 8);
  // lower Cholesky factor of L's lower part in place, rows a block at a time
  for (let i0 = 0; i0 < n; i0 += B) {
    const i1 = Math.min(n, i0 + B);
    for (let j = 0; j < i1; j++) {
      const rj = L + j * n;
      if (j >= i0) {
        let d = f[rj + j];
        if (j > 0) {
          k.dots(8 * rj, 1, 0, 8 * rj, j, 0);
          d -= f[0];
        }
        if (!(d > 0) || !Number.isFinite(d)) return false;
        f[rj + j] = Math.sqrt(d);
      }
      const r0 = Math.max(i0, j + 1);
      if (r0 >= i1) continue;
      const rows = i1 - r0;
      const ljj = f[rj + j];
      if (j > 0) {
        k.dots(8 * (L + r0 * n), rows, 8 * n, 8 * rj, j, 0);
        for (let b = 0; b < rows; b++) {
          const at = L + (r0 + b) * n + j;
          f[at] = (f[at] - f[b]) / ljj;
        }
      } else for (let b = 0; b < rows; b++) f[L + (r0 + b) * n] /= ljj;
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) f[L + i * n + j] = f[L + j * n + i];
  f.set(w, W);
  for (let k0 = 0; k0 < R; k0 += B) {
    const rows = Math.min(B, R - k0);
    const V = D + k0 * n;
    // V = w (C − H)ᵀ: the product (C − H)·wᵀ per row
    for (let i = 0; i < n; i++) {
      k.dots(8 * (W + k0 * n), rows, 8 * n, 8 * (E + i * n), n, 0);
      for (let b = 0; b < rows; b++) f[V + b * n + i] = f[b];
    }
    // L·y = v, row by row
    for (let i = 0; i < n; i++) {
      const lii = f[L + i * n + i];
      if (i > 0) k.dots(8 * V, rows, 8 * n, 8 * (L + i * n), i, 0);
      for (let b = 0; b < rows; b++) f[V + b * n + i] = (f[V + b * n + i] - (i > 0 ? f[b] : 0)) / lii;
    }
    // Lᵀ·z = y, from the last row up (Lᵀ's rows are L's columns, kept in the upper part)
    for (let i = n - 1; i >= 0; i--) {
      const lii = f[L + i * n + i];
      const len = n - i - 1;
      if (len > 0) k.dots(8 * (V + i + 1), rows, 8 * n, 8 * (L + i * n + i + 1), len, 0);
      for (let b = 0; b < rows; b++) f[V + b * n + i] = (f[V + b * n + i] - (len > 0 ? f[b] : 0)) / lii;
    }
  }
  const got = new Float64Array(R * n);
  for (let i = 0; i < R * n; i++) got[i] = f[W + i] + f[D + i];
  return got;
}
