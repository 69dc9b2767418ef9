/**
 * GPTQ's dense float64 work on WebAssembly SIMD (src/compress/recovery/gptq.wat): the output
 * errors d H dᵀ, the Cholesky factor of the damped H and the column sweep, in the module's memory.
 *
 * Rows go a block at a time (a block of about 512 KiB stays in cache), and for each column the
 * kernel reads the shared row of H or of the factor once for the whole block. The sweep is the
 * left-looking form of gptq.ts's: with H = U₁U₁ᵀ (U₁ upper, from one Cholesky) the working value
 * of column j is w_j + Σ_{i<j} (w_i − q_i) U₁[i][j] / U₁[j][j], the same numbers as spreading each
 * column's error through U = U₁⁻¹, without computing U (no triangular inverse).
 *
 * Used when the engine runs WebAssembly SIMD (every browser since 2021, Node 16.4+) and the layer
 * fits (2n² + 2Rn float64 under 1 GiB); otherwise gptq.ts keeps its scalar loops.
 */
import { GPTQ_WASM_BASE64 } from './gptq-wasm';
import { embeddedKernel } from '../wasm-kernel';

interface Kernel {
  memory: WebAssembly.Memory;
  dots(x: number, rows: number, stride: number, y: number, len: number, out: number): void;
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
/** results of one kernel call (at most BLOCK_MAX rows) */
const OUT = 0;
const BLOCK_MAX = 64;

/** Rows per block: about 512 KiB of rows of n float64, a multiple of 4. */
function blockRows(n: number): number {
  return Math.max(4, Math.min(BLOCK_MAX, Math.floor(65536 / n / 4) * 4));
}

/**
 * One layer's workspace in the module's memory (float64 offsets): H as measured [n, n], the factor
 * [n, n], the target weights W [R, n] and differences D [R, n].
 */
export class GptqWorkspace {
  private readonly f: Float64Array;
  private readonly H: number;
  private readonly L: number;
  private readonly W: number;
  private readonly D: number;
  /** H_d − H on the diagonal (damping, dead inputs), after factor */
  private delta?: Float64Array;
  /** d H_d dᵀ per row, after sweep */
  private swept?: Float64Array;

  private constructor(
    private readonly k: Kernel,
    private readonly n: number,
    private readonly R: number,
  ) {
    this.H = BLOCK_MAX;
    this.L = this.H + n * n;
    this.W = this.L + n * n;
    this.D = this.W + R * n;
    const bytes = (this.D + R * n) * 8;
    const have = k.memory.buffer.byteLength;
    if (have < bytes) k.memory.grow(Math.ceil((bytes - have) / 65536));
    this.f = new Float64Array(k.memory.buffer);
  }

  /** A workspace for R rows of n columns, or undefined (no SIMD, or too large). */
  static open(n: number, R: number): GptqWorkspace | undefined {
    const k = enabled ? load() : null;
    if (!k || (BLOCK_MAX + 2 * n * n + 2 * R * n) * 8 > MAX_BYTES) return undefined;
    try {
      return new GptqWorkspace(k, n, R);
    } catch {
      return undefined; // memory could not grow
    }
  }

  /** Loads H (as measured) and the target weights w [R, n]; D = w − base. */
  load(h: Float64Array, w: Float64Array, base: Float64Array): void {
    const { f, W, D } = this;
    f.set(h, this.H);
    f.set(w, W);
    for (let i = 0; i < w.length; i++) f[D + i] = w[i] - base[i];
  }

  /** d H dᵀ for each row d of D (`of` 'diff') or of W ('target'): H symmetric, its upper part only. */
  rowErrors(of: 'diff' | 'target'): Float64Array {
    const { f, k, n, R, H } = this;
    const X = of === 'diff' ? this.D : this.W;
    const B = blockRows(n);
    const errors = new Float64Array(R);
    for (let k0 = 0; k0 < R; k0 += B) {
      const rows = Math.min(B, R - k0);
      for (let i = 0; i < n; i++) {
        const len = n - i - 1;
        if (len > 0) k.dots(8 * (X + k0 * n + i + 1), rows, 8 * n, 8 * (H + i * n + i + 1), len, 8 * OUT);
        const hii = f[H + i * n + i];
        for (let b = 0; b < rows; b++) {
          const di = f[X + (k0 + b) * n + i];
          if (di === 0) continue;
          errors[k0 + b] += di * (hii * di + 2 * (len > 0 ? f[OUT + b] : 0));
        }
      }
    }
    return errors;
  }

