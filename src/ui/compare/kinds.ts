/** Colours and words for each kind of change (the nodes, the legend and the table share them). */
import type { ChangeKind, NodeChange } from '../../workers/model-api';
import { PRUNE_COLOR, WEIGHT_COLORS } from '../recipe/colors';

export const KIND_LABELS: Record<ChangeKind, string> = {
  quantized: 'quantized',
  fp16: 'fp16',
  pruned: 'pruned (zeros)',
  'channel-pruned': 'channels removed',
  rewired: 'rewired (inputs shrank)',
  changed: 'changed',
  activations: 'int8 activations (Q/DQ folded in)',
  replaced: 'replaced (chain folded in)',
  absorbed: 'absorbed a BatchNormalization',
  folded: 'folded into another node',
  removed: 'removed',
  added: 'added',
};

export const KIND_COLORS: Record<ChangeKind, string> = {
  quantized: WEIGHT_COLORS.int8,
  fp16: WEIGHT_COLORS.fp16,
  pruned: PRUNE_COLOR,
  'channel-pruned': PRUNE_COLOR,
  rewired: '#fb923c',
  changed: '#64748b',
  activations: '#14b8a6',
  replaced: '#a855f7',
  absorbed: '#eab308',
  folded: '#eab308',
  removed: '#94a3b8',
  added: '#10b981',
};

/** The kinds shown in the legend, in order. */
export const LEGEND_KINDS: readonly ChangeKind[] = ['quantized', 'fp16', 'pruned', 'channel-pruned', 'rewired', 'activations', 'replaced', 'absorbed', 'folded', 'removed', 'added'];

/** The colour of a node's badge: its bits for quantized layers, else its main kind's. */
export function badgeColor(c: NodeChange): string {
  if (/int4/.test(c.badge)) return WEIGHT_COLORS.int4;
  if (/int8/.test(c.badge)) return WEIGHT_COLORS.int8;
  if (c.badge === 'fp16') return WEIGHT_COLORS.fp16;
  const main = mainKind(c);
  return main ? KIND_COLORS[main] : '#64748b';
}

const ORDER: readonly ChangeKind[] = ['removed', 'folded', 'replaced', 'quantized', 'fp16', 'channel-pruned', 'pruned', 'absorbed', 'activations', 'rewired', 'changed', 'added'];

export function mainKind(c: NodeChange | undefined): ChangeKind | undefined {
  return c ? ORDER.find((k) => c.kinds.includes(k)) : undefined;
}
