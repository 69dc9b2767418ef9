/**
 * The compare view's diff and weight comparison on fixtures compressed with several recipes and
 * targets: portable int8 (Cast → Mul) with BN folding, webgpu int4 blocks (DequantizeLinear) and
 * MatMulNBits, fp16, magnitude and channel pruning, and int8 activations (static QDQ with a real
 * calibration in onnxruntime-node, dynamic for MatMul). Each compressed model goes through the
 * codec and is parsed back, as the worker gets it from the page.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compressModel, type CompressOptions } from '../compress/compress';
import { collectCalibration } from '../compress/activations/calibrate';
import { ortRunModel } from '../compress/activations/testing/ort-node';
import { dequantizeTensor, quantizeTensor } from '../compress/quantize/quantize';
import { makeRecipe, type Recipe } from '../compress/recipe';
import { cnnFixture, gaussian, mlpFixture } from '../compress/testing/fixtures';
import { encodeModel } from '../onnx/codec';
import { loadModel } from '../onnx/load';
import { tensorFloats } from '../onnx/tensor';
import type { Model } from '../onnx/types';
import { seeded } from '../testing/random';
import { compareOpen, compareScene, compareWeights } from './compare-service';
import { blobOfPieces, runCompression } from './compress-run';
import { blobDataFile } from './read-files';

function run(model: Model, recipe: Recipe, options: CompressOptions = {}) {
  const { model: out, report } = compressModel(model, recipe, options);
  const original = loadModel(encodeModel(model), { fileName: 'original.onnx' });
  const info = compareOpen(original, encodeModel(out), report.layers);
  return { original, info, report };
}

async function ops(original: ReturnType<typeof loadModel>, side: 'original' | 'compressed', expanded: string[] = []): Promise<string[]> {
  const scene = await compareScene(original, side, expanded);
  return scene.nodes.filter((n) => n.kind === 'op').map((n) => `${n.key}:${n.label}`).sort();
}

/** Every decoded value of the chosen group lies on its grid. */
function onGrid(w: ReturnType<typeof compareWeights>): boolean {
  const g = w.grid!;
  return w.bins.every((b) => {
    if (b.decoded === 0) return true;
    const k = ((b.x0 + b.x1) / 2 - g.lo) / g.step;
    return Math.abs(k - Math.round(k)) < 1e-3;
  });
}

const weightOf = (m: Model, name: string) => tensorFloats(m.graph!.initializers.find((t) => t.name === name)!);