  /**
   * Damps H as gptq.ts's `factor` does (dead inputs get a diagonal of 1, then + damp · mean
   * diagonal, ×10 up to 5 times while it is not positive definite) and factors it; a note when it
   * cannot.
   */
  factor(damp0: number): { note: string } | undefined {
    const { f, n, H, L } = this;
    let meanDiag = 0;
    for (let i = 0; i < n; i++) meanDiag += f[H + i * n + i];
    meanDiag /= n;
    if (!(meanDiag > 0)) return { note: 'inputs were all zero on the calibration samples' };
    let damp = damp0;
    for (let attempt = 0; attempt < 5; attempt++, damp = Math.max(1e-3, damp * 10)) {
      // the reversed damped H (JHJ), lower part: its Cholesky factor L gives U₁ = JLJ
      for (let i = 0; i < n; i++) {
        const src = H + (n - 1 - i) * n + (n - 1);
        const dst = L + i * n;
        for (let j = 0; j < i; j++) f[dst + j] = f[src - j];
        const d = f[src - i];
        f[dst + i] = (d > 0 ? d : 1) + damp * meanDiag;
      }
      if (this.cholesky()) {
        this.antiTranspose();
        const delta = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const d = f[H + i * n + i];
          delta[i] = (d > 0 ? 0 : 1 - d) + damp * meanDiag;
        }
        this.delta = delta;
        return undefined;
      }
    }
    return { note: 'input Hessian could not be factored even with damping' };
  }

  /** Lower Cholesky factor of the lower part of L in place, rows a block at a time; false when not positive definite. */
  private cholesky(): boolean {
    const { f, k, n, L } = this;
    const B = blockRows(n);
    for (let i0 = 0; i0 < n; i0 += B) {
      const i1 = Math.min(n, i0 + B);
      for (let j = 0; j < i1; j++) {
        const rj = L + j * n;
        if (j >= i0) {
          let d = f[rj + j];
          if (j > 0) {
            k.dots(8 * rj, 1, 0, 8 * rj, j, 8 * OUT);
            d -= f[OUT];
          }
          if (!(d > 0) || !Number.isFinite(d)) return false;
          f[rj + j] = Math.sqrt(d);
        }
        const r0 = Math.max(i0, j + 1);
        if (r0 >= i1) continue;
        const rows = i1 - r0;
        const ljj = f[rj + j];
        if (j > 0) {
          k.dots(8 * (L + r0 * n), rows, 8 * n, 8 * rj, j, 8 * OUT);
          for (let b = 0; b < rows; b++) {
            const at = L + (r0 + b) * n + j;
            f[at] = (f[at] - f[OUT + b]) / ljj;
          }
        } else for (let b = 0; b < rows; b++) f[L + (r0 + b) * n] /= ljj;
      }
    }
    return true;
  }

