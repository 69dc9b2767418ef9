/**
 * int8 activations end to end in onnxruntime-node: calibrate on samples, compress for target
 * wasm, load the result, check the graph onnxruntime really runs (dumped through
 * optimizedModelFilePath) holds integer kernels, and state the fidelity (worst cosine against the
 * float model, accuracy on the digits test set). Latency ratios are printed, never asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import { seeded } from '../../testing/random';
import { compressModel, type CompressReport, type LayerReport } from '../compress';
import { makeRecipe, type PartialLayerSettings } from '../recipe';
import { constantsOpset9Fixture, gaussian, mlpFixture } from '../testing/fixtures';
import { activationParams, quantizeBias } from './activations';
import { collectCalibration, synthesizeSamples, type Calibration, type Sample } from './calibrate';
import { convNet, convNetInputs } from './testing/conv-net';
import { opCounts, opTypes, ortRunModel, toOrtFeeds } from './testing/ort-node';
import { cosine } from '../../core/vector';

const INT8: PartialLayerSettings = { weights: 'int8', activations: 'int8' };
/** the encoding tests write int8 activations wherever asked; the cost guard has its own tests (cost.test.ts) */
const FORCE = { activationCostGuard: false };

/** Op types of the graph onnxruntime runs after its optimizations (dumped through optimizedModelFilePath). */
async function optimizedGraph(bytes: Uint8Array, level: 'basic' | 'extended' | 'all' = 'all'): Promise<{ ops: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ort-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, optimizedModelFilePath: path, logSeverityLevel: 3 });
    return { ops: opTypes(decodeModel(new Uint8Array(readFileSync(path))).graph?.nodes ?? []) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function outputs(bytes: Uint8Array, feeds: Sample[]): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const out: Float32Array[] = [];
  for (const f of feeds) out.push(Float32Array.from((await s.run(toOrtFeeds(f)))[s.outputNames[0]].data as Float32Array));
  return out;
}


/** Worst cosine over every sample (each output row of a batch counted on its own). */
async function worstCosine(original: Model, compressed: Model, feeds: Sample[], rows = 1): Promise<number> {
  const a = await outputs(encodeModel(original), feeds);
  const b = await outputs(encodeModel(compressed), feeds);
  let worst = 1;
  a.forEach((x, i) => {
    const len = x.length / rows;
    for (let r = 0; r < rows; r++) worst = Math.min(worst, cosine(x.subarray(r * len, (r + 1) * len), b[i].subarray(r * len, (r + 1) * len)));
  });
  return worst;
}

/** Median latency ratio (compressed / original) in onnxruntime-node with 1 thread; printed only. */
async function latencyRatio(original: Model, compressed: Model, feed: Sample, runs = 40): Promise<string> {
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 };
  const s = [await ort.InferenceSession.create(encodeModel(original), opts), await ort.InferenceSession.create(encodeModel(compressed), opts)];
  const f = toOrtFeeds(feed);
  const t: number[][] = [[], []];
  for (const x of s) await x.run(f);
  for (let r = 0; r < 8; r++) {
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      for (let i = 0; i < runs / 8; i++) await s[k].run(f);
      t[k].push((performance.now() - t0) / (runs / 8));
    }
  }
  const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
  return `${med(t[0]).toFixed(3)} ms -> ${med(t[1]).toFixed(3)} ms (${(med(t[1]) / med(t[0])).toFixed(2)}x)`;
}

function rows(report: CompressReport): Record<string, LayerReport> {
  return Object.fromEntries(report.layers.map((r) => [r.key, r]));
}

const imageSample = (data: Float32Array): Sample => ({ image: { dtype: 'float32', dims: [1, 16, 32, 32], data } });

