/**
 * CONTRACT: one colour per weight setting, shared by the graph (node fill/border) and the legend.
 */
import type { LayerSettingView, WeightsSetting } from '../../state/recipe-store';

export const WEIGHT_COLORS: Record<WeightsSetting, string> = {
  fp32: '#94a3b8',
  fp16: '#0ea5e9',
  int8: '#22c55e',
  int4: '#f59e0b',
};

/** Colour of a layer under its setting; pruned layers are drawn with a hatched/dashed border by the graph. */
export function settingColor(s: LayerSettingView | undefined): string {
  return s ? WEIGHT_COLORS[s.weights] : WEIGHT_COLORS.fp32;
}
