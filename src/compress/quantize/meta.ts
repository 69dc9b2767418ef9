/**
 * Weight storage (`weights`: fp32, fp16, int8, int4) and quantization (int8 / int4): id, label,
 * its recipe settings (defaults, labels, hints, validation), options and defaults. fp16 storage
 * is written by fp16/ (fp16/step.ts), int8/int4 by quantize/step.ts.
 */
import { choice, toggle, type ListSetting, type ValuesOf } from '../method';

export const id = 'quantize';
export const label = 'Quantize weights (int8 / int4)';

export type QuantBits = 8 | 4;

export const WEIGHT_MODES = ['fp32', 'fp16', 'int8', 'int4'] as const;
export const GRANULARITIES = ['per-tensor', 'per-channel', 'block'] as const;
export type WeightMode = (typeof WEIGHT_MODES)[number];
export type Granularity = (typeof GRANULARITIES)[number];
export const MIN_BLOCK_SIZE = 16;
export const MAX_BLOCK_SIZE = 256;

const quantized = (s: Readonly<Record<string, unknown>>) => s.weights === 'int8' || s.weights === 'int4';
const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
const BLOCK_SIZES: number[] = [];
for (let b = MIN_BLOCK_SIZE; b <= MAX_BLOCK_SIZE; b *= 2) BLOCK_SIZES.push(b);

const blockSize: ListSetting = {
  control: 'list',
  values: BLOCK_SIZES,
  default: 32,
  label: 'Block',
  ariaLabel: 'Block size',
  testId: 'block-size',
  hint: 'Weights per block (a power of two)',
  expected: `a power of two from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE}`,
  accepts: (v: unknown): v is number => typeof v === 'number' && isPowerOfTwo(v) && v >= MIN_BLOCK_SIZE && v <= MAX_BLOCK_SIZE,
  shown: (s) => quantized(s) && s.granularity === 'block',
};

/** Its recipe keys (RECIPE.md): `weights`, `granularity`, `blockSize`, `symmetric`. */
export const settings = {
  weights: choice({
    values: WEIGHT_MODES,
    default: 'fp32',
    label: 'Weights',
    hint: 'How the weights are stored. fp32 leaves the layer untouched; int8/int4 store integer codes with scales.',
  }),
  granularity: choice({
    values: GRANULARITIES,
    default: 'per-channel',
    label: 'Scales',
    ariaLabel: 'Granularity',
    valueLabels: { 'per-tensor': 'tensor', 'per-channel': 'channel', block: 'block' },
    hint: 'One scale per tensor, per output channel, or per block of weights along the reduction axis.',
    shown: quantized,
  }),
  blockSize,
  symmetric: toggle({
    default: true,
    label: 'Zero point',
    text: 'symmetric',
    hint: 'Zero point fixed at 0 (symmetric) or fitted to each group’s range.',
    shown: quantized,
  }),
} as const;
export type WeightSettings = ValuesOf<typeof settings>;

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