describe('static int8 activations on a Conv-heavy network', () => {
  let calibration: Calibration | undefined;
  const calibrate = async () => (calibration ??= await collectCalibration(convNet(), convNetInputs(8, 1).map(imageSample), ortRunModel()));
  const evalFeeds = convNetInputs(6, 99).map(imageSample);

  it('quantizes every layer into QDQ units that onnxruntime turns into integer kernels end to end', async () => {
    const model = convNet();
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration: await calibrate(), activationCostGuard: false });
    const byKey = rows(report);
    for (const key of ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc']) {
      expect(byKey[key].error, key).toBeUndefined();
      expect(byKey[key].applied, key).toBe('int8-qdq');
      expect(byKey[key].weights.map((w) => w.encoding), key).toEqual(['int8-qdq', 'int32-bias']);
    }
    // each Conv closes its unit after the Relu it absorbs
    expect(byKey.conv1.activations).toMatchObject({ mode: 'static', input: 'image', output: 'conv1.relu', fused: 'conv1.relu' });
    expect(byKey.conv1.activations!.outputRange!.min).toBe(0);
    // conv3 reads the MaxPool's output, which shares conv2's output scale (uint8 MaxPool in between)
    expect(byKey.conv3.activations!.input).toBe('pool');
    expect(byKey.conv3.activations!.inputRange).toEqual(byKey.conv2.activations!.outputRange);
    expect(report.opset).toEqual({ before: 13, after: 13 });
    expect(report.notes.join('\n')).toMatch(/calibration: 8 sample input sets, ranges clipped at the 99.99th percentile/);

    const bytes = encodeModel(out);
    const { ops } = await optimizedGraph(bytes);
    const counts = opCounts(ops);
    expect(counts['com.microsoft.QLinearConv']).toBe(5);
    expect(counts['com.microsoft.QGemm']).toBe(1);
    expect(counts['com.microsoft.QLinearGlobalAveragePool']).toBe(1);
    // one QuantizeLinear for the image, nothing dequantized on the way, no float Conv or Gemm left
    expect(counts.QuantizeLinear).toBe(1);
    expect(counts.DequantizeLinear ?? 0).toBe(0);
    expect(ops.filter((o) => /(^|\.)(Conv|FusedConv|Gemm|FusedGemm)$/.test(o))).toEqual([]);

    const cos = await worstCosine(model, out, evalFeeds);
    expect(cos).toBeGreaterThanOrEqual(0.9995);
    const speed = await latencyRatio(model, out, evalFeeds[0]);
    console.log(`Conv fixture, int8 activations: worst cosine ${cos.toFixed(5)}; onnxruntime-node 1 thread ${speed}; ${bytes.length} bytes`);
    // the same recipe and calibration give the same bytes
    expect(Buffer.from(encodeModel(compressModel(model, makeRecipe('wasm', INT8), { calibration: await calibrate(), activationCostGuard: false }).model)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('folds BatchNormalization (clean-up) before choosing scales, so the units still fuse', async () => {
    const model = convNet({ batchNorm: true });
    const cal = await collectCalibration(model, convNetInputs(8, 1).map(imageSample), ortRunModel());
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration: cal, activationCostGuard: false });
    expect(report.layers.map((r) => r.applied)).toEqual(Array(6).fill('int8-qdq'));
    // after the fold each Conv writes the BatchNormalization's output, which the calibration saw
    expect(rows(report).conv2.activations).toMatchObject({ input: 'conv1.relu', output: 'conv2.relu', fused: 'conv2.relu' });
    const counts = opCounts((await optimizedGraph(encodeModel(out))).ops);
    expect(counts['com.microsoft.QLinearConv']).toBe(5);
    expect(counts.BatchNormalization ?? 0).toBe(0);
    expect(await worstCosine(model, out, evalFeeds)).toBeGreaterThanOrEqual(0.999);
  });

  it('leaves layers asking for fp32 activations in float (weights only)', async () => {
    const model = convNet();
    const layers = { conv1: { activations: 'fp32' as const }, fc: { activations: 'fp32' as const } };
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8, layers), { calibration: await calibrate(), activationCostGuard: false });
    const byKey = rows(report);
    expect(byKey.conv1.applied).toBe('int8-cast-mul');
    expect(byKey.fc.applied).toBe('int8-cast-mul');
    expect(byKey.conv1.activations).toBeUndefined();
    // conv2 still quantizes its input: the output of conv1's Relu
    expect(byKey.conv2.activations).toMatchObject({ input: 'conv1.relu', inputRange: { min: 0 } });
    const { ops } = await optimizedGraph(encodeModel(out));
    const counts = opCounts(ops);
    expect(counts['com.microsoft.QLinearConv']).toBe(4);
    expect(counts['com.microsoft.QGemm'] ?? 0).toBe(0);
    // conv1 runs as a float Conv (onnxruntime's NCHWc layout), and the Gemm in float
    expect(ops.filter((o) => /(^|\.)(Conv|FusedConv)$/.test(o))).toHaveLength(1);
    expect(counts.Gemm).toBe(1);
    expect(await worstCosine(model, out, evalFeeds)).toBeGreaterThanOrEqual(0.9995);
  });

  it('without calibration a Conv stays weights-only and says why; synthesized inputs, when allowed, calibrate it', async () => {
    const model = convNet();
    const plain = compressModel(model, makeRecipe('wasm', INT8), FORCE);
    const conv1 = rows(plain.report).conv1;
    expect(conv1.applied).toBe('int8-cast-mul');
    expect(conv1.notes).toContain(
      'int8 activations: a Conv needs calibrated activation ranges and no calibration samples were given (give samples: compress --samples DIR, or --synthesize-samples to calibrate on random inputs); weights only',
    );
    // the Gemm needs no calibration: dynamic
    expect(rows(plain.report).fc.applied).toBe('int8-dynamic');

    const synthetic = await collectCalibration(model, synthesizeSamples(model, { count: 4 }), ortRunModel(), { source: 'synthesized' });
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration: synthetic, activationCostGuard: false });
    expect(report.layers.every((r) => r.applied === 'int8-qdq')).toBe(true);
    expect(report.notes.join('\n')).toMatch(/calibration: 4 synthesized \(random\) input sets/);
    const cos = await worstCosine(model, out, evalFeeds);
    console.log(`Conv fixture calibrated on synthesized N(0, 1) inputs: worst cosine ${cos.toFixed(5)} on real-like inputs`);
    expect(cos).toBeGreaterThan(0.99);
  });
  it('folds a Clip from 0 (Relu6) into the output quantization as it does a Relu', async () => {
    const rng = seeded(21);
    const conv = (name: string, x: string) => [
      makeNode('Conv', [x, `${name}.w`, `${name}.b`], [`${name}.out`], [attr.ints('pads', [1, 1, 1, 1])], { name }),
      makeNode('Clip', [`${name}.out`, 'zero', 'six'], [`${name}.clip`], [], { name: `${name}.clip` }),
    ];
    const inits = [
      makeTensor('zero', DataType.FLOAT, [], Float32Array.of(0)),
      makeTensor('six', DataType.FLOAT, [], Float32Array.of(6)),
      makeTensor('c1.w', DataType.FLOAT, [32, 16, 3, 3], gaussian(rng, 32 * 16 * 9, Math.sqrt(2 / 144))),
      makeTensor('c1.b', DataType.FLOAT, [32], gaussian(rng, 32, 0.1)),
      makeTensor('c2.w', DataType.FLOAT, [32, 32, 3, 3], gaussian(rng, 32 * 32 * 9, Math.sqrt(2 / 288))),
      makeTensor('c2.b', DataType.FLOAT, [32], gaussian(rng, 32, 0.1)),
    ];
    const model = makeModel({
      graph: makeGraph({
        nodes: [...conv('c1', 'image'), ...conv('c2', 'c1.clip')],
        initializers: inits,
        inputs: [makeValueInfo('image', DataType.FLOAT, [1, 16, 32, 32])],
        outputs: [makeValueInfo('c2.clip', DataType.FLOAT, [1, 32, 32, 32])],
      }),
    });
    const cal = await collectCalibration(model, convNetInputs(4, 1).map(imageSample), ortRunModel());
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration: cal, activationCostGuard: false });
    expect(report.layers.map((r) => r.activations?.fused)).toEqual(['c1.clip', 'c2.clip']);
    const counts = opCounts((await optimizedGraph(encodeModel(out))).ops);
    expect(counts['com.microsoft.QLinearConv']).toBe(2);
    expect(counts.Clip ?? 0).toBe(0);
    // (the graph output itself is the last unit's uint8 output here)
    expect(await worstCosine(model, out, evalFeeds)).toBeGreaterThanOrEqual(0.995);
  });
});

