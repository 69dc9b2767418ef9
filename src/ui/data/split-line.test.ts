import { describe, expect, it } from 'vitest';
import { splitLine } from './split-line';

describe('splitLine', () => {
  it('names recovery among the calibration part\u2019s uses (its layer inputs come from there)', () => {
    expect(splitLine({ calibrationCount: 12, evaluationCount: 12 })).toBe(
      '12 calibrate (int8 activations, recovery), 12 evaluate (runtime check, Benchmark, Explore): never the same samples',
    );
    expect(splitLine({ overlap: true, calibrationCount: 1, evaluationCount: 1 })).toBe('1 sample: it both calibrates and evaluates');
  });
});
