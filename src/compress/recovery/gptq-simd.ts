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
import { GPTQ_SHARED_WASM_BASE64, GPTQ_WASM_BASE64 } from './gptq-wasm';
import { decodeBase64, embeddedKernel } from '../wasm-kernel';

/**
 * A layer's H (n×n, row-major, symmetric): float32 where its sums were float32 (hessian.ts: H's
 * blocks summed over a pass), float64 where a teacher's cross term is subtracted from it.
 */
export type HMatrix = Float32Array | Float64Array;

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
 * Threads for GPTQ (`setGptqPool`, given by the CLI and the compress worker: algorithms start no
 * workers): `helpers` threads, each running `serveGptqLanes` on `memory`, a shared
 * WebAssembly.Memory (the kernels' shared build). A layer's rows go in lanes of a block each:
 * once H is factored the rows are independent, so the caller fills every lane's block, and the
 * caller and the helpers take lanes until all are solved (each row the same arithmetic whoever
 * solves it: the same bytes with any number of threads). The caller waits with Atomics.wait (a
 * worker or Node's main thread).
 */
export interface GptqPool {
  memory: WebAssembly.Memory;
  helpers: number;
}

let pool: GptqPool | undefined;

/** Sets (or clears) the threads GPTQ's lanes run on. */
export function setGptqPool(p: GptqPool | undefined): void {
  pool = p;
}

/**
 * Native products for GPTQ's wide layers (the CLI: onnxruntime-node's MatMul on a worker thread,
 * cli/gptq-native.ts), called synchronously on `memory` (shared: the pool's where there is one).
 * A layer of at least NATIVE_MIN_COLS columns then goes in chunks of up to NATIVE_ROWS rows, one
 * lane each, and the products that are most of its work run there, NATIVE_COLS columns at a time:
 *   - the sweep's sums over the columns before a block, D[:, :i0]·T[i0:i1, :i0]ᵀ (the block's own
 *     columns stay on the kernel, as they depend on each other);
 *   - the errors before and the output energy, d H dᵀ for each row of D (as loaded) and of W,
 *     from H's upper part a block of rows at a time.
 * Each method throws when the service cannot do it; the workspace then solves the chunk on the
 * kernel and stops using the service.
 */
export interface GptqNative {
  memory: WebAssembly.Memory;
  /** Whether it serves calls now (a thread still starting does not: the kernel goes on alone meanwhile). */
  ready(): boolean;
  /**
   * A chunk's start: `rows` rows of n columns, W and D (= W − the values before) at byte offsets
   * (row stride n). The service keeps its own copy of both as they are now.
   */
  begin(rows: number, n: number, W: number, D: number): void;
  /**
   * Columns [i0, i1) (i1 − i0 ≤ NATIVE_COLS): adds this block's terms of both rows' quadratic forms
   * to the chunk's sums, with H's rows i0 … i1 − 1 read at and after column i0 from M (byte
   * offset; strict upper part, row stride n) and its diagonal from HDIAG (float64, byte offset).
   * Where S ≥ 0 (a byte offset) also writes Sᵀ [i1 − i0, rows] float32, S = D[:, :i0]·T[i0:i1, :i0]ᵀ,
   * T = M's lower part, D read from the memory now (its columns before i0 are swept).
   */
  block(i0: number, i1: number, M: number, HDIAG: number, S: number): void;
  /** The chunk's sums: d H dᵀ per row of D (as given to begin), then of W, float64, at byte offset `res` (2 × rows). */
  finish(res: number): void;
}

let native: GptqNative | undefined;
/** why the native products last failed (the workspace went on without them) */
let nativeFailure: string | undefined;

/** Why GPTQ stopped using its native products, if it did. */
export function gptqNativeFailure(): string | undefined {
  return nativeFailure;
}

/** Sets (or clears) the native products GPTQ's wide layers use. */
export function setGptqNative(n: GptqNative | undefined): void {
  native = n;
}

/** Columns of a native block (even: the kernel's pairs stay inside a block). */
export const NATIVE_COLS = 128;
/** Columns under which a layer stays on the kernel (its products are too short to gain). */
export const NATIVE_MIN_COLS = 512;
/** Rows of a chunk on the native path at most (its lane: about 21 bytes × rows × columns). */
export const NATIVE_ROWS = 256;

/** The shared build's kernels on `memory`, one instance per memory. */
const sharedKernels = new WeakMap<WebAssembly.Memory, Kernel>();
function sharedKernel(memory: WebAssembly.Memory): Kernel {
  let k = sharedKernels.get(memory);
  if (!k) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(decodeBase64(GPTQ_SHARED_WASM_BASE64)), { env: { memory } });
    k = { ...(instance.exports as unknown as Omit<Kernel, 'memory'>), memory };
    sharedKernels.set(memory, k);
  }
  return k;
}

