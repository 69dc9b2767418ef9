import { describe, expect, it } from 'vitest';
import { BUILTIN_DEFAULTS, makeRecipe, serializeRecipe, type PartialLayerSettings, type Recipe } from '../compress/recipe';
import {
  bulkChanges,
  COALESCE_MS,
  draftPatch,
  touchDraft,
  HISTORY_LIMIT,
  commit,
  effectiveDefaults,
  history,
  importRecipe,
  redo,
  resolveAll,
  undo,
  withDefaults,
  withLayers,
  withoutLayers,
  type BulkDraft,
  type RecipeHistory,
} from './recipe-edits';

const LAYERS = [
  { key: '/enc/conv1/Conv', op: 'Conv' },
  { key: '/enc/conv2/Conv', op: 'Conv' },
  { key: '/head/fc/MatMul', op: 'MatMul' },
];
const [A, B, C] = LAYERS.map((l) => l.key);
const KNOWN = new Set(LAYERS.map((l) => l.key));
const empty = () => makeRecipe('portable', {});

/** A small driver in the store's shape: edits commit into the history. */
function editor() {
  let h: RecipeHistory = history(empty());
  let clock = 1_000_000;
  return {
    get h() {
      return h;
    },
    tick(ms: number) {
      clock += ms;
    },
    set(keys: string[], patch: PartialLayerSettings, tag?: string) {
      h = commit(h, withLayers(h.recipe, KNOWN, keys, patch), tag, clock);
    },
    defaults(patch: PartialLayerSettings) {
      h = commit(h, withDefaults(h.recipe, patch), undefined, clock);
    },
    replace(recipe: Recipe) {
      h = commit(h, recipe, undefined, clock);
    },
    undo() {
      h = undo(h);
    },
    redo() {
      h = redo(h);
    },
  };
}

describe('recipe edits', () => {
  it('starts empty: every layer at the built-in defaults', () => {
    const r = resolveAll(empty(), LAYERS);
    expect(r[A]).toEqual({ ...BUILTIN_DEFAULTS, overridden: false });
    expect(r['nope']).toBeUndefined();
    expect(serializeRecipe(empty())).toContain('"layers": {}');
  });

  it('writes only the keys that differ from the defaults, and keeps other layers untouched', () => {
    const before = resolveAll(empty(), LAYERS);
    const r1 = withLayers(empty(), KNOWN, [A], { weights: 'int4', granularity: 'per-channel' });
    expect(r1.layers).toEqual({ [A]: { weights: 'int4' } });
    const after = resolveAll(r1, LAYERS, before);
    expect(after[A]).toMatchObject({ weights: 'int4', overridden: true });
    // unchanged layers keep their object, so per-layer subscribers do not re-render
    expect(after[B]).toBe(before[B]);
    expect(after[A]).not.toBe(before[A]);
    // back to the default value: the key goes, and the empty override with it
    expect(withLayers(r1, KNOWN, [A], { weights: 'fp32' }).layers).toEqual({});
    // unknown keys are ignored
    expect(withLayers(empty(), KNOWN, ['nope'], { weights: 'int8' }).layers).toEqual({});
  });

  it('compares overrides with the recipe defaults, not the built-in ones', () => {
    const d = withDefaults(empty(), { weights: 'int8', granularity: 'per-channel' });
    // per-channel is the built-in default: only weights is written
    expect(d.defaults).toEqual({ weights: 'int8' });
    expect(effectiveDefaults(d).weights).toBe('int8');
    const r = withLayers(d, KNOWN, [A], { weights: 'int8', prune: 0.5 });
    expect(r.layers).toEqual({ [A]: { prune: 0.5 } });
    expect(resolveAll(r, LAYERS)[B]).toMatchObject({ weights: 'int8', prune: 0, overridden: false });
  });

  it('undoes and redoes every edit, and a new edit drops the redo steps', () => {
    const e = editor();
    e.set([A], { weights: 'int4' });
    e.set([B, C], { prune: 0.5 });
    e.replace({ ...e.h.recipe, target: 'webgpu' });
    expect(e.h.past).toHaveLength(3);

    e.undo();
    expect(e.h.recipe.target).toBe('portable');
    e.undo();
    expect(e.h.recipe.layers).toEqual({ [A]: { weights: 'int4' } });
    e.redo();
    expect(e.h.recipe.layers[B]).toEqual({ prune: 0.5 });
    expect(resolveAll(e.h.recipe, LAYERS)[C].prune).toBe(0.5);
    expect(e.h.future).toHaveLength(1);

    e.set([A], { weights: 'int8' });
    expect(e.h.future).toEqual([]);
    e.undo();
    e.undo();
    e.undo();
    expect(e.h.recipe.layers).toEqual({});
    // nothing left to undo: the same history comes back
    const h = e.h;
    e.undo();
    expect(e.h).toBe(h);
    expect(e.h.future).toHaveLength(3);
    e.redo();
    e.redo();
    e.redo();
    expect(e.h.recipe.layers).toEqual({ [A]: { weights: 'int8' }, [B]: { prune: 0.5 }, [C]: { prune: 0.5 } });
    expect(redo(e.h)).toBe(e.h);
  });

  it('merges a slider drag (same tag, quick succession) into one step', () => {
    const e = editor();
    e.set([A], { prune: 0.1 }, 'A:prune');
    e.tick(100);
    e.set([A], { prune: 0.2 }, 'A:prune');
    e.tick(100);
    e.set([A], { prune: 0.3 }, 'A:prune');
    expect(e.h.past).toHaveLength(1);
    // another control is another step
    e.set([A], { weights: 'int4' }, 'A:weights');
    expect(e.h.past).toHaveLength(2);
    // the same control after a pause is another step too
    e.tick(COALESCE_MS + 1);
    e.set([A], { weights: 'int8' }, 'A:weights');
    expect(e.h.past).toHaveLength(3);
    e.undo();
    e.undo();
    expect(e.h.recipe.layers).toEqual({ [A]: { prune: 0.3 } });
    e.undo();
    expect(e.h.recipe.layers).toEqual({});
  });

  it('leaves no step for an edit that changes nothing', () => {
    const e = editor();
    const h = e.h;
    e.set([A], { weights: 'fp32' });
    e.defaults({ prune: 0 });
    e.replace(empty());
    e.set(['not-a-layer'], { weights: 'int4' });
    expect(e.h).toBe(h);
  });

  it('clears overrides so the layers follow the defaults again', () => {
    const r = withLayers(empty(), KNOWN, [A, B], { weights: 'int4' });
    expect(Object.keys(r.layers)).toEqual([A, B]);
    expect(withoutLayers(r, [A, B]).layers).toEqual({});
  });

  it('keeps at most HISTORY_LIMIT steps', () => {
    const e = editor();
    for (let i = 0; i < HISTORY_LIMIT + 5; i++) e.set([A], { prune: (i % 2) * 0.5 + 0.1 });
    expect(e.h.past).toHaveLength(HISTORY_LIMIT);
  });

  it('imports a valid recipe; serialization gives it back in the CLI order', () => {
    const text = JSON.stringify({
      format: 'onnx-compression-recipe',
      version: 1,
      target: 'wasm',
      defaults: { weights: 'int8' },
      layers: { [C]: { weights: 'int4', granularity: 'block', blockSize: 64 } },
    });
    const r = importRecipe(text, LAYERS);
    const resolved = resolveAll(r, LAYERS);
    expect(resolved[C]).toMatchObject({ weights: 'int4', granularity: 'block', blockSize: 64 });
    expect(resolved[A].weights).toBe('int8');
    const out = serializeRecipe(r);
    expect(JSON.parse(out)).toEqual(JSON.parse(text));
    expect(out.indexOf('"format"')).toBeLessThan(out.indexOf('"layers"'));
  });

  it('rejects an invalid recipe with a message naming the key', () => {
    const bad = (layers: unknown, defaults: unknown = {}) => JSON.stringify({ format: 'onnx-compression-recipe', version: 1, defaults, layers });
    expect(() => importRecipe(bad({ [B]: { weights: 'int3' } }), LAYERS)).toThrow(`layers["${B}"].weights: expected one of fp32, fp16, int8, int4, got "int3"`);
    expect(() => importRecipe(bad({ conv9: { prune: 0.5 } }), LAYERS)).toThrow('layers["conv9"]: names no layer of this model');
    expect(() => importRecipe(bad({}, { prune: 0.99 }), LAYERS)).toThrow(/^defaults\.prune: /);
    expect(() => importRecipe('{ not json', LAYERS)).toThrow(/^recipe: not valid JSON/);
  });
});

