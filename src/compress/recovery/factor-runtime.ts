/**
 * GPTQ's Cholesky factor through the runtime's MatMul, where that is native code
 * (RunModel.nativeProducts: onnxruntime-node in the CLI, the tests and the benches). The factor
 * of a layer of n columns is n³/6 multiply-adds: at resnet18's 4,608 columns, 0.8 s a layer on
 * GPTQ's WebAssembly SIMD (gptq-simd.ts, ~19 G/s) against ~0.25 s through onnxruntime-node's
 * MatMul on one thread (65-85 G/s measured here), and it scales with onnxruntime's threads.
 *
 * Blocked left-looking Cholesky of the matrix gptq-simd.ts factors (the reversed damped H, JHJ,
 * damped exactly as GptqWorkspace.factor does at its first attempt), in float32 storage:
 * per block of B columns, P = A[k0:, k0:k1] − L[k0:, :k0]·L[k0:k1, :k0]ᵀ (the runtime's product),
 * the diagonal block's factor L₁₁ in float64 here, the rows below L₂₁ = P₂₁·L₁₁⁻ᵀ (the runtime's
 * product again, with L₁₁⁻¹ from here). The result goes into the memory of the workspace that
 * will solve that H (a layer's one H: gptq-simd.ts factorTarget) or into an array registered for
 * it (`prepareFactors`); GptqWorkspace.factor takes it instead of its own factor. The products sum in
 * another order than the WebAssembly kernel's: the factor agrees to float32 rounding, not bit for
 * bit (the page, on onnxruntime-web, keeps the kernel's).
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { DataType } from '../../onnx/types';
import type { RunModel } from '../activations/calibrate';
import { releaseBuffer } from '../../core/release';
import { choleskyLower, columnOrder } from './gptq';
import { factorTarget, hasPreparedFactor, setPreparedFactor, type HMatrix } from './gptq-simd';

/** Columns under which the WebAssembly factor is as fast (a few ms) as the runtime's calls. */
export const RUNTIME_FACTOR_MIN = 1024;
/** columns per block */
const B = 128;

let productModel: Uint8Array | undefined;

/** The product model: c = x · yᵀ for x [m, c], y [w, c] (a transposed MatMul: onnxruntime fuses the two). */
function productBytes(): Uint8Array {
  if (productModel) return productModel;
  const graph = makeGraph({
    nodes: [makeNode('Transpose', ['y'], ['yt'], [attr.ints('perm', [1, 0])], { name: 'transpose' }), makeNode('MatMul', ['x', 'yt'], ['c'], [], { name: 'product' })],
    initializers: [],
    inputs: [makeValueInfo('x', DataType.FLOAT, ['m', 'c']), makeValueInfo('y', DataType.FLOAT, ['w', 'c'])],
    outputs: [makeValueInfo('c', DataType.FLOAT)],
  });
  productModel = encodeModel(makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }));
  return productModel;
}

/** x·yᵀ through the runtime: x [m, cols], y [w, cols] row-major, the result [m, w]. */
async function product(run: RunModel, x: Float32Array, m: number, y: Float32Array, w: number, cols: number): Promise<Float32Array> {
  const got = await run(productBytes(), {
    x: { dtype: 'float32', dims: [m, cols], data: x },
    y: { dtype: 'float32', dims: [w, cols], data: y },
  });
  const c = got.c?.data;
  if (!(c instanceof Float32Array) || c.length !== m * w) throw new Error(`runtime product: expected ${m}×${w} float32 values`);
  return c;
}

/**
 * The lower Cholesky factor L (n×n float32, row-major, the strict upper part 0) of the reversed
 * damped H: A[i][j] = H[n−1−i][n−1−j], the diagonal (H's, or 1 where H's is not positive) +
 * damp × H's mean diagonal; undefined when A is not positive definite (or H is all zero).
 */
export async function runtimeFactor(h: HMatrix, n: number, damp: number, run: RunModel, order?: Int32Array): Promise<Float32Array | undefined> {
  const a = new Float32Array(n * n);
  return (await factorInto(() => a, () => true, h, n, damp, run, order)) ? a : undefined;
}

/**
 * runtimeFactor's L into the lower part and diagonal of `view()` (n×n, row-major; read again
 * after every run, as a memory that grows hands out a new buffer), its strict upper part neither
 * read nor written (GptqWorkspace's M keeps H there). False when A is not positive definite, H is
 * all zero, or `valid()` turns false (M was written by something else meanwhile).
 */
async function factorInto(view: () => Float32Array, valid: () => boolean, h: HMatrix, n: number, damp: number, run: RunModel, order?: Int32Array): Promise<boolean> {
  // L[k0:, :k0], copied for the runtime (a view of a shared memory it does not take): at most n²/4 floats, at k0 = n/2
  const rows = new Float32Array(Math.floor((n * n) / 4) + B);
  try {
    return await factorBlocks(view, valid, h, n, damp, run, rows, order);
  } finally {
    // (n²/4 floats that lived through the whole factor)
    releaseBuffer(rows);
  }
}