/** A shared memory for a pool of GPTQ threads (at most 1 GiB, GPTQ's limit). */
export function gptqPoolMemory(): WebAssembly.Memory {
  const Memory = (WebAssembly as unknown as { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WebAssembly.Memory }).Memory;
  return new Memory({ initial: 1, maximum: MAX_BYTES / 65536, shared: true });
}

/** Lanes at most (blocks solved at once). */
const MAX_LANES = 64;
/** The control block at the start of the memory: Int32 slots, then float64 ones. */
const C = {
  GEN: 0,
  DONE: 1,
  STOP: 2,
  LANES: 3,
  MODE: 4,
  N: 5,
  FAILED: 6,
  /** lanes solved by helpers (tests) */
  HELPED: 7,
  /** byte offsets: M, HDIAG, DELTA, the first lane, a lane's stride; rows per block */
  M: 8,
  HDIAG: 9,
  DELTA: 10,
  LANE0: 11,
  STRIDE: 12,
  BLOCK: 13,
  /** 1: a lane of the native path (its layout has the SN region) */
  NATIVE: 14,
  ROWS: 16,
  STATUS: 16 + MAX_LANES,
  /** float64 index (byte 800 on: after the Int32 slots, inside the 1 KiB block): qmin, qmax */
  QMIN: 100,
  QMAX: 101,
} as const;

/** A lane's regions (byte offsets from its start) for blocks of `block` rows of n. */
function laneLayout(n: number, block: number, native = false) {
  const bn = block * n;
  const SCR = 0; // the kernel's sums: 2 float32 per row
  const SN = 8 * Math.max(BLOCK_MAX, block); // the native products' sums (GptqNative): NATIVE_COLS float32 per row
  const W = SN + (native ? 4 * block * NATIVE_COLS : 0);
  const D = W + 4 * bn;
  const SC = D + 4 * bn;
  const ZE = SC + 4 * bn;
  const OUTS = ZE + 4 * bn;
  const LOSS = align(OUTS + 4 * bn, 8);
  const RES = LOSS + 8 * block;
  const KEEP = RES + 3 * 8 * block;
  return { SCR, SN, W, D, SC, ZE, OUTS, LOSS, RES, KEEP, stride: align(KEEP + bn, 16) };
}
const align = (x: number, a: number) => Math.ceil(x / a) * a;

/** Views of a memory and the layout from its control block, for one lane. */
class Lane {
  readonly f: Float32Array;
  readonly d: Float64Array;
  readonly u8: Uint8Array;
  readonly n: number;
  readonly rows: number;
  readonly M: number;
  readonly HDIAG: number;
  readonly DELTA: number;
  /** this lane's regions: float32 index (W, D, …), or byte offsets (*B) */
  readonly W: number;
  readonly D: number;
  readonly base: number;
  readonly L: ReturnType<typeof laneLayout>;

  constructor(
    readonly k: Kernel,
    readonly lane: number,
  ) {
    const buffer = k.memory.buffer;
    const c = new Int32Array(buffer, 0, 256);
    this.f = new Float32Array(buffer);
    this.d = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
    this.u8 = new Uint8Array(buffer);
    this.n = c[C.N];
    this.rows = c[C.ROWS + lane];
    this.M = c[C.M] / 4;
    this.HDIAG = c[C.HDIAG] / 8;
    this.DELTA = c[C.DELTA] / 8;
    this.L = laneLayout(this.n, c[C.BLOCK], c[C.NATIVE] === 1);
    this.base = c[C.LANE0] + lane * c[C.STRIDE];
    this.W = (this.base + this.L.W) / 4;
    this.D = (this.base + this.L.D) / 4;
  }

