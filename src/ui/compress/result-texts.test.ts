import { describe, expect, it } from 'vitest';
import { jobDuration, recoveryLayerNote } from './result-texts';

describe('recoveryLayerNote', () => {
  const r = { errorBefore: 0.12, errorAfter: 0.015, rows: 150528 };
  it('names what the layer would be without recovery: round to nearest, or the pruning alone for float weights', () => {
    expect(recoveryLayerNote({ weights: 'int4', prune: 0, pruneMethod: 'magnitude' }, r)).toBe('gptq: layer output error 12% (round to nearest) → 1.5%, its whole output on 150528 calibration input rows');
    // mobilenet-v3 at 50% magnitude pruning said "(round to nearest)" where nothing is rounded
    expect(recoveryLayerNote({ weights: 'fp32', prune: 0.5, pruneMethod: 'magnitude' }, r)).toBe('gptq: layer output error 12% (magnitude pruning alone) → 1.5%, its whole output on 150528 calibration input rows');
    expect(recoveryLayerNote({ weights: 'fp32', prune: 0.5, pruneMethod: 'channel' }, r)).toMatch(/\(channel pruning alone\)/);
    expect(recoveryLayerNote({ weights: 'int8', prune: 0.5, pruneMethod: 'magnitude' }, r)).toMatch(/\(magnitude pruning and round to nearest\)/);
  });
});

describe('jobDuration', () => {
  it('ms under 10 s, seconds, then minutes and seconds', () => {
    expect(jobDuration(211.4)).toBe('211 ms');
    expect(jobDuration(9_999)).toBe('9999 ms');
    expect(jobDuration(13_400)).toBe('13 s');
    expect(jobDuration(442_844)).toBe('7 min 23 s');
  });
});
