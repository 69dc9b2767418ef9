/**
 * The cost guard (cost.ts): shapes and MACs estimated from the graph, int8 activations kept on the
 * Conv fixture's convolutions, dropped for the digits sample (too little work to win).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeValueInfo } from '../../onnx/build';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { DataType, type Model } from '../../onnx/types';
import { compressModel } from '../compress';
import { makeRecipe, type PartialLayerSettings } from '../recipe';
import { collectCalibration, type Sample } from './calibrate';
import { guardActivations, inferShapes, nodeMacs } from './cost';
import { convNet, convNetInputs } from './testing/conv-net';
import { opCounts, opTypes, ortRunModel, toOrtFeeds } from './testing/ort-node';

const INT8: PartialLayerSettings = { weights: 'int8', activations: 'int8' };
const digitsDir = new URL('../../../public/sample/', import.meta.url);
const digits = () => decodeModel(new Uint8Array(readFileSync(new URL('digits-cnn.onnx', digitsDir))));

async function optimizedOps(bytes: Uint8Array): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'ort-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    await ort.InferenceSession.create(bytes, { optimizedModelFilePath: path, logSeverityLevel: 3 });
    return opCounts(opTypes(decodeModel(new Uint8Array(readFileSync(path))).graph?.nodes ?? []));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function macsByNode(model: Model): Record<string, number | undefined> {
  const shapes = inferShapes(model);
  return Object.fromEntries((model.graph?.nodes ?? []).filter((n) => ['Conv', 'Gemm', 'MatMul'].includes(n.opType ?? '')).map((n) => [n.name ?? '', nodeMacs(n, shapes)]));
}

/** Median latency ratio (b / a), onnxruntime-node 1 thread; printed only. */
async function latency(a: Uint8Array, b: Uint8Array, feed: Sample, runs = 200): Promise<string> {
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 };
  const s = [await ort.InferenceSession.create(a, opts), await ort.InferenceSession.create(b, opts)];
  const f = toOrtFeeds(feed);
  const t: number[][] = [[], []];
  for (const x of s) await x.run(f);
  for (let r = 0; r < 10; r++) {
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      for (let i = 0; i < runs / 10; i++) await s[k].run(f);
      t[k].push((performance.now() - t0) / (runs / 10));
    }
  }
  const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
  return `${med(t[0]).toFixed(3)} ms -> ${med(t[1]).toFixed(3)} ms (${(med(t[1]) / med(t[0])).toFixed(2)}x)`;
}