  /** d H dᵀ for each row d of D (`of` 'diff') or of W ('target'). */
  rowErrors(of: 'diff' | 'target'): Float64Array {
    const { f, d, k, n, M, HDIAG, rows } = this;
    const X = of === 'diff' ? this.D : this.W;
    const out = (this.base + this.L.SCR) / 4;
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
        errors[b] += xi * (d[HDIAG + i] * xi + 2 * s0) + (two ? xi1 * (d[HDIAG + i + 1] * xi1 + 2 * s1) : 0);
      }
    }
    return errors;
  }

  /**
   * The column sweep over the lane's rows (after the factor, with the projection filled): column
   * by column, each row's working value is replaced by its projection (the kernel's `column`); D
   * becomes W − the projected values, the output their codes or values. Returns d H_d dᵀ per row
   * from the sweep's own terms.
   */
  sweep(mode: number, qmin: number, qmax: number): Float64Array {
    const { f, d, k, n, rows, M, W, D, base, L } = this;
    const loss = (base + L.LOSS) / 8;
    d.fill(0, loss, loss + rows);
    // column j + u of the pair at j (the kernel's sums exist from the second pair on)
    const column = (j: number, u: number, c: number, tjj: number) =>
      k.column(mode, rows, n, j + u, u, j > 0 ? 1 : 0, c, tjj, 4 * W, 4 * D, base + L.SCR, base + L.SC, base + L.ZE, base + L.KEEP, base + L.OUTS, base + L.LOSS, qmin, qmax);
    for (let j = 0; j < n; j += 2) {
      const two = j + 1 < n;
      const tj = M + j * n;
      if (j > 0) k.dots32x2(4 * D, rows, 4 * n, 4 * tj, two ? 4 * n : 0, j, base + L.SCR);
      column(j, 0, 0, f[tj + j]);
      // the second column: its sums over the columns before j, and the first's term (U₁[j][j+1] · its new difference)
      if (two) column(j, 1, f[tj + n + j], f[tj + n + j + 1]);
    }
    return d.slice(loss, loss + rows);
  }

  /**
   * The sweep with the native products (GptqNative.block): a block of NATIVE_COLS columns at a
   * time, the sums over the columns before the block from the service, those inside it from the
   * kernel; the errors' terms of each block come with it (they read D's columns at and after the
   * block, not swept yet). Returns the sweep's loss per row (as `sweep`), or with `failed` (no
   * sweep: the errors only) zeros.
   */
  sweepNative(svc: GptqNative, mode: number, qmin: number, qmax: number, failed: boolean): Float64Array {
    const { f, d, k, n, rows, M, W, D, HDIAG, base, L } = this;
    const loss = (base + L.LOSS) / 8;
    d.fill(0, loss, loss + rows);
    const scr = (base + L.SCR) / 4;
    const sn = (base + L.SN) / 4;
    const column = (j: number, u: number, c: number, tjj: number) =>
      k.column(mode, rows, n, j + u, u, j > 0 ? 1 : 0, c, tjj, 4 * W, 4 * D, base + L.SCR, base + L.SC, base + L.ZE, base + L.KEEP, base + L.OUTS, base + L.LOSS, qmin, qmax);
    svc.begin(rows, n, 4 * W, 4 * D);
    for (let i0 = 0; i0 < n; i0 += NATIVE_COLS) {
      const i1 = Math.min(n, i0 + NATIVE_COLS);
      const before = !failed && i0 > 0;
      svc.block(i0, i1, 4 * M, 8 * HDIAG, before ? base + L.SN : -1);
      if (failed) continue;
      for (let j = i0; j < i1; j += 2) {
        const two = j + 1 < n;
        const tj = M + j * n;
        // the sums over the block's columns before j (the kernel), then over the columns before the block (the service's)
        if (j > i0) k.dots32x2(4 * (D + i0), rows, 4 * n, 4 * (tj + i0), two ? 4 * n : 0, j - i0, base + L.SCR);
        if (before) {
          const c = j - i0;
          for (let b = 0; b < rows; b++) {
            const s0 = f[sn + c * rows + b];
            const s1 = two ? f[sn + (c + 1) * rows + b] : 0;
            f[scr + 2 * b] = j > i0 ? f[scr + 2 * b] + s0 : s0;
            f[scr + 2 * b + 1] = j > i0 ? f[scr + 2 * b + 1] + s1 : s1;
          }
        }
        column(j, 0, 0, f[tj + j]);
        if (two) column(j, 1, f[tj + n + j], f[tj + n + j + 1]);
      }
    }
    return d.slice(loss, loss + rows);
  }

  /**
   * d H dᵀ for each row d of D (W − the projected values), from the sweep's own terms (their
   * squares sum to d H_d dᵀ) less the damping's part Σ δⱼ dⱼ² (H_d − H is diagonal): the same
   * numbers as rowErrors('diff') without another pass over H.
   */
  sweptErrors(swept: Float64Array): Float64Array {
    const { f, d, n, rows, D, DELTA } = this;
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let damped = 0;
      const o = D + r * n;
      for (let j = 0; j < n; j++) damped += d[DELTA + j] * f[o + j] * f[o + j];
      out[r] = Math.max(0, swept[r] - damped);
    }
    return out;
  }

  /** solve() with the native products: the errors from the service, the sweep a block at a time. */
  solveNative(svc: GptqNative): void {
    const c = new Int32Array(this.k.memory.buffer, 0, 256);
    const q = new Float64Array(this.k.memory.buffer, 0, 256);
    const res = (this.base + this.L.RES) / 8;
    const failed = c[C.FAILED] === 1;
    const swept = this.sweepNative(svc, c[C.MODE], q[C.QMIN], q[C.QMAX], failed);
    svc.finish(8 * res);
    if (!failed) this.d.set(this.sweptErrors(swept), res + 2 * this.rows);
  }

  /** Solves the lane: its rows' errors before, energy, and (unless the factor failed) the sweep and its errors, into its results. */
  solve(): void {
    const c = new Int32Array(this.k.memory.buffer, 0, 256);
    const q = new Float64Array(this.k.memory.buffer, 0, 256);
    const res = (this.base + this.L.RES) / 8;
    const { d, rows } = this;
    d.set(this.rowErrors('diff'), res);
    d.set(this.rowErrors('target'), res + rows);
    if (c[C.FAILED]) return;
    d.set(this.sweptErrors(this.sweep(c[C.MODE], q[C.QMIN], q[C.QMAX])), res + 2 * rows);
  }
}

