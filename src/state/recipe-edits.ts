/**
 * Recipe edits and their history, as pure functions (the recipe store wires them to the page).
 *
 * - Overrides hold only the keys that differ from the defaults (an edit back to the default
 *   removes the key, and a layer with no keys left leaves `layers`).
 * - Every change of the recipe is one undo step; rapid changes of the same control (a slider
 *   drag) with the same `tag` within COALESCE_MS merge into one step. Edits that change nothing
 *   leave no step. At most HISTORY_LIMIT steps are kept.
 * - Resolution reuses the previous per-layer objects that did not change, so a component
 *   subscribed to one layer re-renders only when that layer changes.
 */
import {
  BUILTIN_DEFAULTS,
  parseRecipeText,
  resolveRecipe,
  SETTING_KEYS,
  type LayerSettings,
  type PartialLayerSettings,
  type Recipe,
  type SettingKey,
  type WeightMode,
} from '../compress/recipe';

export type WeightsSetting = WeightMode;

/** A layer's effective settings, as the graph and the inspector show them. */
export interface LayerSettingView extends LayerSettings {
  weights: WeightsSetting;
  prune: number;
  pruneMethod: 'magnitude' | 'channel';
  /** the recipe sets this layer on its own (it has an entry in `layers`) */
  overridden: boolean;
}

export interface LayerInfo {
  key: string;
  op: string;
  /** an earlier layer whose stored weight it reads (ModelSummary's sharedWith): one encoding, that layer's */
  sharedWith?: string;
}

/** Edits merge into one undo step when they carry the same tag this close together. */
export const COALESCE_MS = 1000;
/** Undo steps kept. */
export const HISTORY_LIMIT = 200;

export interface RecipeHistory {
  recipe: Recipe;
  past: Recipe[];
  future: Recipe[];
  /** the last edit's tag and time, for merging a drag into one step */
  lastEdit: { tag: string; at: number } | undefined;
}

export function history(recipe: Recipe): RecipeHistory {
  return { recipe, past: [], future: [], lastEdit: undefined };
}

function sameSettings(a: PartialLayerSettings, b: PartialLayerSettings): boolean {
  for (const k of SETTING_KEYS) if (a[k] !== b[k]) return false;
  return true;
}

export function sameRecipe(a: Recipe, b: Recipe): boolean {
  if (a.target !== b.target || !sameSettings(a.defaults, b.defaults)) return false;
  const ka = Object.keys(a.layers);
  if (ka.length !== Object.keys(b.layers).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b.layers, k) || !sameSettings(a.layers[k], b.layers[k])) return false;
  }
  return true;
}

/** Keys of `s` whose value differs from `base` (the rest are dropped). */
function differing(s: PartialLayerSettings, base: LayerSettings): PartialLayerSettings {
  const out: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) {
    const v = s[k as SettingKey];
    if (v !== undefined && v !== base[k as SettingKey]) out[k] = v;
  }
  return out as PartialLayerSettings;
}

function withDefined(into: PartialLayerSettings, patch: PartialLayerSettings): PartialLayerSettings {
  const out: Record<string, unknown> = { ...into };
  for (const k of SETTING_KEYS) if (patch[k] !== undefined) out[k] = patch[k];
  return out as PartialLayerSettings;
}

/** The effective defaults of a recipe: built-in defaults under its `defaults`. */
export function effectiveDefaults(recipe: Recipe): LayerSettings {
  return { ...BUILTIN_DEFAULTS, ...differing(recipe.defaults, BUILTIN_DEFAULTS) };
}

/** The recipe with `patch` merged into its defaults (keys equal to the built-in defaults left out). */
export function withDefaults(recipe: Recipe, patch: PartialLayerSettings): Recipe {
  return { ...recipe, defaults: differing(withDefined(recipe.defaults, patch), BUILTIN_DEFAULTS) };
}

/** The recipe with `patch` set on the layers `keys` (those in `known`); only keys differing from the defaults stay. */
export function withLayers(recipe: Recipe, known: ReadonlySet<string> | Record<string, unknown>, keys: readonly string[], patch: PartialLayerSettings): Recipe {
  const has = known instanceof Set ? (k: string) => known.has(k) : (k: string) => Object.hasOwn(known, k);
  const base = effectiveDefaults(recipe);
  const layers = { ...recipe.layers };
  for (const key of keys) {
    if (!has(key)) continue;
    const own = differing(withDefined(Object.hasOwn(layers, key) ? layers[key] : {}, patch), base);
    if (Object.keys(own).length === 0) delete layers[key];
    else layers[key] = own;
  }
  return { ...recipe, layers };
}

