/**
 * The prune method's steps in compressModel: channel pruning of the layers that ask for it
 * (before anything else touches the weights: it rewires the graph), and magnitude pruning of a
 * weight's values (right before they are stored).
 */
import type { Layer } from '../../onnx/layers';
import type { ExternalDataResolver, Model } from '../../onnx/types';
import type { NameAllocator } from '../graph-edit';
import type { LayerSettings } from '../recipe';
import { channelPrune, type ChannelPruneResult } from './channel';
import { magnitudePrune } from './prune';
import { magnitudePrunedZip } from './project';
import type { ValueStep, ValueStepContext } from '../types';

/** Removes the output channels of every layer set to `pruneMethod: "channel"`; undefined when none is. */
export function channelPruneStep(
  model: Model,
  layers: readonly Layer[],
  settingsOf: (key: string) => LayerSettings,
  options: { names: NameAllocator; external?: ExternalDataResolver; signal?: AbortSignal },
): ChannelPruneResult | undefined {
  const requests: { key: string; fraction: number }[] = [];
  for (const l of layers) {
    const s = settingsOf(l.key);
    if (s.prune > 0 && s.pruneMethod === 'channel') requests.push({ key: l.key, fraction: s.prune });
  }
  return requests.length > 0 ? channelPrune(model, requests, options) : undefined;
}

/** What is left for the weight step once channel pruning is done (it already removed the channels). */
export function afterChannelPruning(s: LayerSettings): LayerSettings {
  return s.pruneMethod === 'channel' ? { ...s, prune: 0 } : s;
}

/**
 * `pruneMethod: "magnitude"`: the smallest values set to zero (with `context.importance`, the
 * smallest |w|·importance); `pruned` counts them (undefined when the layer is not pruned).
 */
export function pruneValues(values: Float32Array, s: LayerSettings, context?: ValueStepContext): { values: Float32Array; pruned?: number } {
  if (!(s.prune > 0 && s.pruneMethod === 'magnitude')) return { values };
  const r = magnitudePrune(values, s.prune, context?.importance);
  return { values: r.values, pruned: r.pruned };
}

/** Magnitude pruning as a value step (value-steps.ts): zeros in the values, a smaller download. */
export const magnitudeValueStep: ValueStep = { id: 'prune', apply: pruneValues, zip: magnitudePrunedZip };
