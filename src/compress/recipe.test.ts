import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { BUILTIN_DEFAULTS, cleanupOptions, parseRecipe, parseRecipeText, resolveRecipe, serializeRecipe } from './recipe';

/** The example of RECIPE.md, verbatim. */
const EXAMPLE = {
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights: 'int8', granularity: 'per-channel', blockSize: 32, symmetric: true, prune: 0, pruneMethod: 'magnitude' },
  layers: {
    conv1: { weights: 'fp32' },
    'blocks.3.attn.qkv': { weights: 'int4', granularity: 'block', blockSize: 32 },
    'blocks.3.mlp.fc1': { prune: 0.5, pruneMethod: 'channel' },
  },
};

function errorOf(json: unknown): AppError {
  try {
    parseRecipe(json);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('invalid-argument');
    return e as AppError;
  }
  throw new Error('expected parseRecipe to fail');
}

const withDefaults = (d: Record<string, unknown>) => ({ format: 'onnx-compression-recipe', version: 1, defaults: d });
const withLayer = (key: string, d: Record<string, unknown>) => ({ format: 'onnx-compression-recipe', version: 1, layers: { [key]: d } });

describe('parseRecipe', () => {
  it('accepts the RECIPE.md example', () => {
    const r = parseRecipe(EXAMPLE);
    expect(r.target).toBe('portable');
    expect(r.defaults).toEqual(EXAMPLE.defaults);
    expect(r.layers['blocks.3.mlp.fc1']).toEqual({ prune: 0.5, pruneMethod: 'channel' });
  });

  it('fills in target, defaults and layers when left out', () => {
    expect(parseRecipe({ format: 'onnx-compression-recipe', version: 1 })).toEqual({
      format: 'onnx-compression-recipe',
      version: 1,
      target: 'portable',
      defaults: {},
      layers: {},
    });
  });

  it('names the key path and the bad value in every error', () => {
    expect(errorOf(withLayer('conv1', { weights: 'int3' })).message).toBe(
      'layers["conv1"].weights: expected one of fp32, fp16, int8, int4, got "int3"',
    );
    expect(errorOf(withDefaults({ blockSize: 48 })).message).toBe('defaults.blockSize: expected a power of two from 16 to 256, got 48');
    expect(errorOf(withDefaults({ blockSize: 8 })).message).toMatch(/^defaults\.blockSize: .* got 8$/);
    expect(errorOf(withDefaults({ blockSize: 512 })).message).toMatch(/^defaults\.blockSize: .* got 512$/);
    expect(errorOf(withDefaults({ blockSize: '32' })).message).toMatch(/^defaults\.blockSize: .* got "32"$/);
    expect(errorOf(withDefaults({ prune: 0.96 })).message).toBe('defaults.prune: expected a number from 0 to 0.95, got 0.96');
    expect(errorOf(withDefaults({ prune: -0.1 })).message).toMatch(/^defaults\.prune: /);
    expect(errorOf(withDefaults({ prune: Number.NaN })).message).toMatch(/^defaults\.prune: /);
    expect(errorOf(withDefaults({ symmetric: 'yes' })).message).toBe('defaults.symmetric: expected true or false, got "yes"');
    expect(errorOf(withDefaults({ granularity: 'row' })).message).toMatch(/^defaults\.granularity: expected one of per-tensor, per-channel, block/);
    expect(errorOf(withDefaults({ pruneMethod: 'random' })).message).toMatch(/^defaults\.pruneMethod: /);
    expect(errorOf(withDefaults({ activations: 'int4' })).message).toMatch(/^defaults\.activations: expected one of fp32, int8/);
    expect(errorOf(withLayer('a.b', { weigths: 'int8' })).message).toMatch(/^layers\["a\.b"\]\.weigths: unknown key/);
    expect(errorOf(withDefaults({ extra: 1 })).message).toMatch(/^defaults\.extra: unknown key/);
    expect(errorOf({ ...EXAMPLE, targets: 'wasm' }).message).toMatch(/^targets: unknown key/);
    expect(errorOf({ ...EXAMPLE, target: 'gpu' }).message).toBe('target: expected one of portable, wasm, webgpu, got "gpu"');
    expect(errorOf({ ...EXAMPLE, version: 2 }).message).toBe('version: expected 1, got 2');
    expect(errorOf({ ...EXAMPLE, format: 'x' }).message).toMatch(/^format: /);
    expect(errorOf({ ...EXAMPLE, layers: [] }).message).toBe('layers: expected an object, got an array');
    expect(errorOf(withLayer('conv1', 'int8' as unknown as Record<string, unknown>)).message).toBe('layers["conv1"]: expected an object, got "int8"');
    expect(errorOf([]).message).toMatch(/^recipe: /);
  });

  it('reports malformed JSON text as an AppError', () => {
    expect(() => parseRecipeText('{ "format": ')).toThrow(/^recipe: not valid JSON/);
  });
});

