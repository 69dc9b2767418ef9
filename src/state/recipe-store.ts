/**
 * The user's compression choices: a recipe (shared/RECIPE.md) per open model, with undo/redo,
 * the effective setting of every layer, and the projected size the recipe would give.
 *
 * CONTRACT (used by the graph view for colouring): `useLayerSetting(key)` returns the effective
 * setting of one layer (defaults merged with its override), or undefined when `key` is no layer.
 * The object of a layer whose setting did not change keeps its identity across edits, so a
 * component subscribed to one layer re-renders only when that layer changes.
 *
 * - Overrides hold only the keys that differ from the defaults (an edit back to the default
 *   removes the key, and a layer with no keys left leaves `layers`).
 * - Every change of the recipe is one undo step; rapid changes of the same control (a slider
 *   drag) with the same `tag` within a second merge into one step. Edits that change nothing
 *   leave no step.
 * - A new model starts a new recipe (empty history); importing a recipe validates it fully first
 *   (an error names the key and changes nothing).
 * - The projected size is computed in the model worker, where the layers live; requests are
 *   coalesced (one in flight, the latest recipe runs next).
 */
import { create } from 'zustand';
import { errorMessage } from '../core/errors';
import type { OpenedModel, SizeProjection } from '../workers/model-api';
import { makeRecipe, serializeRecipe, type PartialLayerSettings, type Recipe, type Target } from '../compress/recipe';
import { modelHandle, useModelStore } from './model-store';
import {
  commit,
  HISTORY_LIMIT,
  history,
  importRecipe,
  redo,
  resolveAll,
  undo,
  withDefaults,
  withLayers,
  withoutLayers,
  type LayerInfo,
  type LayerSettingView,
  type RecipeHistory,
} from './recipe-edits';
import { useSelectionStore } from './selection-store';

export type { Granularity, LayerSettings, PartialLayerSettings, PruneMethod, Recipe, Target } from '../compress/recipe';
export { COALESCE_MS, HISTORY_LIMIT, effectiveDefaults } from './recipe-edits';
export type { LayerInfo, LayerSettingView, WeightsSetting } from './recipe-edits';

export interface RecipeState extends RecipeHistory {
  /** the model the recipe belongs to */
  model: OpenedModel | undefined;
  /** the model's layers (key, op), in model order */
  layers: LayerInfo[];
  /** effective per-layer settings, keyed by layer key */
  resolved: Record<string, LayerSettingView>;
  projection: SizeProjection | undefined;
  projectionError: string | undefined;
  /** why the last import failed (names the key); cleared by the next edit or import */
  importError: string | undefined;

  /** Starts over for a model (or nothing): the given layers, a fresh recipe, no history. */
  reset(model: OpenedModel | undefined, layers: readonly LayerInfo[]): void;
  setTarget(target: Target): void;
  /** Changes the defaults (keys equal to the built-in defaults are left out of the recipe). */
  setDefaults(patch: PartialLayerSettings, tag?: string): void;
  /** Sets keys on some layers (one, a selection, an op type, a pattern, a group). */
  setLayers(keys: readonly string[], patch: PartialLayerSettings, tag?: string): void;
  /** Removes the layers' overrides: they follow the defaults again. */
  clearLayers(keys: readonly string[]): void;
  /** Replaces the whole recipe (one undo step). */
  replace(recipe: Recipe): void;
  /**
   * Puts back a saved recipe with its undo/redo history (a restored session). Every recipe is
   * validated against the open model's layers; false (nothing changed) when one is not valid.
   */
  restore(saved: Pick<RecipeHistory, 'recipe' | 'past' | 'future'>): boolean;
  /** Validates recipe JSON against this model and applies it; false (with importError set) when it is not valid. */
  importText(text: string): boolean;
  /** The recipe as JSON (the CLI's stable key order). */
  exportText(): string;
  undo(): void;
  redo(): void;
  dismissImportError(): void;
}

const emptyRecipe = (): Recipe => makeRecipe('portable', {});

let projectionSeq = 0;
let projecting = false;
let projectAgain = false;

