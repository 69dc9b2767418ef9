/**
 * The compression recipe, format version 1 (see RECIPE.md): parse and validate untrusted JSON,
 * resolve per-layer settings against a model's layers, and serialize with a stable key order.
 *
 * Every validation failure is an AppError('invalid-argument') whose message starts with the
 * key path, e.g. `layers["conv1"].weights: expected one of fp32, fp16, int8, int4, got "int3"`.
 */
import { AppError } from '../core/errors';
import { CLEANUP_PASSES, type CleanupOptions, type CleanupPass } from './cleanup/meta';
import { SETTINGS, type LayerSettings, type SettingKey } from './methods';

export const RECIPE_FORMAT = 'onnx-compression-recipe';
export const RECIPE_VERSION = 1;

export const TARGETS = ['portable', 'wasm', 'webgpu'] as const;
export type Target = (typeof TARGETS)[number];

// The per-layer settings are the methods' (methods.ts); the recipe format re-exports their values.
export { ACTIVATION_MODES, type ActivationMode } from './activations/meta';
export { MAX_PRUNE, PRUNE_METHODS, type PruneMethod } from './prune/meta';
export { GRANULARITIES, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, WEIGHT_MODES, type Granularity, type WeightMode } from './quantize/meta';
export type { LayerSettings, SettingKey } from './methods';

/** Settings as written in a recipe: any subset. */
export type PartialLayerSettings = Partial<LayerSettings>;

/**
 * Optional `cleanup` section: `true` / `false` turns every clean-up pass on / off; an object
 * turns single passes off (or on), the rest keep their default (on). Left out: every pass on.
 */
export type CleanupSetting = boolean | Partial<Record<CleanupPass, boolean>>;

export interface Recipe {
  format: typeof RECIPE_FORMAT;
  version: typeof RECIPE_VERSION;
  target: Target;
  /** which clean-up passes run before compression (optional; absent = all) */
  cleanup?: CleanupSetting;
  defaults: PartialLayerSettings;
  /** layer key (node name) -> overrides */
  layers: Record<string, PartialLayerSettings>;
}

/** What a key left out of both `defaults` and `layers` means: the layer is left untouched. */
export const BUILTIN_DEFAULTS: Readonly<LayerSettings> = Object.freeze(
  Object.fromEntries(Object.entries(SETTINGS).map(([k, spec]) => [k, spec.default])) as unknown as LayerSettings,
);

/** Canonical order of the per-layer keys (also the serialization order): the methods' keys in registry order. */
export const SETTING_KEYS: readonly SettingKey[] = Object.freeze(Object.keys(SETTINGS) as SettingKey[]);
const TOP_KEYS = ['format', 'version', 'target', 'cleanup', 'defaults', 'layers'] as const;

function fail(path: string, message: string): never {
  throw new AppError('invalid-argument', `${path}: ${message}`);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  fail(path, `expected one of ${allowed.join(', ')}, got ${show(v)}`);
}

/** The JSON key path of a layer, quoted so that any node name reads unambiguously. */
export function layerPath(key: string): string {
  return `layers[${JSON.stringify(key)}]`;
}

function parseSettings(path: string, v: unknown): PartialLayerSettings {
  if (!isPlainObject(v)) fail(path, `expected an object, got ${show(v)}`);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const p = `${path}.${key}`;
    if (!Object.hasOwn(SETTINGS, key)) fail(p, `unknown key (expected one of ${SETTING_KEYS.join(', ')})`);
    const spec = SETTINGS[key as SettingKey];
    const value = v[key];
    if (!spec.accepts(value)) fail(p, `expected ${spec.expected}, got ${show(value)}`);
    out[key] = value;
  }
  return out as PartialLayerSettings;
}

function parseCleanup(v: unknown): CleanupSetting {
  if (typeof v === 'boolean') return v;
  if (!isPlainObject(v)) fail('cleanup', `expected true, false or an object, got ${show(v)}`);
  const out: Partial<Record<CleanupPass, boolean>> = {};
  for (const key of Object.keys(v)) {
    if (!(CLEANUP_PASSES as readonly string[]).includes(key)) fail(`cleanup.${key}`, `unknown key (expected one of ${CLEANUP_PASSES.join(', ')})`);
    const value = v[key];
    if (typeof value !== 'boolean') fail(`cleanup.${key}`, `expected true or false, got ${show(value)}`);
    out[key as CleanupPass] = value;
  }
  return out;
}

/** Which clean-up passes a recipe runs (every pass unless the recipe turns it off). */
export function cleanupOptions(recipe: Recipe): CleanupOptions {
  const c = recipe.cleanup;
  const all = (on: boolean) => Object.fromEntries(CLEANUP_PASSES.map((p) => [p, on])) as CleanupOptions;
  if (c === undefined || c === true) return all(true);
  if (c === false) return all(false);
  return { ...all(true), ...c };
}

/**
 * Validates untrusted JSON (already parsed) as a version 1 recipe. `target`, `defaults` and
 * `layers` may be left out (portable, nothing, nothing). Throws AppError('invalid-argument')
 * naming the first offending key.
 */