describe('shape-based MAC estimates', () => {
  it('reads declared shapes and propagates them when value_info is missing (symbolic batch = 1)', () => {
    const declared = digits();
    const bare = digits();
    bare.graph!.valueInfo = [];
    const expected = { '/features/conv1/Conv': 16 * 9 * 64, '/features/conv2/Conv': 32 * 16 * 9 * 64, '/classifier/fc1/Gemm': 512 * 64, '/classifier/fc2/Gemm': 64 * 10 };
    expect(macsByNode(declared)).toEqual(expected);
    expect(macsByNode(bare)).toEqual(expected);
    // the Conv fixture: strides, padding and the MaxPool halve the size as they should
    expect(Object.values(macsByNode(convNet())).reduce((p, m) => (p as number) + (m as number), 0)).toBe(
      32 * 16 * 9 * 1024 + 32 * 32 * 9 * 1024 + 64 * 32 * 9 * 256 + 2 * 64 * 64 * 9 * 256 + 640,
    );
  });

  it('an unknown spatial size cannot be estimated: the layer keeps its weights only and says why', () => {
    const model = convNet();
    model.graph!.inputs = [makeValueInfo('image', DataType.FLOAT, ['N', 16, 'H', 'W'])];
    const planned = model.graph!.nodes.filter((n) => n.opType === 'Conv').map((n) => ({ key: n.name ?? '', node: n }));
    const d = guardActivations(model, planned);
    expect(d.keep.size).toBe(0);
    expect(d.reasons.get('conv1')).toMatch(/^int8 activations: its work cannot be estimated/);
    expect(d.macs.get('conv1')).toBeUndefined();
  });

  it("with the user's samples, a symbolic size is estimated at the samples' size (the data decides, not a guess)", async () => {
    const model = convNet();
    model.graph!.inputs = [makeValueInfo('image', DataType.FLOAT, ['N', 16, 'H', 'W'])];
    model.graph!.valueInfo = [];
    const planned = model.graph!.nodes.filter((n) => n.opType === 'Conv').map((n) => ({ key: n.name ?? '', node: n }));
    // the samples' own dims, as collectCalibration records them for the user's samples
    const samples: Sample[] = convNetInputs(2, 3).map((x) => ({ image: { dtype: 'float32', dims: [1, 16, 32, 32], data: x } }));
    const cal = await collectCalibration(model, samples, ortRunModel());
    expect(cal.inputDims).toEqual({ image: [1, 16, 32, 32] });
    const d = guardActivations(model, planned, cal.inputDims);
    expect(d.keep.size).toBe(planned.length);
    expect(d.macs.get('conv1')).toBe(32 * 16 * 9 * 1024);
    // synthesized samples have made-up sizes: they are not recorded, and the guard still says it cannot estimate
    const synth = await collectCalibration(model, samples, ortRunModel(), { source: 'synthesized' });
    expect(synth.inputDims).toBeUndefined();
    expect(guardActivations(model, planned, synth.inputDims).keep.size).toBe(0);
    // through compressModel: every Conv becomes QDQ at the samples' size
    const { report } = compressModel(model, makeRecipe('wasm', INT8), { calibration: cal });
    expect(report.layers.filter((l) => l.op === 'Conv').every((l) => l.applied === 'int8-qdq')).toBe(true);
  });

  it('a depthwise Conv (9 multiply-adds per output value) keeps its weights only, whatever its total work', () => {
    const model = convNet();
    const conv = model.graph!.nodes.find((n) => n.opType === 'Conv' && n.name === 'conv2')!;
    const w = model.graph!.initializers.find((t) => t.name === conv.inputs[1])!;
    const [m, c] = w.dims.map(Number);
    // the same Conv made depthwise: group = C = M, W [M, 1, 3, 3]
    expect(m).toBe(c);
    conv.attributes.push(attr.int('group', c));
    w.dims = [m, 1, 3, 3];
    const planned = model.graph!.nodes.filter((n) => n.opType === 'Conv').map((n) => ({ key: n.name ?? '', node: n }));
    const d = guardActivations(model, planned);
    expect(d.reasons.get('conv2')).toMatch(/^int8 activations: each output value takes 9 multiply-adds \(a grouped or depthwise Conv: onnxruntime-web's int8 kernel for it is slower than float32\)/);
    expect(d.keep.has('conv2')).toBe(false);
    expect(d.keep.has('conv3')).toBe(true);
  });
});

describe('the cost guard in compressModel (target wasm, activations int8)', () => {
  it('keeps QLinearConv on every conv of the Conv fixture; its tiny Gemm keeps int8 weights only', async () => {
    const model = convNet();
    const imgs = convNetInputs(4, 1).map((data): Sample => ({ image: { dtype: 'float32', dims: [1, 16, 32, 32], data } }));
    const calibration = await collectCalibration(model, imgs, ortRunModel());
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration });
    const applied = Object.fromEntries(report.layers.map((r) => [r.key, r.applied]));
    expect(applied).toEqual({ conv1: 'int8-qdq', conv2: 'int8-qdq', conv3: 'int8-qdq', conv4: 'int8-qdq', conv5: 'int8-qdq', fc: 'int8-cast-mul' });
    expect(report.layers.find((r) => r.key === 'fc')!.notes[0]).toMatch(/^int8 activations: onnxruntime-web runs Gemm integer kernels .* slower than float32/);
    expect(report.notes.some((n) => n.startsWith('int8 activations dropped'))).toBe(false);
    const bytes = encodeModel(out);
    const counts = await optimizedOps(bytes);
    expect(counts['com.microsoft.QLinearConv']).toBe(5);
    expect(counts.Conv ?? 0).toBe(0);
    console.log(`Conv fixture, int8 activations with the cost guard: onnxruntime-node 1 thread ${await latency(encodeModel(model), bytes, imgs[0])}`);
    // deterministic: same recipe, model and calibration, same bytes
    expect(Buffer.from(encodeModel(compressModel(model, makeRecipe('wasm', INT8), { calibration }).model)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('drops int8 activations for the digits sample (too little work): weights only, each row and the report say why', async () => {
    const model = digits();
    const test = JSON.parse(readFileSync(new URL('digits-test.json', digitsDir), 'utf8')) as { inputName: string; inputs: number[][] };
    const batch = (rows: number[][]): Sample => ({ [test.inputName]: { dtype: 'float32', dims: [rows.length, 1, 8, 8], data: Float32Array.from(rows.flat()) } });
    const calibration = await collectCalibration(model, [0, 20, 40].map((i) => batch(test.inputs.slice(i, i + 20))), ortRunModel());
    const { model: out, report } = compressModel(model, makeRecipe('wasm', INT8), { calibration });
    expect(report.layers.map((r) => r.applied)).toEqual(['int8-cast-mul', 'int8-cast-mul', 'int8-cast-mul', 'int8-cast-mul']);
    expect(report.layers.every((r) => r.activations === undefined)).toBe(true);
    expect(report.layers[1].notes).toContain('int8 activations: estimated 0.29 M MACs per sample, but dropped for the whole model (see the report notes); weights only');
    expect(report.notes.find((n) => n.startsWith('int8 activations dropped (weights only)'))).toMatch(/would save an estimated 0.5 µs of the model's 0.34 M MACs \(about 20.3 µs in float32\) per sample \(2%\)/);
    const bytes = encodeModel(out);
    const counts = await optimizedOps(bytes);
    for (const k of ['com.microsoft.QLinearConv', 'com.microsoft.QGemm', 'com.microsoft.DynamicQuantizeMatMul', 'QuantizeLinear']) expect(counts[k] ?? 0, k).toBe(0);
    // without calibration the same (the Gemms no longer go dynamic)
    expect(Buffer.from(encodeModel(compressModel(model, makeRecipe('wasm', INT8)).model)).equals(Buffer.from(bytes))).toBe(true);
    const one = batch(test.inputs.slice(100, 101));
    console.log(`digits, activations int8 on wasm with the cost guard (weights only): onnxruntime-node 1 thread, batch 1 ${await latency(encodeModel(model), bytes, one)}`);
  });
});
