import { Area, ComposedChart, ReferenceArea, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import type { WeightComparison } from '../../workers/model-api';

export interface WeightChartProps {
  data: WeightComparison;
  height?: number;
}

const ORIGINAL = '#6366f1';
const DECODED = '#f97316';
const CLIP = '#e11d48';

interface Datum {
  x: number;
  x1: number;
  original: number;
  decoded: number;
}

const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 100 || Math.abs(v) < 0.001 ? v.toExponential(2) : v.toPrecision(3));

/**
 * The original weights' histogram and the decoded (dequantized) weights' histogram overlaid in
 * the same bins (centred on the quantization levels when there is a grid), the grid's levels as
 * thin lines and the representable range's limits as red dashed lines, shaded outside.
 */
export default function WeightChart({ data, height = 220 }: WeightChartProps) {
  const rows: Datum[] = data.bins.map((b) => ({ x: b.x0, x1: b.x1, original: b.original, decoded: b.decoded }));
  const last = data.bins[data.bins.length - 1];
  if (last) rows.push({ x: last.x1, x1: last.x1, original: last.original, decoded: last.decoded });
  const lo = data.bins[0]?.x0 ?? 0;
  const hi = last?.x1 ?? 1;
  const g = data.grid;
  return (
    <div className="wchart" data-testid="compare-chart" data-bins={data.bins.length} data-levels={g?.levels ?? 0} data-grid-lines={g?.shown.length ?? 0}>
      <ComposedChart responsive style={{ width: '100%', height }} data={rows} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
        <XAxis dataKey="x" type="number" domain={[lo, hi]} tickFormatter={fmt} tick={{ fontSize: 11 }} allowDataOverflow />
        <YAxis tick={{ fontSize: 11 }} width={44} allowDecimals={false} />
        {g && g.lo > lo && <ReferenceArea x1={lo} x2={g.lo} fill={CLIP} fillOpacity={0.06} ifOverflow="hidden" />}
        {g && g.hi < hi && <ReferenceArea x1={g.hi} x2={hi} fill={CLIP} fillOpacity={0.06} ifOverflow="hidden" />}
        {g?.shown.map((v, i) => <ReferenceLine key={i} x={v} stroke="#94a3b8" strokeOpacity={0.45} strokeWidth={1} ifOverflow="hidden" />)}
        {g && <ReferenceLine x={g.lo} stroke={CLIP} strokeDasharray="4 3" strokeWidth={1.5} label={{ value: 'min', position: 'insideTopLeft', fontSize: 10, fill: CLIP }} />}
        {g && <ReferenceLine x={g.hi} stroke={CLIP} strokeDasharray="4 3" strokeWidth={1.5} label={{ value: 'max', position: 'insideTopRight', fontSize: 10, fill: CLIP }} />}
        <Area type="stepAfter" dataKey="original" name="original" stroke={ORIGINAL} fill={ORIGINAL} fillOpacity={0.3} isAnimationActive={false} />
        <Area type="stepAfter" dataKey="decoded" name="decoded" stroke={DECODED} fill={DECODED} fillOpacity={0.3} isAnimationActive={false} />
        <Tooltip
          isAnimationActive={false}
          content={({ active, payload }) => {
            const d = active && payload?.[0] ? (payload[0].payload as Datum) : undefined;
            if (!d) return null;
            return (
              <div className="hist-tip">
                <div className="mono">
                  {fmt(d.x)} … {fmt(d.x1)}
                </div>
                <div>
                  original <strong>{d.original}</strong> · decoded <strong>{d.decoded}</strong>
                </div>
              </div>
            );
          }}
        />
      </ComposedChart>
    </div>
  );
}
