/**
 * A Conv solved group by group (depthwise: one group per output channel) where some groups' inputs
 * are all zero on the calibration samples: the row counts those groups (it said "its inputs were
 * all zero on the calibration samples" beside "layer output error 27% → 8.5%" on mobilenet-v3 at
 * 50% pruning, as if the whole layer had no inputs), and its errors are the whole output's,
 * Σ‖Ŷ − Y‖² / Σ‖Y‖², as onnxruntime measures them on the calibration samples (they were the
 * mean of the groups' relative errors, the dead groups counted as 0).
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor, tensorValues } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import type { Recipe } from '../recipe';
import { collectHessians } from './hessian';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();
const C = 6;
const S = 8;

/** x [1, 6, 8, 8] → Conv 3x3 pads 1, `group` groups, no bias → y [1, 6, 8, 8] */
function convModel(group: number, w: Float32Array): Model {
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      nodes: [makeNode('Conv', ['x', 'w'], ['y'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.int('group', group)], { name: 'conv' })],
      initializers: [makeTensor('w', DataType.FLOAT, [C, C / group, 3, 3], w)],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, C, S, S])],
      outputs: [makeValueInfo('y', DataType.FLOAT, [1, C, S, S])],
    }),
  });
}

/** Smooth images with noise; the channels in `dead` are 0 everywhere (after a Relu that never fires). */
function samples(n: number, seed: number, dead: readonly number[]): Sample[] {
  const rng = seeded(seed);
  return Array.from({ length: n }, () => {
    const data = new Float32Array(C * S * S);
    for (let c = 0; c < C; c++) {
      if (dead.includes(c)) continue;
      const [a, b, p] = [rng() * 2 - 1, rng() * 2 - 1, rng() * 6];
      for (let i = 0; i < S * S; i++) data[c * S * S + i] = a * Math.sin((i % S) * 0.7 + p) + b * Math.cos(Math.floor(i / S) * 0.5) + 0.3 * (rng() * 2 - 1);
    }
    return { x: { dtype: 'float32', dims: [1, C, S, S], data } };
  });
}

const recipe = (weights: 'fp32' | 'int8'): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights, granularity: 'per-channel', prune: 0.5, pruneMethod: 'magnitude', recovery: 'gptq' },
  layers: {},
});

/** Σ‖ŷ − y‖² / Σ‖y‖² over the samples, as onnxruntime runs both models. */
async function relativeError(original: Uint8Array, other: Uint8Array, cal: readonly Sample[]): Promise<number> {
  let err = 0;
  let energy = 0;
  for (const s of cal) {
    const [y, z] = [(await run(original, s)).y.data as Float32Array, (await run(other, s)).y.data as Float32Array];
    for (let i = 0; i < y.length; i++) {
      err += (z[i] - y[i]) ** 2;
      energy += y[i] ** 2;
    }
  }
  return err / energy;
}

/** The row's recovery gptq words (a row's notes are joined by "; "). */
const gptqNote = (notes: readonly string[]): string | undefined => /recovery gptq: [^;]*/.exec(notes.join('; '))?.[0];

/** The weight the Conv reads in `m` (its name may change when it is rewritten). */
const written = (m: Model): Float32Array => {
  const name = m.graph!.nodes.find((n) => n.opType === 'Conv')!.inputs[1];
  return Float32Array.from(tensorValues(m.graph!.initializers.find((t) => t.name === name)!) as ArrayLike<number>);
};

describe('recovery gptq on a Conv whose groups have dead inputs', () => {
  for (const [group, dead, note] of [
    [C, [1, 4], 'recovery gptq: 2 of 6 output channels: their inputs were all zero on the calibration samples, kept as pruned'],
    [3, [2, 3], 'recovery gptq: 1 of 3 Conv groups (2 output channels each): its inputs were all zero on the calibration samples, kept as pruned'],
  ] as const) {
    it(`group ${group}, input channels ${dead.join(', ')} dead, fp32 at 50% pruning: the row counts the dead groups, its errors are the whole output's`, async () => {
      const rng = seeded(11);
      const w = Float32Array.from({ length: C * (C / group) * 9 }, () => rng() * 2 - 1);
      const model = convModel(group, w);
      const cal = samples(16, 12, dead);
      const hessians = await collectHessians(model, recoveryLayers(model, recipe('fp32')), cal, run);
      expect(hessians.get('conv')?.h.length).toBe(group);
      const result = compressModel(model, recipe('fp32'), { recovery: hessians });
      const [row] = result.report.layers;
      expect(gptqNote(row.notes)).toBe(note);
      const rec = row.weights.find((x) => x.recovery)!.recovery!;
      // the repaired weights: the dead groups' weights are all pruned (their inputs score 0), the others refit
      const repaired = written(result.model);
      const perGroup = (C / group) * (C / group) * 9;
      const deadGroups = [...new Set(dead.map((c) => Math.floor(c / (C / group))))];
      for (const g of deadGroups) expect(Array.from(repaired.subarray(g * perGroup, (g + 1) * perGroup)).every((v) => v === 0)).toBe(true);
      // pruning alone with the same mask: the original values where the repair kept a weight
      const plain = w.map((v, i) => (repaired[i] === 0 ? 0 : v));
      const [original, pruned, after] = [encodeModel(model), encodeModel(convModel(group, plain)), encodeModel(result.model)];
      const [eBefore, eAfter] = [await relativeError(original, pruned, cal), await relativeError(original, after, cal)];
      console.log(`group ${group}: layer output error ${rec.errorBefore.toExponential(4)} → ${rec.errorAfter.toExponential(4)}; onnxruntime ${eBefore.toExponential(4)} → ${eAfter.toExponential(4)}`);
      expect(Math.abs(rec.errorBefore - eBefore)).toBeLessThan(1e-4 * eBefore);
      expect(Math.abs(rec.errorAfter - eAfter)).toBeLessThan(1e-4 * eBefore);
      expect(eAfter).toBeLessThan(eBefore / 2);
    });
  }

  it('int8 weights: the dead channels keep their pruned, rounded codes and the row says so; no dead input, no such words', async () => {
    const rng = seeded(13);
    const w = Float32Array.from({ length: C * 9 }, () => rng() * 2 - 1);
    const model = convModel(C, w);
    const dead = await collectHessians(model, recoveryLayers(model, recipe('int8')), samples(16, 14, [0, 2, 5]), run);
    expect(gptqNote(compressModel(model, recipe('int8'), { recovery: dead }).report.layers[0].notes)).toBe(
      'recovery gptq: 3 of 6 output channels: their inputs were all zero on the calibration samples, kept as pruned and rounded to nearest',
    );
    const live = await collectHessians(model, recoveryLayers(model, recipe('int8')), samples(16, 14, []), run);
    expect(compressModel(model, recipe('int8'), { recovery: live }).report.layers[0].notes.join(' ')).not.toMatch(/all zero/);
  });
});
