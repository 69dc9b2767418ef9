/**
 * The teacher in sequential recovery: a layer of a later round sees inputs X̃ from the model whose
 * earlier layers are compressed, while the original model gives X on the same samples. One-pass
 * GPTQ minimizes ‖W·X̃ − Ŵ·X̃‖ (the layer's own weights on the shifted inputs); with the teacher it
 * minimizes ‖W·X − Ŵ·X̃‖, the distance to the original model's outputs, so a layer also makes up for
 * what the earlier layers lost.
 *
 * Per output row w (H̃ = X̃ᵀX̃, C = X̃ᵀX):
 *   ‖X·wᵀ − X̃·ŵᵀ‖² = ŵH̃ŵᵀ − 2ŵCwᵀ + const = (ŵ − w*)H̃(ŵ − w*)ᵀ + const,  H̃w*ᵀ = Cwᵀ,
 * so GPTQ with H̃ and the target w* = w + (H̃⁻¹(C − H̃)wᵀ)ᵀ solves it exactly (the form used here:
 * where X̃ = X the correction is zero whatever the damping). The bias keeps the mean output:
 * b' = b + w·μ − ŵ·μ̃.
 *
 * The statistics come from one model running both: `teacherModel` joins the prefix model and the
 * original (its values renamed; tensors the two hold alike shared) so that hessian.ts computes C
 * beside H̃ in one pass.
 */
import { cloneModel, collectNames, NameAllocator } from '../graph-edit';
import type { Model, Node, Tensor } from '../../onnx/types';
import { choleskyLower, type HMatrix, type WeightMatrix } from './gptq';
import { teacherSimd } from './gptq-simd';
import type { LayerHessian } from './hessian';

const hasSubgraph = (n: Node) => n.attributes.some((a) => a.g || a.graphs.length > 0);

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The same tensor (type, shape and raw bytes); tensors with typed fields other than raw data count as different. */
function sameTensor(a: Tensor, b: Tensor): boolean {
  const plain = (t: Tensor) => !t.floatData && !t.int32Data && !t.int64Data && !t.doubleData && !t.uint64Data && t.stringData.length === 0 && t.externalData.length === 0;
  return a.dataType === b.dataType && a.dims.join() === b.dims.join() && plain(a) && plain(b) && sameBytes(a.rawData, b.rawData);
}

/**
 * `prefix` with the original model's graph beside it, reading the same inputs: the original's
 * values renamed (`rename` maps an original name to its name in the joined model). Undefined
 * where either has subgraphs or sparse initializers (outer names inside bodies are not renamed).
 */
export function teacherModel(prefix: Model, original: Model): { model: Model; rename: (name: string) => string } | undefined {
  const pg = prefix.graph;
  const og = original.graph;
  if (!pg || !og || pg.nodes.some(hasSubgraph) || og.nodes.some(hasSubgraph) || og.sparseInitializers.length > 0) return undefined;
  const joined = cloneModel(prefix);
  const g = joined.graph as NonNullable<Model['graph']>;
  const names = new NameAllocator(new Set([...collectNames(prefix), ...collectNames(original)]));
  const map = new Map<string, string>();
  const prefixInits = new Map(g.initializers.map((t) => [t.name, t]));
  const inits: Tensor[] = [];
  for (const t of og.initializers) {
    if (!t.name) continue;
    const same = prefixInits.get(t.name);
    if (same && sameTensor(same, t)) continue;
    const name = names.fresh(`${t.name}__teacher`);
    map.set(t.name, name);
    inits.push({ ...t, name });
  }
  const prefixInputs = new Set(pg.inputs.map((v) => v.name));
  for (const v of og.inputs) if (v.name && !prefixInits.has(v.name) && !map.has(v.name) && !prefixInputs.has(v.name)) return undefined;
  for (const n of og.nodes) for (const o of n.outputs) if (o) map.set(o, names.fresh(`${o}__teacher`));
  const r = (name: string) => map.get(name) ?? name;
  const nodes = og.nodes.map((n) => ({ ...n, name: n.name ? names.fresh(`${n.name}__teacher`) : n.name, inputs: n.inputs.map((x) => (x ? r(x) : x)), outputs: n.outputs.map(r) }));
  g.nodes = [...g.nodes, ...nodes];
  g.initializers = [...g.initializers, ...inits];
  return { model: joined, rename: r };
}

/**
 * The weights GPTQ should aim at for the rows of one group: w* = w + (H̃_d⁻¹(C − H̃)wᵀ)ᵀ, with H̃
 * damped as GPTQ damps it (`damp` × its mean diagonal; dead inputs 1). `target` holds w (read
 * through `m`) and gets w* in those rows; false (nothing changed) when H̃ cannot be factored.
 * Costs one Cholesky (n³/3) and 3·rows·n² multiply-adds, every inner loop over contiguous memory.
 */