/** Asks the worker for the projected size of the current recipe (latest wins, one call in flight). */
function requestProjection(): void {
  if (projecting) {
    projectAgain = true;
    return;
  }
  const { model, recipe } = useRecipeStore.getState();
  const client = modelHandle(model);
  if (!client || !model) return;
  const seq = ++projectionSeq;
  const focus = useSelectionStore.getState().selectedKey;
  projecting = true;
  client
    .projectSize(recipe, focus)
    .then(
      (projection) => {
        const s = useRecipeStore.getState();
        if (seq === projectionSeq && s.model === model) useRecipeStore.setState({ projection, projectionError: undefined });
      },
      (e: unknown) => {
        const s = useRecipeStore.getState();
        if (seq === projectionSeq && s.model === model) useRecipeStore.setState({ projectionError: errorMessage(e) });
      },
    )
    .finally(() => {
      projecting = false;
      if (projectAgain) {
        projectAgain = false;
        requestProjection();
      }
    });
}

export const useRecipeStore = create<RecipeState>()((set, get) => {
  /** Moves to another point of the history, resolving the layers again. */
  const go = (h: RecipeHistory, extra: Partial<RecipeState> = {}) => {
    const s = get();
    if (h === s && Object.keys(extra).length === 0) return;
    set({ ...h, resolved: h.recipe === s.recipe ? s.resolved : resolveAll(h.recipe, s.layers, s.resolved), ...extra });
  };
  const edit = (recipe: Recipe, tag?: string) => {
    const s = get();
    const h = commit(s, recipe, tag);
    if (h !== s) go(h, { importError: undefined });
  };

  return {
    ...history(emptyRecipe()),
    model: undefined,
    layers: [],
    resolved: {},
    projection: undefined,
    projectionError: undefined,
    importError: undefined,

    reset(model, layers) {
      const h = history(emptyRecipe());
      set({ ...h, model, layers: [...layers], resolved: resolveAll(h.recipe, layers), projection: undefined, projectionError: undefined, importError: undefined });
    },

    setTarget(target) {
      edit({ ...get().recipe, target });
    },

    setDefaults(patch, tag) {
      edit(withDefaults(get().recipe, patch), tag);
    },

    setLayers(keys, patch, tag) {
      const s = get();
      edit(withLayers(s.recipe, s.resolved, keys, patch), tag);
    },

    clearLayers(keys) {
      edit(withoutLayers(get().recipe, keys));
    },

    replace(recipe) {
      edit(recipe);
    },

    restore(saved) {
      const layers = get().layers;
      try {
        const check = (r: unknown) => importRecipe(JSON.stringify(r), layers);
        const h: RecipeHistory = {
          recipe: check(saved.recipe),
          past: saved.past.map(check).slice(-HISTORY_LIMIT),
          future: saved.future.map(check).slice(0, HISTORY_LIMIT),
          lastEdit: undefined,
        };
        go(h, { importError: undefined });
        return true;
      } catch {
        return false;
      }
    },

    importText(text) {
      try {
        const recipe = importRecipe(text, get().layers);
        edit(recipe);
        set({ importError: undefined });
        return true;
      } catch (e) {
        set({ importError: errorMessage(e) });
        return false;
      }
    },

    exportText() {
      return serializeRecipe(get().recipe);
    },

    undo() {
      go(undo(get()));
    },

    redo() {
      go(redo(get()));
    },

    dismissImportError() {
      set({ importError: undefined });
    },
  };
});

// A new model starts a new recipe; every recipe change (and a new focus layer) re-projects.
function layersOf(m: OpenedModel | undefined): LayerInfo[] {
  return m ? m.summary.layers.map((l) => ({ key: l.key, op: l.op, ...(l.sharedWith !== undefined ? { sharedWith: l.sharedWith } : {}) })) : [];
}
if (useModelStore.getState().model) {
  const m = useModelStore.getState().model;
  useRecipeStore.getState().reset(m, layersOf(m));
}
useModelStore.subscribe((state, prev) => {
  if (state.model === prev.model) return;
  const m = state.model;
  useRecipeStore.getState().reset(m, layersOf(m));
  requestProjection();
});
useRecipeStore.subscribe((state, prev) => {
  if (state.recipe !== prev.recipe) requestProjection();
});
useSelectionStore.subscribe((state, prev) => {
  if (state.selectedKey !== prev.selectedKey) requestProjection();
});

/** The effective setting of one layer, or undefined when `key` is no layer. */
export function useLayerSetting(key: string): LayerSettingView | undefined {
  return useRecipeStore((s) => s.resolved[key]);
}

/** The layer's own override in the recipe (undefined when it follows the defaults). */
export function useLayerOverride(key: string): PartialLayerSettings | undefined {
  return useRecipeStore((s) => (Object.hasOwn(s.recipe.layers, key) ? s.recipe.layers[key] : undefined));
}
