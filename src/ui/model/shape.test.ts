import { describe, expect, it } from 'vitest';
import { formatInteger, formatShape } from './shape';

describe('formatShape', () => {
  it('writes fixed and symbolic dims', () => {
    expect(formatShape([1, 3, 224, 224])).toBe('[1, 3, 224, 224]');
    expect(formatShape(['batch', 3, 'height', 'width'])).toBe('[batch, 3, height, width]');
  });
  it('marks unknown dims and unranked tensors', () => {
    expect(formatShape([null, 4, '', undefined])).toBe('[?, 4, ?, ?]');
    expect(formatShape(null)).toBe('unknown');
    expect(formatShape(undefined)).toBe('unknown');
  });
  it('writes a scalar as []', () => {
    expect(formatShape([])).toBe('[]');
  });
});

describe('formatInteger', () => {
  it('groups thousands', () => {
    expect(formatInteger(1234567)).toBe('1,234,567');
    expect(formatInteger(0)).toBe('0');
  });
});