describe('the digits sample (public/sample) with its test set', () => {
  const dir = new URL('../../../public/sample/', import.meta.url);
  const bytes = new Uint8Array(readFileSync(new URL('digits-cnn.onnx', dir)));
  const test = JSON.parse(readFileSync(new URL('digits-test.json', dir), 'utf8')) as { inputName: string; labels: number[]; inputs: number[][] };
  const batchOf = (rs: number[][]): Sample => {
    const data = new Float32Array(rs.length * 64);
    rs.forEach((r, i) => data.set(r, i * 64));
    return { [test.inputName]: { dtype: 'float32', dims: [rs.length, 1, 8, 8], data } };
  };
  const all = batchOf(test.inputs);
  async function correct(model: Model): Promise<number> {
    const [logits] = await outputs(encodeModel(model), [all]);
    let n = 0;
    test.labels.forEach((label, i) => {
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
      if (best === label) n++;
    });
    return n;
  }
  // calibrate on the first 100 test images (5 batches of 20); fidelity on all 450
  const calibrationSet = [0, 20, 40, 60, 80].map((i) => batchOf(test.inputs.slice(i, i + 20)));

  it('static: QLinearConv and QGemm in the optimized graph, accuracy held (float 447/450)', async () => {
    const model = decodeModel(bytes);
    const cal = await collectCalibration(model, calibrationSet, ortRunModel());
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration: cal, activationCostGuard: false });
    expect(report.layers.map((r) => r.applied)).toEqual(['int8-qdq', 'int8-qdq', 'int8-qdq', 'int8-qdq']);
    const counts = opCounts((await optimizedGraph(encodeModel(out))).ops);
    expect(counts['com.microsoft.QLinearConv']).toBe(2);
    expect(counts['com.microsoft.QGemm']).toBe(2);
    expect(counts.Conv ?? 0).toBe(0);
    const n = await correct(out);
    const cos = await worstCosine(model, out, [all], 450);
    const speed1 = await latencyRatio(model, out, batchOf(test.inputs.slice(0, 1)), 200);
    const speed64 = await latencyRatio(model, out, batchOf(test.inputs.slice(0, 64)), 80);
    console.log(`digits, static int8 activations: ${n}/450 correct (float 447), worst cosine over 450 images ${cos.toFixed(4)}; 1 thread, batch 1 ${speed1}, batch 64 ${speed64}`);
    expect(n).toBeGreaterThanOrEqual(445);
  });

  it('without samples: the Convs keep int8 weights only (with the reason), the Gemms go dynamic (DynamicQuantizeMatMul)', async () => {
    const model = decodeModel(bytes);
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), FORCE);
    expect(report.layers.map((r) => r.applied)).toEqual(['int8-cast-mul', 'int8-cast-mul', 'int8-dynamic', 'int8-dynamic']);
    expect(report.layers[0].notes[0]).toMatch(/^int8 activations: a Conv needs calibrated activation ranges/);
    const counts = opCounts((await optimizedGraph(encodeModel(out))).ops);
    expect(counts['com.microsoft.DynamicQuantizeMatMul']).toBe(2);
    expect((counts.Gemm ?? 0) + (counts['com.microsoft.FusedGemm'] ?? 0)).toBe(0);
    const n = await correct(out);
    console.log(`digits, dynamic int8 Gemms: ${n}/450 correct`);
    expect(n).toBeGreaterThanOrEqual(445);
  });
});

