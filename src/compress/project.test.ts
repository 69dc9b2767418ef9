import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { findLayers } from '../onnx/layers';
import { makeTensor } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import { compressModel, modelTensorBytes } from './compress';
import { projectionInput, projectSize, type ProjectionInput } from './project';
import { BUILTIN_DEFAULTS, fp16Compute, makeRecipe, resolveRecipe, type LayerSettings, type PartialLayerSettings } from './recipe';
import { cnnFixture, mlpFixture } from './testing/fixtures';

/** (`k` keeps tensors of one shape apart: identical ones would be stored once, clean-up's shared initializers) */
const fill = (n: number, k = 0) => Float32Array.from({ length: n }, (_, i) => ((i % 13) - 6) / 10 + k / 100);

/**
 * x[1,4,6,6] -> Conv "enc/conv" (W [8,4,3,3] = 288 values, 1152 B; bias [8], 32 B)
 *   -> BatchNormalization "enc/bn" (4 x [8] = 128 B, not a layer);
 * y[1,16] -> MatMul "head/fc" (W [16,10] = 160 values, 640 B).
 * Stored tensors: 1152 + 32 + 128 + 640 = 1952 bytes.
 */
function model() {
  const graph = makeGraph({
    nodes: [
      makeNode('Conv', ['x', 'conv.w', 'conv.b'], ['c'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'enc/conv' }),
      makeNode('BatchNormalization', ['c', 'bn.s', 'bn.b', 'bn.m', 'bn.v'], ['n'], [], { name: 'enc/bn' }),
      makeNode('MatMul', ['y', 'fc.w'], ['z'], [], { name: 'head/fc' }),
    ],
    initializers: [
      makeTensor('conv.w', DataType.FLOAT, [8, 4, 3, 3], fill(288)),
      makeTensor('conv.b', DataType.FLOAT, [8], fill(8)),
      makeTensor('bn.s', DataType.FLOAT, [8], fill(8, 1)),
      makeTensor('bn.b', DataType.FLOAT, [8], fill(8, 2)),
      makeTensor('bn.m', DataType.FLOAT, [8], fill(8, 3)),
      makeTensor('bn.v', DataType.FLOAT, [8], fill(8, 4)),
      makeTensor('fc.w', DataType.FLOAT, [16, 10], fill(160)),
    ],
    inputs: [makeValueInfo('x', DataType.FLOAT, [1, 4, 6, 6]), makeValueInfo('y', DataType.FLOAT, [1, 16])],
    outputs: [makeValueInfo('n', DataType.FLOAT, [1, 8, 6, 6]), makeValueInfo('z', DataType.FLOAT, [1, 10])],
  });
  return makeModel({ graph, opsetImport: [{ domain: '', version: 13 }], irVersion: 8 });
}

function input(): ProjectionInput {
  const m = model();
  return projectionInput(m, findLayers(m), modelTensorBytes(m));
}

const settings =
  (byKey: Record<string, PartialLayerSettings>, defaults: PartialLayerSettings = {}) =>
  (key: string): LayerSettings => ({ ...BUILTIN_DEFAULTS, ...defaults, ...byKey[key] });

describe('projectionInput', () => {
  it('reduces the layers to bytes, counts and axes', () => {
    const p = input();
    expect(p.totalBytes).toBe(1952);
    expect(p.layers.map((l) => l.key)).toEqual(['enc/conv', 'head/fc']);
    const [conv, fc] = p.layers;
    expect(conv.weights).toEqual([
      { id: 'main|conv.w', role: 'weight', bytes: 1152, elements: 288, channels: 8, blockLen: 36 },
      { id: 'main|conv.b', role: 'bias', bytes: 32, elements: 8, channels: 8 },
    ]);
    // MatMul B [K=16, N=10]: channels along N, blocks along K
    expect(fc.weights).toEqual([{ id: 'main|fc.w', role: 'weight', bytes: 640, elements: 160, channels: 10, blockLen: 16, matMulB: true }]);
  });
});

