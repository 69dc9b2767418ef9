import { Bar, BarChart, CartesianGrid, LabelList, Legend, Tooltip, XAxis, YAxis } from 'recharts';

export interface LatencyDatum {
  backend: string;
  original?: number;
  compressed?: number;
  /** original time / compressed time (src/core/speedup.ts), the table's figure */
  speedup?: number;
  /** the times come from separate runs (no side-by-side run) */
  separate?: boolean;
}

/** Median latency by backend, original vs compressed, with the speed-up over each pair (recharts). */
export default function LatencyChart({ data }: { data: LatencyDatum[] }) {
  const rows = data.map((d) => ({ ...d, label: d.speedup === undefined ? '' : `speed-up ${d.speedup.toFixed(2)}×` }));
  const separate = data.some((d) => d.separate);
  return (
    <BarChart responsive style={{ width: '100%', height: 240 }} data={rows} margin={{ top: 20, right: 12, bottom: 4, left: 8 }}>
      <CartesianGrid strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="backend" />
      <YAxis unit=" ms" width={72} />
      <Tooltip isAnimationActive={false} formatter={(v) => (typeof v === 'number' ? `${v.toFixed(3)} ms` : String(v))} />
      <Legend />
      <Bar dataKey="original" name={separate ? 'original (median)' : 'original (side-by-side median)'} fill="#94a3b8" isAnimationActive={false} />
      <Bar dataKey="compressed" name={separate ? 'compressed (median)' : 'compressed (original ÷ speed-up)'} fill="#6366f1" isAnimationActive={false}>
        <LabelList dataKey="label" position="top" />
      </Bar>
    </BarChart>
  );
}
