/**
 * The recovery method's step in compressModel: after a weight is quantized (round to nearest, its
 * grid computed from the original values), GPTQ replaces the codes of each output channel with
 * ones that keep the layer's outputs on the calibration inputs closer (gptq.ts). Same grid, same
 * encoding, same bytes count: only codes change.
 */
import type { Layer } from '../../onnx/layers';
import type { QuantizedTensor } from '../quantize/quantize';
import type { RecoveryReport } from '../types';
import { columnGroups, groupOfElement, gptqRows, gptqRowsBothOrders, repairPrunedRows, ROW_TILE, type GptqResult, type HMatrix, type WeightMatrix } from './gptq';
import { subgraphLevels, unrecoverableReason, weightMatrix, type LayerHessian } from './hessian';
import { teacherBiasShift, teacherTarget } from './teacher';
import { matchVariance } from './variance';

/**
 * (W − Ŵ)·x̄ per output channel: what the bias must add so the layer's mean output on the
 * calibration inputs is unchanged. `values`: the original weights W; `qt`: the quantized Ŵ, or
 * (float weights) `written`: the values written.
 */
export function biasDelta(values: Float32Array, qt: QuantizedTensor | undefined, m: WeightMatrix, mean: readonly Float64Array[], written?: Float32Array): Float64Array {
  const groups = mean.length;
  const per = m.rows / groups;
  const delta = new Float64Array(m.rows);
  const cg = qt && columnGroups(qt, m);
  const [rs, cs] = m.strides ?? [0, 0];
  const { q, scales, zeroPoints } = qt ?? {};
  // a tile of columns for every row (ROW_TILE), each row's terms still added in column order
  for (let c0 = 0; c0 < m.cols; c0 += ROW_TILE) {
    const c1 = Math.min(m.cols, c0 + ROW_TILE);
    for (let r = 0; r < m.rows; r++) {
      const x = mean[Math.floor(r / per)];
      let s = delta[r];
      if (qt && q && scales) {
        const rb = r * rs;
        const rg = cg ? groupOfElement(qt, rb) : 0;
        for (let c = c0; c < c1; c++) {
          const e = cg ? rb + c * cs : m.at(r, c);
          const g = cg ? rg + cg[c] : groupOfElement(qt, e);
          s += (values[e] - (q[e] - (zeroPoints ? zeroPoints[g] : 0)) * scales[g]) * x[c];
        }
      } else {
        const w = written as Float32Array;
        for (let c = c0; c < c1; c++) {
          const e = m.at(r, c);
          s += (values[e] - w[e]) * x[c];
        }
      }
      delta[r] = s;
    }
  }
  return delta;
}

type Recovered = { report?: RecoveryReport; note?: string; delta?: Float64Array };

/**
 * What recoverWeight and repairPrunedWeight share: the checks, the bias correction (`deltaOf`,
 * both modes), and for "gptq" `solveGroup` over each group's output rows (Conv groups: one H
 * each), its errors summed over the layer's whole output and its notes gathered (counted over the
 * groups). `kept` says what stays when it cannot run.
 */
