import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors';
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { DataType } from '../../onnx/types';
import { seeded } from '../../testing/random';
import { calibrationModel, calibrationTensors, collectCalibration, RangeHistogram, synthesizeSamples, type Sample } from './calibrate';
import { convNet, convNetInputs } from './testing/conv-net';
import { ortRunModel } from './testing/ort-node';

/** The exact value at a quantile of sorted data (nearest rank). */
function quantile(sorted: Float32Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

describe('RangeHistogram', () => {
  it('streams chunks, doubling its range either way, and keeps every value', () => {
    const rng = seeded(7);
    const h = new RangeHistogram(256);
    const all: number[] = [];
    // a narrow first chunk, then wider ones on both sides
    for (const [lo, hi] of [[0, 1], [-3, 0.5], [2, 40], [-100, -50]]) {
      const chunk = Float32Array.from({ length: 1000 }, () => lo + rng() * (hi - lo));
      h.add(chunk);
      all.push(...chunk);
    }
    expect(h.count).toBe(4000);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(4000);
    expect(h.min).toBe(Math.min(...all));
    expect(h.max).toBe(Math.max(...all));
    expect(h.lo).toBeLessThanOrEqual(h.min);
    expect(h.lo + h.width).toBeGreaterThan(h.max);
    // every value sits in the bin its position says (merging pairs is exact)
    const bw = h.width / 256;
    const direct = new Float64Array(256);
    for (const v of all) direct[Math.min(255, Math.floor((v - h.lo) / bw))]++;
    // (floating-point edge cases may move a value across one bin boundary)
    let moved = 0;
    for (let i = 0; i < 256; i++) moved += Math.abs(direct[i] - h.counts[i]);
    expect(moved).toBeLessThanOrEqual(8);
  });

  it('clips (100 - p) / 2 percent from each tail, at bin resolution, never beyond min and max', () => {
    const rng = seeded(11);
    const data = new Float32Array(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (rng() + rng() + rng() - 1.5) * 2;
    data[5] = 40; // one outlier
    const h = new RangeHistogram();
    h.add(data);
    const sorted = Float32Array.from(data).sort();
    const r = h.range(99.9);
    const bw = h.width / h.counts.length;
    expect(Math.abs(r.max - quantile(sorted, 1 - 0.0005))).toBeLessThanOrEqual(bw);
    expect(Math.abs(r.min - quantile(sorted, 0.0005))).toBeLessThanOrEqual(bw);
    expect(r.max).toBeLessThan(5); // the outlier does not stretch the range
    expect(h.range(100)).toEqual({ min: sorted[0], max: 40 });
    // all-equal data and NaN / infinite values
    const flat = new RangeHistogram();
    flat.add(Float32Array.of(2, 2, 2, NaN, Infinity));
    expect(flat.count).toBe(3);
    expect(flat.range(99.99)).toEqual({ min: 2, max: 2 });
  });
});

describe('collectCalibration', () => {
  it('observes every activation of the float model through onnxruntime (extra untyped outputs) and clips at the percentile', async () => {
    const model = convNet();
    const tensors = calibrationTensors(model);
    expect(tensors).toContain('image');
    expect(tensors).toContain('conv1.out');
    expect(tensors).toContain('conv1.relu');
    expect(tensors).toContain('pool');
    expect(tensors).toContain('logits');
    expect(tensors).not.toContain('conv1.weight');
    const inputs = convNetInputs(4, 1);
    const samples: Sample[] = inputs.map((data) => ({ image: { dtype: 'float32', dims: [1, 16, 32, 32], data } }));
    const progress: number[] = [];
    const cal = await collectCalibration(model, samples, ortRunModel(), { onProgress: (d) => progress.push(d) });
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(cal).toMatchObject({ source: 'samples', samples: 4, percentile: 99.99 });
    expect(Object.keys(cal.ranges).sort()).toEqual([...tensors].sort());
    // the graph input's observed range is the data's; relu outputs start at 0
    let lo = Infinity;
    let hi = -Infinity;
    for (const d of inputs) for (const v of d) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect(cal.observed.image).toEqual({ min: lo, max: hi });
    for (const k of ['conv1.relu', 'conv3.relu', 'pool']) {
      expect(cal.ranges[k].min).toBe(0);
      expect(cal.ranges[k].max).toBeGreaterThan(0);
      expect(cal.ranges[k].max).toBeLessThanOrEqual(cal.observed[k].max);
    }
    // the model itself is not modified (the extra outputs are on a copy)
    expect(model.graph!.outputs.map((o) => o.name)).toEqual(['logits']);
    const copy = calibrationModel(model, ['conv1.out']);
    expect(copy.graph!.outputs.map((o) => o.name)).toEqual(['logits', 'conv1.out']);
    const s = await ort.InferenceSession.create(encodeModel(copy));
    expect(s.outputNames).toEqual(['logits', 'conv1.out']);
  });

  it('refuses no samples, a bad percentile, and stops when aborted', async () => {
    const model = convNet();
    const sample: Sample = { image: { dtype: 'float32', dims: [1, 16, 32, 32], data: convNetInputs(1, 1)[0] } };
    await expect(collectCalibration(model, [], ortRunModel())).rejects.toThrow(/at least one sample/);
    await expect(collectCalibration(model, [sample], ortRunModel(), { percentile: 40 })).rejects.toThrow(/percentile/);
    const ac = new AbortController();
    ac.abort();
    await expect(collectCalibration(model, [sample], ortRunModel(), { signal: ac.signal })).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('synthesizeSamples', () => {
  it('makes seeded normal inputs of the declared shape (symbolic dims set to 1), clipped at 3 std', () => {
    const model = convNet({ batch: 'N' });
    const a = synthesizeSamples(model, { count: 3, seed: 5 });
    const b = synthesizeSamples(model, { count: 3, seed: 5 });
    expect(a).toHaveLength(3);
    expect(a[0].image.dims).toEqual([1, 16, 32, 32]);
    expect(a[0].image.data).toEqual(b[0].image.data);
    const d = a[1].image.data as Float32Array;
    let sum = 0;
    let sq = 0;
    let max = 0;
    for (const v of d) {
      sum += v;
      sq += v * v;
      max = Math.max(max, Math.abs(v));
    }
    expect(max).toBeLessThanOrEqual(3);
    expect(Math.abs(sum / d.length)).toBeLessThan(0.05);
    expect(Math.sqrt(sq / d.length)).toBeGreaterThan(0.9);
  });

  it('refuses inputs that are not float32, naming them', () => {
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('Cast', ['ids'], ['y'], [])],
        inputs: [makeValueInfo('ids', DataType.INT64, [4])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [4])],
      }),
    });
    expect(() => synthesizeSamples(model)).toThrow(AppError);
    expect(() => synthesizeSamples(model)).toThrow('Cannot synthesize calibration inputs: input ids is not float32.');
  });
});
