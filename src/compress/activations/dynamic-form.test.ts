/**
 * The dynamic form for calibrated layers (DynamicQuantizeLinear + ConvInteger / MatMulInteger +
 * Cast + Mul by x_scale * w_scale + bias), loaded and run in onnxruntime-node against the float
 * model; and the cost guard's choice of it for a layer alone between float ops.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeNode } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import { seeded } from '../../testing/random';
import { layerModel } from '../../testing/layer-models';
import { cosine } from '../../core/vector';
import { compressModel } from '../compress';
import { makeRecipe } from '../recipe';
import { gaussian } from '../testing/fixtures';
import { collectCalibration, type Sample } from './calibrate';
import { opTypes, ortRunModel, toOrtFeeds } from './testing/ort-node';

const recipe = makeRecipe('wasm', { weights: 'int8', activations: 'int8' });
const sample = (name: string, dims: number[], seed: number): Sample => ({ [name]: { dtype: 'float32', dims, data: gaussian(seeded(seed), dims.reduce((p, d) => p * d, 1), 1) } });

async function run(m: Model, feed: Sample): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  return Float32Array.from((await s.run(toOrtFeeds(feed)))[s.outputNames[0]].data as Float32Array);
}

/** Worst cosine over the inputs, per output channel (`channels` blocks of the NCHW output) or over the whole output. */
async function worstCosine(a: Model, b: Model, feeds: Sample[], channels = 1): Promise<number> {
  let worst = 1;
  for (const f of feeds) {
    const x = await run(a, f);
    const y = await run(b, f);
    const len = x.length / channels;
    for (let c = 0; c < channels; c++) worst = Math.min(worst, cosine(x.subarray(c * len, (c + 1) * len), y.subarray(c * len, (c + 1) * len)));
  }
  return worst;
}

/** Conv [1, 8, 13, 13] -> [1, 16, 7, 7] (3x3, stride 2, pads 1), bias; output channel c's weights scaled by 10^(c % 4 - 2). */
function convModel(bias: boolean): Model {
  const rng = seeded(7);
  const w = gaussian(rng, 16 * 8 * 9, 0.2);
  for (let c = 0; c < 16; c++) for (let i = 0; i < 72; i++) w[c * 72 + i] *= 10 ** ((c % 4) - 2);
  const inits = [makeTensor('w', DataType.FLOAT, [16, 8, 3, 3], w)];
  if (bias) inits.push(makeTensor('b', DataType.FLOAT, [16], Float32Array.from({ length: 16 }, (_, c) => 0.05 * c * 10 ** ((c % 4) - 2))));
  const conv = makeNode('Conv', ['x', 'w', ...(bias ? ['b'] : [])], ['y'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2]), attr.int('group', 1)], { name: 'conv' });
  return layerModel([conv], inits, [['x', [1, 8, 13, 13]]], [['y', [1, 16, 7, 7]]]);
}

async function compressDynamic(m: Model, input: string, dims: number[]) {
  const calibration = await collectCalibration(m, [1, 2, 3].map((k) => sample(input, dims, k)), ortRunModel());
  return compressModel(m, recipe, { calibration, activationForm: 'dynamic' });
}