describe('MatMul / Gemm', () => {
  const mlp = mlpFixture();
  const rng = seeded(5);
  const feeds: Sample[] = [0, 1, 2].map(() => ({ x: { dtype: 'float32', dims: [4, 256], data: gaussian(rng, 4 * 256, 1) } }));

  it('dynamic without calibration: DynamicQuantizeLinear + MatMulInteger, fused into DynamicQuantizeMatMul', async () => {
    const { model: out, report } = compressModel(mlp.model, makeRecipe('wasm', INT8), FORCE);
    expect(report.layers.map((r) => r.applied)).toEqual(['int8-dynamic', 'int8-dynamic', 'int8-dynamic']);
    expect(report.layers[0].activations).toEqual({ mode: 'dynamic', input: 'x' });
    const ops = out.graph!.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'DynamicQuantizeLinear')).toHaveLength(3);
    expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(3);
    const counts = opCounts((await optimizedGraph(encodeModel(out))).ops);
    expect(counts['com.microsoft.DynamicQuantizeMatMul']).toBe(3);
    expect(counts.MatMul ?? 0).toBe(0);
    // int8 codes + a float scale per column instead of float32 weights
    expect(report.layers[1].weights[0]).toMatchObject({ bytesBefore: 512 * 512 * 4, bytesAfter: 512 * 512 + 512 * 4 + 1 });
    expect(await worstCosine(mlp.model, out, feeds)).toBeGreaterThanOrEqual(0.995);
  });

  it('static with calibration: MatMul + bias Add become QGemm (the bias stored int32), with quantized outputs between layers', async () => {
    const cal = await collectCalibration(mlp.model, feeds, ortRunModel());
    const { model: out, report } = compressModel(mlp.model, makeRecipe('wasm', INT8), { calibration: cal, activationCostGuard: false });
    expect(report.layers.map((r) => r.applied)).toEqual(['int8-qdq', 'int8-qdq', 'int8-qdq']);
    expect(report.layers[0].notes).toContain('fc0.bias: the bias added after it stored as int32 codes (scale input_scale * weight_scale), so the pair fuses');
    const counts = opCounts((await optimizedGraph(encodeModel(out))).ops);
    expect(counts['com.microsoft.QGemm']).toBe(3);
    expect((counts.MatMul ?? 0) + (counts.Gemm ?? 0)).toBe(0);
    expect(await worstCosine(mlp.model, out, feeds)).toBeGreaterThanOrEqual(0.995);
  });

  it('an opset 9 model is raised to 11 for the dynamic MatMul/Gemm layers; its Conv stays weights-only', async () => {
    const fx = constantsOpset9Fixture();
    const { model: out, report } = compressModel(fx.model, makeRecipe('wasm', INT8), FORCE);
    expect(report.layers.map((r) => r.applied)).toEqual(['int8-cast-mul', 'int8-dynamic', 'int8-dynamic', 'int8-dynamic']);
    expect(report.opset).toMatchObject({ before: 9, after: 11 });
    const feed: Sample = { image: { dtype: 'float32', dims: [2, 2, 8, 8], data: gaussian(seeded(9), 256, 1) } };
    expect(await worstCosine(fx.model, out, [feed])).toBeGreaterThanOrEqual(0.99);
  });

  it('where the opset cannot be raised, the layer keeps its weight settings and the note says why', () => {
    const rng2 = seeded(3);
    const model = makeModel({
      irVersion: 3,
      opsetImport: [{ domain: '', version: 9 }],
      graph: makeGraph({
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['h'], [], { name: 'mm' }),
          // Clip with min/max attributes changes meaning at opset 11
          makeNode('Clip', ['h'], ['y'], [attr.float('min', 0), attr.float('max', 6)], { name: 'clip' }),
        ],
        initializers: [makeTensor('w', DataType.FLOAT, [16, 8], gaussian(rng2, 128, 0.3))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2, 16]), makeValueInfo('w', DataType.FLOAT, [16, 8])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2, 8])],
      }),
    });
    const { report } = compressModel(model, makeRecipe('wasm', INT8), FORCE);
    expect(report.layers[0].applied).toBe('int8-cast-mul');
    expect(report.layers[0].notes).toEqual([
      "int8 activations: dynamic quantization needs opset 11 (DynamicQuantizeLinear) and the model's opset cannot be raised; weights only",
    ]);
    expect(report.opset.after).toBe(9);
  });
});

