/**
 * CONTRACT: one colour per weight setting, shared by the graph (node fill/border) and the legend.
 * fp32 (untouched) is a quiet grey; the colours get warmer as the bits get fewer.
 */
import type { LayerSettingView, WeightsSetting } from '../../state/recipe-store';

export const WEIGHT_COLORS: Record<WeightsSetting, string> = {
  fp32: '#94a3b8',
  fp16: '#0ea5e9',
  int8: '#22c55e',
  int4: '#f59e0b',
};

/** Soft tints of the same colours, for fills behind text. */
export const WEIGHT_TINTS: Record<WeightsSetting, string> = {
  fp32: '#f1f5f9',
  fp16: '#e0f2fe',
  int8: '#dcfce7',
  int4: '#fef3c7',
};

export const WEIGHT_LABELS: Record<WeightsSetting, string> = {
  fp32: 'fp32 (as is)',
  fp16: 'fp16',
  int8: 'int8',
  int4: 'int4',
};

/** Border/stripe colour of pruned layers. */
export const PRUNE_COLOR = '#e11d48';

/** Colour of a layer under its setting; pruned layers are drawn with a hatched/dashed border by the graph. */
export function settingColor(s: LayerSettingView | undefined): string {
  return s ? WEIGHT_COLORS[s.weights] : WEIGHT_COLORS.fp32;
}

/** "int4 block 32 · prune 50% (channel)": a layer's setting in a few words. */
export function settingSummary(s: LayerSettingView): string {
  let text: string = s.weights;
  if (s.weights === 'int8' || s.weights === 'int4') {
    text += s.granularity === 'block' ? ` block ${s.blockSize}` : s.granularity === 'per-tensor' ? ' per-tensor' : '';
    if (!s.symmetric) text += ' asym';
  }
  if (s.prune > 0) text += ` · prune ${Math.round(s.prune * 100)}%${s.pruneMethod === 'channel' ? ' (channel)' : ''}`;
  return text;
}
