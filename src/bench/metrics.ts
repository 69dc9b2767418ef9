/**
 * Output fidelity of a compressed model against the original, on the same inputs, and labeled
 * accuracy. Pure functions over plain numeric arrays: the page's bench worker, the CLI's `eval`
 * and the trade-off explorer all use these, so their numbers agree.
 *
 * Conventions (docs/BENCH.md):
 * - An output of dims [..., C] is read as rows of C values along its last axis (C = the last dim;
 *   a scalar or 1-D output of length n is one row of n values). Top-1 agreement and KL are per row.
 * - KL divergence is KL(reference || test), natural log (nats), mean over rows. When every row of
 *   both outputs already is a probability distribution (values in [0, 1] summing to 1 within
 *   1e-3), KL is taken on the values as they are (`klBasis: 'probabilities'`); otherwise on the
 *   softmax of each row (`klBasis: 'softmax'`: the outputs are read as logits).
 * - SQNR = 10 log10(sum ref^2 / sum (ref - test)^2) in dB; +Infinity when the outputs are equal.
 * - Over several input sets: `worst` is the minimum (cosine, SQNR, top-1 rate) or the maximum
 *   (KL, max abs error) over the sets, `mean` the mean over the sets; top-1 `rate` pools rows.
 * - Near-zero outputs (`kind: 'near-zero'`): when the largest |value| of both the reference and
 *   the test output is at most NEAR_ZERO, the direction of the vectors is rounding noise: no
 *   cosine, SQNR or KL (NaN, shown as n/a), only the absolute errors. Sets like that are left out
 *   of the other sets' cosine/SQNR/KL; `fidelityCosine` and `worstCosine` give undefined for them.
 * - Scalar outputs (`kind: 'scalar'`: one value per row, an output [N, 1] such as a probability
 *   per frame, or a scalar): top-1 agreement is the agreement of the decisions at DECISION_THRESHOLD
 *   (reference >= 0.5 vs test >= 0.5); there is no row cosine or KL; the cosine is taken over
 *   every value of every set together (the whole batch of evaluation samples), not per set.
 * - Dense maps (`kind: 'map'`: a 4-D output whose channel axis, first [N, C, H, W] or last
 *   [N, H, W, C], is 1 or shorter than both spatial sides, both sides over 1: a text detector's
 *   probability map, a segmentation, a depth map): a row is a pixel, not the last axis (for
 *   [1, 1, 640, 640] that would be a row of 640 values across the width). Agreement per pixel: the
 *   argmax over the C channels, or for one channel the decision at 0.5 (0 when the reference has
 *   values outside [0, 1]: logits). Cosine and SQNR per set (each set is an image); no row cosine
 *   or KL.
 */
import { cosine, cosineFromSums, cosineRange } from '../core/vector';

export { cosine };

/** Mean KL over rows, or probabilities/logits, as documented above. */
export type KlBasis = 'probabilities' | 'softmax';

/** Both outputs' largest |value| at most this: "~0", no cosine (see above). */
export const NEAR_ZERO = 1e-6;

/** A scalar output's decision: value >= this (a probability of the positive class). */
export const DECISION_THRESHOLD = 0.5;

/** How an output is compared: rows of scores, one value per row, a dense map, or ~0 in both models. */
export type OutputKind = 'scores' | 'scalar' | 'map' | 'near-zero';

/** Largest |value| (NaN when any value is NaN). */
function maxAbs(v: Values): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (Number.isNaN(a)) return NaN;
    if (a > m) m = a;
  }
  return m;
}

/** Whether both outputs are ~0 (every |value| at most NEAR_ZERO): their cosine means nothing. */
export function nearZero(reference: Values, test: Values): boolean {
  return maxAbs(reference) <= NEAR_ZERO && maxAbs(test) <= NEAR_ZERO;
}

/**
 * The cosine of two outputs (or weight tensors) under the near-zero rule: undefined when both are
 * ~0 (report the absolute error instead), else their cosine.
 */
export function fidelityCosine(reference: Values, test: Values): number | undefined {
  return nearZero(reference, test) ? undefined : cosine(reference, test);
}

/** Scalar outputs' decisions at `threshold` that agree: (reference >= t) === (test >= t). */
export function decisionAgreement(reference: Values, test: Values, threshold = DECISION_THRESHOLD): { agree: number; rows: number } {
  let agree = 0;
  for (let i = 0; i < reference.length; i++) if (reference[i] >= threshold === test[i] >= threshold) agree++;
  return { agree, rows: reference.length };
}