/** The recipe without overrides for `keys`. */
export function withoutLayers(recipe: Recipe, keys: readonly string[]): Recipe {
  const layers = { ...recipe.layers };
  for (const key of keys) delete layers[key];
  return { ...recipe, layers };
}

/** Parses and checks recipe JSON against the layers: throws an AppError naming the first bad key. */
export function importRecipe(text: string, layers: readonly LayerInfo[]): Recipe {
  const recipe = parseRecipeText(text);
  resolveRecipe(recipe, layers);
  return recipe;
}

/** `h` with `recipe` as a new undo step (merged with the last one for the same tag); `h` itself when nothing changed. */
export function commit(h: RecipeHistory, recipe: Recipe, tag?: string, now: number = Date.now()): RecipeHistory {
  if (sameRecipe(recipe, h.recipe)) return h;
  const merge = tag !== undefined && h.lastEdit?.tag === tag && now - h.lastEdit.at < COALESCE_MS && h.past.length > 0;
  return {
    recipe,
    past: merge ? h.past : [...h.past, h.recipe].slice(-HISTORY_LIMIT),
    future: [],
    lastEdit: tag === undefined ? undefined : { tag, at: now },
  };
}

export function undo(h: RecipeHistory): RecipeHistory {
  const prev = h.past.at(-1);
  if (!prev) return h;
  return { recipe: prev, past: h.past.slice(0, -1), future: [h.recipe, ...h.future], lastEdit: undefined };
}

export function redo(h: RecipeHistory): RecipeHistory {
  const next = h.future[0];
  if (!next) return h;
  return { recipe: next, past: [...h.past, h.recipe], future: h.future.slice(1), lastEdit: undefined };
}

/**
 * Effective settings of every layer, reusing `previous` objects that did not change (so
 * per-layer subscribers stay quiet).
 */
export function resolveAll(
  recipe: Recipe,
  layers: readonly LayerInfo[],
  previous: Record<string, LayerSettingView> = {},
): Record<string, LayerSettingView> {
  const out: Record<string, LayerSettingView> = Object.create(null) as Record<string, LayerSettingView>;
  for (const r of resolveRecipe(recipe, layers)) {
    const view: LayerSettingView = { ...r.settings, overridden: r.overridden };
    const old = previous[r.key];
    out[r.key] = old && old.overridden === view.overridden && sameSettings(old, view) ? old : view;
  }
  return out;
}

/**
 * A bulk edit's draft: the settings the user touched, and the scope (op type, group, pattern or
 * selection, as a string) they were touched for. A draft belongs to its scope: choosing another
 * scope starts from nothing, so a choice made for one op type is never carried to another.
 */
export interface BulkDraft {
  scope: string;
  patch: PartialLayerSettings;
}

/** What a bulk edit over `scope` applies: the draft's patch when it was made for that scope, else nothing. */
export function draftPatch(draft: BulkDraft | undefined, scope: string): PartialLayerSettings {
  return draft !== undefined && draft.scope === scope ? draft.patch : {};
}

/** The draft after the user touched `patch` while `scope` was chosen. */
export function touchDraft(draft: BulkDraft | undefined, scope: string, patch: PartialLayerSettings): BulkDraft {
  return { scope, patch: withDefined(draftPatch(draft, scope), patch) };
}

/** One key a bulk edit changes: on how many of its layers, and from which values. */
export interface BulkChange {
  key: SettingKey;
  to: LayerSettings[SettingKey];
  /** layers whose effective value changes */
  layers: number;
  /** their values before, distinct, in layer order */
  from: LayerSettings[SettingKey][];
}

/** Exactly what `withLayers(recipe, …, keys, patch)` would change in the layers' effective settings, key by key. */
export function bulkChanges(recipe: Recipe, layers: readonly LayerInfo[], keys: readonly string[], patch: PartialLayerSettings): BulkChange[] {
  const known = new Set(layers.map((l) => l.key));
  const before = new Map(resolveRecipe(recipe, layers).map((r) => [r.key, r.settings]));
  const after = new Map(resolveRecipe(withLayers(recipe, known, keys, patch), layers).map((r) => [r.key, r.settings]));
  const out: BulkChange[] = [];
  for (const k of SETTING_KEYS) {
    if (patch[k] === undefined) continue;
    const change: BulkChange = { key: k, to: patch[k], layers: 0, from: [] };
    for (const key of new Set(keys)) {
      const b = before.get(key);
      const a = after.get(key);
      if (!a || !b || a[k] === b[k]) continue;
      change.layers++;
      if (!change.from.includes(b[k])) change.from.push(b[k]);
    }
    out.push(change);
  }
  return out;
}