/** Takes the lanes still free of the current job and solves them; how many it solved. */
function takeLanes(k: Kernel): number {
  const c = new Int32Array(k.memory.buffer, 0, 256);
  let solved = 0;
  for (let lane = 0; lane < MAX_LANES; lane++) {
    if (Atomics.compareExchange(c, C.STATUS + lane, 0, 1) !== 0) continue;
    new Lane(k, lane).solve();
    solved++;
    Atomics.add(c, C.DONE, 1);
    Atomics.notify(c, C.DONE);
  }
  return solved;
}

/**
 * A helper thread's loop (the CLI's worker_threads, the compress worker's workers): waits for a
 * job on `memory`'s control block, takes lanes until none is free, and waits again; returns when
 * told to stop.
 */
export function serveGptqLanes(memory: WebAssembly.Memory): void {
  const k = sharedKernel(memory);
  const c = new Int32Array(memory.buffer, 0, 256);
  let seen = Atomics.load(c, C.GEN);
  for (;;) {
    Atomics.wait(c, C.GEN, seen);
    seen = Atomics.load(c, C.GEN);
    if (Atomics.load(c, C.STOP)) return;
    const solved = takeLanes(k);
    if (solved > 0) Atomics.add(c, C.HELPED, solved);
  }
}

/** Tells a pool's helpers to return (tests). */
export function stopGptqLanes(memory: WebAssembly.Memory): void {
  const c = new Int32Array(memory.buffer, 0, 256);
  Atomics.store(c, C.STOP, 1);
  Atomics.add(c, C.GEN, 1);
  Atomics.notify(c, C.GEN);
}

/** Lanes solved by a pool's helpers so far (tests). */
export function helpedLanes(memory: WebAssembly.Memory): number {
  return Atomics.load(new Int32Array(memory.buffer, 0, 256), C.HELPED);
}

/**
 * Factors computed elsewhere (factor-runtime.ts: through the runtime's native MatMul) for an H
 * (the array GPTQ is given) at a damping: the lower Cholesky factor of the reversed damped H, as
 * GptqWorkspace.factor's first attempt computes it; taken once (the workspace copies it), or with
 * `kept` for every solve of that H (a search solves one H at several settings: each solve then
 * factors as `compress` does).
 */
const prepared = new WeakMap<HMatrix, { damp: number; lower: Float32Array; kept?: boolean; ordered?: boolean }>();

/** `ordered`: the factor of H in activation order (gptq.ts columnOrder), for a solve that loads it so. */
export function setPreparedFactor(h: HMatrix, damp: number, lower: Float32Array, kept = false, ordered = false): void {
  prepared.set(h, { damp, lower, ...(kept ? { kept } : {}), ...(ordered ? { ordered } : {}) });
}

/** Whether a factor is registered for `h` (and not yet taken): as an array, or in a kernel's memory. */
export function hasPreparedFactor(h: HMatrix): boolean {
  return prepared.has(h) || (inMemory !== undefined && inMemory.h === h && current(inMemory));
}

/**
 * Writes to the n×n region M of each kernel memory, counted: a factor prepared in M (`factorTarget`)
 * holds while nothing else has written there since.
 */
