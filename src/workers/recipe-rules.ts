/**
 * The recipe's rules (shared/RECIPE.md), for the page: the state room may import workers but not
 * the algorithm rooms, and the recipe editor needs the format's values (defaults, allowed values,
 * parse/validate and the CLI's serialization) on the main thread, synchronously, so that every edit,
 * undo and import is checked by the very code the CLI and the compressor use. Small, pure, no DOM.
 */
export {
  ACTIVATION_MODES,
  BUILTIN_DEFAULTS,
  GRANULARITIES,
  MAX_BLOCK_SIZE,
  MAX_PRUNE,
  MIN_BLOCK_SIZE,
  PRUNE_METHODS,
  RECIPE_FORMAT,
  RECIPE_VERSION,
  SETTING_KEYS,
  TARGETS,
  WEIGHT_MODES,
  layerPath,
  makeRecipe,
  parseRecipe,
  parseRecipeText,
  resolveRecipe,
  serializeRecipe,
} from '../compress/recipe';
export type { Granularity, LayerSettings, PartialLayerSettings, PruneMethod, Recipe, Target, WeightMode } from '../compress/recipe';