describe('the dynamic form of a calibrated layer, in onnxruntime-node', () => {
  it.each([true, false])('Conv (stride 2, pads, bias %s): ConvInteger with uint8 weights, per-channel scales right', async (bias) => {
    const m = convModel(bias);
    const { model, report } = await compressDynamic(m, 'x', [1, 8, 13, 13]);
    const row = report.layers.find((l) => l.key === 'conv');
    expect(row?.applied).toBe('int8-dynamic-conv');
    expect(row?.activations?.mode).toBe('dynamic');
    const ops = opTypes(model.graph?.nodes ?? []);
    expect(ops).toEqual(expect.arrayContaining(['DynamicQuantizeLinear', 'ConvInteger', 'Cast', 'Mul']));
    expect(ops).not.toContain('Conv');
    expect(ops).not.toContain('QuantizeLinear');
    expect(ops.includes('Add')).toBe(bias);
    const w = model.graph?.initializers.find((t) => t.dataType === DataType.UINT8 && t.dims.length === 4);
    expect(w?.dims.map(Number)).toEqual([16, 8, 3, 3]);
    const feeds = [11, 12, 13].map((k) => sample('x', [1, 8, 13, 13], k));
    // per output channel (each channel's codes right), and over the whole output (each channel's
    // scale right: channels 100x apart; a scale on the wrong channel wrecks it)
    expect(await worstCosine(m, model, feeds, 16)).toBeGreaterThanOrEqual(0.99);
    expect(await worstCosine(m, model, feeds)).toBeGreaterThanOrEqual(0.99);
  });

  it('Conv per-tensor: one scale, a scalar Mul', async () => {
    const m = convModel(true);
    const calibration = await collectCalibration(m, [1, 2].map((k) => sample('x', [1, 8, 13, 13], k)), ortRunModel());
    const { model, report } = compressModel(m, makeRecipe('wasm', { weights: 'int8', activations: 'int8', granularity: 'per-tensor' }), { calibration, activationForm: 'dynamic' });
    expect(report.layers[0].applied).toBe('int8-dynamic-conv');
    const scale = model.graph?.initializers.find((t) => (t.name ?? '').endsWith('_scale') && t.dataType === DataType.FLOAT);
    expect(scale?.dims).toEqual([]);
    // one scale for channels 100x apart: the small channels lose precision, the whole output still matches
    expect(await worstCosine(m, model, [11, 12].map((k) => sample('x', [1, 8, 13, 13], k)))).toBeGreaterThanOrEqual(0.99);
  });

  it('MatMul [1, 16, 32] x [32, 24]: MatMulInteger with int8 per-column weights', async () => {
    const w = gaussian(seeded(3), 32 * 24, 0.2);
    for (let i = 0; i < w.length; i++) w[i] *= 10 ** ((i % 24) % 3 - 1);
    const m = layerModel([makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' })], [makeTensor('w', DataType.FLOAT, [32, 24], w)], [['x', [1, 16, 32]]], [['y', [1, 16, 24]]]);
    const { model, report } = await compressDynamic(m, 'x', [1, 16, 32]);
    expect(report.layers.find((l) => l.key === 'mm')?.applied).toBe('int8-dynamic');
    expect(opTypes(model.graph?.nodes ?? [])).toEqual(expect.arrayContaining(['DynamicQuantizeLinear', 'MatMulInteger']));
    expect(await worstCosine(m, model, [21, 22].map((k) => sample('x', [1, 16, 32], k)))).toBeGreaterThanOrEqual(0.99);
  });

  it('Gemm (transB, alpha 0.5, bias) [4, 32] x [24, 32]^T', async () => {
    const rng = seeded(5);
    const inits = [makeTensor('w', DataType.FLOAT, [24, 32], gaussian(rng, 24 * 32, 0.2)), makeTensor('c', DataType.FLOAT, [24], gaussian(rng, 24, 0.5))];
    const gemm = makeNode('Gemm', ['x', 'w', 'c'], ['y'], [attr.int('transB', 1), attr.float('alpha', 0.5)], { name: 'gemm' });
    const m = layerModel([gemm], inits, [['x', [4, 32]]], [['y', [4, 24]]]);
    const { model, report } = await compressModel(m, recipe, { activationCostGuard: false }); // no calibration: the dynamic form
    expect(report.layers.find((l) => l.key === 'gemm')?.applied).toBe('int8-dynamic');
    expect(opTypes(model.graph?.nodes ?? [])).toContain('MatMulInteger');
    expect(await worstCosine(m, model, [31, 32].map((k) => sample('x', [4, 32], k)), 4)).toBeGreaterThanOrEqual(0.99);
  });
});

describe("the cost guard's choice of the dynamic form", () => {
  /** Sigmoid -> Conv 3x3 32->64 @40x40 -> Sigmoid: a dense Conv alone between float ops. */
  function loneConv(): Model {
    const rng = seeded(9);
    const inits = [makeTensor('w', DataType.FLOAT, [64, 32, 3, 3], gaussian(rng, 64 * 32 * 9, Math.sqrt(2 / 288))), makeTensor('b', DataType.FLOAT, [64], gaussian(rng, 64, 0.05))];
    const nodes = [
      makeNode('Sigmoid', ['x'], ['s'], [], { name: 'pre' }),
      makeNode('Conv', ['s', 'w', 'b'], ['c'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])], { name: 'conv' }),
      makeNode('Sigmoid', ['c'], ['y'], [], { name: 'post' }),
    ];
    return layerModel(nodes, inits, [['x', [1, 32, 40, 40]]], [['y', [1, 64, 40, 40]]]);
  }

  it('keeps static QDQ for a dense Conv alone between float ops (the two forms tie side by side); asked for, writes the dynamic form', async () => {
    const m = loneConv();
    const calibration = await collectCalibration(m, [1, 2].map((k) => sample('x', [1, 32, 40, 40], k)), ortRunModel());
    expect(compressModel(m, recipe, { calibration }).report.layers.find((l) => l.key === 'conv')?.applied).toBe('int8-qdq');
    const { model, report } = compressModel(m, recipe, { calibration, activationForm: 'dynamic' });
    const row = report.layers.find((l) => l.key === 'conv');
    expect(row?.applied).toBe('int8-dynamic-conv');
    expect(opTypes(model.graph?.nodes ?? [])).not.toContain('QuantizeLinear');
    expect(await worstCosine(m, model, [41, 42].map((k) => sample('x', [1, 32, 40, 40], k)))).toBeGreaterThanOrEqual(0.99);
  });
});