function recoverByGroups(
  layer: Layer,
  shape: readonly number[],
  hessian: LayerHessian | undefined,
  mode: 'bias' | 'gptq',
  kept: string,
  /** the original weights (what the outputs should match) */
  values: Float32Array,
  deltaOf: (m: WeightMatrix, mean: readonly Float64Array[]) => Float64Array,
  /** `target`: the weights to aim at (the original ones, or the teacher's, teacher.ts) */
  solveGroup: (m: WeightMatrix, rows: readonly number[], h: HMatrix, damp: number, target: Float32Array) => GptqResult,
): Recovered {
  if (!hessian) {
    const why = unrecoverableReason(layer);
    const level = subgraphLevels(layer)?.[0];
    const none = level
      ? level.attr === 'body'
        ? `its Loop (${level.node}) ran no iteration on the calibration samples`
        : `its If branch (${level.attr} of ${level.node}) did not run on the calibration samples`
      : 'no calibration inputs for this layer (give samples)';
    return { note: `recovery ${mode}: ${why ?? none}; ${kept}` };
  }
  const m = weightMatrix(layer, shape);
  if (!m || m.cols !== hessian.cols) return { note: `recovery ${mode}: its weight [${shape.join(', ')}] does not match its inputs (${hessian.cols} per row); ${kept}` };
  const delta = () => {
    if (hessian.mean.length === 0) return undefined;
    const d = deltaOf(m, hessian.mean);
    const shift = teacherBiasShift(values, m, hessian);
    if (shift) for (let r = 0; r < d.length; r++) d[r] += shift[r];
    return d;
  };
  if (mode === 'gptq' && released.has(hessian)) {
    // (not expected: the codes are reused when the weights, grid and mask match those of its round)
    const d = delta();
    return { ...(d ? { delta: d } : {}), note: `recovery gptq: its statistics were released after its sequential round and its codes there do not apply here; bias correction only, ${kept}` };
  }
  if (mode === 'bias' || hessian.h.length === 0) {
    const d = delta();
    return d ? { delta: d } : {};
  }
  const groups = hessian.h.length;
  const per = m.rows / groups;
  const damp = repairDamp(hessian.rows, m.cols);
  const { target, failed } = teacherTarget(values, m, hessian, damp);
  // the layer's whole output: Σ‖ΔY‖² over every solve / Σ‖Y‖² (a solve whose inputs were all zero adds 0 to both)
  let sumBefore = 0;
  let sumAfter = 0;
  let energy = 0;
  /** why a solve kept what it had → how many solves */
  const skipped = new Map<string, number>();
  const add = (got: GptqResult) => {
    if (!got.ok && got.note) skipped.set(got.note, (skipped.get(got.note) ?? 0) + 1);
    sumBefore += got.sumBefore;
    sumAfter += got.sumAfter;
    energy += got.energy;
  };
  const notes: string[] = failed > 0 ? [`the teacher's target could not be computed for ${failed} group${failed === 1 ? '' : 's'} (the original weights aimed at)`] : [];
  const weighted = hessian.weighted?.length === m.rows;
  if (weighted) {
    // a Log reads the outputs (sensitivity.ts): each output channel with its own weighted H
    for (let r = 0; r < m.rows; r++) add(solveGroup(m, [r], (hessian.weighted as Float64Array[])[r], damp, target));
  } else {
    for (let g = 0; g < groups; g++) add(solveGroup(m, Array.from({ length: per }, (_, i) => g * per + i), hessian.h[g], damp, target));
  }
  notes.push(...skippedNotes(skipped, weighted ? m.rows : groups, weighted || per === 1 ? 'output channels' : `Conv groups (${per} output channels each)`, kept));
  if (weighted) notes.push("each output channel weighted by the following Log's sensitivity");
  if (hessian.weightNote) notes.push(hessian.weightNote);
  const few = hessian.rows < m.cols ? `; ${hessian.rows} input rows for ${m.cols} columns: damped` : '';
  const d = delta();
  return {
    ...(d ? { delta: d } : {}),
    report: { method: 'gptq', errorBefore: energy > 0 ? sumBefore / energy : 0, errorAfter: energy > 0 ? sumAfter / energy : 0, rows: hessian.rows },
    ...(notes.length || few ? { note: `recovery gptq: ${notes.join('; ')}${few}`.replace(': ; ', ': ') } : {}),
  };
}

/**
 * The row's words for the solves that kept what they had (`skipped`: why → how many, of `total`
 * solves, each `unit`): one solve says why; several say how many of how many, so a row whose
 * other solves lowered the error does not read as if all its inputs were zero.
 */
export function skippedNotes(skipped: ReadonlyMap<string, number>, total: number, unit: string, kept: string): string[] {
  return [...skipped].map(([why, k]) => (total === 1 ? `its ${why}: ${kept}` : `${k} of ${total} ${unit}: ${k === 1 ? 'its' : 'their'} ${why}, ${kept}`));
}

/**
 * Refines `qt` (the layer's weight, of shape `shape` as the layer reads it; `values`: the original
 * weights, before any pruning) in place with GPTQ (mode "gptq"), then gives the bias correction
 * (both modes); the report, or why not. With `kept` (magnitude pruning), pruned elements stay 0
 * and GPTQ also repairs what pruning lost (with the repair's damping).
 */
