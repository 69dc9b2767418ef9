import { describe, expect, it } from 'vitest';
import { METHODS, SETTINGS } from './methods';
import { BUILTIN_DEFAULTS, parseRecipe, SETTING_KEYS } from './recipe';

describe('the methods registry', () => {
  it('gives the recipe its keys in RECIPE.md order and its built-in defaults', () => {
    expect(METHODS.map((m) => m.id)).toEqual(['quantize', 'recovery', 'prune', 'activations']);
    expect(SETTING_KEYS).toEqual(['weights', 'granularity', 'blockSize', 'symmetric', 'recovery', 'actOrder', 'orderSearch', 'equalize', 'clipSearch', 'prune', 'pruneMethod', 'activations']);
    expect(BUILTIN_DEFAULTS).toEqual({
      weights: 'fp32',
      granularity: 'per-channel',
      blockSize: 32,
      symmetric: true,
      recovery: 'none',
      actOrder: false,
      orderSearch: false,
      equalize: false,
      clipSearch: false,
      prune: 0,
      pruneMethod: 'magnitude',
      activations: 'fp32',
    });
  });

  it('every entry accepts its default and the values its control offers, and the recipe takes them', () => {
    for (const [key, spec] of Object.entries(SETTINGS)) {
      expect(spec.accepts(spec.default), key).toBe(true);
      const offered: unknown[] = spec.control === 'choice' || spec.control === 'list' ? [...spec.values] : spec.control === 'toggle' ? [true, false] : [0, spec.max];
      for (const v of offered) {
        expect(spec.accepts(v), `${key}=${String(v)}`).toBe(true);
        expect(parseRecipe({ format: 'onnx-compression-recipe', version: 1, defaults: { [key]: v } }).defaults).toEqual({ [key]: v });
      }
    }
  });

  it("a recipe error quotes the entry's expectation", () => {
    for (const [key, spec] of Object.entries(SETTINGS)) {
      expect(() => parseRecipe({ format: 'onnx-compression-recipe', version: 1, layers: { fc: { [key]: 'x3' } } })).toThrow(
        `layers["fc"].${key}: expected ${spec.expected}, got "x3"`,
      );
    }
  });

  it('an editor row is shown when its entry says so', () => {
    const s = { ...BUILTIN_DEFAULTS };
    const shown = (view: Record<string, unknown>, target: string) =>
      Object.entries(SETTINGS)
        .filter(([, spec]) => spec.shown?.(view, target) ?? true)
        .map(([k]) => k);
    expect(shown(s, 'portable')).toEqual(['weights', 'prune']);
    expect(shown({ ...s, weights: 'int4', granularity: 'block', prune: 0.3 }, 'wasm')).toEqual([
      'weights',
      'granularity',
      'blockSize',
      'symmetric',
      'recovery',
      'equalize',
      'clipSearch',
      'prune',
      'pruneMethod',
      'activations',
    ]);
    // sequential is not promised as the best: on some models one pass is closer (RECIPE-NOTES table)
    expect(SETTINGS.recovery.hint).not.toMatch(/best quality/);
    expect(SETTINGS.recovery.hint).toMatch(/not always/);
    // activation order applies to every GPTQ sweep: one pass and sequential rounds alike
    const int4 = { ...s, weights: 'int4' };
    expect(shown({ ...int4, recovery: 'none' }, 'portable')).not.toContain('actOrder');
    expect(shown({ ...int4, recovery: 'bias' }, 'portable')).not.toContain('actOrder');
    expect(shown({ ...int4, recovery: 'gptq' }, 'portable')).toContain('actOrder');
    expect(shown({ ...int4, recovery: 'sequential' }, 'portable')).toContain('actOrder');
    // fp32 with magnitude pruning: recovery repairs it (clipping is for quantized weights)
    expect(shown({ ...s, prune: 0.5 }, 'portable')).toEqual(['weights', 'recovery', 'prune', 'pruneMethod']);
  });
});
