import { useMemo, useRef, useState } from 'react';
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatBytes } from '../../core/bytes-and-counts';
import { paretoFront } from '../../bench/explore/search';
import { useCurrentPointId, useExploreStore, type ExplorePoint } from '../../state/explore-store';
import { download, formatMetric, formatMs, METRIC_SHORT, mixText, pointsCsv, svgPng, svgText } from './metric-export';

const COLORS = { original: '#475569', uniform: '#0ea5e9', rtn: '#94a3b8', search: '#f59e0b', front: '#16a34a', other: '#64748b', current: '#e11d48' };

type Axis = 'size' | 'latency';

interface Row extends ExplorePoint {
  x: number;
  y: number;
}

interface ShapeProps {
  cx?: number;
  cy?: number;
  payload?: Row;
}

function PointShape({ cx, cy, payload, fill, current, onPick }: ShapeProps & { fill: string; current: number | undefined; onPick: (id: number) => void }) {
  if (cx === undefined || cy === undefined || !payload) return null;
  const isCurrent = payload.id === current;
  return (
    <g
      data-testid="pareto-point"
      data-id={payload.id}
      data-kind={payload.kind}
      data-current={isCurrent ? 'true' : 'false'}
      style={{ cursor: 'pointer' }}
      onClick={() => onPick(payload.id)}
    >
      {isCurrent && <circle cx={cx} cy={cy} r={10} fill="none" stroke={COLORS.current} strokeWidth={2.5} />}
      <circle cx={cx} cy={cy} r={payload.kind === 'original' ? 6 : 5} fill={fill} stroke="#fff" strokeWidth={1} />
    </g>
  );
}

function TipContent({ active, payload }: { active?: boolean; payload?: { payload?: Row }[] }) {
  const metric = useExploreStore((s) => s.metric);
  const p = active ? payload?.[0]?.payload : undefined;
  if (!p) return null;
  return (
    <div className="explore-tip" data-testid="pareto-tip">
      <strong>{p.label}</strong>
      <div>
        {formatBytes(p.size)} projected · file {formatBytes(p.fileBytes)}
      </div>
      <div>latency {formatMs(p.latencyMs)} (wasm, 1 thread)</div>
      <div>
        {metric ? METRIC_SHORT[metric] : 'metric'} {formatMetric(p.metric, metric)}
        {p.score.accuracy !== undefined && metric !== 'accuracy' ? ` · accuracy ${formatMetric(p.score.accuracy, 'accuracy')}` : ''}
      </div>
      <div>
        cosine {p.score.cosine.toFixed(5)} · top-1 {(p.score.top1 * 100).toFixed(1)}%
      </div>
      <div className="explore-tip__mix">{mixText(p)}</div>
      <div className="explore-tip__hint">Click to load its recipe</div>
    </div>
  );
}

/**
 * Size (or latency on wasm) against the metric, one point per measured configuration, the Pareto
 * front as a line; click a point to load its recipe.
 */