describe('parameters', () => {
  it('uint8 activation scale and zero point follow onnxruntime (range widened to 0, zero point rounded half to even)', () => {
    expect(activationParams({ min: 0, max: 2.55 })).toEqual({ scale: Math.fround(2.55 / 255), zeroPoint: 0 });
    // [-1, 3]: scale 4/255, zero point round(0 + 1 / (4/255)) = round(63.75) = 64
    expect(activationParams({ min: -1, max: 3 })).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 64 });
    // a range not containing 0 is widened to it
    expect(activationParams({ min: 1, max: 2 })).toEqual({ scale: Math.fround(2 / 255), zeroPoint: 0 });
    expect(activationParams({ min: -2, max: -1 })).toEqual({ scale: Math.fround(2 / 255), zeroPoint: 255 });
    expect(activationParams({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('int32 bias codes use scale input_scale * weight_scale (float32) and round half to even', () => {
    const r = quantizeBias(Float32Array.of(0.5, -0.25, 1e9, 0.375), 0.5, Float32Array.of(0.5, 0.5, 0.5, 0.25))!;
    expect(Array.from(r.scales)).toEqual([0.25, 0.25, 0.25, 0.125]);
    // 0.5 / 0.25 = 2; -0.25 / 0.25 = -1; 1e9 / 0.25 saturates; 0.375 / 0.125 = 3
    expect(Array.from(r.codes)).toEqual([2, -1, 2147483647, 3]);
    expect(Array.from(quantizeBias(Float32Array.of(0.3), 0.2, Float32Array.of(0.5))!.codes)).toEqual([3]);
    expect(Array.from(quantizeBias(Float32Array.of(0.25), 0.5, Float32Array.of(1))!.codes)).toEqual([0]); // 0.5 ties to 0
    expect(quantizeBias(Float32Array.of(1), 1e-30, Float32Array.of(1e-30))).toBeUndefined();
  });
});
