import { describe, expect, it } from 'vitest';
import type { JobResult } from '../workers/bench-api';
import { benchSections } from './bench-sections';

const latency = (medianMs: number) => ({ runs: 20, medianMs, p90Ms: medianMs * 1.2, p99Ms: medianMs * 1.5, meanMs: medianMs, minMs: medianMs, maxMs: medianMs * 2, throughputPerS: 1000 / medianMs });

describe('benchmark results as report sections', () => {
  it('pairs the models per backend, and takes accuracy where both have it', () => {
    const results: JobResult[] = [
      { backend: 'wasm', model: 'original', ok: true, sessionMs: 10, firstRunMs: 3, latency: latency(2), wasmPeakBytes: 2 ** 21, accuracy: { correct: 447, total: 450, accuracy: 447 / 450, perClass: [], output: 'y' } },
      { backend: 'wasm', model: 'compressed', ok: true, sessionMs: 8, firstRunMs: 2, latency: latency(1.5), accuracy: { correct: 446, total: 450, accuracy: 446 / 450, perClass: [], output: 'y' } },
      { backend: 'webgl', model: 'original', ok: true, latency: latency(5) },
      { backend: 'webgl', model: 'compressed', ok: false, error: 'cannot resolve operator' },
    ] as JobResult[];
    const s = benchSections(results, 'sample-labeled');
    expect(s.accuracy).toEqual({ dataset: "the sample's labeled test set (digits-test.json)", samples: 450, original: 447 / 450, compressed: 446 / 450, backend: 'wasm' });
    expect(s.benchmark?.rows.map((r) => `${r.backend} ${r.metric} ${r.original ?? '-'} ${r.compressed ?? '-'}`)).toEqual([
      'wasm session load 10 8',
      'wasm first run 3 2',
      'wasm median latency (own run) 2 1.5',
      'wasm p90 latency (own run) 2.4 1.7999999999999998',
      'wasm wasm peak memory 2 -',
    ]);
    expect(s.benchmark?.method).toContain('20 timed runs');
    expect(benchSections([], 'synthetic')).toEqual({});
  });

  it("reports the Benchmark tab's side-by-side speed-up (original / compressed), with times that agree with it", () => {
    // the WebGPU case: separate runs 10149 ms vs 12416 ms, side by side a speed-up of 0.96x
    const results = [
      { backend: 'webgpu', model: 'original', ok: true, latency: latency(10149) },
      { backend: 'webgpu', model: 'compressed', ok: true, latency: latency(12416), paired: { speedup: 0.96, rounds: 12, originalMs: 10100, compressedMs: 9900 } },
    ] as JobResult[];
    const rows = benchSections(results, 'synthetic').benchmark!.rows;
    const withSpeedup = rows.filter((r) => r.speedup !== undefined);
    expect(withSpeedup).toHaveLength(1);
    const [side] = withSpeedup;
    expect(side.metric).toBe('side by side (12 alternating rounds)');
    expect(side.speedup).toBe(0.96);
    expect(side.original).toBe(10100);
    expect(side.original! / side.compressed!).toBeCloseTo(0.96, 12);
    expect(rows.find((r) => r.metric.startsWith('median latency'))?.metric).toBe('median latency (own run)');
  });
});
