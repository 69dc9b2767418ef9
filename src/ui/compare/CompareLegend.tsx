import { memo } from 'react';
import type { ChangeKind } from '../../workers/model-api';
import { WEIGHT_COLORS } from '../recipe/colors';
import { KIND_COLORS, KIND_LABELS, LEGEND_KINDS } from './kinds';

export interface CompareLegendProps {
  counts: Partial<Record<ChangeKind, number>>;
}

/** What the colours and badges mean, with how many nodes each kind of change touched. */
export const CompareLegend = memo(function CompareLegend({ counts }: CompareLegendProps) {
  return (
    <div className="clegend" data-testid="compare-legend" aria-label="Changes">
      {(['int8', 'int4', 'fp16'] as const).map((m) => (
        <span key={m} className="clegend__item">
          <span className="clegend__swatch" style={{ background: WEIGHT_COLORS[m] }} />
          {m}
        </span>
      ))}
      {LEGEND_KINDS.filter((k) => k !== 'quantized' && k !== 'fp16').map((k) => (
        <span key={k} className={`clegend__item${counts[k] ? '' : ' clegend__item--none'}`} data-kind={k} data-count={counts[k] ?? 0}>
          <span className={`clegend__swatch clegend__swatch--${k}`} style={{ background: KIND_COLORS[k] }} />
          {KIND_LABELS[k]}
          {counts[k] ? <strong> {counts[k]}</strong> : null}
        </span>
      ))}
    </div>
  );
});
