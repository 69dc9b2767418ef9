import { describe, expect, it } from 'vitest';
import { float16ToFloat32 } from '../../core/float16';
import { toFloat16 } from './fp16';

describe('toFloat16', () => {
  it('rounds to the nearest float16', () => {
    const r = toFloat16(Float32Array.of(1, -2.5, 0.1, 65504, 1e-8));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Array.from(r.bits, float16ToFloat32)).toEqual([1, -2.5, float16ToFloat32(0x2e66), 65504, 0]);
  });

  it('refuses tensors with values beyond 65504 and says how many', () => {
    const r = toFloat16(Float32Array.of(1, 70000, -1e6, 3));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.overflowing).toBe(2);
    expect(r.maxAbs).toBe(1e6);
    expect(r.reason).toMatch(/2 values beyond the float16 range .*kept in float32/);
  });
});