/** One output of one input set: the test output compared to the reference output. */
export interface OutputComparison {
  output: string;
  /** how it was compared (see above) */
  kind: OutputKind;
  /** sum of reference * test, reference^2 and test^2: a scalar output's cosine pools them over sets */
  dot: number;
  refSq: number;
  testSq: number;
  /** elements compared */
  elements: number;
  /** rows (elements / classes) */
  rows: number;
  /** values per row: the last dim */
  classes: number;
  /** rows whose argmax is the same in both (scalar outputs: whose decision at 0.5 is) */
  agree: number;
  /** what `agree` counts, in words: "rows whose argmax agrees", "pixels whose decision at 0.5 agrees", ... */
  agreesOn: string;
  /** over the whole output */
  cosine: number;
  /** the lowest cosine of a single row (one sample's scores, for [batch, classes] outputs) */
  rowCosineWorst: number;
  sqnrDb: number;
  kl: number;
  klBasis: KlBasis;
  maxAbsError: number;
  meanAbsError: number;
  /** NaN or infinite values in the test output (any makes cosine/SQNR/KL NaN) */
  nonFinite: number;
}

/** A metric over several input sets. */
export interface WorstMean {
  worst: number;
  mean: number;
}

/** One output over all input sets. */
export interface OutputFidelity {
  output: string;
  /** 'near-zero' when every set's outputs were ~0; 'scalar' for one value per row (see above) */
  kind: OutputKind;
  /** input sets compared */
  sets: number;
  rows: number;
  classes: number;
  /** argmax agreement; for a scalar output, the agreement of the decisions at DECISION_THRESHOLD; for a map, per pixel */
  top1: { agree: number; rows: number; rate: number; worst: number };
  /** what `top1` counts, in words (the first set's) */
  agreesOn: string;
  /** for a scalar output, worst = mean = the cosine over every set's values together */
  cosine: WorstMean;
  /** the lowest single-row cosine over all sets, and the mean of the sets' lowest */
  rowCosine: WorstMean;
  sqnrDb: WorstMean;
  kl: WorstMean & { basis: KlBasis };
  maxAbsError: WorstMean;
  meanAbsError: WorstMean;
  nonFinite: number;
}

/** Numeric array views the metrics read (typed arrays of numbers, or plain arrays). */
export type Values = ArrayLike<number>;

/** Index of the largest value in `v[start, start + n)` (the first on ties; NaN never wins). */
export function argmax(v: Values, start = 0, n = v.length - start): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = v[start + i];
    if (x > bestValue) {
      bestValue = x;
      best = i;
    }
  }
  return best;
}

/** The argmax of every row of `classes` values. */
export function argmaxRows(v: Values, classes: number): Int32Array {
  const c = Math.max(1, classes);
  const rows = Math.floor(v.length / c);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) out[r] = argmax(v, r * c, c);
  return out;
}

/** Rows of `classes` values whose argmax agrees between `a` and `b`. */
export function top1Agreement(a: Values, b: Values, classes: number): { agree: number; rows: number } {
  const pa = argmaxRows(a, classes);
  const pb = argmaxRows(b, classes);
  let agree = 0;
  for (let i = 0; i < pa.length; i++) if (pa[i] === pb[i]) agree++;
  return { agree, rows: pa.length };
}

/** 10 log10(signal power / noise power) in dB; +Infinity for equal inputs; -Infinity for a zero reference with noise. */
export function sqnrDb(reference: Values, test: Values): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    const d = r - test[i];
    s += r * r;
    e += d * d;
  }
  return sqnrOf(s, e);
}

export function maxAbsError(a: Values, b: Values): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

