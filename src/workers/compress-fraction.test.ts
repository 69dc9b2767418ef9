import { describe, expect, it } from 'vitest';
import type { CompressProgress } from './compress-api';
import { recoveryFraction } from './compress-fraction';

const at = (stage: CompressProgress['stage'], done: number, total: number, inputs?: CompressProgress['inputs']): CompressProgress => ({ stage, done, total, layerKey: '', finished: [], ...(inputs ? { inputs } : {}) });

/** The reports a Compress with recovery sends: statistics passes before the layers they serve, GPTQ per layer, the file, the check. */
function job(o: { samples: number; layers: number; passesAt: number[]; check: number; rounds?: number }): CompressProgress[] {
  const out: CompressProgress[] = [at('read', 0, 0), at('parse', 0, 0), at('recover', 0, 0)];
  for (let d = 1; d <= (o.rounds ?? 0) * o.samples; d++) out.push({ ...at('recover', d, (o.rounds ?? 0) * o.samples), rounds: o.rounds ?? 0 });
  for (let layer = 0; layer <= o.layers; layer++) {
    const pass = o.passesAt.indexOf(layer);
    if (pass >= 0) {
      for (let d = 0; d < o.samples; d++) out.push(at('compress', layer, o.layers, { pass, passes: o.passesAt.length, done: d, total: o.samples }));
      // the pass done: the layer line again, without inputs
      out.push(at('compress', layer, o.layers));
    }
    if (layer > 0) out.push(at('compress', layer, o.layers));
  }
  out.push(at('encode', o.layers, o.layers));
  if (o.check > 0) for (let d = 0; d <= o.check; d++) out.push(at('check', d, o.check));
  return out;
}

function fractions(reports: CompressProgress[], samples: number, check: number): number[] {
  const f = recoveryFraction({ samples, check });
  return reports.map(f);
}

const rising = (xs: number[]) => xs.every((x, i) => i === 0 || x >= xs[i - 1]);

describe('recoveryFraction', () => {
  it('one pass of statistics, then the layers, then the check: the bar moves through each, never back, and the statistics take about half', () => {
    const reports = job({ samples: 20, layers: 64, passesAt: [0], check: 16 });
    const f = fractions(reports, 20, 16);
    expect(rising(f)).toBe(true);
    expect(f[0]).toBe(0.05);
    expect(f[f.length - 1]).toBeCloseTo(0.995, 6);
    // (the stage fractions sat at 5% through the statistics and jumped to 95% with the layers)
    const statsDone = f[reports.findIndex((r) => r.stage === 'compress' && r.done === 1)];
    expect(statsDone).toBeGreaterThan(0.4);
    expect(statsDone).toBeLessThan(0.6);
    const checkStart = f[reports.findIndex((r) => r.stage === 'check')];
    expect(checkStart).toBeGreaterThan(statsDone);
    expect(checkStart).toBeLessThan(0.7);
  });

  it('passes learned as they come (a second pass before later layers) and sequential rounds first: never back', () => {
    const two = job({ samples: 8, layers: 30, passesAt: [0, 12], check: 4 });
    expect(rising(fractions(two, 8, 4))).toBe(true);
    const rounds = job({ samples: 8, layers: 30, passesAt: [0], check: 4, rounds: 3 });
    const f = fractions(rounds, 8, 4);
    expect(rising(f)).toBe(true);
    const afterRounds = f[rounds.findIndex((r) => r.stage === 'compress')];
    expect(afterRounds).toBeGreaterThan(0.4);
    expect(f[f.length - 1]).toBeCloseTo(0.995, 6);
  });

  it('no check (a result over 2 GB, or none asked): the layers end near the end', () => {
    const reports = job({ samples: 10, layers: 5, passesAt: [0], check: 0 });
    const f = fractions(reports, 10, 0);
    expect(rising(f)).toBe(true);
    expect(reports[reports.length - 1].stage).toBe('encode');
    expect(f[f.length - 1]).toBeCloseTo(0.995, 6);
  });
});
