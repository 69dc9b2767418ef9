import { describe, expect, it } from 'vitest';
import { inspectFixture as model } from '../onnx/testing/inspect-fixture';
import { projectRecipe } from './project-recipe';
import { makeRecipe } from './recipe';

describe('projectRecipe', () => {
  it('projects the open model under a recipe, with the focus layer', () => {
    const loaded = model();
    const r = projectRecipe(loaded, makeRecipe('portable', { weights: 'int8' }), '/enc/conv/Conv');
    // conv.w 72 B -> 18 codes + 2 scales (8 B) = 26 B (its bias stays: 8 B)
    expect(r.focus).toEqual({ key: '/enc/conv/Conv', before: 80, after: 34, zip: 34 });
    // the sparse Gather table (2 float values + 2 int64 indices = 24 B) is stored dense:
    // 20 codes + 4 row scales (16 B) = 36 B
    // bn.v equals bn.s and bn.m equals bn.b ([1, 1] and [0, 0]): clean-up stores each pair once (−2 × 8 B)
    expect(r.after).toBe(r.before - 72 + 26 - 24 + 36 - 16);
    expect(() => projectRecipe(loaded, makeRecipe('portable', {}, { conv9: { weights: 'int4' } }))).toThrow('layers["conv9"]: names no layer of this model');
  });
});