  /** L (lower) to T = U₁ᵀ = (JLJ)ᵀ in place: T[j][i] = L[n−1−i][n−1−j], lower as well. */
  private antiTranspose(): void {
    const { f, n, L } = this;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c <= r && r + c < n - 1; c++) {
        const a = L + r * n + c;
        const b = L + (n - 1 - c) * n + (n - 1 - r);
        const t = f[a];
        f[a] = f[b];
        f[b] = t;
      }
    }
  }

  /**
   * The column sweep (after `factor`): column by column, each row's working value is replaced by
   * `project`'s; D becomes W − the projected values.
   */
  sweep(project: (at: number, v: number) => number): void {
    const { f, k, n, R, L, W, D } = this;
    const B = blockRows(n);
    const loss = new Float64Array(R);
    for (let k0 = 0; k0 < R; k0 += B) {
      const rows = Math.min(B, R - k0);
      for (let j = 0; j < n; j++) {
        const tj = L + j * n;
        const tjj = f[tj + j];
        if (j > 0) k.dots(8 * (D + k0 * n), rows, 8 * n, 8 * tj, j, 8 * OUT);
        for (let b = 0; b < rows; b++) {
          const at = (k0 + b) * n + j;
          const w = f[W + at];
          const s = j > 0 ? f[OUT + b] : 0;
          const d = w - project(at, j > 0 ? w + s / tjj : w);
          f[D + at] = d;
          // (w − q)·U₁'s column j, U₁ = Tᵀ: its square summed over j is (w − q) H_d (w − q)ᵀ
          const e = s + tjj * d;
          loss[k0 + b] += e * e;
        }
      }
    }
    this.swept = loss;
  }

  /**
   * After `sweep`: d H dᵀ for each row d of D (W − the projected values), from the sweep's own
   * terms (their squares sum to d H_d dᵀ) less the damping's part Σ δⱼ dⱼ² (H_d − H is diagonal):
   * the same numbers as rowErrors('diff') without another pass over H.
   */
  sweptErrors(): Float64Array {
    const { f, n, R, D, swept, delta } = this;
    if (!swept || !delta) throw new Error('sweptErrors needs factor and sweep first');
    const out = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      let damped = 0;
      const o = D + r * n;
      for (let j = 0; j < n; j++) damped += delta[j] * f[o + j] * f[o + j];
      out[r] = Math.max(0, swept[r] - damped);
    }
    return out;
  }

  /**
   * The teacher's target (teacher.ts): w + H_d⁻¹(C − H)wᵀ for each row w of `w` ([R, n]), H damped
   * by `damp` × its mean diagonal (dead inputs 1); false when H_d is not positive definite. Uses the
   * regions as: H ← C − H, L ← the Cholesky factor of H_d (then its transpose in the upper part),
   * W ← w, D ← the correction.
   */
  teacher(h: Float64Array, cross: Float64Array, w: Float64Array, damp: number): Float64Array | false {
    const { f, k, n, R, H, L, W, D } = this;
    let meanDiag = 0;
    for (let i = 0; i < n; i++) meanDiag += h[i * n + i];
    meanDiag /= n;
    if (!(meanDiag > 0)) return false;
    for (let i = 0; i < n * n; i++) f[H + i] = cross[i] - h[i];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) f[L + i * n + j] = h[i * n + j];
      const d = h[i * n + i];
      f[L + i * n + i] = (d > 0 ? d : 1) + damp * meanDiag;
    }
    if (!this.cholesky()) return false;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) f[L + i * n + j] = f[L + j * n + i];
    f.set(w, W);
    const B = blockRows(n);
    for (let k0 = 0; k0 < R; k0 += B) {
      const rows = Math.min(B, R - k0);
      const V = D + k0 * n;
      // V = w (C − H)ᵀ: the product (C − H)·wᵀ per row
      for (let i = 0; i < n; i++) {
        k.dots(8 * (W + k0 * n), rows, 8 * n, 8 * (H + i * n), n, 8 * OUT);
        for (let b = 0; b < rows; b++) f[V + b * n + i] = f[OUT + b];
      }
      // L·y = v, row by row
      for (let i = 0; i < n; i++) {
        const lii = f[L + i * n + i];
        if (i > 0) k.dots(8 * V, rows, 8 * n, 8 * (L + i * n), i, 8 * OUT);
        for (let b = 0; b < rows; b++) f[V + b * n + i] = (f[V + b * n + i] - (i > 0 ? f[OUT + b] : 0)) / lii;
      }
      // Lᵀ·z = y, from the last row up (Lᵀ's rows are L's columns, kept in the upper part)
      for (let i = n - 1; i >= 0; i--) {
        const lii = f[L + i * n + i];
        const len = n - i - 1;
        if (len > 0) k.dots(8 * (V + i + 1), rows, 8 * n, 8 * (L + i * n + i + 1), len, 8 * OUT);
        for (let b = 0; b < rows; b++) f[V + b * n + i] = (f[V + b * n + i] - (len > 0 ? f[OUT + b] : 0)) / lii;
      }
    }
    const out = new Float64Array(R * n);
    for (let i = 0; i < R * n; i++) out[i] = f[W + i] + f[D + i];
    return out;
  }
}