describe('compare: diff of an original and its compressed file', () => {
  it('portable int8 per-channel on a CNN: quantized layers, BatchNormalization folded into its Conv, the same graph on both sides', async () => {
    const fx = cnnFixture();
    const { original, info } = run(fx.model, makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }));
    const d = info.diff;
    for (const key of ['conv1', 'conv2', 'fc']) {
      expect(d.original[key].kinds, key).toContain('quantized');
      expect(d.compressed[key].badge, key).toBe('int8');
      expect(d.compressed[key].detail.join(' '), key).toMatch(/int8 \(Cast → Mul\)/);
    }
    expect(d.original.bn1).toMatchObject({ kinds: ['folded'], into: 'conv1' });
    expect(d.compressed.conv1.kinds).toContain('absorbed');
    expect(d.compressed.conv1.absorbed).toEqual(['bn1']);
    expect(d.original.relu1).toBeUndefined();
    expect(d.counts).toMatchObject({ quantized: 3, folded: 1, absorbed: 1 });
    // the compressed graph is the original without the BatchNormalization
    const before = await ops(original, 'original');
    const after = await ops(original, 'compressed');
    expect(after).toEqual(before.filter((o) => o !== 'bn1:BatchNormalization'));
    // drawn on the original's coordinates: one viewport shows each node at the same place on both sides
    const so = await compareScene(original, 'original', []);
    const sc = await compareScene(original, 'compressed', []);
    for (const n of sc.nodes) {
      const o = so.nodes.find((x) => x.id === n.id)!;
      expect(n.y, n.id).toBe(o.y);
      expect(n.x + n.width / 2, n.id).toBeCloseTo(o.x + o.width / 2, 6);
    }
    // the int8 codes are conv2's weight chip (W), though findLayers cannot see through Cast → Mul
    expect(sc.nodes.find((n) => n.key === 'conv2')!.weights!.find((w) => w.role === 'weight')).toMatchObject({ dtype: 'int8', shape: [16, 8, 3, 3] });
    // the edge across the folded BatchNormalization runs straight from conv1 to relu1
    expect(sc.edges.find((e) => e.source === 'n:conv1')).toMatchObject({ target: 'n:relu1', points: [] });

    // conv2's decoded weights are exactly what the quantizer wrote, on the grid of its channels
    const w = compareWeights(original, 'conv2');
    expect(w.storage).toMatch(/^int8 codes via Cast/);
    expect(w.aligned).toBe(true);
    expect(w.groupCount).toBe(16);
    expect(w.group.label).toMatch(/^channel \d+$/);
    expect(w.grid?.levels).toBe(256);
    expect(w.bins.reduce((s, b) => s + b.decoded, 0)).toBe(8 * 9);
    expect(w.bins.reduce((s, b) => s + b.original, 0)).toBe(8 * 9);
    expect(onGrid(w)).toBe(true);
    // symmetric: the widest value is the edge of the range minus nothing (scale = max|w| / 127)
    const g = w.grid!;
    expect(Math.max(Math.abs(w.group.min), Math.abs(w.group.max))).toBeCloseTo(127 * g.step, 5);
    expect(w.clipped).toBe(0);
    expect(w.cosine!).toBeGreaterThan(0.9999);
    // the widest channel first
    const ranges = w.groups.map((x) => x.max - x.min);
    expect(ranges).toEqual([...ranges].sort((a, b) => b - a));
    const ref = dequantizeTensor(quantizeTensor(weightOf(fx.model, 'conv2.weight'), [16, 8, 3, 3], { kind: 'channel', axis: 0 }, 8, true));
    expect(w.maxAbsError).toBeCloseTo(Math.max(...Array.from(weightOf(fx.model, 'conv2.weight'), (v, i) => Math.abs(v - ref[i]))), 7);
    // conv1 absorbed bn1: compared with its folded weights, which its codes were made from
    const w1 = compareWeights(original, 'conv1');
    expect(w1.note).toMatch(/bn1 folded in/);
    expect(w1.cosine!).toBeGreaterThan(0.9999);
    expect(w1.clipped).toBe(0);
    // another channel on request
    const other = w.groups[w.groups.length - 1].index;
    const w2 = compareWeights(original, 'conv2', other);
    expect(w2.group.index).toBe(other);
    expect(onGrid(w2)).toBe(true);
  });

  it('webgpu blocks: int8 DequantizeLinear blocks on a Conv (int4 there is portable: no WebGPU int4 DequantizeLinear), MatMulNBits on MatMuls, decoded on their grids', () => {
    const cnn = cnnFixture(21);
    const a = run(cnn.model, makeRecipe('webgpu', { weights: 'int8', granularity: 'block', blockSize: 16 }));
    expect(a.info.diff.compressed.conv2).toMatchObject({ badge: 'int8' });
    expect(a.info.diff.compressed.conv2.detail.join(' ')).toMatch(/int8 \(DequantizeLinear\)/);
    const wc = compareWeights(a.original, 'conv2');
    expect(wc.grid?.levels).toBe(256);
    expect(wc.group.label).toMatch(/^channel \d+ · block \d+$/);
    expect(wc.storage).toBe('int8 codes via DequantizeLinear');
    expect(onGrid(wc)).toBe(true);
    expect(wc.cosine!).toBeGreaterThan(0.999);
    const a4 = run(cnn.model, makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 16 }));
    expect(a4.info.diff.compressed.conv2).toMatchObject({ badge: 'int4' });
    expect(a4.info.diff.compressed.conv2.detail.join(' ')).not.toMatch(/DequantizeLinear/);
    expect(onGrid(compareWeights(a4.original, 'conv2'))).toBe(true);

    const mlp = mlpFixture(21, [64, 96, 32]);
    const b = run(mlp.model, makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 32 }));
    expect(b.info.diff.original.fc0).toMatchObject({ kinds: ['quantized'], badge: 'int4' });
    expect(b.info.diff.compressed.fc0.detail[0]).toMatch(/MatMul became MatMulNBits: int4 weights in blocks of 32/);
    const wm = compareWeights(b.original, 'fc0');
    expect(wm.storage).toMatch(/MatMulNBits/);
    expect(wm.shape).toEqual([64, 96]);
    expect(wm.compressedShape).toEqual([64, 96]);
    const ref = dequantizeTensor(quantizeTensor(weightOf(mlp.model, 'fc0.weight'), [64, 96], { kind: 'block', axis: 0, blockSize: 32 }, 4, true));
    const orig = weightOf(mlp.model, 'fc0.weight');
    expect(wm.maxAbsError).toBeCloseTo(Math.max(...Array.from(orig, (v, i) => Math.abs(v - ref[i]))), 7);
    expect(onGrid(wm)).toBe(true);
    expect(wm.groupCount).toBeGreaterThanOrEqual(96);
  });

  it('fp16 and magnitude pruning: no grid, zeros counted, the layer marked', () => {
    const mlp = mlpFixture(13, [32, 48, 16]);
    const a = run(mlp.model, makeRecipe('portable', { weights: 'fp16' }));
    expect(a.info.diff.compressed.fc0).toMatchObject({ badge: 'fp16' });
    const w = compareWeights(a.original, 'fc0');
    expect(w.grid).toBeUndefined();
    expect(w.storage).toMatch(/^float16/);
    expect(w.maxAbsError!).toBeLessThan(1e-3);
    expect(w.maxAbsError!).toBeGreaterThan(0);

    const b = run(mlp.model, makeRecipe('portable', { weights: 'fp32', prune: 0.5 }));
    expect(b.info.diff.compressed.fc0.kinds).toContain('pruned');
    const p = compareWeights(b.original, 'fc0');
    expect(p.zeros.original).toBe(0);
    expect(p.zeros.decoded).toBe(16 * 48);
  });

  it('channel pruning: the pruned layer, its rewired consumer, shapes that no longer align', () => {
    const fx = cnnFixture();
    const { original, info } = run(fx.model, makeRecipe('portable', { weights: 'int8' }, { conv1: { prune: 0.5, pruneMethod: 'channel' } }));
    expect(info.diff.original.conv1.kinds).toEqual(expect.arrayContaining(['channel-pruned', 'quantized']));
    expect(info.diff.compressed.conv2.kinds).toContain('rewired');
    expect(info.diff.compressed.conv2.detail.join(' ')).toMatch(/input channels follow conv1: 4 of 8 removed/);
    const w = compareWeights(original, 'conv1');
    expect(w.aligned).toBe(false);
    expect(w.compressedShape).toEqual([4, 3, 3, 3]);
    expect(w.note).toMatch(/channel pruning/);
    expect(w.bins.reduce((s, b) => s + b.original, 0)).toBe(8 * 27);
    expect(w.bins.reduce((s, b) => s + b.decoded, 0)).toBe(4 * 27);
  });

  it('int8 activations (wasm): static Q/DQ pairs fold onto their layers, dynamic chains replace their MatMul', async () => {
    const fx = cnnFixture();
    const rng = seeded(5);
    const samples = Array.from({ length: 4 }, () => ({ image: { dtype: 'float32' as const, dims: [2, 3, 16, 16], data: gaussian(rng, 2 * 3 * 16 * 16, 1) } }));
    const calibration = await collectCalibration(fx.model, samples, ortRunModel());
    const { original, info, report } = run(fx.model, makeRecipe('wasm', { weights: 'int8', activations: 'int8' }), { calibration, activationCostGuard: false });
    expect(report.layers.find((l) => l.key === 'conv2')?.applied).toBe('int8-qdq');
    const d = info.diff;
    expect(d.compressed.conv2.kinds).toEqual(expect.arrayContaining(['activations', 'quantized']));
    expect(d.compressed.conv2.badge).toBe('int8');
    expect(d.compressed.conv2.addedOps).toEqual(expect.arrayContaining(['QuantizeLinear', 'DequantizeLinear']));
    expect(d.nodes.added).toBeGreaterThan(4);
    // no Quantize/DequantizeLinear node is left in the compressed graph: it reads like the original
    const after = await ops(original, 'compressed');
    expect(after.some((o) => /QuantizeLinear/.test(o))).toBe(false);
    expect(after).toEqual((await ops(original, 'original')).filter((o) => o !== 'bn1:BatchNormalization'));
    const w = compareWeights(original, 'conv2');
    expect(w.storage).toBe('int8 codes via DequantizeLinear');
    expect(onGrid(w)).toBe(true);

    const mlp = mlpFixture(13, [32, 48, 16]);
    const b = run(mlp.model, makeRecipe('wasm', { weights: 'int8', activations: 'int8' }), { activationCostGuard: false });
    expect(b.report.layers.find((l) => l.key === 'fc0')?.applied).toBe('int8-dynamic');
    expect(b.info.diff.original.fc0.kinds).toContain('replaced');
    expect(b.info.diff.compressed.fc0.detail[0]).toMatch(/MatMul replaced by .*MatMulInteger/);
    expect(b.info.diff.compressed.fc0.badge).toBe('int8 dynamic');
    const mOps = await ops(b.original, 'compressed');
    expect(mOps).toEqual(await ops(b.original, 'original'));
    const wd = compareWeights(b.original, 'fc0');
    expect(wd.storage).toMatch(/MatMulInteger/);
    expect(wd.aligned).toBe(true);
    expect(wd.cosine!).toBeGreaterThan(0.999);
    expect(onGrid(wd)).toBe(true);
  });

  it('an unchanged model has no changes, and a bad key names itself', () => {
    const fx = mlpFixture(13, [8, 8, 4]);
    const { original, info } = run(fx.model, makeRecipe('portable', { weights: 'fp32' }));
    expect(info.diff.counts).toEqual({});
    expect(Object.keys(info.diff.compressed)).toEqual([]);
    expect(() => compareWeights(original, 'nope')).toThrow(/nope is not a layer/);
  });
});

