/** Weight quantization (int8 / int4): id, label, options and defaults. */
import type { Granularity } from '../recipe';

export const id = 'quantize';
export const label = 'Quantize weights (int8 / int4)';

export type QuantBits = 8 | 4;

export interface QuantizeOptions {
  bits: QuantBits;
  granularity: Granularity;
  /** block length along the reduction axis, for granularity 'block' (power of two, 16..256) */
  blockSize: number;
  /** zero point fixed at 0 (true) or fitted to each group's range (false) */
  symmetric: boolean;
}

export const defaults: Readonly<QuantizeOptions> = Object.freeze({
  bits: 8,
  granularity: 'per-channel',
  blockSize: 32,
  symmetric: true,
});
