import { describe, expect, it } from 'vitest';
import type { PartialLayerSettings, Recipe, Target } from '../../compress/recipe';
import { downloadName, recipeSummary } from './file-name';

const makeRecipe = (target: Target, defaults: PartialLayerSettings, layers: Recipe['layers'] = {}): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target,
  defaults,
  layers,
});

describe('compressed file names', () => {
  it('summarizes the defaults, the target and the overrides', () => {
    expect(recipeSummary(makeRecipe('portable', { weights: 'int8', granularity: 'per-channel' }))).toBe('int8-per-channel.portable');
    expect(recipeSummary(makeRecipe('webgpu', { weights: 'int4', granularity: 'block', blockSize: 64, symmetric: false }))).toBe(
      'int4-block64-asym.webgpu',
    );
    expect(recipeSummary(makeRecipe('wasm', { weights: 'fp16', prune: 0.5 }, { a: { weights: 'fp32' } }))).toBe('fp16-prune50.wasm.1-layer');
    expect(recipeSummary(makeRecipe('portable', {}, { a: {}, b: {} }))).toBe('fp32.portable.2-layers');
    expect(recipeSummary(makeRecipe('wasm', { weights: 'int8', activations: 'int8', prune: 0.3, pruneMethod: 'channel' }))).toBe(
      'int8-per-channel-chprune30-act-int8.wasm',
    );
    // recovery changes the weights written: it is in the name
    expect(recipeSummary(makeRecipe('portable', { weights: 'int4', granularity: 'block', blockSize: 32, recovery: 'gptq' } as never))).toBe('int4-block32-gptq.portable');
    // so do activation order, equalization and clipping: two downloads differing only there do not share a name
    expect(recipeSummary(makeRecipe('portable', { weights: 'int4', recovery: 'sequential', actOrder: true, equalize: true, clipSearch: true } as never))).toBe('int4-per-channel-sequential-actorder-equalized-clipped.portable');
    expect(recipeSummary(makeRecipe('portable', { weights: 'int4', actOrder: true } as never))).toBe('int4-per-channel.portable');
    // both orders (activation order's own switch then does nothing)
    expect(recipeSummary(makeRecipe('portable', { weights: 'int8', recovery: 'gptq', actOrder: true, orderSearch: true } as never))).toBe('int8-per-channel-gptq-bothorders.portable');
  });

  it('builds <model>.<summary>.onnx with a safe stem', () => {
    const r = makeRecipe('portable', { weights: 'int8' });
    expect(downloadName('digits-cnn.onnx', r)).toBe('digits-cnn.int8-per-channel.portable.onnx');
    expect(downloadName('dir/sub/My Model (v2).ONNX', r)).toBe('My_Model_v2_.int8-per-channel.portable.onnx');
    expect(downloadName('.onnx', r)).toBe('model.int8-per-channel.portable.onnx');
  });
});
