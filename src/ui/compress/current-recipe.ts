/** The recipe the Compress button applies: the recipe store's current recipe for the open model. */
import type { Recipe } from '../../compress/recipe';
import { useRecipeStore } from '../../state/recipe-store';

/** The current recipe (a stable reference while it does not change). */
export function useCurrentRecipe(): Recipe {
  return useRecipeStore((s) => s.recipe);
}
