/**
 * The Benchmark tab's results as the export report's accuracy and benchmark sections (plain data,
 * no store): per backend where both models ran, the original's and the compressed model's
 * session load, first run, median and p90 latency and wasm peak memory; accuracy from the first
 * backend where both have it.
 */
import type { AccuracySection, BenchmarkRow, BenchmarkSection } from '../workers/export-api';
import type { JobResult } from '../workers/bench-api';

const DATASETS: Record<string, string> = {
  'sample-labeled': "the sample's labeled test set (digits-test.json)",
  files: 'the chosen data files',
  images: 'the chosen images',
  synthetic: 'synthesized inputs',
};

export function benchSections(results: readonly JobResult[], source: string): { accuracy?: AccuracySection; benchmark?: BenchmarkSection } {
  const rows: BenchmarkRow[] = [];
  let accuracy: AccuracySection | undefined;
  const backends = [...new Set(results.map((r) => r.backend))];
  for (const backend of backends) {
    const o = results.find((r) => r.backend === backend && r.model === 'original' && r.ok);
    const c = results.find((r) => r.backend === backend && r.model === 'compressed' && r.ok);
    if (!o || !c) continue;
    const add = (metric: string, unit: string, a: number | undefined, b: number | undefined) => {
      if (a !== undefined || b !== undefined) rows.push({ backend, metric, unit, ...(a !== undefined ? { original: a } : {}), ...(b !== undefined ? { compressed: b } : {}) });
    };
    add('session load', 'ms', o.sessionMs, c.sessionMs);
    add('first run', 'ms', o.firstRunMs, c.firstRunMs);
    add('median latency', 'ms', o.latency?.medianMs, c.latency?.medianMs);
    add('p90 latency', 'ms', o.latency?.p90Ms, c.latency?.p90Ms);
    // both models side by side in one worker, alternating runs (the fair comparison)
    if (c.paired) add(`side-by-side median (${c.paired.rounds} alternating runs)`, 'ms', c.paired.originalMs, c.paired.compressedMs);
    const mb = (b: number | undefined) => (b === undefined ? undefined : b / 2 ** 20);
    add('wasm peak memory', 'MiB', mb(o.wasmPeakBytes), mb(c.wasmPeakBytes));
    if (!accuracy && o.accuracy && c.accuracy && o.accuracy.total > 0) {
      accuracy = {
        dataset: DATASETS[source] ?? source,
        samples: o.accuracy.total,
        original: o.accuracy.accuracy,
        compressed: c.accuracy.accuracy,
        backend,
      };
    }
  }
  const runs = results.find((r) => r.latency)?.latency?.runs;
  return {
    ...(accuracy ? { accuracy } : {}),
    ...(rows.length > 0 ? { benchmark: { ...(runs ? { method: `Benchmark tab: ${runs} timed runs after a first run, per backend and model` } : {}), rows } } : {}),
  };
}
