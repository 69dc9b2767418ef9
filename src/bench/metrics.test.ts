import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  classesOf,
  compareOutput,
  cosine,
  denseMap,
  fidelityCosine,
  nearZero,
  worstCosine,
  isProbabilityRows,
  klDivergence,
  maxAbsError,
  meanAbsError,
  meanRowKl,
  softmax,
  sqnrDb,
  summarizeFidelity,
  top1Agreement,
  worstRowCosine,
} from './metrics';

// Every expected value below is worked out by hand in the comment next to it.
describe('fidelity metrics', () => {
  it('cosine', () => {
    // (1*2 + 2*1 + 2*2) / (3 * 3) = 8/9
    expect(cosine([1, 2, 2], [2, 1, 2])).toBeCloseTo(8 / 9, 12);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([1, 0], [-1, 0])).toBe(-1);
  });

  it('SQNR in dB', () => {
    // signal 1+4+4 = 9, noise (2-3)^2 = 1 -> 10 log10 9 = 9.5424 dB
    expect(sqnrDb([1, 2, 2], [1, 2, 3])).toBeCloseTo(9.542425094, 8);
    // signal 9+16 = 25, noise 0.5^2 = 0.25 -> 10 log10 100 = 20 dB
    expect(sqnrDb([3, 4], [3, 4.5])).toBeCloseTo(20, 10);
    expect(sqnrDb([3, 4], [3, 4])).toBe(Infinity);
    expect(sqnrDb([0, 0], [1, 0])).toBe(-Infinity);
  });

  it('max and mean absolute error', () => {
    // |1-1.5| = 0.5, 0, |3-1| = 2
    expect(maxAbsError([1, 2, 3], [1.5, 2, 1])).toBe(2);
    expect(meanAbsError([1, 2, 3], [1.5, 2, 1])).toBeCloseTo(2.5 / 3, 12);
    expect(maxAbsError([1, 2], [1, NaN])).toBeNaN();
  });

  it('top-1 agreement per row of the last axis', () => {
    // row 0: argmax 2 vs 1 (disagree); row 1: argmax 0 vs 0 (agree)
    expect(top1Agreement([1, 2, 3, 3, 2, 1], [1, 3, 2, 3, 2, 1], 3)).toEqual({ agree: 1, rows: 2 });
    expect(Array.from(argmaxRows([0, 5, 5, 1, 9, 2], 3))).toEqual([1, 1]); // ties take the first
  });

  it('KL on probabilities', () => {
    // 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 (0.693147) + 0.5 (-0.405465) = 0.143841
    expect(klDivergence([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.1438410362, 9);
    expect(klDivergence([1, 0], [1, 0])).toBe(0);
    expect(isProbabilityRows([0.5, 0.5, 0.2, 0.8], 2)).toBe(true);
    expect(isProbabilityRows([0.5, 0.6], 2)).toBe(false);
    expect(isProbabilityRows([-1, 2], 2)).toBe(false);
    const r = meanRowKl([0.5, 0.5, 1, 0], [0.25, 0.75, 1, 0], 2);
    // rows: 0.143841 and 0 -> mean 0.0719205
    expect(r.basis).toBe('probabilities');
    expect(r.kl).toBeCloseTo(0.1438410362 / 2, 9);
  });

  it('KL on the softmax of logits', () => {
    // softmax([0, ln 3]) = [1/4, 3/4]; softmax([5, 5]) = [1/2, 1/2]
    const s = softmax([0, Math.log(3)]);
    expect(s[0]).toBeCloseTo(0.25, 12);
    expect(s[1]).toBeCloseTo(0.75, 12);
    const r = meanRowKl([5, 5], [0, Math.log(3)], 2);
    expect(r.basis).toBe('softmax');
    expect(r.kl).toBeCloseTo(0.1438410362, 9);
  });

  it('compares an output and summarizes worst and mean over input sets', () => {
    expect(classesOf([2, 3], 6)).toBe(3);
    expect(classesOf([], 1)).toBe(1);
    // set A: identical; set B: rows [1,2] vs [2,1] (disagree) and [3,0] vs [3,0]
    const a = compareOutput('y', [1, 2, 3, 0], [1, 2, 3, 0], [2, 2]);
    const b = compareOutput('y', [1, 2, 3, 0], [2, 1, 3, 0], [2, 2]);
    expect(a).toMatchObject({ rows: 2, classes: 2, agree: 2, cosine: 1, sqnrDb: Infinity, kl: 0, maxAbsError: 0, nonFinite: 0 });
    // B: dot 2+2+9 = 13, norms both 14 -> cosine 13/14; noise 1+1 = 2, signal 14 -> 10 log10 7 dB
    expect(b.agree).toBe(1);
    expect(b.cosine).toBeCloseTo(13 / 14, 12);
    // rows: [1,2]·[2,1] = 4 over 5 -> 0.8; [3,0]·[3,0] -> 1
    expect(b.rowCosineWorst).toBeCloseTo(0.8, 12);
    expect(b.sqnrDb).toBeCloseTo(10 * Math.log10(7), 10);
    expect(b.maxAbsError).toBe(1);
    expect(b.meanAbsError).toBe(0.5);
    // B's KL: row 0 softmax([1,2]) = [p, 1-p] with p = 1/(1+e), test is the mirror [1-p, p];
    // KL = p ln(p/(1-p)) + (1-p) ln((1-p)/p) = (1-2p) * 1 (ln((1-p)/p) = 1); row 1 is 0; mean / 2
    const p = 1 / (1 + Math.E);
    expect(b.kl).toBeCloseTo((1 - 2 * p) / 2, 10);
    const [f] = summarizeFidelity([[a], [b]]);
    expect(f.output).toBe('y');
    expect(f.sets).toBe(2);
    expect(f.top1).toEqual({ agree: 3, rows: 4, rate: 0.75, worst: 0.5 });
    expect(f.cosine.worst).toBeCloseTo(13 / 14, 12);
    expect(f.cosine.mean).toBeCloseTo((1 + 13 / 14) / 2, 12);
    expect(f.rowCosine.worst).toBeCloseTo(0.8, 12);
    expect(f.rowCosine.mean).toBeCloseTo(0.9, 12);
    expect(f.sqnrDb.worst).toBeCloseTo(10 * Math.log10(7), 10);
    expect(f.maxAbsError).toEqual({ worst: 1, mean: 0.5 });
    expect(f.kl.worst).toBeCloseTo((1 - 2 * p) / 2, 10);
    expect(f.kl.basis).toBe('softmax');
  });

  it("compareOutput's one pass gives each metric's own function's value to the last bit, rows read in place", () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const cases: [string, number[] | Float32Array, number[] | Float32Array, number[]][] = [];
    for (const [rows, c] of [
      [40, 97],
      [3, 1000],
      [1, 5],
    ]) {
      const ref = new Float32Array(rows * c).map(() => rnd() * 6 - 3);
      const test = ref.map((v) => v + (rnd() - 0.5) * 0.1);
      cases.push(['logits', ref, test, [1, rows, c]]);
      // rows that are probabilities (KL on the values)
      const p = new Float32Array(rows * c);
      const q = new Float32Array(rows * c);
      for (let r = 0; r < rows; r++) {
        const a = softmax(ref, r * c, c);
        const b = softmax(test, r * c, c);
        for (let i = 0; i < c; i++) [p[r * c + i], q[r * c + i]] = [a[i], b[i]];
      }
      cases.push(['probabilities', p, q, [rows, c]]);
    }
    cases.push(['zeros and an infinity', [0, 0, 1, 2, 0, 3], [0, 1e-9, 1, Infinity, 0, 3], [2, 3]]);
    cases.push(['a NaN in the reference', [1, NaN, 2, 3], [1, 2, 2, 3], [2, 2]]);
    cases.push(['a NaN in the test', [1, 2, 2, 3], [1, 2, NaN, 3], [2, 2]]);
    cases.push(['plain arrays', [0.5, -1, 2, 4, 0.25, 3], [0.5, -1.1, 2.2, 4, 0.2, 3.1], [2, 3]]);
    for (const [what, ref, test, dims] of cases) {
      const o = compareOutput(what, ref, test, dims);
      const c = dims[dims.length - 1];
      const finite = o.nonFinite === 0 && o.kind !== 'near-zero';
      expect(Object.is(o.maxAbsError, maxAbsError(ref, test)), what).toBe(true);
      expect(Object.is(o.meanAbsError, meanAbsError(ref, test)), what).toBe(true);
      expect(o.kind === 'near-zero', what).toBe(o.nonFinite === 0 && nearZero(ref, test));
      if (!finite) continue;
      expect(Object.is(o.cosine, cosine(ref, test)), what).toBe(true);
      expect(Object.is(o.sqnrDb, sqnrDb(ref, test)), what).toBe(true);
      expect(Object.is(o.rowCosineWorst, worstRowCosine(ref, test, c)), what).toBe(true);
      // each row as its own array: the in-place rows read the same values
      let worst = 1;
      let kl = 0;
      const rows = ref.length / c;
      for (let r = 0; r < rows; r++) {
        const a = Array.from(ref).slice(r * c, (r + 1) * c);
        const b = Array.from(test).slice(r * c, (r + 1) * c);
        worst = Math.min(worst, cosine(a, b));
        kl += o.klBasis === 'probabilities' ? klDivergence(a, b) : klDivergence(softmax(a), softmax(b));
      }
      expect(Object.is(o.rowCosineWorst, worst), what).toBe(true);
      expect(Object.is(o.kl, Math.max(0, kl / rows)), what).toBe(true);
      expect(o.kl, what).toBe(meanRowKl(ref, test, c).kl);
    }
  });

  it('non-finite test outputs make the metrics NaN and are counted', () => {
    const c = compareOutput('y', [1, 2], [1, NaN], [2]);
    expect(c.nonFinite).toBe(1);
    expect(c.cosine).toBeNaN();
    expect(summarizeFidelity([[c]])[0].cosine.worst).toBeNaN();
    expect(() => compareOutput('y', [1, 2], [1], [2])).toThrow(/gives 1 values, the original 2/);
  });
});