describe('projectSize', () => {
  it('changes nothing under the built-in defaults', () => {
    const r = projectSize(input(), settings({}));
    expect(r.before).toBe(1952);
    expect(r.after).toBe(1952);
    expect(r.zip).toBe(1952);
    // outside the layer weights: conv bias 32 + batch norm 128
    expect(r.other).toBe(160);
    expect(r.byWeights.fp32).toEqual({ layers: 2, before: 1792, after: 1792 });
  });

  it('int8 per-channel: a byte per value plus a float scale per output channel', () => {
    const r = projectSize(input(), settings({}, { weights: 'int8' }));
    // conv 288 + 8 * 4 = 320; fc 160 + 10 * 4 = 200
    expect(r.byWeights.int8).toEqual({ layers: 2, before: 1792, after: 520 });
    expect(r.after).toBe(1952 - 1792 + 520);
  });

  it('int4 per-tensor, per-channel and block (asymmetric adds zero points)', () => {
    const p = input();
    const conv = (s: PartialLayerSettings) => projectSize(p, settings({ 'enc/conv': s }), 'portable', 'enc/conv').focus;
    // per-tensor: 144 + 4; the bias stays (32)
    expect(conv({ weights: 'int4', granularity: 'per-tensor' })).toEqual({ key: 'enc/conv', before: 1184, after: 148 + 32, zip: 180 });
    // per-channel: 144 + 8 * 4
    expect(conv({ weights: 'int4' })?.after).toBe(176 + 32);
    // block 16 over 36-long rows: 8 rows x 3 blocks = 24 groups. Portable pads the codes to whole
    // blocks (8 x 48 = 384 nibbles = 192 bytes) and stores a byte per zero point: 192 + 96 + 24
    expect(conv({ weights: 'int4', granularity: 'block', blockSize: 16, symmetric: false })?.after).toBe(312 + 32);
    // webgpu: the same (onnxruntime-web has no WebGPU int4 DequantizeLinear: portable encoding)
    const dq = projectSize(p, settings({ 'enc/conv': { weights: 'int4', granularity: 'block', blockSize: 16, symmetric: false } }), 'webgpu', 'enc/conv');
    expect(dq.focus?.after).toBe(312 + 32);
    // int8 there is DequantizeLinear: codes 288, scales 96, a byte per zero point (24)
    const dq8 = projectSize(p, settings({ 'enc/conv': { weights: 'int8', granularity: 'block', blockSize: 16, symmetric: false } }), 'webgpu', 'enc/conv');
    expect(dq8.focus?.after).toBe(288 + 96 + 24 + 32);
    // int8 asymmetric per-channel: 288 + 32 + 8
    expect(conv({ weights: 'int8', symmetric: false })?.after).toBe(328 + 32);
    // fp16: 2 bytes a value
    expect(conv({ weights: 'fp16' })?.after).toBe(576 + 32);
    // MatMul block 32 over K = 16: one block per column, 10 groups
    const fc = projectSize(p, settings({ 'head/fc': { weights: 'int4', granularity: 'block', blockSize: 32 } }), 'portable', 'head/fc').focus;
    expect(fc?.after).toBe(80 + 40);
    // webgpu, block 32, asymmetric: MatMulNBits pads K = 16 to one 32-block per column (10 x 16 bytes),
    // 10 scales, zero points packed per column (10 x 1 byte)
    const nbits = projectSize(p, settings({ 'head/fc': { weights: 'int4', granularity: 'block', blockSize: 32, symmetric: false } }), 'webgpu', 'head/fc');
    expect(nbits.focus?.after).toBe(160 + 40 + 10);
  });

  it('magnitude pruning keeps the stored size and estimates the zipped size', () => {
    const r = projectSize(input(), settings({ 'head/fc': { prune: 0.5 } }), 'portable', 'head/fc');
    expect(r.focus).toEqual({ key: 'head/fc', before: 640, after: 640, zip: 340 });
    expect(r.after).toBe(1952);
    expect(r.zip).toBe(1952 - 640 + 340);
    expect(r.pruned).toEqual({ magnitude: 1, channel: 0 });
  });

  it('channel pruning shrinks the weight and its bias', () => {
    const r = projectSize(input(), settings({ 'enc/conv': { prune: 0.5, pruneMethod: 'channel' } }), 'portable', 'enc/conv');
    // 4 of 8 filters kept: 576 + 16
    expect(r.focus?.after).toBe(592);
    // combined with int8 per-channel: 144 values + 4 scales
    const q = projectSize(input(), settings({ 'enc/conv': { prune: 0.5, pruneMethod: 'channel', weights: 'int8' } }), 'portable', 'enc/conv');
    expect(q.focus?.after).toBe(144 + 16 + 16);
  });

  it('counts a layer the compressor would refuse as it is, with the reason', () => {
    const p: ProjectionInput = {
      totalBytes: 400,
      layers: [{ key: 'g', op: 'Gather', weights: [{ id: 'main|e', role: 'weight', bytes: 400, elements: 100 }] }],
    };
    const r = projectSize(p, settings({}, { weights: 'int8' }));
    expect(r.after).toBe(400);
    expect(r.unsupportedCount).toBe(1);
    expect(r.unsupported[0].reason).toMatch(/per-channel needs an output-channel axis/);
  });

  it('counts a tensor shared by two layers once', () => {
    const w = { id: 'main|tied', role: 'weight' as const, bytes: 400, elements: 100, channels: 10, blockLen: 10 };
    const p: ProjectionInput = {
      totalBytes: 400,
      layers: [
        { key: 'a', op: 'MatMul', weights: [w] },
        { key: 'b', op: 'MatMul', weights: [w] },
      ],
    };
    expect(projectSize(p, settings({}, { weights: 'int8' })).after).toBe(100 + 40);
  });

  it('agrees with what the compressor stores (portable and webgpu targets)', () => {
    for (const f of [cnnFixture(), mlpFixture()]) {
      const layers = findLayers(f.model);
      const p = projectionInput(f.model, layers, modelTensorBytes(f.model));
      const cases: PartialLayerSettings[] = [
        { weights: 'fp16' },
        { weights: 'int8' },
        { weights: 'int8', granularity: 'per-tensor', symmetric: false },
        { weights: 'int4' },
        { weights: 'int4', symmetric: false },
        { weights: 'int4', granularity: 'block', blockSize: 32 },
        { weights: 'int4', granularity: 'block', blockSize: 16, symmetric: false },
        { weights: 'int8', granularity: 'block', blockSize: 16 },
      ];
      for (const target of ['portable', 'webgpu'] as const) {
        for (const defaults of cases) {
          const recipe = makeRecipe(target, defaults);
          const byKey = new Map(resolveRecipe(recipe, layers).map((r) => [r.key, r.settings]));
          const projected = projectSize(p, (k) => byKey.get(k) as LayerSettings, target, undefined, fp16Compute(recipe));
          const { report } = compressModel(f.model, recipe);
          const what = `${f.name} ${target} ${JSON.stringify(defaults)}: stored ${report.bytesAfter}, projected ${projected.after}`;
          expect(report.layersFailed, what).toBe(0);
          // the compressor adds small constants for its decode chains (scalars, Reshape shapes,
          // Slice bounds), which the projection leaves out: at most 128 bytes a layer
          const slack = 128 * layers.length;
          expect(Math.abs(report.bytesAfter - projected.after), what).toBeLessThanOrEqual(slack);
          expect(report.bytesBefore).toBe(projected.before);
        }
      }
    }
  });
});
