import { useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { PROBES } from '../../bench/explore/sensitivity';
import { useExploreStore } from '../../state/explore-store';
import { useSelectionStore } from '../../state/selection-store';
import { METRIC_SHORT } from './metric-export';

const PROBE_COLORS: Record<string, string> = { int8: '#22c55e', int4: '#f59e0b', prune25: '#fda4af', prune50: '#fb7185', prune75: '#e11d48' };

/** Room for layer names on the vertical axis; a longer name keeps its end and shows whole on hover. */
const NAME_WIDTH = 280;
const NAME_CHARS = 44;

function NameTick({ x = 0, y = 0, payload }: { x?: number | string; y?: number | string; payload?: { value?: string } }) {
  const k = String(payload?.value ?? '');
  return (
    <g transform={`translate(${x},${y})`}>
      <text x={-4} dy={4} textAnchor="end" fontSize={11} fill="#475569" data-testid="sensitivity-name">
        <title>{k}</title>
        {k.length > NAME_CHARS ? `…${k.slice(-(NAME_CHARS - 1))}` : k}
      </text>
    </g>
  );
}

/** Layers sorted by sensitivity (most sensitive first): the metric's drop for each probe, in percentage points (cosine: 1 - cosine). */
export function SensitivityChart() {
  const entries = useExploreStore((s) => s.entries);
  const heat = useExploreStore((s) => s.heat);
  const metric = useExploreStore((s) => s.metric);
  const select = useSelectionStore((s) => s.select);
  const rows = useMemo(() => {
    const byKey = new Map<string, Record<string, number | string>>();
    for (const e of entries) {
      let r = byKey.get(e.key);
      if (!r) byKey.set(e.key, (r = { key: e.key, op: e.op }));
      r[e.probe] = metric === 'cosine' ? e.cosineDrop : e.drop * 100;
    }
    return [...byKey.values()].sort((a, b) => (heat[b.key as string] ?? 0) - (heat[a.key as string] ?? 0));
  }, [entries, heat, metric]);
  if (rows.length === 0) {
    return (
      <p className="explore-empty" data-testid="sensitivity-empty">
        Run the sensitivity scan: every layer alone at int8, int4 and pruned 25/50/75%.
      </p>
    );
  }
  const unit = metric === 'cosine' ? '1 − cosine' : `drop in ${metric ? METRIC_SHORT[metric] : 'metric'} (points)`;
  const height = Math.max(160, rows.length * 30 + 60);
  return (
    <div className="sensitivity" data-testid="sensitivity-chart" data-layers={rows.length}>
      <div className="sensitivity__scroll">
        <ResponsiveContainer width="100%" height={height}>
          <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 16, bottom: 16, left: 8 }} barCategoryGap={4}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" tickFormatter={(v: number) => (metric === 'cosine' ? v.toExponential(0) : v.toFixed(1))} label={{ value: unit, position: 'insideBottom', offset: -8 }} />
            <YAxis type="category" dataKey="key" width={NAME_WIDTH} interval={0} tick={<NameTick />} />
            <Tooltip formatter={(v) => (typeof v === 'number' ? (metric === 'cosine' ? v.toExponential(2) : `${v.toFixed(2)} pts`) : String(v))} />
            <Legend verticalAlign="top" height={24} />
            {PROBES.map((p) => (
              <Bar
                key={p.id}
                dataKey={p.id}
                name={p.label}
                fill={PROBE_COLORS[p.id]}
                isAnimationActive={false}
                onClick={(d: { payload?: { key?: string } }) => d.payload?.key && select(d.payload.key)}
                style={{ cursor: 'pointer' }}
              />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}