describe('near-zero and scalar outputs', () => {
  it('gives no cosine when both outputs are ~0: the absolute error stands for fidelity', () => {
    const ref = [1e-9, -2e-9, 3e-10, 0];
    const test = [-1e-9, 2e-9, 0, 5e-10];
    // the plain cosine of rounding noise: -0.98, "the outputs disagree"
    expect(cosine(ref, test)).toBeLessThan(-0.9);
    expect(nearZero(ref, test)).toBe(true);
    expect(fidelityCosine(ref, test)).toBeUndefined();
    expect(fidelityCosine([1, 2], [1, 2.1])).toBeCloseTo(cosine([1, 2], [1, 2.1]), 12);
    const c = compareOutput('y', ref, test, [1, 4]);
    expect(c.kind).toBe('near-zero');
    expect(c.cosine).toBeNaN();
    expect(c.sqnrDb).toBeNaN();
    expect(c.maxAbsError).toBeCloseTo(4e-9, 15);
    const f = summarizeFidelity([[c]]);
    expect(f[0].kind).toBe('near-zero');
    expect(f[0].maxAbsError.worst).toBeCloseTo(4e-9, 15);
    expect(worstCosine(f)).toBeUndefined();
    // one output ~0 and one real: the real one's cosine is the worst, the ~0 one does not make it 0 or NaN
    const real = compareOutput('z', [1, 2, 3], [1, 2, 3.1], [3]);
    expect(worstCosine(summarizeFidelity([[c, real]]))).toBeCloseTo(real.cosine, 12);
    // a set ~0 among sets that are not: the others' figures stand
    const loud = compareOutput('y', [0.5, -0.5, 0.2, 0.1], [0.5, -0.4, 0.2, 0.1], [1, 4]);
    const mixed = summarizeFidelity([[c], [loud]])[0];
    expect(mixed.kind).toBe('scores');
    expect(mixed.cosine.worst).toBeCloseTo(loud.cosine, 12);
  });

  it('compares [N, 1] outputs by decisions at 0.5 and abs error, with a cosine over the whole batch of samples', () => {
    // a probability per frame, 4 frames per set, 2 sets
    const refA = [0.9, 0.1, 0.6, 0.45];
    const testA = [0.88, 0.12, 0.49, 0.46]; // frame 3 crosses 0.5
    const refB = [0.2, 0.7, 0.95, 0.05];
    const testB = [0.21, 0.69, 0.94, 0.06];
    const a = compareOutput('p', refA, testA, [4, 1]);
    const b = compareOutput('p', refB, testB, [4, 1]);
    expect(a.kind).toBe('scalar');
    expect(a.agree).toBe(3); // decisions at 0.5, not argmax of one value (always agrees)
    expect(a.rows).toBe(4);
    expect(a.rowCosineWorst).toBeNaN(); // a cosine of one value is ±1: not given
    expect(a.kl).toBeNaN();
    expect(a.maxAbsError).toBeCloseTo(0.11, 12);
    const f = summarizeFidelity([[a], [b]])[0];
    expect(f.kind).toBe('scalar');
    expect(f.top1).toMatchObject({ agree: 7, rows: 8 });
    const all = cosine([...refA, ...refB], [...testA, ...testB]);
    expect(f.cosine.worst).toBeCloseTo(all, 12);
    expect(f.cosine.mean).toBeCloseTo(all, 12);
    expect(f.meanAbsError.worst).toBeCloseTo(a.meanAbsError, 12);
    // one sample per set ([1, 1]): each set's cosine is over one value; the summary's is over all samples
    const one = [0.3, 0.8, 0.6].map((r, i) => compareOutput('p', [r], [r + [0.05, -0.1, 0.02][i]], [1, 1]));
    const g = summarizeFidelity(one.map((c) => [c]))[0];
    expect(g.cosine.worst).toBeCloseTo(cosine([0.3, 0.8, 0.6], [0.35, 0.7, 0.62]), 12);
    expect(g.cosine.worst).toBeLessThan(1);
  });
});

