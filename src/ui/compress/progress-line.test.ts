import { describe, expect, it } from 'vitest';
import { progressLine } from './progress-line';

describe('progressLine', () => {
  it('says the layer while compressing, the sample while reading layer inputs', () => {
    expect(progressLine({ stage: 'compress', done: 12, total: 54, layerKey: '/a/Conv' }, 0.3)).toBe('Layer 12 of 54 · /a/Conv');
    expect(progressLine({ stage: 'recover', done: 5, total: 12, layerKey: '' }, 0.2)).toBe('Sample 5 of 12');
    expect(progressLine({ stage: 'parse', done: 0, total: 0, layerKey: '' }, 0.04)).toBe('4%');
    expect(progressLine({ stage: 'check', done: 5, total: 16, layerKey: '' }, 0.97)).toBe('Sample 5 of 16 · original, round to nearest, recovered');
  });

  it('while compressing with recovery, the pass of layer inputs that runs before its layers', () => {
    const job = { stage: 'compress' as const, done: 4, total: 21, layerKey: '/a/Conv' };
    expect(progressLine({ ...job, inputs: { pass: 1, passes: 3, done: 5, total: 12 } }, 0.3)).toBe('Layer 4 of 21 · layer inputs (pass 2 of 3): sample 5 of 12');
    expect(progressLine({ ...job, done: 0, inputs: { pass: 0, passes: 1, done: 12, total: 12 } }, 0.05)).toBe('Layer 0 of 21 · layer inputs: sample 12 of 12');
    expect(progressLine(job, 0.3)).toBe('Layer 4 of 21 · /a/Conv');
  });

  it('with recovery sequential, the round and the sample within it (not "Sample 140 of 512" for 128 samples)', () => {
    const job = { stage: 'recover' as const, total: 512, layerKey: '', rounds: 4 };
    expect(progressLine({ ...job, done: 1 }, 0)).toBe('Round 1 of 4 · sample 1 of 128');
    expect(progressLine({ ...job, done: 128 }, 0)).toBe('Round 1 of 4 · sample 128 of 128');
    expect(progressLine({ ...job, done: 140 }, 0)).toBe('Round 2 of 4 · sample 12 of 128');
    expect(progressLine({ ...job, done: 512 }, 0)).toBe('Round 4 of 4 · sample 128 of 128');
    expect(progressLine({ ...job, done: 0 }, 0)).toBe('Round 1 of 4 · sample 0 of 128');
  });
});
