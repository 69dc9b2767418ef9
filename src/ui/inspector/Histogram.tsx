import { Bar, BarChart, Cell, Tooltip, XAxis, YAxis } from 'recharts';
import type { TensorStatsView } from '../../workers/model-api';
import { formatStat } from './stat-text';

export interface HistogramProps {
  stats: TensorStatsView;
  height?: number;
}

interface BinDatum {
  /** bin centre */
  x: number;
  lo: number;
  hi: number;
  count: number;
  /** the bin holds 0 */
  zero: boolean;
}

const BAR = '#6366f1';
const ZERO_BAR = '#e11d48';

/** The distribution of a tensor's values (recharts), with the bin that holds zero picked out. */
export default function Histogram({ stats, height = 84 }: HistogramProps) {
  const { min, width: w, counts } = stats.histogram;
  const data: BinDatum[] = counts.map((count, i) => {
    const lo = min + i * w;
    const hi = w === 0 ? min : lo + w;
    const last = i === counts.length - 1;
    const holdsZero = w === 0 ? min === 0 : lo <= 0 && (0 < hi || (last && 0 <= hi));
    return { x: (lo + hi) / 2, lo, hi, count, zero: stats.zeros > 0 && holdsZero };
  });
  return (
    <BarChart responsive style={{ width: '100%', height }} data={data} margin={{ top: 4, right: 0, bottom: 0, left: 0 }} barCategoryGap={1}>
      <XAxis dataKey="x" hide />
      <YAxis hide domain={[0, 'dataMax']} />
      <Tooltip
        cursor={{ fill: 'rgba(99, 102, 241, 0.08)' }}
        isAnimationActive={false}
        content={({ active, payload }) => {
          const d = active && payload?.[0] ? (payload[0].payload as BinDatum) : undefined;
          if (!d) return null;
          return (
            <div className="hist-tip">
              <div className="mono">
                {w === 0 ? formatStat(d.lo) : `${formatStat(d.lo)} … ${formatStat(d.hi)}`}
              </div>
              <div>
                <strong>{d.count.toLocaleString('en-US')}</strong> value{d.count === 1 ? '' : 's'}
              </div>
            </div>
          );
        }}
      />
      <Bar dataKey="count" isAnimationActive={false} radius={[2, 2, 0, 0]} minPointSize={0}>
        {data.map((d, i) => (
          <Cell key={i} fill={d.zero ? ZERO_BAR : BAR} />
        ))}
      </Bar>
    </BarChart>
  );
}