export function teacherRows(target: Float32Array, m: WeightMatrix, rows: readonly number[], h: HMatrix, cross: Float64Array, damp: number): boolean {
  const n = m.cols;
  const R = rows.length;
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += h[i * n + i];
  meanDiag /= n;
  if (!(meanDiag > 0)) return false;
  const w = new Float64Array(R * n);
  rows.forEach((r, k) => {
    for (let c = 0; c < n; c++) w[k * n + c] = target[m.at(r, c)];
  });
  const simd = teacherSimd(h, cross, w, R, n, damp);
  const got = simd !== undefined ? simd : teacherScalar(h, cross, w, R, n, damp * meanDiag);
  if (!got) return false;
  rows.forEach((r, k) => {
    for (let c = 0; c < n; c++) target[m.at(r, c)] = got[k * n + c];
  });
  return true;
}

/** The scalar loops (no WebAssembly SIMD): w + H_d⁻¹(C − H)wᵀ per row of `w` [R, n], H damped by `ridge` (dead inputs 1); false when H_d is not positive definite. */
function teacherScalar(h: HMatrix, cross: Float64Array, w: Float64Array, R: number, n: number, ridge: number): Float64Array | false {
  const l = Float64Array.from(h);
  for (let i = 0; i < n; i++) {
    if (!(l[i * n + i] > 0)) l[i * n + i] = 1;
    l[i * n + i] += ridge;
  }
  if (!choleskyLower(l, n)) return false;
  // U = Lᵀ row-major, for the back substitution over contiguous rows
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k <= i; k++) u[k * n + i] = l[i * n + k];
  const d = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) d[i] = cross[i] - h[i];
  const out = new Float64Array(R * n);
  const v = new Float64Array(n);
  for (let k = 0; k < R; k++) {
    const o = k * n;
    // v = (C − H̃)·w
    for (let i = 0; i < n; i++) {
      const di = i * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += d[di + j] * w[o + j];
      v[i] = s;
    }
    // L·y = v, then Lᵀ·z = y (both in v)
    for (let i = 0; i < n; i++) {
      const li = i * n;
      let s = v[i];
      for (let j = 0; j < i; j++) s -= l[li + j] * v[j];
      v[i] = s / l[li + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      const ui = i * n;
      let s = v[i];
      for (let j = i + 1; j < n; j++) s -= u[ui + j] * v[j];
      v[i] = s / u[ui + i];
    }
    for (let c = 0; c < n; c++) out[o + c] = w[o + c] + v[c];
  }
  return out;
}

/**
 * Rows per column below which the teacher is not used (the layer aims at its own weights): the
 * correction is a least-squares fit, and with about as many rows as columns it fits the calibration
 * samples rather than the data. Measured on a 6-layer MLP at int4 (sequential.test.ts): with rows =
 * cols the held-out error was mixed (per-channel worse, block better); with 4x, the error against
 * the original outputs halved.
 */
export const TEACHER_MIN_ROWS = 2;

/** Targets already computed, per statistics object and weights (each later round's prefix model compresses the earlier layers again). */
const targets = new WeakMap<LayerHessian, { values: Float32Array; damp: number; target: Float32Array; failed: number }>();

/**
 * The teacher's targets for a whole weight (`values`: the original weights), group by group, or
 * `values` itself when the statistics have no cross term or too few rows (TEACHER_MIN_ROWS). `failed`: groups whose H̃ could not be
 * factored (their rows keep the original weights as target).
 */
export function teacherTarget(values: Float32Array, m: WeightMatrix, hessian: LayerHessian, damp: number): { target: Float32Array; failed: number } {
  const cross = hessian.cross;
  if (!cross || cross.length !== hessian.h.length || hessian.rows < TEACHER_MIN_ROWS * m.cols) return { target: values, failed: 0 };
  const known = targets.get(hessian);
  if (known && known.damp === damp && known.values.length === values.length && known.values.every((v, i) => Object.is(v, values[i]))) return known;
  const target = Float32Array.from(values);
  const groups = hessian.h.length;
  const per = m.rows / groups;
  let failed = 0;
  for (let g = 0; g < groups; g++) {
    const rows = Array.from({ length: per }, (_, i) => g * per + i);
    if (!teacherRows(target, m, rows, hessian.h[g], cross[g], damp)) failed++;
  }
  targets.set(hessian, { values: Float32Array.from(values), damp, target, failed });
  return { target, failed };
}

/** w·(μ − μ̃) per output row: what the bias adds so the mean output is the teacher's (with (w − ŵ)·μ̃ from biasDelta). */
export function teacherBiasShift(values: Float32Array, m: WeightMatrix, hessian: LayerHessian): Float64Array | undefined {
  const t = hessian.teacherMean;
  if (!t || t.length !== hessian.mean.length) return undefined;
  const groups = t.length;
  const per = m.rows / groups;
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    const g = Math.floor(r / per);
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += values[m.at(r, c)] * (t[g][c] - hessian.mean[g][c]);
    out[r] = s;
  }
  return out;
}