export function parseRecipe(json: unknown): Recipe {
  if (!isPlainObject(json)) fail('recipe', `expected a JSON object, got ${show(json)}`);
  for (const key of Object.keys(json)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) fail(key, `unknown key (expected one of ${TOP_KEYS.join(', ')})`);
  }
  if (json.format !== RECIPE_FORMAT) fail('format', `expected ${JSON.stringify(RECIPE_FORMAT)}, got ${show(json.format)}`);
  if (json.version !== RECIPE_VERSION) fail('version', `expected ${RECIPE_VERSION}, got ${show(json.version)}`);
  const target = json.target === undefined ? 'portable' : oneOf('target', json.target, TARGETS);
  const cleanup = json.cleanup === undefined ? undefined : parseCleanup(json.cleanup);
  const defaults = json.defaults === undefined ? {} : parseSettings('defaults', json.defaults);
  const layers: Record<string, PartialLayerSettings> = {};
  if (json.layers !== undefined) {
    if (!isPlainObject(json.layers)) fail('layers', `expected an object, got ${show(json.layers)}`);
    for (const key of Object.keys(json.layers)) {
      if (key === '') fail('layers[""]', 'a layer key must not be empty');
      layers[key] = parseSettings(layerPath(key), json.layers[key]);
    }
  }
  return { format: RECIPE_FORMAT, version: RECIPE_VERSION, target, ...(cleanup === undefined ? {} : { cleanup }), defaults, layers };
}

/** Parses recipe text; malformed JSON is an AppError naming the problem. */
export function parseRecipeText(text: string): Recipe {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AppError('invalid-argument', `recipe: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return parseRecipe(json);
}

function orderedSettings(s: PartialLayerSettings): PartialLayerSettings {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) if (s[k] !== undefined) out[k] = s[k];
  return out as PartialLayerSettings;
}

/** Code-unit order, the same in every JS engine and locale. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * JSON text of a recipe with a fixed key order (top-level keys as in RECIPE.md, setting keys in
 * SETTING_KEYS order, layers sorted by key), two-space indented, newline-terminated: the same
 * recipe always gives the same bytes.
 */
export function serializeRecipe(recipe: Recipe): string {
  const layers: Record<string, PartialLayerSettings> = {};
  for (const key of Object.keys(recipe.layers).sort(compareKeys)) layers[key] = orderedSettings(recipe.layers[key]);
  const c = recipe.cleanup;
  const cleanup =
    c === undefined ? {} : { cleanup: typeof c === 'boolean' ? c : Object.fromEntries(CLEANUP_PASSES.filter((p) => c[p] !== undefined).map((p) => [p, c[p]])) };
  const doc = {
    format: RECIPE_FORMAT,
    version: RECIPE_VERSION,
    target: recipe.target,
    ...cleanup,
    defaults: orderedSettings(recipe.defaults),
    layers,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The minimum a resolver needs to know about a layer. */
export interface LayerRef {
  key: string;
  op: string;
}

export interface ResolvedLayer {
  key: string;
  op: string;
  settings: LayerSettings;
  /** true when the recipe names this layer in `layers` */
  overridden: boolean;
}

/**
 * Effective settings for every layer: built-in defaults <- recipe.defaults <- recipe.layers[key].
 * A key in `layers` that names no layer is an error naming it (checked before anything is
 * returned, so a caller applies all or nothing).
 */
export function resolveRecipe(recipe: Recipe, layers: readonly LayerRef[]): ResolvedLayer[] {
  const known = new Set(layers.map((l) => l.key));
  for (const key of Object.keys(recipe.layers).sort(compareKeys)) {
    if (!known.has(key)) fail(layerPath(key), 'names no layer of this model');
  }
  const base = merge({ ...BUILTIN_DEFAULTS }, recipe.defaults);
  return layers.map((l) => {
    const own = Object.hasOwn(recipe.layers, l.key) ? recipe.layers[l.key] : undefined;
    return { key: l.key, op: l.op, settings: own ? merge({ ...base }, own) : { ...base }, overridden: own !== undefined };
  });
}

/**
 * The recipe resolved once: checks its layer keys against `layers` (as resolveRecipe does) and
 * returns the effective settings of a layer key (a fresh object per call). Layers that appear
 * later under a key the recipe names (none do today) get that override too.
 */
export function settingsResolver(recipe: Recipe, layers: readonly LayerRef[]): (key: string) => LayerSettings {
  resolveRecipe(recipe, layers);
  const base = merge({ ...BUILTIN_DEFAULTS }, recipe.defaults);
  return (key) => (Object.hasOwn(recipe.layers, key) ? merge({ ...base }, recipe.layers[key]) : { ...base });
}

function merge(into: LayerSettings, over: PartialLayerSettings): LayerSettings {
  const target = into as unknown as Record<string, unknown>;
  for (const k of SETTING_KEYS) if (over[k] !== undefined) target[k] = over[k];
  return into;
}

/** A recipe applying `defaults` to every layer. */
/**
 * Whether the recipe turns the model's float computation to float16 (fp16/compute.ts): target
 * webgpu with fp16 default weights. Other fp16 layers store float16 weights and compute float32.
 */
export function fp16Compute(recipe: Pick<Recipe, 'target' | 'defaults'>): boolean {
  return recipe.target === 'webgpu' && recipe.defaults.weights === 'fp16';
}

export function makeRecipe(target: Target, defaults: PartialLayerSettings, layers: Record<string, PartialLayerSettings> = {}): Recipe {
  return { format: RECIPE_FORMAT, version: RECIPE_VERSION, target, defaults, layers };
}
