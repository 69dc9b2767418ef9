/**
 * The cost guard's decisions by shape class, against what `npm run bench:web-speed` measured on
 * onnxruntime-web 1.30 wasm, 1 thread (docs/WEB-SPEED.md): a layer between float ops keeps int8
 * activations only where its QDQ form measured faster than float32 there; inside a chain of int8
 * layers (no float edges) a marginal one keeps them too. Each model is then compressed for real
 * and onnxruntime-node shows the kernels the kept layers become.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeNode, makeValueInfo } from '../../onnx/build';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import { conv, floatModel, inputDims, layerModel, layerWeights, matmul, type LayerSpec } from '../../testing/layer-models';
import { resnetLikeModel } from '../../testing/resnet';
import { compressModel } from '../compress';
import { gaussian } from '../testing/fixtures';
import { seeded } from '../../testing/random';
import { makeRecipe } from '../recipe';
import { collectCalibration, type Sample } from './calibrate';
import { guardActivations, type GuardLayer } from './cost';
import { opCounts, opTypes, ortRunModel } from './testing/ort-node';

const planned = (m: Model): GuardLayer[] =>
  (m.graph?.nodes ?? []).filter((n) => ['Conv', 'MatMul', 'Gemm'].includes(n.opType ?? '')).map((n) => ({ key: n.name ?? '', node: n }));
const decide = (m: Model) => guardActivations(m, planned(m));

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

/** Calibrates on random inputs with onnxruntime-node and compresses for target wasm with int8 activations. */
async function compressed(m: Model, input: string, dims: number[]): Promise<{ rows: Record<string, string>; notes: Record<string, string[]>; ops: Record<string, number> }> {
  const samples: Sample[] = [1, 2, 3].map((s) => ({ [input]: { dtype: 'float32', dims, data: gaussian(seeded(s), dims.reduce((p, d) => p * d, 1), 1) } }));
  const calibration = await collectCalibration(m, samples, ortRunModel());
  const { model, report } = compressModel(m, makeRecipe('wasm', { weights: 'int8', activations: 'int8' }), { calibration });
  return { rows: Object.fromEntries(report.layers.map((l) => [l.key, l.applied ?? ''])), notes: Object.fromEntries(report.layers.map((l) => [l.key, l.notes])), ops: await optimizedOps(encodeModel(model)) };
}

// measured float32 / QDQ (uint8) ratio, two passes of the table, 1 thread
const between: [LayerSpec, boolean, string][] = [
  [conv('pointwise 256->256 @10x10', 256, 256, 1, 10), true, '1.63-1.88x'],
  [conv('3x3 32->64 @40x40', 32, 64, 3, 40), true, '1.63-2.22x'],
  [conv('3x3 16->32 @16x16', 16, 32, 3, 16), true, '1.14-1.60x'],
  [matmul('MatMul [1,128,256]x[256,256]', 128, 256, 256), true, '1.55-2.05x'],
  [matmul('MatMul [1,64,768]x[768,3072]', 64, 768, 3072), true, '2.06-2.23x'],
  [conv('pointwise 32->64 @20x20', 32, 64, 1, 20), false, '0.80-0.86x'],
  [conv('pointwise 64->128 @40x40', 64, 128, 1, 40), false, '1.07-1.43x: marginal, the Q/DQ of 300 k elements eat most of it'],
  [conv('depthwise 3x3 128 @40x40', 128, 128, 3, 40, 128), false, '0.32-0.46x'],
  [matmul('MatMul [1,32,64]x[64,128]', 32, 64, 128), false, '0.99-1.0x'],
];