// ---------------------------------------------------------------- real exports and the sample

const RECIPES: [string, Recipe][] = [
  ['portable int8 per-channel', makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' })],
  ['webgpu int4 blocks', makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 32 })],
  ['portable int4 per-tensor asymmetric', makeRecipe('portable', { weights: 'int4', granularity: 'per-tensor', symmetric: false })],
  ['wasm int8 activations (dynamic)', makeRecipe('wasm', { weights: 'int8', activations: 'int8' })],
];

const file = (rel: string) => new Uint8Array(readFileSync(new URL(rel, import.meta.url)));

describe('compare: a result with an external data file', () => {
  it("opens with the model file and its data file (read from the data file's Blob) and compares weights as the one-file result does", async () => {
    const sample = new Uint8Array(readFileSync(new URL('../../public/sample/digits-cnn.onnx', import.meta.url)));
    const original = loadModel(sample, { fileName: 'digits-cnn.onnx' });
    // int8 convolutions, fc2 kept fp32; a limit of 0 weight bytes stands in for protobuf's 2 GB
    const recipe = makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }, { '/classifier/fc2/Gemm': { weights: 'fp32' } });
    const files = [{ name: 'digits-cnn.onnx', bytes: sample }];
    const one = runCompression(files, recipe);
    const split = runCompression(files, recipe, { singleFileLimit: 0 });
    expect(one.data).toBeUndefined();
    const data = { name: split.data!.name, blob: blobOfPieces(split.data!.pieces()).blob };
    const keys = ['/features/conv1/Conv', '/classifier/fc2/Gemm'];
    const reference = compareOpen(original, one.bytes, one.report.layers);
    const expected = keys.map((k) => compareWeights(original, k));

    // the model file alone cannot be compared: its weights are in the data file, which it names
    expect(() => compareOpen(original, split.bytes, split.report.layers)).toThrow(split.data!.name);

    // the data file read by offset from its Blob (the worker's FileReaderSync; here the same bytes, counted)
    const all = new Uint8Array(await data.blob.arrayBuffer());
    let read = 0;
    const lazy = await blobDataFile(data, undefined, (blob, start, end) => {
      expect(blob).toBe(data.blob);
      read += end - start;
      return all.slice(start, end);
    });
    // and in chunks where a thread cannot read a Blob synchronously (Node here)
    for (const file of [lazy, await blobDataFile(data)]) {
      const info = compareOpen(original, split.bytes, split.report.layers, [file]);
      expect(info.diff).toEqual(reference.diff);
      expect(info.compressedBytes).toBe(split.bytes.length + split.data!.size);
      for (const [i, k] of keys.entries()) expect(compareWeights(original, k)).toEqual(expected[i]);
    }
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(3 * split.data!.size);
  });
});