/** factorInto's blocks, with `rows` its copy of L[k0:, :k0]; with `order`, of H with its rows and columns in that order (activation order). */
async function factorBlocks(view: () => Float32Array, valid: () => boolean, h: HMatrix, n: number, damp: number, run: RunModel, rows: Float32Array, order?: Int32Array): Promise<boolean> {
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += h[i * n + i];
  meanDiag /= n;
  if (!(meanDiag > 0)) return false;
  let a = view();
  for (let i = 0; i < n; i++) {
    const row = i * n;
    if (order) {
      // A[i][j] = H'[n−1−i][n−1−j], H'[p][q] = H[order[p]][order[q]]
      const src = order[n - 1 - i] * n;
      for (let j = 0; j < i; j++) a[row + j] = h[src + order[n - 1 - j]];
      const d = h[src + order[n - 1 - i]];
      a[row + i] = (d > 0 ? d : 1) + damp * meanDiag;
      continue;
    }
    const src = (n - 1 - i) * n + (n - 1);
    // H's upper part, read from its end (as gptq-simd's factor reads its copy of it)
    for (let j = 0; j < i; j++) a[row + j] = h[src - j];
    const d = h[(n - 1 - i) * (n + 1)];
    a[row + i] = (d > 0 ? d : 1) + damp * meanDiag;
  }
  // one block's working arrays, reused (a new one per block would leave n²/B·8 bytes a block for the collector)
  const pAll = new Float64Array(n * B);
  const belowAll = new Float32Array(n * B);
  const inv = new Float64Array(B * B);
  const inv32 = new Float32Array(B * B);
  for (let k0 = 0; k0 < n; k0 += B) {
    const k1 = Math.min(n, k0 + B);
    const w = k1 - k0;
    const m = n - k0;
    // P = A[k0:, k0:k1] − L[k0:, :k0]·L[k0:k1, :k0]ᵀ (L[k0:k1, :k0]: the copy's first w rows)
    let g: Float32Array | undefined;
    if (k0 > 0) {
      const x = rows.subarray(0, m * k0);
      for (let i = 0; i < m; i++) x.set(a.subarray((k0 + i) * n, (k0 + i) * n + k0), i * k0);
      g = await product(run, x, m, x.subarray(0, w * k0), w, k0);
      a = view();
      if (!valid()) return false;
    }
    const p = pAll.subarray(0, m * w);
    p.fill(0);
    for (let i = 0; i < m; i++) {
      const row = (k0 + i) * n + k0;
      const top = Math.min(w, i + 1);
      for (let j = 0; j < top; j++) p[i * w + j] = a[row + j] - (g ? g[i * w + j] : 0);
    }
    // the diagonal block's factor L₁₁ (float64), in p's first w rows
    if (!choleskyLower(p.subarray(0, w * w), w)) return false;
    for (let i = 0; i < w; i++) for (let j = 0; j <= i; j++) a[(k0 + i) * n + k0 + j] = p[i * w + j];
    if (m === w) break;
    // L₂₁ = P₂₁·L₁₁⁻ᵀ: L₁₁⁻¹ (lower) by forward substitution, then the runtime's product
    inv.fill(0);
    for (let c = 0; c < w; c++) {
      inv[c * w + c] = 1 / p[c * w + c];
      for (let i = c + 1; i < w; i++) {
        let s = 0;
        for (let t = c; t < i; t++) s += p[i * w + t] * inv[t * w + c];
        inv[i * w + c] = -s / p[i * w + i];
      }
    }
    const below = belowAll.subarray(0, (m - w) * w);
    below.set(p.subarray(w * w));
    for (let i = 0; i < w * w; i++) inv32[i] = inv[i];
    const l21 = await product(run, below, m - w, inv32.subarray(0, w * w), w, w);
    a = view();
    if (!valid()) return false;
    for (let i = 0; i < m - w; i++) a.set(l21.subarray(i * w, (i + 1) * w), (k1 + i) * n + k0);
  }
  return true;
}

/**
 * Factors each of a layer's H (n ≥ RUNTIME_FACTOR_MIN) through the runtime for
 * GptqWorkspace.factor at damping `damp` (GPTQ's default 0.01): a layer's one H straight into
 * the memory of the workspace that will solve it (gptq-simd.ts factorTarget), several (Conv
 * groups) each into an array of its own, registered. An H that is not positive definite at that
 * damping, or a run that fails, leaves nothing (the workspace factors it itself, damping more
 * where it must). `kept` (a search, `cli autotune --recovery gptq`): each into an array kept for
 * every solve of its H, so each candidate's layer factors as `compress` does. `actOrder`: the
 * factor of H in activation order (the layer asks for it: GPTQ loads H so).
 */
export async function prepareFactors(hs: readonly HMatrix[], n: number, run: RunModel, damp = 0.01, kept = false, actOrder = false): Promise<void> {
  if (!run.nativeProducts || n < RUNTIME_FACTOR_MIN) return;
  const orderOf = (h: HMatrix) => (actOrder ? columnOrder(h, n, true) : undefined);
  // (kept for every solve: in an array of its own, not in a kernel's memory that the next layer overwrites)
  const one = hs.length === 1 && !kept && !hasPreparedFactor(hs[0]) ? orderOf(hs[0]) : undefined;
  const target = hs.length === 1 && !kept && !hasPreparedFactor(hs[0]) ? factorTarget(hs[0], n, one) : undefined;
  if (target) {
    // a runtime that fails here (memory, a build without MatMul) leaves the factor to the workspace
    if (await factorInto(target.view, target.valid, hs[0], n, damp, run, one).catch(() => false)) target.commit(damp);
    return;
  }
  for (const h of hs) {
    // (taken again before it was solved: Q, K and V reading one statistic; it is still there)
    if (hasPreparedFactor(h)) continue;
    const order = orderOf(h);
    const lower = await runtimeFactor(h, n, damp, run, order).catch(() => undefined);
    if (lower) setPreparedFactor(h, damp, lower, kept, order !== undefined);
  }
}