export function meanAbsError(a: Values, b: Values): number {
  if (a.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Softmax of `v[start, start + n)` (max-subtracted, in float64). */
export function softmax(v: Values, start = 0, n = v.length - start): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, v[start + i]);
  const out = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(v[start + i] - m);
    sum += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/** Whether every row of `classes` values is a probability distribution (in [0, 1], sums to 1 within `tol`). */
export function isProbabilityRows(v: Values, classes: number, tol = 1e-3): boolean {
  const c = Math.max(1, classes);
  if (v.length === 0 || v.length % c !== 0 || c < 2) return false;
  for (let r = 0; r < v.length; r += c) {
    let sum = 0;
    for (let i = 0; i < c; i++) {
      const x = v[r + i];
      if (!(x >= 0 && x <= 1)) return false;
      sum += x;
    }
    if (Math.abs(sum - 1) > tol) return false;
  }
  return true;
}

/** Smallest probability used in KL, so a zero in the test distribution gives a large, finite value. */
export const KL_EPSILON = 1e-12;

/** KL(p || q) of two distributions, in nats. Terms with p = 0 contribute 0; q is clamped to KL_EPSILON. */
export function klDivergence(p: Values, q: Values): number {
  return klAt(p, q, 0, p.length);
}

/** KL(p || q) of `p[o, o + n)` and `q[o, o + n)` (klDivergence of those rows, read in place). */
function klAt(p: Values, q: Values, o: number, n: number): number {
  let kl = 0;
  for (let i = o; i < o + n; i++) {
    const pi = p[i];
    if (pi > 0) kl += pi * Math.log(pi / Math.max(q[i], KL_EPSILON));
  }
  return kl;
}

/**
 * Mean KL(reference || test) over rows of `classes` values, on the values as probabilities when both
 * are, else on their softmax.
 */
export function meanRowKl(reference: Values, test: Values, classes: number): { kl: number; basis: KlBasis } {
  const c = Math.max(1, classes);
  const rows = Math.floor(reference.length / c);
  const basis: KlBasis = isProbabilityRows(reference, c) && isProbabilityRows(test, c) ? 'probabilities' : 'softmax';
  if (rows === 0) return { kl: 0, basis };
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    if (basis === 'probabilities') {
      sum += klAt(reference, test, o, c);
    } else {
      sum += klDivergence(softmax(reference, o, c), softmax(test, o, c));
    }
  }
  return { kl: Math.max(0, sum / rows), basis };
}

/** The lowest cosine similarity of corresponding rows of `classes` values. */
export function worstRowCosine(a: Values, b: Values, classes: number): number {
  const c = Math.max(1, classes);
  const rows = Math.floor(a.length / c);
  let worst = 1;
  for (let r = 0; r < rows; r++) {
    const v = cosineRange(a, b, r * c, c);
    if (Number.isNaN(v)) return NaN;
    worst = Math.min(worst, v);
  }
  return worst;
}

/** Values per row for an output of these dims: its last dim (a scalar is one value). */
export function classesOf(dims: readonly number[], elements: number): number {
  if (dims.length === 0) return 1;
  const last = dims[dims.length - 1];
  return last > 0 && elements % last === 0 ? last : Math.max(1, elements);
}

/** A dense map's layout (see above): images, channels per pixel, pixels per image, and where the channels are. */
export interface DenseMap {
  images: number;
  channels: number;
  pixels: number;
  channelsFirst: boolean;
}

/** The dense map an output of these dims is (see above), or undefined. */
export function denseMap(dims: readonly number[], elements: number): DenseMap | undefined {
  if (dims.length !== 4 || dims.reduce((a, b) => a * b, 1) !== elements) return undefined;
  const [n, a, b, c] = dims;
  // shorter than both sides (or one channel): [1, 7, 7, 512] is a 7 x 7 feature map, not 7 channels of 7 x 512
  const short = (ch: number, s1: number, s2: number) => s1 > 1 && s2 > 1 && (ch === 1 || (ch > 1 && ch < Math.min(s1, s2)));
  if (short(a, b, c)) return { images: n, channels: a, pixels: b * c, channelsFirst: true };
  if (short(c, a, b)) return { images: n, channels: c, pixels: a * b, channelsFirst: false };
  return undefined;
}

/** Whether every finite value lies in [0, 1] (a probability map). */
function unitRange(v: Values): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] < 0 || v[i] > 1) return false;
  return true;
}

/** A map's agreement per pixel: the argmax over its channels, or for one channel the decision at `threshold`. */
function mapAgreement(reference: Values, test: Values, m: DenseMap, threshold: number): number {
  if (m.channels === 1) return decisionAgreement(reference, test, threshold).agree;
  const { channels: C, pixels: P } = m;
  const step = m.channelsFirst ? P : 1;
  let agree = 0;
  for (let i = 0; i < m.images; i++) {
    for (let p = 0; p < P; p++) {
      const base = i * C * P + (m.channelsFirst ? p : p * C);
      let ra = 0;
      let ta = 0;
      for (let c = 1; c < C; c++) {
        const at = base + c * step;
        if (reference[at] > reference[base + ra * step]) ra = c;
        if (test[at] > test[base + ta * step]) ta = c;
      }
      if (ra === ta) agree++;
    }
  }
  return agree;
}

/**
 * Compares one output: `test` (the compressed model's) against `reference` (the original's), both
 * with the output's `dims`. Throws when the two differ in length.
 */
