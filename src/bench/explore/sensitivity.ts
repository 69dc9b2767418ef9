/**
 * Per-layer sensitivity: every layer alone quantized to int8, to int4, and magnitude-pruned at
 * 25/50/75% (the rest of the model untouched), and the drop in the chosen metric against the
 * original. Candidates go through `measure` (a pool of workers in the page, onnxruntime-node in
 * the CLI) with `concurrency` in flight; each result is reported as it comes.
 */
import { makeRecipe, type PartialLayerSettings, type Recipe, type Target } from '../../compress/recipe';
import type { ExploreLayer, Measured } from './evaluator';
import { runPool } from './pool';
import { metricOf, type MetricKind, type Score } from './score';

export const PROBES = [
  { id: 'int8', label: 'int8', settings: { weights: 'int8' } },
  { id: 'int4', label: 'int4', settings: { weights: 'int4' } },
  { id: 'prune25', label: 'prune 25%', settings: { prune: 0.25, pruneMethod: 'magnitude' } },
  { id: 'prune50', label: 'prune 50%', settings: { prune: 0.5, pruneMethod: 'magnitude' } },
  { id: 'prune75', label: 'prune 75%', settings: { prune: 0.75, pruneMethod: 'magnitude' } },
] as const satisfies readonly { id: string; label: string; settings: PartialLayerSettings }[];

export type ProbeId = (typeof PROBES)[number]['id'];
export const PROBE_IDS: readonly ProbeId[] = PROBES.map((p) => p.id);

export interface SensitivityEntry {
  key: string;
  op: string;
  probe: ProbeId;
  score: Score;
  /** baseline metric minus the candidate's (positive: worse) */
  drop: number;
  /** 1 - cosine to the original (worst set): a continuous proxy that also separates layers with equal accuracy */
  cosineDrop: number;
  fileBytes: number;
  ms: number;
  /** the compressor refused the setting for this layer (the layer stayed as it was) */
  refused?: string;
}

/** The recipe that applies `probe` to one layer only. */
export function probeRecipe(target: Target, key: string, probe: ProbeId): Recipe {
  const p = PROBES.find((x) => x.id === probe);
  if (!p) throw new Error(`unknown probe ${probe}`);
  return makeRecipe(target, {}, { [key]: { ...p.settings } });
}

export interface SensitivityOptions {
  target: Target;
  metric: MetricKind;
  /** candidates measured at once (the page: one per worker) */
  concurrency?: number;
  probes?: readonly ProbeId[];
  signal?: AbortSignal;
  /** called with each entry as it is measured, and the count done / total */
  onEntry?: (entry: SensitivityEntry, done: number, total: number) => void;
}

/** Measures every (layer, probe) pair; entries in layer order, probes in PROBES order. */
export async function runSensitivity(
  layers: readonly ExploreLayer[],
  baseline: Score,
  measure: (recipe: Recipe, signal?: AbortSignal) => Promise<Measured>,
  options: SensitivityOptions,
): Promise<SensitivityEntry[]> {
  const probes = options.probes ?? PROBE_IDS;
  const jobs = layers.flatMap((l) => probes.map((probe) => ({ layer: l, probe })));
  const base = metricOf(baseline, options.metric);
  let done = 0;
  return runPool(
    jobs,
    options.concurrency ?? 1,
    async ({ layer, probe }) => {
      const t0 = performance.now();
      const m = await measure(probeRecipe(options.target, layer.key, probe), options.signal);
      const refused = m.refused.find((r) => r.key === layer.key)?.error;
      const entry: SensitivityEntry = {
        key: layer.key,
        op: layer.op,
        probe,
        score: m.score,
        drop: base - metricOf(m.score, options.metric),
        cosineDrop: 1 - m.score.cosine,
        fileBytes: m.fileBytes,
        ms: performance.now() - t0,
        ...(refused ? { refused } : {}),
      };
      options.onEntry?.(entry, ++done, jobs.length);
      return entry;
    },
    options.signal,
  );
}

/** One number per layer for sorting and the heat overlay: its int4 drop plus its 50% pruning drop (cosine as the tie-breaker). */
export function layerSensitivity(entries: readonly SensitivityEntry[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries) {
    if (e.probe !== 'int4' && e.probe !== 'prune50') continue;
    out.set(e.key, (out.get(e.key) ?? 0) + Math.max(0, e.drop) + e.cosineDrop);
  }
  return out;
}
