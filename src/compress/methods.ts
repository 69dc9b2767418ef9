/**
 * The registry of compression methods with per-layer recipe settings. Their order is the order of
 * the recipe's setting keys (serialization, error messages) and of the settings editor's rows.
 * Adding a method: its folder's `meta.ts` (id, label, `settings`) plus one line here; see
 * docs/ARCHITECTURE.md, "Methods".
 *
 * Shared with the page (small, pure: meta files only).
 */
import * as activations from './activations/meta';
import type { MethodEntry, Setting } from './method';
import * as prune from './prune/meta';
import * as quantize from './quantize/meta';
import * as recovery from './recovery/meta';

export const METHODS = [quantize, recovery, prune, activations] as const satisfies readonly MethodEntry[];

/** Every per-layer setting, all present (what a layer is compressed with). */
export interface LayerSettings extends quantize.WeightSettings, recovery.RecoverySettings, prune.PruneSettings, activations.ActivationSettings {}

export type SettingKey = keyof LayerSettings;

/** Every setting entry by key, in the recipe's order. */
export const SETTINGS: Readonly<Record<SettingKey, Setting>> = Object.freeze(Object.assign({}, ...METHODS.map((m) => m.settings)));
