/**
 * The user's compression choices: a recipe (shared/RECIPE.md) per open model, with undo/redo.
 * CONTRACT (used by the graph view for colouring): `useLayerSetting(key)` returns the effective
 * setting of one layer (defaults merged with its override), or undefined when `key` is no layer.
 */
import { create } from 'zustand';

export type WeightsSetting = 'fp32' | 'fp16' | 'int8' | 'int4';

export interface LayerSettingView {
  weights: WeightsSetting;
  prune: number;
  pruneMethod: 'magnitude' | 'channel';
}

export interface RecipeState {
  /** effective per-layer settings, keyed by layer key */
  resolved: Record<string, LayerSettingView>;
}

export const useRecipeStore = create<RecipeState>()(() => ({
  resolved: {},
}));

export function useLayerSetting(key: string): LayerSettingView | undefined {
  return useRecipeStore((s) => s.resolved[key]);
}
