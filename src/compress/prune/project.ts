/** The prune method's part of the size projection (project.ts). */
import type { LayerSettings } from '../recipe';
import type { ProjectionWeight } from '../types';
import { pruneCount } from './prune';

/** Binary entropy in bits. */
function entropy(p: number): number {
  if (p <= 0 || p >= 1) return 0;
  return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

/** Output channels a layer keeps under channel pruning (undefined when it is not channel-pruned). */
export function keptChannels(layer: { weights: readonly ProjectionWeight[] }, s: LayerSettings): number | undefined {
  if (!(s.prune > 0 && s.pruneMethod === 'channel')) return undefined;
  const main = layer.weights.find((w) => w.role === 'weight' && w.channels !== undefined);
  if (!main || main.channels === undefined) return undefined;
  return main.channels - pruneCount(main.channels, s.prune);
}

/** A tensor's size once channel pruning kept `kept` of its output channels (everything laid out along them shrinks). */
export function channelPrunedSize(w: ProjectionWeight, kept: number | undefined): { elements: number; bytes: number; channels: number | undefined } {
  if (kept === undefined || w.channels === undefined || w.channels <= 0) return { elements: w.elements, bytes: w.bytes, channels: w.channels };
  const f = kept / w.channels;
  return { elements: Math.round(w.elements * f), bytes: Math.round(w.bytes * f), channels: kept };
}

/**
 * Magnitude pruning keeps the stored size; what a zip makes of it: the non-zero part of the
 * bytes plus about H(p) bits a value to say where the zeros are. Other settings: `after`.
 */
export function magnitudePrunedZip(after: number, elements: number, s: LayerSettings): number {
  if (!(s.prune > 0 && s.pruneMethod === 'magnitude')) return after;
  const p = elements > 0 ? pruneCount(elements, s.prune) / elements : 0;
  return Math.round(after * (1 - p) + (elements * entropy(p)) / 8);
}