export function ParetoChart() {
  const points = useExploreStore((s) => s.points);
  const metric = useExploreStore((s) => s.metric);
  const sizeBasis = useExploreStore((s) => s.sizeBasis);
  const apply = useExploreStore((s) => s.applyPoint);
  const current = useCurrentPointId();
  const box = useRef<HTMLDivElement>(null);
  const [axis, setAxis] = useState<Axis>('size');
  const rows = useMemo(() => points.map((p): Row => ({ ...p, x: axis === 'size' ? p.size : p.latencyMs, y: p.metric })), [points, axis]);
  const front = useMemo(() => paretoFront(rows, (r) => r.x), [rows]);
  // the last results with recovery the other way, measured with the same metric: their front
  const other = useExploreStore((s) => s.otherFront);
  const recovery = useExploreStore((s) => s.recovery);
  const otherFront = useMemo(() => {
    if (!other || other.metric !== metric) return [];
    return paretoFront(other.points.map((p): Row => ({ ...p, x: axis === 'size' ? p.size : p.latencyMs, y: p.metric })), (r) => r.x);
  }, [other, metric, axis]);
  const [full, setFull] = useState(false);
  // zoomed: from a little below the lowest point on the front (points far below it, like heavy
  // uniform pruning, would squash the interesting part); "full range" shows every point
  const yDomain = useMemo((): [number, number] | ['auto', 'auto'] => {
    const finite = rows.map((r) => r.y).filter(Number.isFinite);
    if (full || finite.length === 0 || front.length === 0) return ['auto', 'auto'];
    const top = Math.max(...finite);
    const low = Math.min(...front.map((f) => f.y), ...otherFront.map((f) => f.y).filter((y) => y >= top - 0.05), ...rows.filter((r) => (r.kind !== 'uniform' && r.kind !== 'uniform-rtn') || r.y >= top - 0.05).map((r) => r.y));
    const pad = Math.max((top - low) * 0.08, 1e-4);
    return [low - pad, top + pad];
  }, [rows, front, otherFront, full]);
  const hidden = Array.isArray(yDomain) && typeof yDomain[0] === 'number' ? rows.filter((r) => r.y < (yDomain[0] as number)).length : 0;
  const byKind = (k: ExplorePoint['kind']) => rows.filter((r) => r.kind === k);
  const svg = () => box.current?.querySelector<SVGSVGElement>('svg.recharts-surface') ?? undefined;
  const shape = (fill: string) => (props: unknown) => <PointShape {...(props as ShapeProps)} fill={fill} current={current} onPick={apply} />;
  if (points.length === 0) {
    return (
      <p className="explore-empty" data-testid="pareto-empty">
        Run a sweep to measure uniform settings and mixed configurations at several sizes.
      </p>
    );
  }
  return (
    <div className="pareto" data-testid="pareto-chart" data-points={points.length} data-front={front.length} data-other-front={otherFront.length} data-axis={axis}>
      <div className="segmented pareto__axis" role="radiogroup" aria-label="Horizontal axis">
        {(['size', 'latency'] as const).map((a) => (
          <button
            key={a}
            type="button"
            role="radio"
            aria-checked={axis === a}
            className={`segmented__option${axis === a ? ' segmented__option--on' : ''}`}
            onClick={() => setAxis(a)}
            data-testid={`pareto-axis-${a}`}
            title={a === 'size' ? (sizeBasis === 'stored' ? 'Projected file size (model plus data file)' : 'Projected download size (zip estimate)') : 'Median latency of one run on onnxruntime-web wasm, one thread, measured with each candidate (other candidates run in parallel workers, so compare points with each other rather than with the Benchmark tab)'}
          >
            {a === 'size' ? 'Size' : 'Latency (wasm)'}
          </button>
        ))}
      </div>
      <div className="pareto__chart" ref={box}>
        <ResponsiveContainer width="100%" height={300}>
          <ScatterChart margin={{ top: 10, right: 16, bottom: 36, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis
              type="number"
              dataKey="x"
              name={axis}
              tickFormatter={(v: number) => (axis === 'size' ? formatBytes(v) : formatMs(v))}
              domain={['auto', 'auto']}
              label={{ value: axis === 'size' ? (sizeBasis === 'stored' ? 'projected file size' : 'projected download (zip)') : 'latency, wasm 1 thread', position: 'insideBottom', offset: -16 }}
            />
            <YAxis type="number" dataKey="y" name="metric" domain={yDomain} allowDataOverflow tickFormatter={(v: number) => formatMetric(v, metric)} width={70} />
            <Tooltip content={<TipContent />} cursor={{ strokeDasharray: '3 3' }} />
            <Legend verticalAlign="bottom" height={20} wrapperStyle={{ bottom: 0 }} />
            <Scatter name={otherFront.length > 0 ? `Pareto front, ${recovery ? 'with' : 'without'} recovery` : 'Pareto front'} data={front} fill={COLORS.front} line={{ stroke: COLORS.front, strokeWidth: 2 }} shape={() => <g />} legendType="line" isAnimationActive={false} />
            {otherFront.length > 0 && (
              <Scatter
                name={`front ${other?.recovery ? 'with' : 'without'} recovery (earlier run)`}
                data={otherFront}
                fill={COLORS.other}
                line={{ stroke: COLORS.other, strokeWidth: 2, strokeDasharray: '6 4' }}
                shape={() => <g />}
                legendType="plainline"
                isAnimationActive={false}
              />
            )}
            <Scatter name="original" data={byKind('original')} fill={COLORS.original} shape={shape(COLORS.original)} isAnimationActive={false} />
            <Scatter name="uniform" data={byKind('uniform')} fill={COLORS.uniform} shape={shape(COLORS.uniform)} isAnimationActive={false} />
            {byKind('uniform-rtn').length > 0 && (
              <Scatter name="uniform, no recovery" data={byKind('uniform-rtn')} fill={COLORS.rtn} shape={shape(COLORS.rtn)} isAnimationActive={false} />
            )}
            <Scatter name="search" data={byKind('search')} fill={COLORS.search} shape={shape(COLORS.search)} isAnimationActive={false} />
          </ScatterChart>
        </ResponsiveContainer>
      </div>
      <div className="pareto__actions">
        <span className="muted">
          {points.length} points, {front.length} on the front
          {hidden > 0 ? `, ${hidden} below` : ''}
        </span>
        <label className="explore-check">
          <input type="checkbox" checked={full} onChange={(e) => setFull(e.target.checked)} data-testid="pareto-full" />
          full range
        </label>
        <button type="button" className="button button--secondary button--small" data-testid="export-svg" onClick={() => { const s = svg(); if (s) download(new Blob([svgText(s)], { type: 'image/svg+xml' }), 'pareto.svg'); }}>
          SVG
        </button>
        <button type="button" className="button button--secondary button--small" data-testid="export-png" onClick={() => { const s = svg(); if (s) void svgPng(s).then((b) => download(b, 'pareto.png')); }}>
          PNG
        </button>
        <button type="button" className="button button--secondary button--small" data-testid="export-csv" onClick={() => download(new Blob([pointsCsv(points, metric)], { type: 'text/csv' }), 'pareto.csv')}>
          CSV
        </button>
      </div>
    </div>
  );
}
