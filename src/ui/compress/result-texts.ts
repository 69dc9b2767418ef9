/** Texts of the compression result that need no state: a layer's recovery line, the job's duration (unit-tested under Node). */
import type { LayerSettings } from '../../compress/recipe';

/**
 * A layer's recovery line: its output error on the calibration inputs without recovery, then with
 * it, over the layer's whole output (all its output channels together: Σ‖Ŷ − Y‖² / Σ‖Y‖²). Without recovery is round to nearest for int8/int4, or the pruning alone for float weights
 * (it said "round to nearest" for a pruned fp32 layer, where nothing is rounded).
 */
export function recoveryLayerNote(s: Pick<LayerSettings, 'weights' | 'prune' | 'pruneMethod'>, r: { errorBefore: number; errorAfter: number; rows: number }): string {
  const quantized = s.weights === 'int8' || s.weights === 'int4';
  const pruning = `${s.pruneMethod === 'channel' ? 'channel' : 'magnitude'} pruning`;
  const without = quantized ? (s.prune > 0 ? `${pruning} and round to nearest` : 'round to nearest') : `${pruning} alone`;
  return `gptq: layer output error ${pct(r.errorBefore)} (${without}) → ${pct(r.errorAfter)}, its whole output on ${r.rows} calibration input rows`;
}

/** A relative error as a percent with 2 significant digits. */
function pct(x: number): string {
  return `${(x * 100).toPrecision(2)}%`;
}

/** How long a compression took: ms under 10 s, then seconds, then minutes (resnet18 with recovery said "442844 ms"). */
export function jobDuration(ms: number): string {
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
