/** Pruning: id, label, its recipe settings (defaults, labels, hints, validation), options and defaults. */
import { choice, type FractionSetting, type ValuesOf } from '../method';

export const PRUNE_METHODS = ['magnitude', 'channel'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];
export const MAX_PRUNE = 0.95;

const prune: FractionSetting = {
  control: 'fraction',
  max: MAX_PRUNE,
  default: 0,
  label: 'Prune',
  hint: 'Fraction of the weights (magnitude) or output channels (channel) removed.',
  expected: `a number from 0 to ${MAX_PRUNE}`,
  accepts: (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_PRUNE,
};

/** Its recipe keys (RECIPE.md): `prune`, `pruneMethod`. */
export const settings = {
  prune,
  pruneMethod: choice({
    values: PRUNE_METHODS,
    default: 'magnitude',
    label: 'Method',
    ariaLabel: 'Prune method',
    testId: 'prune-method',
    hint: 'magnitude: the smallest weights become exact zeros (the file keeps its size; zips smaller). channel: whole output channels are removed.',
    shown: (s) => typeof s.prune === 'number' && s.prune > 0,
  }),
} as const;
export type PruneSettings = ValuesOf<typeof settings>;

export const id = 'prune';
export const label = 'Prune weights';

export interface PruneOptions {
  /** fraction of the layer's weights (magnitude) or output channels (channel) removed, 0..0.95 */
  fraction: number;
  method: PruneMethod;
}

export const defaults: Readonly<PruneOptions> = Object.freeze({ fraction: 0.5, method: 'magnitude' });