export function compareOutput(output: string, reference: Values, test: Values, dims: readonly number[]): OutputComparison {
  if (reference.length !== test.length) {
    throw new Error(`output "${output}": the compressed model gives ${test.length} values, the original ${reference.length}`);
  }
  const map = denseMap(dims, reference.length);
  const classes = map ? map.channels : classesOf(dims, reference.length);
  const w = wholeSums(reference, test);
  const nonFinite = w.nonFinite;
  const kind: OutputKind = nonFinite === 0 && w.refMax <= NEAR_ZERO && w.testMax <= NEAR_ZERO ? 'near-zero' : map ? 'map' : classes === 1 ? 'scalar' : 'scores';
  let agree: number;
  let rows: number;
  let agreesOn: string;
  if (map) {
    const threshold = unitRange(reference) ? DECISION_THRESHOLD : 0;
    agree = mapAgreement(reference, test, map, threshold);
    rows = map.images * map.pixels;
    agreesOn = map.channels === 1 ? `pixels whose decision at ${threshold} agrees` : `pixels whose argmax over the ${map.channels} channels agrees`;
  } else {
    ({ agree, rows } = classes === 1 ? decisionAgreement(reference, test) : top1Agreement(reference, test, classes));
    agreesOn = classes === 1 ? `samples whose decision at ${DECISION_THRESHOLD} agrees` : 'rows whose argmax agrees';
  }
  const { kl, basis } = map ? { kl: NaN, basis: 'probabilities' as KlBasis } : meanRowKl(reference, test, classes);
  const { dot, refSq, testSq } = w;
  const bad = nonFinite > 0 || kind === 'near-zero';
  return {
    output,
    kind,
    dot,
    refSq,
    testSq,
    elements: reference.length,
    rows,
    classes,
    agree,
    agreesOn,
    cosine: bad ? NaN : cosineFromSums(dot, refSq, testSq),
    rowCosineWorst: bad || classes === 1 || map ? NaN : worstRowCosine(reference, test, classes),
    sqnrDb: bad ? NaN : sqnrOf(refSq, w.errSq),
    kl: bad || classes === 1 || map ? NaN : kl,
    klBasis: basis,
    maxAbsError: w.maxAbsError,
    meanAbsError: reference.length === 0 ? 0 : w.absErrSum / reference.length,
    nonFinite,
  };
}

/**
 * Every whole-output sum compareOutput reads, in one pass over both outputs: each is summed in
 * index order, as its own function sums it (cosine, sqnrDb, maxAbsError, meanAbsError, maxAbs,
 * the count of non-finite test values), so the results are those functions' to the last bit
 * (metrics.test.ts). One pass instead of nine: a text recognizer's 32 sets of 265,000 scores.
 */
function wholeSums(reference: Values, test: Values) {
  let dot = 0;
  let refSq = 0;
  let testSq = 0;
  let errSq = 0;
  let absErrSum = 0;
  let maxErr = 0;
  let errNaN = false;
  let refMax = 0;
  let testMax = 0;
  let nonFinite = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    const t = test[i];
    if (!Number.isFinite(t)) nonFinite++;
    dot += r * t;
    refSq += r * r;
    testSq += t * t;
    const d = r - t;
    errSq += d * d;
    const ad = Math.abs(d);
    absErrSum += ad;
    if (ad > maxErr) maxErr = ad;
    else if (ad !== ad) errNaN = true;
    const ar = Math.abs(r);
    if (ar > refMax) refMax = ar;
    else if (ar !== ar) refMax = NaN;
    const at = Math.abs(t);
    if (at > testMax) testMax = at;
    else if (at !== at) testMax = NaN;
  }
  return { dot, refSq, testSq, errSq, absErrSum, maxAbsError: errNaN ? NaN : maxErr, refMax, testMax, nonFinite };
}

/** sqnrDb from its two sums */
function sqnrOf(s: number, e: number): number {
  if (Number.isNaN(s) || Number.isNaN(e)) return NaN;
  if (e === 0) return Infinity;
  if (s === 0) return -Infinity;
  return 10 * Math.log10(s / e);
}

/** NaN-aware min/max: a NaN anywhere makes the worst NaN (it is worse than any number). */
function worstOf(values: number[], lowerIsWorse: boolean): number {
  if (values.some((v) => Number.isNaN(v))) return NaN;
  return lowerIsWorse ? Math.min(...values) : Math.max(...values);
}