const writes = new WeakMap<WebAssembly.Memory, number>();
const wrote = (m: WebAssembly.Memory) => {
  writes.set(m, (writes.get(m) ?? 0) + 1);
  // (a factor there is gone: its H is not held for it)
  if (inMemory?.memory === m) inMemory = undefined;
};

/** A factor computed elsewhere in the memory of the workspace that will solve its H (factorTarget). */
interface InMemory {
  memory: WebAssembly.Memory;
  h: HMatrix;
  n: number;
  damp: number;
  /** H in activation order */
  ordered: boolean;
  /** `writes` of the memory when it was made */
  at: number;
}
let inMemory: InMemory | undefined;
const current = (m: InMemory) => writes.get(m.memory) === m.at;

/** Where a factor computed elsewhere is written, in place: M of the memory a workspace for its H will use (factorTarget). */
export interface FactorTarget {
  /** M (n×n float32, row-major) as it is now: H in its strict upper part; the factor goes in its lower part and diagonal */
  view(): Float32Array;
  /** whether M still holds this H (nothing else has written there) */
  valid(): boolean;
  /** the factor is in place, at damping `damp`: the next workspace that loads this H takes it */
  commit(damp: number): void;
}

/**
 * A workspace's byte offsets for n columns, after the control block: M (n×n float32), H's
 * diagonal (float64, the damping's after it), and its first lane (the size of all before it).
 */
function head(n: number): { M: number; HDIAG: number; lane0: number } {
  const M = 1024;
  const HDIAG = align(M + 4 * n * n, 8);
  return { M, HDIAG, lane0: align(HDIAG + 16 * n, 16) };
}

/**
 * A factor of H computed elsewhere (factor-runtime.ts) straight into the memory of the workspace
 * that will solve it, instead of an array of its own copied in later: H's upper part goes into M
 * now (as `loadH`, which then copies nothing), the factor into M's lower part (what the kernel's
 * own factor writes). One n² float32 array less while a wide layer is solved (its H, M and that
 * array were alive at once: the 100 MB MatMul bench's peak). The memory is the one
 * GptqWorkspace.open takes for a layer of more than BLOCK_MAX / 4 rows; a workspace on another
 * memory, or anything written to M in between, and the workspace factors H itself. Undefined
 * where there is no SIMD kernel or M does not fit.
 */
export function factorTarget(h: HMatrix, n: number, order?: Int32Array): FactorTarget | undefined {
  const own = enabled ? load() : null;
  if (!own) return undefined;
  const k = native && n >= NATIVE_MIN_COLS && native.ready() ? sharedKernel(native.memory) : pool ? sharedKernel(pool.memory) : own;
  const bytes = head(n).lane0;
  if (bytes > MAX_BYTES || !grow(k.memory, bytes)) return undefined;
  writeH(k.memory, h, n, order);
  wrote(k.memory);
  const at = writes.get(k.memory) as number;
  const valid = () => writes.get(k.memory) === at;
  return {
    view: () => new Float32Array(k.memory.buffer, head(n).M, n * n),
    valid,
    commit(damp) {
      if (valid()) inMemory = { memory: k.memory, h, n, damp, at, ordered: order !== undefined };
    },
  };
}

