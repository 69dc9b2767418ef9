import { useRecipeStore, type WeightsSetting } from '../../state/recipe-store';
import { PRUNE_COLOR, WEIGHT_COLORS, WEIGHT_LABELS } from './colors';
import './recipe.css';

const MODES: readonly WeightsSetting[] = ['fp32', 'fp16', 'int8', 'int4'];

export interface LegendProps {
  /** show how many layers have each setting (default true) */
  counts?: boolean;
  className?: string;
}

/** The graph's colour key: one swatch per weight setting (with layer counts), and the pruned border. */
export function Legend({ counts = true, className }: LegendProps) {
  const tally = useRecipeStore((s) => {
    // a string key keeps the selector's result stable between renders
    const n = { fp32: 0, fp16: 0, int8: 0, int4: 0, pruned: 0 };
    for (const k in s.resolved) {
      const v = s.resolved[k];
      n[v.weights]++;
      if (v.prune > 0) n.pruned++;
    }
    return `${n.fp32},${n.fp16},${n.int8},${n.int4},${n.pruned}`;
  });
  const [fp32, fp16, int8, int4, pruned] = tally.split(',').map(Number);
  const byMode: Record<WeightsSetting, number> = { fp32, fp16, int8, int4 };
  return (
    <div className={`legend${className ? ` ${className}` : ''}`} data-testid="legend" aria-label="Layer colours">
      {MODES.map((m) => (
        <span key={m} className="legend__item" data-testid={`legend-${m}`} data-count={byMode[m]}>
          <span className="legend__swatch" style={{ background: WEIGHT_COLORS[m] }} />
          {WEIGHT_LABELS[m]}
          {counts && <span className="legend__count">{byMode[m]}</span>}
        </span>
      ))}
      <span className="legend__item" data-testid="legend-pruned" data-count={pruned}>
        <span className="legend__swatch legend__swatch--pruned" style={{ borderColor: PRUNE_COLOR }} />
        pruned
        {counts && <span className="legend__count">{pruned}</span>}
      </span>
    </div>
  );
}