function meanOf(values: number[]): number {
  if (values.length === 0) return NaN;
  // the mean of dB values with +Infinity (identical outputs) stays +Infinity: say so, do not average it away
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/**
 * Folds per-set comparisons (`perSet[set][output]`) into one summary per output (by output name, in
 * the order of the first set).
 */
export function summarizeFidelity(perSet: readonly (readonly OutputComparison[])[]): OutputFidelity[] {
  const byName = new Map<string, OutputComparison[]>();
  for (const set of perSet) {
    for (const c of set) {
      let list = byName.get(c.output);
      if (!list) byName.set(c.output, (list = []));
      list.push(c);
    }
  }
  return [...byName.entries()].map(([output, list]) => {
    const agree = list.reduce((s, c) => s + c.agree, 0);
    const rows = list.reduce((s, c) => s + c.rows, 0);
    // near-zero sets have no cosine, SQNR or KL: the others' figures stand for the output
    const measured = list.filter((c) => c.kind !== 'near-zero');
    const kind: OutputKind = measured.length === 0 ? 'near-zero' : measured[0].kind;
    const pickFrom = (from: OutputComparison[], f: (c: OutputComparison) => number, lowerIsWorse: boolean): WorstMean => {
      if (from.length === 0) return { worst: NaN, mean: NaN };
      const v = from.map(f);
      return { worst: worstOf(v, lowerIsWorse), mean: meanOf(v) };
    };
    const pick = (f: (c: OutputComparison) => number, lowerIsWorse: boolean) => pickFrom(list, f, lowerIsWorse);
    const pickMeasured = (f: (c: OutputComparison) => number, lowerIsWorse: boolean) => pickFrom(measured, f, lowerIsWorse);
    let cos = pickMeasured((c) => c.cosine, true);
    if (kind === 'scalar' && !measured.some((c) => c.nonFinite > 0)) {
      // one value per sample: the cosine over every sample of every set, not per set
      const sum = (f: (c: OutputComparison) => number) => measured.reduce((s, c) => s + f(c), 0);
      const [d, x, y] = [sum((c) => c.dot), sum((c) => c.refSq), sum((c) => c.testSq)];
      const pooled = x === 0 && y === 0 ? 1 : x === 0 || y === 0 ? 0 : d / Math.sqrt(x * y);
      cos = { worst: pooled, mean: pooled };
    }
    return {
      output,
      kind,
      sets: list.length,
      rows,
      classes: list[0].classes,
      top1: {
        agree,
        rows,
        rate: rows === 0 ? NaN : agree / rows,
        worst: Math.min(...list.map((c) => (c.rows === 0 ? 1 : c.agree / c.rows))),
      },
      agreesOn: list[0].agreesOn,
      cosine: cos,
      rowCosine: pickMeasured((c) => c.rowCosineWorst, true),
      sqnrDb: pickMeasured((c) => c.sqnrDb, true),
      kl: { ...pickMeasured((c) => c.kl, false), basis: list.some((c) => c.klBasis === 'softmax') ? 'softmax' : 'probabilities' },
      maxAbsError: pick((c) => c.maxAbsError, false),
      meanAbsError: pick((c) => c.meanAbsError, false),
      nonFinite: list.reduce((s, c) => s + c.nonFinite, 0),
    };
  });
}

/**
 * The worst cosine over outputs under the near-zero rule (the runtime check's and the explorer's
 * figure): near-zero outputs are left out; undefined when every output is ~0 (report abs error).
 */
export function worstCosine(fidelity: readonly OutputFidelity[]): number | undefined {
  const v = fidelity.filter((f) => f.kind !== 'near-zero').map((f) => f.cosine.worst);
  if (v.length === 0) return undefined;
  return v.some((x) => Number.isNaN(x)) ? NaN : Math.min(...v);
}

// ---------------------------------------------------------------------------------------------
// Labeled accuracy

export interface AccuracyResult {
  correct: number;
  total: number;
  /** correct / total (NaN for no samples) */
  accuracy: number;
  /** per class: [correct, total] by label index */
  perClass: { correct: number; total: number }[];
}

/**
 * Accuracy of predicted class indices against labels. `classes` sizes the per-class table (labels
 * and predictions at or above it are counted in the total, not per class).
 */
export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>, classes = 0): AccuracyResult {
  if (predicted.length !== labels.length) {
    throw new Error(`${predicted.length} predictions for ${labels.length} labels`);
  }
  let n = classes;
  for (let i = 0; i < labels.length; i++) n = Math.max(n, labels[i] + 1);
  const perClass = Array.from({ length: n }, () => ({ correct: 0, total: 0 }));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const ok = predicted[i] === labels[i];
    if (ok) correct++;
    const pc = perClass[labels[i]];
    if (pc) {
      pc.total++;
      if (ok) pc.correct++;
    }
  }
  return { correct, total: labels.length, accuracy: labels.length === 0 ? NaN : correct / labels.length, perClass };
}