describe.each(['cnn-opset9', 'lstm-opset11', 'transformer-opset17', 'helper-opset13', 'sample'])('compare on %s', (name) => {
  const bytes = name === 'sample' ? file('../../public/sample/digits-cnn.onnx') : file(`../testing/real/${name}.onnx`);
  it.each(RECIPES)('%s: the compressed graph reads like the original, every compressed layer decodes', async (_label, recipe) => {
    const original = loadModel(bytes, { fileName: `${name}.onnx` });
    const { model: out, report } = compressModel(original.model, recipe, { activationCostGuard: false });
    const info = compareOpen(original, encodeModel(out), report.layers);
    const d = info.diff;
    // every node of the folded compressed graph is a node of the original, under its key and op
    const before = new Map((await compareScene(original, 'original', info.original.initialExpanded)).nodes.filter((n) => n.kind === 'op').map((n) => [n.key, n.label]));
    const flat = await compareScene(original, 'compressed', info.compressed.initialExpanded);
    expect(info.compressed.nodeCount).toBe(info.original.nodeCount - d.nodes.removed + Object.values(d.original).filter((c) => c.kinds.includes('replaced')).length);
    for (const n of flat.nodes.filter((x) => x.kind === 'op' && before.has(x.key))) {
      expect(n.label === before.get(n.key) || n.label === 'MatMulNBits', `${n.key}: ${before.get(n.key)} -> ${n.label}`).toBe(true);
    }
    expect(d.counts.added ?? 0).toBe(0);
    // each changed layer is marked, and its weights decode to what the quantizer kept
    let checked = 0;
    for (const row of report.layers) {
      if (row.error || row.applied === 'unchanged') continue;
      checked++;
      expect(d.compressed[row.key], row.key).toBeDefined();
      const w = compareWeights(original, row.key);
      if (w.aligned && w.cosine !== undefined) expect(w.cosine, `${row.key} ${w.storage}`).toBeGreaterThan(0.9);
      if (w.grid) expect(onGrid(w), `${row.key} on its grid`).toBe(true);
      expect(w.bins.reduce((t, b) => t + b.decoded, 0)).toBe(w.aligned ? w.group.elements : w.compressedShape.reduce((p, k) => p * k, 1));
    }
    expect(checked).toBeGreaterThan(0);
    if (recipe.layers && recipe.defaults.activations === 'int8' && report.layers.some((r) => r.applied === 'int8-dynamic')) {
      expect(Object.values(d.compressed).filter((c) => c.kinds.includes('replaced')).length).toBe(report.layers.filter((r) => r.applied === 'int8-dynamic').length);
    }
  });
});
