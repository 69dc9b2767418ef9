/**
 * Cross-layer equalization on a MobileNet-like chain (Conv → Relu → depthwise Conv → Relu → Conv)
 * whose first Conv has channels of very different ranges: the float model computes the same after
 * equalization (onnxruntime-node), and int8 per-tensor weights come out closer to the original.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor } from '../../onnx/tensor';
import { DataType } from '../../onnx/types';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import { nodeRunModel, worstOutputCosine } from './testing/node-run';

function chain() {
  const rng = seeded(21);
  const g = () => Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng());
  // 16 channels whose ranges span 1000x (as after folding BatchNormalization into a Conv), and
  const scale = Array.from({ length: 16 }, (_, c) => 10 ** ((c % 4) - 1.5));
  const w1 = Float32Array.from({ length: 16 * 3 * 3 * 3 }, (_, i) => g() * 0.3 * scale[Math.floor(i / 27)]);
  const b1 = Float32Array.from({ length: 16 }, (_, c) => 0.05 * scale[c]);
  // the next layer makes up for it (what training does when a BatchNormalization scales a channel down)
  const w2 = Float32Array.from({ length: 16 * 9 }, (_, i) => (g() * 0.3) / scale[Math.floor(i / 9)]);
  const w3 = Float32Array.from({ length: 8 * 16 }, () => g() * 0.3);
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      name: 'mobile-chain',
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 3, 12, 12])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, 8, 12, 12])],
      initializers: [makeTensor('w1', DataType.FLOAT, [16, 3, 3, 3], w1), makeTensor('b1', DataType.FLOAT, [16], b1), makeTensor('w2', DataType.FLOAT, [16, 1, 3, 3], w2), makeTensor('w3', DataType.FLOAT, [8, 16, 1, 1], w3)],
      nodes: [
        makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv1' }),
        makeNode('Relu', ['c1'], ['r1'], [], { name: 'relu1' }),
        makeNode('Conv', ['r1', 'w2'], ['c2'], [attr.ints('pads', [1, 1, 1, 1]), attr.int('group', 16)], { name: 'dw' }),
        makeNode('Relu', ['c2'], ['r2'], [], { name: 'relu2' }),
        makeNode('Conv', ['r2', 'w3'], ['y'], [], { name: 'pw' }),
      ],
    }),
  });
}

const recipe = (defaults: Recipe['defaults']): Recipe => ({ format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults, layers: {} });

describe('cross-layer equalization', () => {
  const rng = seeded(5);
  const held = Array.from({ length: 6 }, () => ({ x: { dtype: 'float32', dims: [1, 3, 12, 12], data: Float32Array.from({ length: 3 * 144 }, () => rng() * 2 - 1) } }));
  const run = nodeRunModel();

  it('keeps what the float model computes, and the file size', async () => {
    const model = chain();
    const eq = compressModel(model, recipe({ weights: 'fp32', equalize: true }));
    expect(eq.report.notes.join(' ')).toMatch(/cross-layer equalization: 2 Conv pairs \(conv1 → dw, dw → pw\)/);
    const [a, b] = [encodeModel(model), encodeModel(eq.model)];
    expect(await worstOutputCosine(run, a, b, held)).toBeGreaterThan(0.999999);
    expect(Math.abs(b.length - a.length)).toBeLessThan(128);
  });

  it('int8 per-tensor: the equalized model is closer to the original', async () => {
    const model = chain();
    const original = encodeModel(model);
    const plain = encodeModel(compressModel(model, recipe({ weights: 'int8', granularity: 'per-tensor' })).model);
    const equalized = encodeModel(compressModel(model, recipe({ weights: 'int8', granularity: 'per-tensor', equalize: true })).model);
    const [cPlain, cEq] = [await worstOutputCosine(run, original, plain, held), await worstOutputCosine(run, original, equalized, held)];
    console.log(`mobile chain int8 per-tensor: held-out worst cosine ${cPlain.toFixed(6)} -> equalized ${cEq.toFixed(6)}`);
    expect(1 - cEq).toBeLessThan((1 - cPlain) / 2);
  });
});
