/** Which layers a recipe asks to recover, and the shapes their weights have (what collectHessians needs). */
import { findLayers, type Layer } from '../../onnx/layers';
import { recipeLayers } from '../../onnx/stored-tensors';
import type { Model } from '../../onnx/types';
import { resolveRecipe, type LayerSettings, type Recipe } from '../recipe';
import { constScope, graphRecordsByPath } from '../graph-edit';
import { effectiveWeight } from '../weights';
import { recoverable, recoveredInput, stateRecoverable, stateView } from './hessian';
import { asksRecovery } from './meta';

/** Settings recovery acts on: int8/int4 weights, or float weights with magnitude pruning (repair). */
export function recovers(s: LayerSettings): boolean {
  return asksRecovery(s);
}

/**
 * Whether layer settings `s` ask for recovery, in a recipe where `channel` says some layer asks for
 * channel pruning with recovery: then every layer with recovery on may be a consumer whose input
 * channels are cut (refit, recovery/refit.ts), so its inputs are collected too.
 */
function wanted(s: LayerSettings, channel: boolean): boolean {
  return recovers(s) || (channel && s.recovery !== 'none' && s.weights !== 'fp16');
}

function channelRecovery(settings: readonly { settings: LayerSettings }[]): boolean {
  return settings.some((l) => l.settings.recovery !== 'none' && l.settings.prune > 0 && l.settings.pruneMethod === 'channel');
}

export function recoveryLayers(model: Model, recipe: Recipe): { layer: Layer; shape: number[]; full: boolean; sequential: boolean; actOrder: boolean }[] {
  const resolved = resolveRecipe(recipe, recipeLayers(model));
  const channel = channelRecovery(resolved);
  const modes = new Map(resolved.filter((l) => wanted(l.settings, channel)).map((l) => [l.key, l.settings.recovery]));
  if (modes.size === 0) return [];
  const ordered = new Set(resolved.filter((l) => l.settings.actOrder === true).map((l) => l.key));
  const out: { layer: Layer; shape: number[]; full: boolean; sequential: boolean; actOrder: boolean }[] = [];
  const records = graphRecordsByPath(model);
  for (const layer of findLayers(model)) {
    const mode = modes.get(layer.key);
    if (!mode || !recoverable(layer)) continue;
    const w = layer.weights.find((v) => v.role === 'weight' && v.inputIndex === recoveredInput(layer));
    if (!w) continue;
    // the weight's shape as the layer reads it: through a chain (a Transpose, as torch writes without
    // constant folding; Reshape, Squeeze …) GPTQ works on the weight as read, which compression
    // writes in its place (an Identity, as torch writes for a parameter it deduplicated, changes nothing)
    const shapeOf = (v: Layer['weights'][number]): number[] | undefined => {
      if (!v.via.some((op) => op !== 'Identity')) return v.shape;
      try {
        const rec = records.get(layer.graphPath);
        return rec ? effectiveWeight(v, constScope(rec), false).shape : undefined;
      } catch {
        return undefined;
      }
    };
    const shape = shapeOf(w);
    if (!shape) continue;
    const full = mode === 'gptq' || mode === 'sequential';
    // (GPTQ solves it in activation order: its factor is prepared so, factor-runtime.ts)
    const actOrder = ordered.has(layer.key);
    out.push({ layer, shape, full, sequential: mode === 'sequential', actOrder });
    // a recurrent layer's R, on its own states (full modes: GPTQ; bias correction takes W's mean only)
    const r = full ? layer.weights.find((v) => v.role === 'weight' && v.inputIndex === 2) : undefined;
    const rShape = r && stateRecoverable(layer) ? shapeOf(r) : undefined;
    if (rShape) out.push({ layer: stateView(layer), shape: rShape, full, sequential: mode === 'sequential', actOrder });
  }
  return out;
}

/** Whether the recipe asks any layer for recovery (the run then needs calibration samples). */
export function wantsRecovery(model: Model, recipe: Recipe): boolean {
  const resolved = resolveRecipe(recipe, recipeLayers(model));
  const channel = channelRecovery(resolved);
  return resolved.some((l) => wanted(l.settings, channel));
}

/** The recovery modes a recipe names (defaults and layer overrides, "none" left out), in the order bias, gptq, sequential: what the check's note calls the recovery. */
export function recoveryModes(recipe: Recipe): string[] {
  const named = new Set([recipe.defaults.recovery, ...Object.values(recipe.layers).map((l) => l.recovery)]);
  return ['bias', 'gptq', 'sequential'].filter((m) => named.has(m as never));
}

/** The recipe with recovery off everywhere (round to nearest, to compare with). */
export function withoutRecovery(recipe: Recipe): Recipe {
  const layers = Object.fromEntries(Object.entries(recipe.layers).map(([k, v]) => [k, v.recovery !== undefined ? { ...v, recovery: 'none' as const } : v]));
  return { ...recipe, defaults: { ...recipe.defaults, recovery: 'none' }, layers };
}