describe('dense maps', () => {
  it('reads a 4-D output with a short channel axis (first or last) as pixels, not as rows of its last axis', () => {
    // a text detector's probability map, a segmentation (channels first and last)
    expect(denseMap([1, 1, 640, 640], 640 * 640)).toEqual({ images: 1, channels: 1, pixels: 640 * 640, channelsFirst: true });
    expect(denseMap([2, 21, 64, 48], 2 * 21 * 64 * 48)).toEqual({ images: 2, channels: 21, pixels: 64 * 48, channelsFirst: true });
    expect(denseMap([1, 64, 48, 21], 64 * 48 * 21)).toEqual({ images: 1, channels: 21, pixels: 64 * 48, channelsFirst: false });
    // a feature map (more channels than either side), a row of one pixel, other ranks: not maps
    expect(denseMap([1, 512, 7, 7], 512 * 49)).toBeUndefined();
    expect(denseMap([1, 7, 7, 512], 512 * 49)).toBeUndefined();
    expect(denseMap([1, 1, 1, 640], 640)).toBeUndefined();
    expect(denseMap([1, 40, 6625], 40 * 6625)).toBeUndefined();
    expect(denseMap([1, 1, 4, 4], 15)).toBeUndefined();
  });

  it('a one-channel probability map: the decision at 0.5 per pixel, cosine and SQNR per image, no row cosine or KL', () => {
    // 1 x 1 x 2 x 3: each row of the last axis has its argmax in the same place in both, yet two pixels cross 0.5
    const ref = [0.9, 0.55, 0.1, 0.2, 0.45, 0.8];
    const test = [0.95, 0.45, 0.1, 0.2, 0.52, 0.85];
    const c = compareOutput('map', ref, test, [1, 1, 2, 3]);
    expect(c.kind).toBe('map');
    expect(c.rows).toBe(6);
    expect(c.classes).toBe(1);
    expect(c.agree).toBe(4);
    expect(c.agreesOn).toBe('pixels whose decision at 0.5 agrees');
    expect(top1Agreement(ref, test, 3).agree).toBe(2); // what the rows of the last axis would have said
    expect(c.rowCosineWorst).toBeNaN();
    expect(c.kl).toBeNaN();
    expect(c.cosine).toBeCloseTo(cosine(ref, test), 12);
    // logits (values outside [0, 1]): the decision at 0
    const l = compareOutput('logits', [2, -1, 0.5, -3], [1.5, 0.2, -0.1, -2], [1, 1, 2, 2]);
    expect(l.agree).toBe(2);
    expect(l.agreesOn).toBe('pixels whose decision at 0 agrees');
  });

  it('a segmentation: the argmax over the channels of each pixel, channels first or last; per-image cosine in the summary', () => {
    // [1, 3, 4, 4] channels first: pixel p's scores are at p, p + 16, p + 32; pixels 0-3 differ, 4-15 are all 0
    const pad = (v: number[]) => [...v, ...new Array<number>(12).fill(0)];
    const ref = [...pad([5, 0, 0, 1]), ...pad([1, 6, 0, 0]), ...pad([0, 0, 7, 2])];
    const test = [...pad([5, 0, 0, 3]), ...pad([1, 6, 8, 0]), ...pad([0, 0, 7, 2])]; // pixel 2 -> channel 1, pixel 3 -> channel 0
    const first = compareOutput('seg', ref, test, [1, 3, 4, 4]);
    expect(first.kind).toBe('map');
    expect(first.rows).toBe(16);
    expect(first.classes).toBe(3);
    expect(first.agree).toBe(14);
    expect(first.agreesOn).toBe('pixels whose argmax over the 3 channels agrees');
    // the same scores channels last ([1, 4, 4, 3]): a pixel's three scores side by side
    const last = (v: number[]) => Array.from({ length: 16 }, (_, p) => [v[p], v[p + 16], v[p + 32]]).flat();
    expect(compareOutput('seg', last(ref), last(test), [1, 4, 4, 3]).agree).toBe(14);
    // two images: cosine per image (worst and mean differ), not pooled
    const other = compareOutput('seg', ref, ref, [1, 3, 4, 4]);
    const f = summarizeFidelity([[first], [other]])[0];
    expect(f.kind).toBe('map');
    expect(f.top1).toMatchObject({ agree: 30, rows: 32 });
    expect(f.agreesOn).toBe('pixels whose argmax over the 3 channels agrees');
    expect(f.cosine.worst).toBeCloseTo(cosine(ref, test), 12);
    expect(f.cosine.mean).toBeCloseTo((cosine(ref, test) + 1) / 2, 12);
  });
});

describe('labeled accuracy', () => {
  it('counts correct predictions overall and per class', () => {
    // labels 0,1,1,1 / predicted 0,1,2,1: correct at 0,1,3 -> 3/4; class 1: 2 of 3
    const r = accuracy([0, 1, 2, 1], [0, 1, 1, 1], 3);
    expect(r).toMatchObject({ correct: 3, total: 4, accuracy: 0.75 });
    expect(r.perClass).toEqual([
      { correct: 1, total: 1 },
      { correct: 2, total: 3 },
      { correct: 0, total: 0 },
    ]);
    expect(accuracy([], []).accuracy).toBeNaN();
    expect(() => accuracy([1], [1, 2])).toThrow(/1 predictions for 2 labels/);
  });
});