export function recoverWeight(
  layer: Layer,
  shape: readonly number[],
  values: Float32Array,
  qt: QuantizedTensor,
  hessian: LayerHessian | undefined,
  mode: 'bias' | 'gptq' = 'gptq',
  kept?: (e: number) => boolean,
  /** activation order (GptqOptions.actOrder); 'both': both orders, each row keeping the better (gptqRowsBothOrders) */
  actOrder: boolean | 'both' = false,
): Recovered {
  // (only gptq with statistics is worth keeping: bias correction is one pass over the weights)
  const caching = hessian !== undefined && mode === 'gptq';
  const key: SolveKey | undefined = caching
    ? { mode, actOrder, shape: shape.join(','), values, rtn: qt.q, scales: qt.scales, mask: kept ? Uint8Array.from(values, (_, e) => (kept(e) ? 1 : 0)) : undefined }
    : undefined;
  const known = key && findSolve(hessian as LayerHessian, key);
  if (known) {
    qt.q.set(known.codes as Int8Array);
    return copyResult(known.result);
  }
  const before = key && { ...key, values: sharedValues(hessian as LayerHessian, values), rtn: Int8Array.from(qt.q), scales: Float32Array.from(qt.scales) };
  const result = recoverByGroups(
    layer,
    shape,
    hessian,
    mode,
    kept ? 'kept as pruned and rounded to nearest' : 'kept at round to nearest',
    values,
    (m, mean) => biasDelta(values, qt, m, mean),
    (m, rows, h, damp, target) =>
      actOrder === 'both' ? gptqRowsBothOrders(target, qt, m, rows, h, kept ? { kept, damp } : {}) : gptqRows(target, qt, m, rows, h, { ...(kept ? { kept, damp } : {}), ...(actOrder ? { actOrder } : {}) }),
  );
  // (what was solved: not the bias correction a released H falls back to)
  if (hessian && before && !released.has(hessian)) keepSolve(hessian, { key: before, codes: Int8Array.from(qt.q), result: copyResult(result) });
  return result;
}

const copyResult = (r: Recovered): Recovered => ({
  ...r,
  ...(r.report ? { report: { ...r.report } } : {}),
  ...(r.delta ? { delta: Float64Array.from(r.delta) } : {}),
});

interface SolveKey {
  mode: string;
  actOrder: boolean | 'both';
  shape: string;
  values: Float32Array;
  rtn: Int8Array;
  scales: Float32Array;
  mask: Uint8Array | undefined;
}

const same = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined): boolean => {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
};

const sameSolve = (a: SolveKey, b: SolveKey): boolean =>
  a.mode === b.mode && a.actOrder === b.actOrder && a.shape === b.shape && same(a.values, b.values) && same(a.rtn, b.rtn) && same(a.scales, b.scales) && same(a.mask, b.mask);

interface Solve {
  key: SolveKey;
  /** GPTQ's codes, or the repaired float weights (mode "repair") */
  codes: Int8Array | Float32Array;
  result: Recovered;
}

/**
 * GPTQ results already computed, per statistics object, the latest first: sequential recovery
 * compresses the earlier rounds' layers again in each round's prefix model and in the final file,
 * with the same statistics, weights and grid (sequential.ts); a search (Explore, `cli autotune
 * --recovery gptq`) compresses the same layer at the same few settings in many candidates, from
 * one H per layer. The codes are reused when the weights, grid, mask and order all match.
 */
const solved = new WeakMap<LayerHessian, Solve[]>();

/**
 * Settings one layer is solved at and kept for: a search's options per layer (int8 and int4, each
 * unpruned and at three magnitude-pruning ratios; float weights repaired at the three ratios), and one more.
 */
export const SOLVES_PER_LAYER = 12;

/**
 * Bytes kept by the earlier solves of all layers together (their grids, codes and masks; a
 * layer's weights once): the oldest go first past it. A layer's latest solve is kept as long as
 * its statistics are, whatever the budget (sequential recovery's final file needs it).
 */
export const SOLVED_BUDGET = 256 * 2 ** 20;
let solvedBudget = SOLVED_BUDGET;

/** Sets this thread's budget for earlier solves (the page's explore workers keep less each: there are up to four). */
export function setSolvedBudget(bytes: number): void {
  solvedBudget = bytes;
}

/** Solves in the order kept (the oldest first), to forget past the budget (weak: a layer's statistics own its solves); bytes counted. */
const kept: { h: WeakRef<LayerHessian>; solve: WeakRef<Solve>; bytes: number }[] = [];
let keptBytes = 0;

/** Solves done and reused in this thread so far (a search says how many it reused). */
const counts = { solved: 0, reused: 0 };
export function solveCounts(): { solved: number; reused: number } {
  return { ...counts };
}

function findSolve(h: LayerHessian, key: SolveKey): Solve | undefined {
  const list = solved.get(h);
  const i = list ? list.findIndex((s) => sameSolve(s.key, key)) : -1;
  if (!list || i < 0) {
    if (!released.has(h) && h.h.length > 0) counts.solved++;
    return undefined;
  }
  counts.reused++;
  const hit = list[i];
  // the latest first (the one it replaces there becomes an earlier solve, counted against the budget)
  if (i > 0) {
    list.splice(i, 1);
    list.unshift(hit);
    demote(h, list);
  }
  return hit;
}