/** H (as measured; symmetric, its upper part read) into M's strict upper part and its diagonal beside (float64), as a workspace holds it. */
function writeH(memory: WebAssembly.Memory, h: HMatrix, n: number, order?: Int32Array): void {
  const f = new Float32Array(memory.buffer);
  const d = new Float64Array(memory.buffer, 0, Math.floor(memory.buffer.byteLength / 8));
  const at = head(n);
  const M = at.M / 4;
  const HDIAG = at.HDIAG / 8;
  if (order) {
    // H with rows and columns in `order` (H'[i][j] = H[order[i]][order[j]]), written as read: no permuted copy
    for (let i = 0; i < n; i++) {
      const o = i * n;
      const src = order[i] * n;
      d[HDIAG + i] = h[src + order[i]];
      for (let j = i + 1; j < n; j++) f[M + o + j] = h[src + order[j]];
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const o = i * n;
    d[HDIAG + i] = h[o + i];
    for (let j = i + 1; j < n; j++) f[M + o + j] = h[o + j];
  }
}

/** Work (multiply-adds) under which a layer's rows stay on the calling thread. */
const THREADED_MIN = 2 ** 24;

/**
 * One layer's GPTQ workspace: the control block, M [n, n] float32 (strict upper: H as measured;
 * lower and diagonal: the factor, after `factor`), H's diagonal and the damping's (float64), then
 * `lanes` lanes of one block of rows each (lane.ts's regions). Use: `loadH`, `factor`, then per
 * round of lanes: `projection(l)` and `lane(l, rows)` (or `loadRows`) for each lane used, `solveLanes(used, p)`,
 * then `results(l)`.
 */
export class GptqWorkspace {
  private readonly f: Float32Array;
  private readonly d: Float64Array;
  private readonly c: Int32Array;
  /** float32 index of M; float64 indices of H's diagonal and the damping */
  private readonly M: number;
  private readonly HDIAG: number;
  private readonly DELTA: number;
  private readonly L: ReturnType<typeof laneLayout>;
  private readonly lane0: number;
  private readonly stride: number;
  /** rows loaded per lane */
  private readonly rows: number[];

  private constructor(
    private readonly k: Kernel,
    private readonly n: number,
    /** rows per block */
    readonly block: number,
    /** lanes (blocks) solved at once: 1 + the pool's helpers where the layer is large enough */
    readonly lanes: number,
    /** the native products this workspace's lane uses (one lane of up to NATIVE_ROWS rows) */
    private svc?: GptqNative,
  ) {
    const { M, HDIAG: hdiag, lane0 } = head(n);
    this.M = M / 4;
    this.HDIAG = hdiag / 8;
    this.DELTA = this.HDIAG + n;
    this.lane0 = lane0;
    this.L = laneLayout(n, block, svc !== undefined);
    this.stride = this.L.stride;
    const buffer = k.memory.buffer;
    this.f = new Float32Array(buffer);
    this.d = new Float64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
    this.c = new Int32Array(buffer, 0, 256);
    this.rows = new Array<number>(lanes).fill(0);
    const c = this.c;
    c[C.N] = n;
    c[C.M] = M;
    c[C.HDIAG] = hdiag;
    c[C.DELTA] = hdiag + 8 * n;
    c[C.LANE0] = this.lane0;
    c[C.STRIDE] = this.stride;
    c[C.BLOCK] = block;
    c[C.NATIVE] = svc ? 1 : 0;
  }

  /** A workspace for up to R rows of n columns (`block` of them a lane), or undefined (no SIMD, or too large). */
  static open(n: number, R: number): GptqWorkspace | undefined {
    const own = enabled ? load() : null;
    if (!own) return undefined;
    const before = head(n).lane0;
    if (native && n >= NATIVE_MIN_COLS && native.ready()) {
      // one lane of up to NATIVE_ROWS rows on the native products' memory
      const svc = native;
      const rows = Math.min(NATIVE_ROWS, Math.max(1, R));
      const k = sharedKernel(svc.memory);
      const bytes = before + laneLayout(n, rows, true).stride;
      if (bytes <= MAX_BYTES && grow(k.memory, bytes)) return new GptqWorkspace(k, n, rows, 1, svc);
    }
    const block = Math.min(blockRows(n, 4), Math.max(1, R));
    const bytes = (lanes: number) => before + lanes * laneLayout(n, block).stride;
    if (pool && R > BLOCK_MAX / 4 && R * n * n >= THREADED_MIN) {
      const lanes = Math.min(MAX_LANES, 1 + pool.helpers, Math.ceil(R / block));
      const k = sharedKernel(pool.memory);
      if (bytes(lanes) <= MAX_BYTES && grow(k.memory, bytes(lanes))) return new GptqWorkspace(k, n, block, lanes);
      // (the shared memory could not grow: this thread alone, on its own memory)
    }
    if (bytes(1) > MAX_BYTES || !grow(own.memory, bytes(1))) return undefined;
    return new GptqWorkspace(own, n, block, 1);
  }

  /** D as loaded into the native lane (the kernel's fallback) */
  private loadedD: Float32Array | undefined;

  /** the H loaded (its prepared factor, if any), and whether in activation order */
  private loaded: HMatrix | undefined;
  private ordered = false;

  /** Whether M holds `h` (in the order asked) and a factor of it computed elsewhere (factorTarget). */
  private holds(h: HMatrix | undefined, ordered: boolean): InMemory | undefined {
    const m = inMemory;
    return m && h !== undefined && m.h === h && m.ordered === ordered && m.memory === this.k.memory && m.n === this.n && current(m) ? m : undefined;
  }

  /**
   * Loads H (as measured; symmetric, its upper part is read); nothing to copy where factorTarget
   * put it here. With `order` (activation order, gptq.ts columnOrder): H with its rows and
   * columns in that order, permuted as it is written (a factor prepared for H in that order applies).
   */
  loadH(h: HMatrix, order?: Int32Array): void {
    this.loaded = h;
    this.ordered = order !== undefined;
    if (this.holds(h, this.ordered)) return;
    writeH(this.k.memory, h, this.n, order);
    wrote(this.k.memory);
  }

  /** A lane's projection inputs, to fill before `solveLanes` (views of the module's memory, row stride n). */
  projection(lane: number): BlockProjection {
    const { k, n, block, L } = this;
    const base = this.lane0 + lane * this.stride;
    const buffer = k.memory.buffer;
    return { scale: new Float32Array(buffer, base + L.SC, block * n), zero: new Float32Array(buffer, base + L.ZE, block * n), keep: new Uint8Array(buffer, base + L.KEEP, block * n) };
  }

  /**
   * A lane's target weights W and D (= W − the values before), [rows, n] views of the module's
   * memory, for the caller to fill before `solveLanes` (what `loadRows` copies in, with no arrays
   * of its own: a lane of the native path is 256 rows × n, two float64 arrays of that were 12.6 MB
   * at 3,072 columns).
   */
  lane(lane: number, rows: number): { w: Float32Array; d: Float32Array } {
    const { n, L } = this;
    if (rows > this.block) throw new Error(`GptqWorkspace: ${rows} rows, a block holds ${this.block}`);
    const at = this.lane0 + lane * this.stride;
    this.rows[lane] = rows;
    const buffer = this.k.memory.buffer;
    return { w: new Float32Array(buffer, at + L.W, rows * n), d: new Float32Array(buffer, at + L.D, rows * n) };
  }

  /** Loads a lane's target weights w [rows, n] and D = w − base. */
  loadRows(lane: number, w: Float64Array, base: Float64Array, rows: number): void {
    const { f, n, L } = this;
    if (rows > this.block) throw new Error(`GptqWorkspace: ${rows} rows, a block holds ${this.block}`);
    const at = this.lane0 + lane * this.stride;
    const W = (at + L.W) / 4;
    const D = (at + L.D) / 4;
    const len = rows * n;
    for (let i = 0; i < len; i++) {
      f[W + i] = w[i];
      f[D + i] = w[i] - base[i];
    }
    this.rows[lane] = rows;
  }

  /**
   * Solves lanes 0 … used − 1 (each: its rows' errors before and energy, then unless the factor
   * failed the sweep projecting as `p` says and its errors): on this thread, and where there is a
   * pool on its helpers too, waiting until all are done.
   */
  solveLanes(used: number, p: ProjectionMode, failed: boolean): void {
    const { c, d } = this;
    c[C.MODE] = p.mode === 'grid' ? 0 : 1;
    c[C.FAILED] = failed ? 1 : 0;
    d[C.QMIN] = p.mode === 'grid' ? p.qmin : 0;
    d[C.QMAX] = p.mode === 'grid' ? p.qmax : 0;
    c[C.LANES] = used;
    for (let l = 0; l < MAX_LANES; l++) c[C.ROWS + l] = l < used ? this.rows[l] : 0;
    Atomics.store(c, C.DONE, 0);
    for (let l = 0; l < MAX_LANES; l++) Atomics.store(c, C.STATUS + l, l < used ? 0 : 1);
    if (used > 1) {
      Atomics.add(c, C.GEN, 1);
      Atomics.notify(c, C.GEN);
    }
    if (this.svc) {
      this.solveNative(this.svc);
      return;
    }
    takeLanes(this.k);
    for (let done = Atomics.load(c, C.DONE); done < used; done = Atomics.load(c, C.DONE)) Atomics.wait(c, C.DONE, done, 1000);
  }

  /**
   * The lane on the native products; where the service fails, the same lane on the kernel (D as
   * loaded, kept for that) and the service is not used again.
   */
  private solveNative(svc: GptqNative): void {
    const lane = new Lane(this.k, 0);
    const len = lane.rows * this.n;
    // (one array for the layer's chunks: a copy per chunk would be garbage of rows × n floats each)
    const loaded = (this.loadedD ??= new Float32Array(this.block * this.n)).subarray(0, len);
    loaded.set(this.f.subarray(lane.D, lane.D + len));
    try {
      lane.solveNative(svc);
    } catch (e) {
      if (native === svc) native = undefined;
      this.svc = undefined;
      nativeFailure = e instanceof Error ? e.message : String(e);
      this.f.set(loaded, lane.D);
      lane.solve();
    }
  }

  /** A solved lane's errors before, output energy per row, errors after (undefined when the factor failed) and codes or values (row stride n). */
  results(lane: number, p: ProjectionMode, failed: boolean): { errBase: Float64Array; energy: Float64Array; errors?: Float64Array; out?: Int32Array | Float32Array } {
    const { d, k, n, L } = this;
    const rows = this.rows[lane];
    const at = this.lane0 + lane * this.stride;
    const res = (at + L.RES) / 8;
    const errBase = d.slice(res, res + rows);
    const energy = d.slice(res + rows, res + 2 * rows);
    if (failed) return { errBase, energy };
    const out = p.mode === 'grid' ? new Int32Array(k.memory.buffer, at + L.OUTS, rows * n) : new Float32Array(k.memory.buffer, at + L.OUTS, rows * n);
    return { errBase, energy, errors: d.slice(res + 2 * rows, res + 3 * rows), out };
  }

  /**
   * Damps H as gptq.ts's `factor` does (dead inputs get a diagonal of 1, then + damp · mean
   * diagonal, ×10 up to 5 times while it is not positive definite) and factors it into M's lower
   * part (H stays in the upper part); a note when it cannot.
   */
  factor(damp0: number): { note: string } | undefined {
    const { f, d, n, M, HDIAG, DELTA } = this;
    let meanDiag = 0;
    for (let i = 0; i < n; i++) meanDiag += d[HDIAG + i];
    meanDiag /= n;
    if (!(meanDiag > 0)) return { note: 'inputs were all zero on the calibration samples' };
    const done = (damp: number) => {
      this.antiTranspose();
      for (let i = 0; i < n; i++) {
        const h = d[HDIAG + i];
        d[DELTA + i] = (h > 0 ? 0 : 1 - h) + damp * meanDiag;
      }
    };
    // a factor computed through the runtime in M itself (factorTarget), at this damping: taken once
    const here = this.holds(this.loaded, this.ordered);
    if (here) inMemory = undefined;
    // (M's lower part is T from here on, or the kernel's own factor)
    wrote(this.k.memory);
    if (here && here.damp === damp0) {
      done(damp0);
      return undefined;
    }
    // a factor computed through the runtime for this H and damping (factor-runtime.ts): its lower part and diagonal
    const pre = this.loaded && prepared.get(this.loaded);
    if (pre && pre.damp === damp0 && pre.lower.length === n * n && (pre.ordered ?? false) === this.ordered) {
      // (taken once: its n² floats go now, not with H; a second solve of this H factors it here)
      if (!pre.kept) prepared.delete(this.loaded as HMatrix);
      for (let i = 0; i < n; i++) f.set(pre.lower.subarray(i * n, i * n + i + 1), M + i * n);
      done(damp0);
      return undefined;
    }
    let damp = damp0;
    for (let attempt = 0; attempt < 5; attempt++, damp = Math.max(1e-3, damp * 10)) {
      // the reversed damped H (JHJ), lower part, from H's upper part: its Cholesky factor L gives U₁ = JLJ
      for (let i = 0; i < n; i++) {
        const src = M + (n - 1 - i) * n + (n - 1);
        const dst = M + i * n;
        for (let j = 0; j < i; j++) f[dst + j] = f[src - j];
        const h = d[HDIAG + n - 1 - i];
        f[dst + i] = (h > 0 ? h : 1) + damp * meanDiag;
      }
      if (this.cholesky()) {
        done(damp);
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
    const { f, k, n, M } = this;
    const out = (this.lane0 + this.L.SCR) / 4;
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
}

/**
 * The teacher's target (teacher.ts) in float64: w + H_d⁻¹(C − H)wᵀ for each row w of `w` ([R, n]),
 * H damped by `damp` × its mean diagonal (dead inputs 1); false when H_d is not positive definite,
 * undefined when this engine has no SIMD or the layer does not fit (2n² + 2Rn float64 under 1 GiB).
 * The module's memory as: E = C − H, L = the Cholesky factor of H_d (then its transpose in the
 * upper part), W = w, V = the correction.
 */
export function teacherSimd(h: HMatrix, cross: Float64Array, w: Float64Array, R: number, n: number, damp: number): Float64Array | false | undefined {
  const k = enabled ? load() : null;
  const E = OUT_BYTES / 8;
  const L = E + n * n;
  const W = L + n * n;
  const D = W + R * n;
  const bytes = (D + R * n) * 8;
  if (!k || bytes > MAX_BYTES || !grow(k.memory, bytes)) return undefined;
  wrote(k.memory);
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
