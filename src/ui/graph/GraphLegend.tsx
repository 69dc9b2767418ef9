import { memo } from 'react';
import type { WeightsSetting } from '../../state/recipe-store';
import { PRUNE_COLOR, WEIGHT_COLORS } from '../recipe/colors';

const MODES: readonly WeightsSetting[] = ['fp32', 'fp16', 'int8', 'int4'];

/** The graph's colour key: a swatch per weight setting, and the dashed border of pruned layers. */
export const GraphLegend = memo(function GraphLegend() {
  return (
    <div className="glegend__box" data-testid="graph-legend" aria-label="Layer colours">
      <span className="glegend__label">Layers</span>
      {MODES.map((m) => (
        <span key={m} className="glegend__item" data-mode={m}>
          <span className="glegend__swatch" style={{ background: WEIGHT_COLORS[m] }} />
          {m}
        </span>
      ))}
      <span className="glegend__item">
        <span className="glegend__swatch glegend__swatch--pruned" style={{ borderColor: PRUNE_COLOR }} />
        pruned
      </span>
    </div>
  );
});
