/**
 * The recipe editor's size projection of a loaded model (the model worker runs it on the model
 * it keeps): the projection input is built once per model and kept.
 */
import { AppError } from '../core/errors';
import { findLayers } from '../onnx/layers';
import { findStoredTensors } from '../onnx/stored-tensors';
import type { LoadedModel } from '../onnx/load';
import { modelTensorBytes } from './compress';
import { projectionInput, projectSize, type ProjectionInput, type SizeProjection } from './project';
import { cleanupOptions, fp16Compute, resolveRecipe, type LayerRef, type LayerSettings, type Recipe } from './recipe';

const cache = new WeakMap<LoadedModel, { keys: LayerRef[]; projection: ProjectionInput }>();

/** Projected stored size (and zip estimate) of the model under `recipe` (throws AppError naming a key that names no layer). */
export function projectRecipe(loaded: LoadedModel | undefined, recipe: Recipe, focusKey?: string): SizeProjection {
  if (!loaded) throw new AppError('invalid-argument', 'No model is open.');
  let c = cache.get(loaded);
  if (!c) {
    const layers = findLayers(loaded.model);
    // stored tensors (op 'tensor' pseudo-layers) are valid recipe keys; the projection counts them as they are stored
    c = { keys: [...layers, ...findStoredTensors(loaded.model, layers)], projection: projectionInput(loaded.model, layers, modelTensorBytes(loaded.model)) };
    cache.set(loaded, c);
  }
  const byKey = new Map(resolveRecipe(recipe, c.keys).map((r) => [r.key, r.settings]));
  return projectSize(c.projection, (k) => byKey.get(k) as LayerSettings, recipe.target, focusKey, fp16Compute(recipe), cleanupOptions(recipe).shareInitializers);
}