describe('the cost guard by shape class (one layer between float ops)', () => {
  for (const [spec, keep, measured] of between) {
    it(`${spec.name}: ${keep ? 'int8 activations' : 'weights only'} (measured ${measured})`, () => {
      const d = decide(floatModel(spec));
      expect(d.keep.has('layer')).toBe(keep);
      if (keep) expect(d.gains.get('layer')).toBeGreaterThan(0);
      else expect(d.reasons.get('layer')).toMatch(/^int8 activations: /);
    });
  }

  it('a depthwise Conv says why, and a MatMul of one row (a matrix-vector product) and a Gemm keep their weights only', () => {
    expect(decide(floatModel(conv('dw', 128, 128, 3, 40, 128))).reasons.get('layer')).toMatch(/a grouped or depthwise Conv: onnxruntime-web's int8 kernel for it is slower than float32/);
    expect(decide(floatModel(matmul('gemv', 1, 4096, 4096))).reasons.get('layer')).toMatch(/^int8 activations: 1 row \(a matrix-vector product\), below the 16/);
    const w = layerWeights(matmul('g', 64, 512, 512));
    const gemm = layerModel([makeNode('Gemm', ['x', 'w'], ['y'], [], { name: 'layer' })], [makeTensor('w', DataType.FLOAT, [512, 512], w.w)], [['x', [64, 512]]], [['y', [64, 512]]]);
    expect(decide(gemm).reasons.get('layer')).toMatch(/^int8 activations: onnxruntime-web runs Gemm integer kernels/);
  });

  it('the marginal pointwise Conv keeps int8 activations inside a chain of int8 Convs (no float edges around it), and onnxruntime runs three QLinearConv', async () => {
    // 3x3 64->64 -> Relu -> pointwise 64->128 -> Relu -> 3x3 128->64, at 40x40
    const mk = (name: string, cin: number, cout: number, k: number) => layerWeights(conv(name, cin, cout, k, 40)).w;
    const nodes = [
      makeNode('Conv', ['x', 'w1', 'b1'], ['y1'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])], { name: 'a' }),
      makeNode('Relu', ['y1'], ['r1']),
      makeNode('Conv', ['r1', 'w2', 'b2'], ['y2'], [attr.ints('kernel_shape', [1, 1])], { name: 'pointwise' }),
      makeNode('Relu', ['y2'], ['r2']),
      makeNode('Conv', ['r2', 'w3', 'b3'], ['y'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])], { name: 'c' }),
    ];
    const inits = [
      makeTensor('w1', DataType.FLOAT, [64, 64, 3, 3], mk('a', 64, 64, 3)),
      makeTensor('w2', DataType.FLOAT, [128, 64, 1, 1], mk('p', 64, 128, 1)),
      makeTensor('w3', DataType.FLOAT, [64, 128, 3, 3], mk('c', 128, 64, 3)),
      ...[['b1', 64], ['b2', 128], ['b3', 64]].map(([n, c]) => makeTensor(n as string, DataType.FLOAT, [c as number], new Float32Array(c as number).fill(0.01))),
    ];
    const m = layerModel(nodes, inits, [['x', [1, 64, 40, 40]]], [['y', [1, 64, 40, 40]]]);
    const d = decide(m);
    expect([...d.keep].sort()).toEqual(['a', 'c', 'pointwise']);
    // alone between float ops the same layer loses (see above); here it only saves
    expect(d.gains.get('pointwise')).toBeGreaterThan(0);
    const { rows, notes, ops } = await compressed(m, 'x', [1, 64, 40, 40]);
    expect(rows).toEqual({ a: 'int8-qdq', pointwise: 'int8-qdq', c: 'int8-qdq' });
    // each kept layer's row gives its estimated gain
    expect(notes.pointwise).toContain(`int8 activations: estimated to save ${((d.gains.get('pointwise') ?? 0) / 1000).toFixed(1)} µs per run on wasm (1 thread), its quantize / dequantize steps counted`);
    expect(ops['com.microsoft.QLinearConv']).toBe(3);
    expect(ops.QuantizeLinear).toBe(1);
  });

  it('one pointwise Conv between float ops is compressed to weights only; a 3x3 one to QLinearConv (its dynamic form ties with it side by side: static QDQ kept)', async () => {
    const pw = await compressed(floatModel(conv('pw', 32, 64, 1, 20)), 'x', inputDims(conv('pw', 32, 64, 1, 20)));
    expect(pw.rows.layer).toBe('int8-cast-mul');
    expect(pw.ops['com.microsoft.QLinearConv'] ?? 0).toBe(0);
    const c3 = await compressed(floatModel(conv('c3', 32, 64, 3, 40)), 'x', inputDims(conv('c3', 32, 64, 3, 40)));
    expect(c3.rows.layer).toBe('int8-qdq');
    expect(c3.ops['com.microsoft.QLinearConv']).toBe(1);
    expect(c3.ops.ConvInteger ?? 0).toBe(0);
  });
});

describe('the cost guard on a ResNet-like model', () => {
  it('keeps int8 activations on every 3x3 Conv after the stem; the stem (27 multiply-adds per value), the 1x1 projections (little work, a float Add after them) and the fc keep their weights only', () => {
    const m = resnetLikeModel();
    m.graph!.inputs = [makeValueInfo('image', DataType.FLOAT, [1, 3, 96, 96])];
    const d = decide(m);
    const convs = planned(m).filter((l) => l.node.opType === 'Conv').map((l) => l.key);
    expect(convs.filter((k) => !d.keep.has(k))).toEqual(['stem', 'layer2.0.downsample', 'layer3.0.downsample']);
    expect(d.reasons.get('layer2.0.downsample')).toMatch(/each output value takes 32 multiply-adds \(a thin Conv\)/);
    expect(d.reasons.get('layer3.0.downsample')).toMatch(/less than quantizing and dequantizing the tensors it shares with float ops costs/);
    expect(d.reasons.get('fc')).toMatch(/Gemm/);
    expect(d.dropped).toBeUndefined();
  });
});