describe('bulk edits (issue #13: a bulk edit applies only what the user touched in it)', () => {
  const CONVS = [A, B];

  it('does not carry a Weights choice made for one op type to another', () => {
    const e = editor();
    // MatMuls: int4, applied
    let draft: BulkDraft | undefined = touchDraft(undefined, 'op:MatMul', { weights: 'int4' });
    e.set([C], draftPatch(draft, 'op:MatMul'));
    // then Convs: prune 30% only
    draft = touchDraft(draft, 'op:Conv', { prune: 0.3 });
    expect(draftPatch(draft, 'op:Conv')).toEqual({ prune: 0.3 });
    e.set(CONVS, draftPatch(draft, 'op:Conv'));
    const r = resolveAll(e.h.recipe, LAYERS);
    expect(r[A]).toMatchObject({ weights: 'fp32', prune: 0.3 });
    expect(r[B]).toMatchObject({ weights: 'fp32', prune: 0.3 });
    expect(r[C]).toMatchObject({ weights: 'int4', prune: 0 });
    expect(e.h.recipe.layers).toEqual({ [A]: { prune: 0.3 }, [B]: { prune: 0.3 }, [C]: { weights: 'int4' } });
  });

  it('keeps refining the same scope: prune, then its method, both applied', () => {
    let draft = touchDraft(undefined, 'group:/enc/', { prune: 0.5 });
    draft = touchDraft(draft, 'group:/enc/', { pruneMethod: 'channel' });
    expect(draftPatch(draft, 'group:/enc/')).toEqual({ prune: 0.5, pruneMethod: 'channel' });
    expect(draftPatch(draft, 'group:/head/')).toEqual({});
  });

  it('says exactly what it will change before Apply, key by key', () => {
    const recipe = withLayers(empty(), KNOWN, [A], { weights: 'int8' });
    const changes = bulkChanges(recipe, LAYERS, CONVS, { weights: 'int8', prune: 0.3 });
    expect(changes).toEqual([
      // A is int8 already: only B changes
      { key: 'weights', to: 'int8', layers: 1, from: ['fp32'] },
      { key: 'prune', to: 0.3, layers: 2, from: [0] },
    ]);
    // an untouched key is not listed, and a patch that changes nothing says so (0 layers)
    expect(bulkChanges(recipe, LAYERS, [A], { weights: 'int8' })).toEqual([{ key: 'weights', to: 'int8', layers: 0, from: [] }]);
    expect(bulkChanges(recipe, LAYERS, CONVS, {})).toEqual([]);
  });
});
