/** Pruning: id, label, options and defaults. */
import type { PruneMethod } from '../recipe';

export const id = 'prune';
export const label = 'Prune weights';

export interface PruneOptions {
  /** fraction of the layer's weights (magnitude) or output channels (channel) removed, 0..0.95 */
  fraction: number;
  method: PruneMethod;
}

export const defaults: Readonly<PruneOptions> = Object.freeze({ fraction: 0.5, method: 'magnitude' });
