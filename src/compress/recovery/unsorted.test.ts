/** Recovery on a model whose nodes are not in topological order (src/onnx/topo.ts, src/testing/unsorted.ts). */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../onnx/codec';
import { loadModel } from '../../onnx/load';
import { unsortedModel } from '../../testing/unsorted';
import type { Recipe } from '../recipe';
import { collectHessians } from './hessian';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';

describe('recovery on a graph listed out of order', () => {
  it('loaded (put in order), the statistics copy runs; as the file came, the copy has no Resize before the Concat and onnxruntime refuses it', async () => {
    const loaded = loadModel(encodeModel(unsortedModel(false)));
    const recipe: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int8', granularity: 'per-channel', recovery: 'gptq' }, layers: {} };
    const samples = [0, 1, 2].map((k) => ({ x: { dtype: 'float32' as const, dims: [1, 3, 4, 4], data: Float32Array.from({ length: 48 }, (_, i) => Math.cos(i * (k + 1))) } }));
    const h = await collectHessians(loaded.model, recoveryLayers(loaded.model, recipe), samples, nodeRunModel());
    expect([...h.keys()].sort()).toEqual(['conv1', 'conv2']);
    expect(h.get('conv2')!.rows).toBe(3 * 64);
    // the file as it came: the copy has no Resize before conv2 and onnxruntime refuses it
    const raw = unsortedModel(false);
    await expect(collectHessians(raw, recoveryLayers(raw, recipe), samples, nodeRunModel())).rejects.toThrow(/c32|Invalid model/);
  });
});
