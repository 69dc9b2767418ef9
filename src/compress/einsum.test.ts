/**
 * Einsum weights (a linear layer written as `torch.einsum`): the equation says which of the
 * weight's axes is its output channel and which it sums over, so per-channel scales and blocks
 * work as for MatMul. Checked in onnxruntime-node against the original's outputs.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model } from '../onnx/types';
import { compressModel } from './compress';
import { makeRecipe } from './recipe';
import { nodeRunModel } from './recovery/testing/node-run';
import { einsumAxes } from './weights';

const run = nodeRunModel();

describe('einsumAxes', () => {
  it("the weight's output channel is the letter it shares only with the output, its blocks run along the one it shares only with the other operand", () => {
    expect(einsumAxes('bti,oi->bto', 1, 2)).toEqual({ channelAxis: 0, blockAxis: 1 });
    expect(einsumAxes('bct,oc->bto', 1, 2)).toEqual({ channelAxis: 0, blockAxis: 1 });
    expect(einsumAxes('io,bti->bto', 0, 2)).toEqual({ channelAxis: 1, blockAxis: 0 });
    expect(einsumAxes('...i, io -> ...o', 1, 2)).toEqual({ channelAxis: 1, blockAxis: 0 });
    // implicit output (letters that appear once, alphabetical): "bto"
    expect(einsumAxes('bti,oi', 1, 2)).toEqual({ channelAxis: 0, blockAxis: 1 });
    // two summed letters: per-channel only; two output letters: blocks only
    expect(einsumAxes('bthd,hdo->bto', 1, 3)).toEqual({ channelAxis: 2 });
    expect(einsumAxes('bti,ihd->bthd', 1, 3)).toEqual({ blockAxis: 0 });
    // none: a repeated letter, an ellipsis in the weight, three operands, the wrong rank
    expect(einsumAxes('bti,ii->bti', 1, 2)).toEqual({});
    expect(einsumAxes('bti,...i->bt', 1, 2)).toEqual({});
    expect(einsumAxes('bi,io,oj->bj', 1, 2)).toEqual({});
    expect(einsumAxes('bti,oi->bto', 1, 3)).toEqual({});
  });

  for (const [granularity, weights] of [['per-channel', 'int8'], ['block', 'int4']] as const) {
    it(`an Einsum linear layer compresses ${weights} ${granularity}, its output close to the original`, async () => {
      const rng = seeded(2);
      const [B, TT, I, O] = [2, 5, 32, 12];
      const w = Float32Array.from({ length: O * I }, () => rng() * 2 - 1);
      const model: Model = makeModel({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 13 }],
        graph: makeGraph({
          nodes: [makeNode('Einsum', ['x', 'w'], ['y'], [attr.string('equation', 'bti,oi->bto')], { name: 'lin' })],
          initializers: [makeTensor('w', DataType.FLOAT, [O, I], w)],
          inputs: [makeValueInfo('x', DataType.FLOAT, [B, TT, I])],
          outputs: [makeValueInfo('y', DataType.FLOAT, [B, TT, O])],
        }),
      });
      const r = compressModel(model, makeRecipe('portable', { weights, granularity, blockSize: 16 }));
      const row = r.report.layers[0];
      expect(row.error).toBeUndefined();
      expect(row.bytesAfter).toBeLessThan(row.bytesBefore / (weights === 'int8' ? 3 : 4));
      const x = { dtype: 'float32' as const, dims: [B, TT, I], data: Float32Array.from({ length: B * TT * I }, () => rng() * 2 - 1) };
      const [a, b] = [(await run(encodeModel(model), { x })).y.data as Float32Array, (await run(encodeModel(r.model), { x })).y.data as Float32Array];
      let [dot, na, nb] = [0, 0, 0];
      for (let i = 0; i < a.length; i++) [dot, na, nb] = [dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(weights === 'int8' ? 0.9999 : 0.99);
    });
  }
});
