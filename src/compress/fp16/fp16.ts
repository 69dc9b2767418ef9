/**
 * float16 conversion of weight values (round to nearest even), refusing values that float16
 * cannot hold (|v| > 65504 or non-finite) so nothing overflows silently.
 */
import { float32ToFloat16 } from '../../core/float16';
import { FLOAT16_MAX } from './meta';

export type Fp16Result =
  | { ok: true; bits: Uint16Array }
  | { ok: false; reason: string; overflowing: number; maxAbs: number };

export function toFloat16(values: Float32Array): Fp16Result {
  let overflowing = 0;
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const a = v < 0 ? -v : v;
    if (!(a <= FLOAT16_MAX)) overflowing++;
    if (a > maxAbs) maxAbs = a;
  }
  if (overflowing > 0) {
    return {
      ok: false,
      overflowing,
      maxAbs,
      reason: `${overflowing} value${overflowing === 1 ? '' : 's'} beyond the float16 range (max |w| ${maxAbs}); kept in float32`,
    };
  }
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = float32ToFloat16(values[i]);
  return { ok: true, bits };
}