describe('serializeRecipe', () => {
  it('gives the same bytes for the same recipe, whatever the key order', () => {
    const a = parseRecipe(EXAMPLE);
    const shuffled = {
      layers: {
        'blocks.3.mlp.fc1': { pruneMethod: 'channel', prune: 0.5 },
        conv1: { weights: 'fp32' },
        'blocks.3.attn.qkv': { blockSize: 32, granularity: 'block', weights: 'int4' },
      },
      defaults: { pruneMethod: 'magnitude', prune: 0, symmetric: true, blockSize: 32, granularity: 'per-channel', weights: 'int8' },
      target: 'portable',
      version: 1,
      format: 'onnx-compression-recipe',
    };
    const text = serializeRecipe(a);
    expect(serializeRecipe(parseRecipe(shuffled))).toBe(text);
    expect(parseRecipe(JSON.parse(text))).toEqual(a);
    expect(text.startsWith('{\n  "format": "onnx-compression-recipe",\n  "version": 1,\n  "target": "portable",')).toBe(true);
    expect(text.indexOf('"blocks.3.attn.qkv"')).toBeLessThan(text.indexOf('"blocks.3.mlp.fc1"'));
    expect(text.indexOf('"blocks.3.mlp.fc1"')).toBeLessThan(text.indexOf('"conv1"'));
    expect(text.endsWith('}\n')).toBe(true);
  });
});

describe('resolveRecipe', () => {
  const layers = [
    { key: 'conv1', op: 'Conv' },
    { key: 'blocks.3.attn.qkv', op: 'MatMul' },
    { key: 'blocks.3.mlp.fc1', op: 'MatMul' },
    { key: 'head', op: 'Gemm' },
  ];

  it('merges built-in defaults, recipe defaults and per-layer overrides', () => {
    const r = resolveRecipe(parseRecipe(EXAMPLE), layers);
    expect(r.map((x) => x.key)).toEqual(layers.map((l) => l.key));
    expect(r[0].settings).toEqual({ ...BUILTIN_DEFAULTS, ...EXAMPLE.defaults, weights: 'fp32' });
    expect(r[1].settings).toMatchObject({ weights: 'int4', granularity: 'block', blockSize: 32, symmetric: true });
    expect(r[2].settings).toMatchObject({ weights: 'int8', prune: 0.5, pruneMethod: 'channel' });
    expect(r[3].settings).toEqual({ ...BUILTIN_DEFAULTS, ...EXAMPLE.defaults });
    expect(r[3].overridden).toBe(false);
    expect(r[0].overridden).toBe(true);
  });

  it('leaves every layer at fp32 when the recipe says nothing', () => {
    const r = resolveRecipe(parseRecipe({ format: 'onnx-compression-recipe', version: 1 }), layers);
    for (const x of r) expect(x.settings).toEqual(BUILTIN_DEFAULTS);
  });

  it('fails naming a layer key that names no layer', () => {
    const recipe = parseRecipe({ ...EXAMPLE, layers: { ...EXAMPLE.layers, 'conv9': { weights: 'int4' } } });
    expect(() => resolveRecipe(recipe, layers)).toThrow('layers["conv9"]: names no layer of this model');
  });
});

describe('the optional cleanup section', () => {
  const base = { format: 'onnx-compression-recipe', version: 1 };
  const all = (on: boolean) => ({ constantsToInitializers: on, dropIdentity: on, foldBatchNorm: on, removeDead: on, shareInitializers: on });

  it('is absent unless given, and every pass runs by default', () => {
    const r = parseRecipe(base);
    expect('cleanup' in r).toBe(false);
    expect(cleanupOptions(r)).toEqual(all(true));
    expect(serializeRecipe(r)).not.toContain('cleanup');
  });

  it('takes true, false, or single passes turned off or on', () => {
    expect(cleanupOptions(parseRecipe({ ...base, cleanup: false }))).toEqual(all(false));
    expect(cleanupOptions(parseRecipe({ ...base, cleanup: true }))).toEqual(all(true));
    expect(cleanupOptions(parseRecipe({ ...base, cleanup: { foldBatchNorm: false } }))).toEqual({ ...all(true), foldBatchNorm: false });
  });

  it('names the offending key', () => {
    expect(errorOf({ ...base, cleanup: 1 }).message).toBe('cleanup: expected true, false or an object, got 1');
    expect(errorOf({ ...base, cleanup: { foldBN: false } }).message).toBe(
      'cleanup.foldBN: unknown key (expected one of constantsToInitializers, dropIdentity, foldBatchNorm, removeDead, shareInitializers)',
    );
    expect(errorOf({ ...base, cleanup: { removeDead: 'no' } }).message).toBe('cleanup.removeDead: expected true or false, got "no"');
  });

  it('serializes after target, passes in their fixed order, and round-trips', () => {
    const text = serializeRecipe(parseRecipe({ ...base, layers: {}, defaults: {}, cleanup: { shareInitializers: false, dropIdentity: true } }));
    expect(Object.keys(JSON.parse(text))).toEqual(['format', 'version', 'target', 'cleanup', 'defaults', 'layers']);
    expect(JSON.parse(text).cleanup).toEqual({ dropIdentity: true, shareInitializers: false });
    expect(Object.keys(JSON.parse(text).cleanup)).toEqual(['dropIdentity', 'shareInitializers']);
    expect(serializeRecipe(parseRecipeText(text))).toBe(text);
    expect(JSON.parse(serializeRecipe(parseRecipe({ ...base, cleanup: false }))).cleanup).toBe(false);
  });
});
