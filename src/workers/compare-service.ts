/**
 * The compare view's side of the model worker: keeps one comparison of the open (original) model
 * with a compressed file (parsing, diff, scenes: src/graph/compare.ts) and answers a layer's
 * weight comparison (src/bench/weight-compare.ts) from it. Answers are small plain objects; no
 * tensor crosses to the page.
 */
import { AppError } from '../core/errors';
import { compareLayerWeights, type WeightComparison, type WeightSource } from '../bench/weight-compare';
import type { LayerReport } from '../compress/compress';
import { comparisonExpand, comparisonReveal, comparisonScene, openComparison, type CompareSide, type Comparison } from '../graph/compare';
import type { LayerHint } from '../graph/compare-diff';
import type { GraphScene } from '../graph/scene-types';
import type { DataFile, LoadedModel } from '../onnx/load';

export type { WeightBin, WeightComparison, WeightGroup } from '../bench/weight-compare';
export type { CompareInfo, CompareSide } from '../graph/compare';

type Session = Comparison & WeightSource;

let session: Session | undefined;

/** Parses the compressed file (with its external data file, when the result has one) and diffs it against the open model. */
export function compareOpen(original: LoadedModel | undefined, bytes: Uint8Array, layers: readonly LayerReport[] = [], data: readonly DataFile[] = []): Comparison['info'] {
  if (!original) throw new AppError('invalid-argument', 'No model is open.');
  const hints: LayerHint[] = layers.map((l) => ({ key: l.key, applied: l.applied, notes: l.notes, error: l.error }));
  const c = openComparison(original, bytes, hints, data);
  session = { ...c, absorbed: (key) => c.info.diff.compressed[key]?.absorbed, hints: new Map(layers.map((l) => [l.key, l])), weights: new Map() };
  return session.info;
}

function sessionFor(original: LoadedModel | undefined): Session {
  if (!session || session.original !== original) throw new AppError('invalid-argument', 'Open the comparison first (the model changed).');
  return session;
}

/** One side's scene (the compressed side on the original's coordinates). */
export function compareScene(original: LoadedModel | undefined, side: CompareSide, expanded: string[]): Promise<GraphScene> {
  return comparisonScene(sessionFor(original), side, expanded);
}

export function compareExpand(original: LoadedModel | undefined, side: CompareSide, id: string): string[] {
  return comparisonExpand(sessionFor(original), side, id);
}

export function compareReveal(original: LoadedModel | undefined, side: CompareSide, id: string): string[] {
  return comparisonReveal(sessionFor(original), side, id);
}

/** Forgets the comparison (the page left it, or the result changed). */
export function compareClose(): void {
  session = undefined;
}

/** The weight comparison of layer `key`, for group `group` (default: the widest range): src/bench/weight-compare.ts. */
export function compareWeights(originalLoaded: LoadedModel | undefined, key: string, group?: number): WeightComparison {
  return compareLayerWeights(sessionFor(originalLoaded), key, group);
}
