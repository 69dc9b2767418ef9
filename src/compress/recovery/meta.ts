/** Recovery (recipe key `recovery`): the original model teaches the compressed one, layer by layer, on calibration samples. */
import { choice, toggle, type ValuesOf } from '../method';

export const id = 'recovery';
export const label = 'Recovery (teacher-guided)';

/** At most this many samples are run three times by recovery's model-level check (check.ts). */
export const CHECK_SAMPLES = 16;

export const RECOVERY_MODES = ['none', 'bias', 'gptq', 'sequential'] as const;
export type RecoveryMode = (typeof RECOVERY_MODES)[number];

/** How a layer's weights are recovered: 'sequential' is gptq with its inputs from the compressed prefix, aiming at the original outputs (sequential.ts, teacher.ts). */
export function recoveryMethod(mode: unknown): 'bias' | 'gptq' {
  return mode === 'bias' ? 'bias' : 'gptq';
}

/** Its recipe keys (RECIPE.md): `recovery`, `actOrder`, `orderSearch`, `equalize`, `clipSearch`. */
export const settings = {
  recovery: choice({
    values: RECOVERY_MODES,
    default: 'none',
    label: 'Recovery',
    hint: 'bias: each output channel\u2019s bias absorbs the mean error rounding causes on the calibration inputs (Conv and Gemm with a bias; cheap). gptq: int8/int4 weights of Conv, ConvTranspose, Gemm and MatMul layers are rounded one input column at a time, each rounding error corrected on the columns not yet rounded, using the layer\u2019s real inputs on the calibration samples (the Data tab in the page, compress --samples in the CLI): the layer\u2019s outputs move less than with round-to-nearest, on the same grid and file size, and the bias is corrected too. sequential: gptq in rounds, each layer\u2019s inputs taken from the model whose earlier layers are already compressed, aiming at the original model\u2019s outputs, so a layer also makes up for what the layers before it lost (usually closer to the original than gptq, not always: measured, hey-jarvis int4 per-channel came out slightly further; compare both; about 2-3x the time of gptq). With pruning, the weights kept are refit to make up for the ones removed (repair; float weights too): magnitude pruning spreads each removed weight onto the kept ones, channel pruning refits the layers that lose input channels by least squares and moves their bias.',
    shown: (s) => s.weights === 'int8' || s.weights === 'int4' || (s.weights === 'fp32' && Number(s.prune) > 0) || s.recovery !== 'none',
  }),
  actOrder: toggle({
    default: false,
    label: 'Order',
    text: 'by activation',
    hint: 'GPTQ rounds the input columns with the most energy on the calibration inputs first, while the most columns are left to absorb their error (activation order). The grid stays the one round-to-nearest computes, so the file size is unchanged.',
    shown: (s) => s.recovery === 'gptq' || s.recovery === 'sequential' || s.actOrder === true,
  }),
  orderSearch: toggle({
    default: false,
    label: 'Both orders',
    text: 'each row the better',
    hint: 'GPTQ runs twice, in the natural column order and by activation, and each output row keeps the codes whose output error on the calibration inputs is lower: never worse than either order alone, per row, for about twice the solve time. Measured: activation order is better on most trained models and worse on some (an STFT front end), so this takes the better of both without knowing beforehand. Overrides Order.',
    shown: (s) => s.recovery === 'gptq' || s.recovery === 'sequential' || s.orderSearch === true,
  }),
  equalize: toggle({
    default: false,
    label: 'Equalize',
    text: 'with the next Conv',
    hint: 'Cross-layer equalization (data-free): for a Conv followed by ReLU and another Conv, each channel is scaled down here and up there so both layers\u2019 channel ranges match; the model computes the same, and per-tensor or depthwise grids stop spending their steps on one wide channel.',
    shown: (s, _target) => s.weights === 'int8' || s.weights === 'int4' || s.equalize === true,
  }),
  clipSearch: toggle({
    default: false,
    label: 'Clipping',
    text: 'search',
    hint: 'Each group\u2019s range is narrowed to the factor (1 to 0.5) that gives the smallest squared weight error, the outliers clipped to the grid\u2019s end, instead of spanning the full range: finer steps for every other weight. Data-free; same file size.',
    shown: (s) => s.weights === 'int8' || s.weights === 'int4' || s.clipSearch === true,
  }),
} as const;
export type RecoverySettings = ValuesOf<typeof settings>;

/** Whether layer settings ask recovery to act: int8/int4 weights, or float weights that are pruned (repair). */
export function asksRecovery(s: { recovery?: unknown; weights?: unknown; prune?: unknown }): boolean {
  if (s.recovery !== 'bias' && s.recovery !== 'gptq' && s.recovery !== 'sequential') return false;
  return s.weights === 'int8' || s.weights === 'int4' || (s.weights === 'fp32' && Number(s.prune) > 0);
}
