/**
 * The Benchmark tab's results as the export report's accuracy and benchmark sections (plain data,
 * no store): per backend where both models ran, the original's and the compressed model's
 * session load, first run, median and p90 latency and wasm peak memory; accuracy from the first
 * backend where both have it.
 */
import type { AccuracySection, BenchmarkRow, BenchmarkSection } from '../workers/export-api';
import type { JobResult } from '../workers/bench-api';
import { sideBySideTimes } from '../core/speedup';

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
    add('warm-up runs (after the first, untimed)', 'runs', o.warmUpMs?.length, c.warmUpMs?.length);
    add('median latency (own run)', 'ms', o.latency?.medianMs, c.latency?.medianMs);
    add('p90 latency (own run)', 'ms', o.latency?.p90Ms, c.latency?.p90Ms);
    // both models side by side in one worker, alternating runs (the fair comparison): the speed-up
    // the Benchmark tab shows, with the original's median and that median / the speed-up
    if (c.paired) {
      const side = sideBySideTimes(c.paired);
      rows.push({ backend, metric: `side by side (${side.rounds} alternating rounds)`, unit: 'ms', original: side.originalMs, compressed: side.compressedMs, speedup: side.speedup });
    }
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
    ...(rows.length > 0 ? { benchmark: { ...(runs ? {
              method:
                `Benchmark tab: ${runs} timed runs after a first run, per backend and model, each model in its own worker one after the other ("own run"); ` +
                'the speed-up (original time / compressed time, > 1 is faster) is the median of the ratios of alternating runs of both models in one worker ("side by side"), ' +
                "and the side-by-side row's compressed time is the original's median divided by it",
            } : {}), rows } } : {}),
  };
}