/** The weights a solve is keyed by: the copy an earlier solve of `h` keeps where they are the same (a layer's weights, once). */
function sharedValues(h: LayerHessian, values: Float32Array): Float32Array {
  const prior = solved.get(h)?.find((s) => same(s.key.values, values));
  return prior ? prior.key.values : Float32Array.from(values);
}

function keepSolve(h: LayerHessian, solve: Solve): void {
  const list = solved.get(h) ?? [];
  // past one layer's count, its oldest goes (its weights stay with the others that share them)
  if (list.length >= SOLVES_PER_LAYER) list.pop();
  list.unshift(solve);
  solved.set(h, list);
  if (list.length > 1) demote(h, list);
}

/** The solve second in `h`'s list is now an earlier one: counted against the budget, the oldest forgotten past it. */
function demote(h: LayerHessian, list: Solve[]): void {
  const solve = list[1];
  const sharing = list.some((s) => s !== solve && s.key.values === solve.key.values);
  const bytes = solve.codes.byteLength + solve.key.rtn.byteLength + solve.key.scales.byteLength + (solve.key.mask?.byteLength ?? 0) + (sharing ? 0 : solve.key.values.byteLength);
  kept.push({ h: new WeakRef(h), solve: new WeakRef(solve), bytes });
  keptBytes += bytes;
  while (keptBytes > solvedBudget && kept.length > 0) {
    const old = kept.shift() as (typeof kept)[number];
    keptBytes -= old.bytes;
    const owner = old.h.deref();
    const l = owner && solved.get(owner);
    const gone = old.solve.deref();
    // (a layer's latest stays)
    const i = l && gone ? l.indexOf(gone) : -1;
    if (l && i > 0) l.splice(i, 1);
  }
}

/** H's diagonal per group: read from H while it is held, else the one kept when H was released (releaseSolved). */
function diagonalsOf(h: LayerHessian): Float64Array[] | undefined {
  const n = h.cols;
  if (h.h.length === 0 || h.h.some((m) => m.length === 0)) return h.diagonal;
  return h.h.map((m) => Float64Array.from({ length: n }, (_, c) => m[c * n + c]));
}

/** Statistics whose cols² arrays were released (releaseSolved): only their codes and means are left. */
const released = new WeakSet<LayerHessian>();

/**
 * Frees `h`'s cols² arrays (H, the teacher's cross term, the weighted H) once GPTQ's codes for it
 * are known (sequential.ts: a round's layers are compressed in the next round's prefix model with
 * the same statistics, weights and grid the final file uses, so the final file reuses those codes
 * and needs only the means). False, and nothing freed, when no codes are known for it.
 */
export function releaseSolved(h: LayerHessian): boolean {
  if (!solved.get(h)?.length) return false;
  // (the pruning mask's column norms: the same mask again in the final file)
  h.diagonal = diagonalsOf(h);
  h.h = [];
  delete h.cross;
  delete h.weighted;
  released.add(h);
  return true;
}

/**
 * Damping for repair after pruning: a refit moves weights far more than rounding does, so with
 * fewer input rows than columns (an underdetermined least squares) it would fit the calibration
 * samples and not the data: the ridge grows with columns / rows.
 */
function repairDamp(rows: number, cols: number): number {
  return rows >= cols ? 0.01 : Math.min(1, 0.01 * (cols / Math.max(1, rows)) ** 2);
}

/**
 * Repair after magnitude pruning of float weights: `pruned` (the weights to be written, changed in
 * place) are refit on the layer's calibration inputs to match `original` (mode "gptq"), then the
 * bias correction for what is left (both modes).
 */
export function repairPrunedWeight(
  layer: Layer,
  shape: readonly number[],
  original: Float32Array,
  pruned: Float32Array,
  hessian: LayerHessian | undefined,
  mode: 'bias' | 'gptq' = 'gptq',
): Recovered {
  // kept as GPTQ's solves are (a search repairs the same layer at the same ratios in many candidates)
  const key: SolveKey | undefined =
    hessian && mode === 'gptq' ? { mode: 'repair', actOrder: false, shape: shape.join(','), values: original, rtn: NONE_Q, scales: NONE_S, mask: Uint8Array.from(pruned, (v, e) => (v !== 0 || original[e] === 0 ? 1 : 0)) } : undefined;
  const known = key && findSolve(hessian as LayerHessian, key);
  if (known) {
    pruned.set(known.codes);
    return copyResult(known.result);
  }
  const result = recoverByGroups(
    layer,
    shape,
    hessian,
    mode,
    'kept as pruned',
    original,
    (m, mean) => biasDelta(original, undefined, m, mean, pruned),
    (m, rows, h, damp, target) => repairPrunedRows(target, pruned, m, rows, h, { damp }),
  );
  if (hessian && key && !released.has(hessian)) keepSolve(hessian, { key: { ...key, values: sharedValues(hessian, original) }, codes: Float32Array.from(pruned), result: copyResult(result) });
  return result;
}

const NONE_Q = new Int8Array(0);
const NONE_S = new Float32Array(0);

/**
 * The data-aware pruning mask's factors: magnitude pruning then removes the values of smallest
 * |w_ij|·‖x_j‖ / ‖s_i‖ instead of the smallest |w_ij|. |w_ij|·‖x_j‖ (‖x_j‖ = √H_jj, the input
 * column's norm on the calibration inputs; its group's H for Conv groups) is Wanda's score (Sun et
 * al. 2023): how much the output loses with that value. Wanda compares scores within one output
 * channel; the count here stays the tensor's (the same zeros as magnitude pruning, the same file
 * size), so each channel's scores are divided by their own norm ‖s_i‖ = (Σ_j (|w_ij|·‖x_j‖)²)^½,
 * and every channel loses about the same share of its output instead of small channels losing
 * everything. Undefined without H (mode "bias", no samples) or when the weight does not match the
 * statistics: the mask stays magnitude's.
 */
export function pruneImportance(layer: Layer, shape: readonly number[], hessian: LayerHessian | undefined, values: Float32Array): Float32Array | undefined {
  if (!hessian) return undefined;
  const n = hessian.cols;
  const diagonals = diagonalsOf(hessian);
  if (!diagonals || diagonals.length === 0) return undefined;
  const m = weightMatrix(layer, shape);
  if (!m || m.cols !== hessian.cols || m.rows % diagonals.length !== 0 || m.rows * m.cols !== values.length) return undefined;
  const per = m.rows / diagonals.length;
  const norms = diagonals.map((d) => Float64Array.from(d, (v) => Math.sqrt(Math.max(0, v))));
  const out = new Float32Array(m.rows * n);
  for (let r = 0; r < m.rows; r++) {
    const x = norms[Math.floor(r / per)];
    let s = 0;
    for (let c = 0; c < n; c++) s += (values[m.at(r, c)] * x[c]) ** 2;
    const scale = s > 0 ? 1 / Math.sqrt(s) : 1;
    for (let c = 0; c < n; c++) out[m.at(r, c)] = x[c] * scale;
  }
  return out;
}

/**
 * Which output channels own all the quantization scales they use (per-channel, blocks): only
 * those can be scaled exactly by scaling their scales (a per-tensor scale is shared).
 */
export function scaleOwners(layer: Layer, shape: readonly number[], qt: QuantizedTensor): { own: Uint8Array } | undefined {
  const m = weightMatrix(layer, shape);
  if (!m) return undefined;
  const owner = new Int32Array(qt.scales.length).fill(-1);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) {
      const g = groupOfElement(qt, m.at(r, c));
      owner[g] = owner[g] === -1 || owner[g] === r ? r : -2;
    }
  const own = new Uint8Array(m.rows).fill(1);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++)
      if (owner[groupOfElement(qt, m.at(r, c))] !== r) {
        own[r] = 0;
        break;
      }
  return { own };
}

/**
 * Output variance re-estimation (variance.ts) for a layer with a float bias of its own (the mean
 * is matched through it): `apply(set)` calls set(element, factor) for every element of a changed
 * channel; `delta` replaces the bias correction; `note` for the row. Undefined where it cannot run.
 */
export function varianceStep(
  layer: Layer,
  shape: readonly number[],
  original: Float32Array,
  hessian: LayerHessian | undefined,
  written: (e: number) => number,
  exact: (r: number) => boolean,
): { apply: (set: (e: number, factor: number) => void) => void; delta: Float64Array; note: string } | undefined {
  if (!hessian || !layer.weights.some((v) => v.role === 'bias' && v.inputIndex === 2 && v.via.length === 0)) return undefined;
  const m = weightMatrix(layer, shape);
  const v = m && matchVariance(original, written, m, hessian, exact);
  if (!m || !v) return undefined;
  const pct = (x: number) => `${(x * 100).toPrecision(3)}%`;
  return {
    delta: v.delta,
    note: `output variance re-estimated: ${v.changed} of ${v.channels} channels scaled (output error with the mean corrected through the bias ${pct(v.errorBefore)} → ${pct(v.errorAfter)})`,
    apply: (set) => {
      for (let r = 0; r < m.rows; r++) if (v.scale[r] !== 1) for (let c = 0; c < m.cols; c++) set(m.at(r, c), v.scale[r]);
    },
  };
}
