import { lazy, Suspense, useEffect } from 'react';
import { formatBytes, formatCount } from '../../core/bytes-and-counts';
import { useInspectorStore } from '../../state/inspector-store';
import type { WeightView } from '../../workers/model-api';
import { formatDims, formatPercent, formatStat } from './stat-text';
import { TensorValues } from './TensorValues';

// recharts is large: it loads with the first histogram, not with the page
const Histogram = lazy(() => import('./Histogram'));

const ROLE_LABELS: Record<WeightView['role'], string> = {
  weight: 'weight',
  bias: 'bias',
  other: 'constant',
  constant: 'constant',
};

function Figure({ label, value, testId, raw }: { label: string; value: string; testId: string; raw: number }) {
  return (
    <div className="figure" data-testid={testId} data-value={Number.isFinite(raw) ? raw : ''}>
      <span className="figure__label">{label}</span>
      <span className="figure__value">{value}</span>
    </div>
  );
}

/** One weight tensor of the selected node: dtype, shape, bytes, statistics and histogram. */
export function WeightCard({ weight }: { weight: WeightView }) {
  const stats = useInspectorStore((s) => s.stats[weight.id]);
  const loadStats = useInspectorStore((s) => s.loadStats);
  useEffect(() => loadStats(weight.id), [weight.id, loadStats]);
  return (
    <div className="weight" data-testid="weight-card" data-name={weight.name} data-role={weight.role}>
      <div className="weight__head">
        <span className="weight__name mono" title={weight.name}>
          {weight.name}
        </span>
        <span className={`role role--${weight.role}`}>{ROLE_LABELS[weight.role]}</span>
      </div>
      <div className="weight__meta">
        <span className="tag">{weight.dtype}</span>
        <span className="mono" data-testid="weight-shape">
          {formatDims(weight.shape)}
        </span>
        <span className="muted">·</span>
        <span data-testid="weight-bytes" data-value={weight.bytes}>
          {formatBytes(weight.bytes)}
        </span>
        <span className="muted">·</span>
        <span className="muted" title={`${weight.elements.toLocaleString('en-US')} values`}>
          {formatCount(weight.elements)} values
        </span>
      </div>
      {(weight.source !== 'initializer' || weight.via.length > 0) && (
        <div className="weight__origin muted small">
          {weight.source === 'initializer' ? 'initializer' : weight.source === 'constant' ? 'Constant node' : weight.source === 'external' ? 'external data' : 'sparse'}
          {weight.via.length > 0 && ` → ${weight.via.join(' → ')}`}
        </div>
      )}
      {!stats || stats.status === 'loading' ? (
        <div className="weight__loading muted small">Computing statistics…</div>
      ) : stats.status === 'error' ? (
        <div className="inline-error small">{stats.message}</div>
      ) : stats.value.unavailable ? (
        <div className="muted small">{stats.value.unavailable}</div>
      ) : (
        <div className="weight__stats" data-testid="weight-stats">
          <div className="figures">
            <Figure label="min" value={formatStat(stats.value.min)} raw={stats.value.min} testId="stat-min" />
            <Figure label="max" value={formatStat(stats.value.max)} raw={stats.value.max} testId="stat-max" />
            <Figure label="mean" value={formatStat(stats.value.mean)} raw={stats.value.mean} testId="stat-mean" />
            <Figure label="std" value={formatStat(stats.value.std)} raw={stats.value.std} testId="stat-std" />
            <Figure label="zeros" value={formatPercent(stats.value.sparsity)} raw={stats.value.sparsity} testId="stat-sparsity" />
          </div>
          <div className="hist" data-testid="histogram" data-bins={stats.value.histogram.counts.length}>
            <Suspense fallback={<div className="hist__placeholder" />}>
              <Histogram stats={stats.value} />
            </Suspense>
            <div className="hist__axis mono">
              <span>{formatStat(stats.value.histogram.min)}</span>
              <span>{formatStat(stats.value.histogram.max)}</span>
            </div>
          </div>
          {(stats.value.isSampled || stats.value.nan > 0 || stats.value.infinite > 0) && (
            <p className="muted small" data-testid="stat-note">
              {stats.value.isSampled &&
                `Sampled: every ${stats.value.stride.toLocaleString('en-US')}th value (${stats.value.sampled.toLocaleString('en-US')} of ${stats.value.count.toLocaleString('en-US')}). `}
              {stats.value.nan > 0 && `${stats.value.nan} NaN. `}
              {stats.value.infinite > 0 && `${stats.value.infinite} infinite.`}
            </p>
          )}
        </div>
      )}
      {weight.values && (
        <div className="weight__values mono" data-testid="weight-values">
          [{weight.values.map((v) => (typeof v === 'number' ? formatStat(v) : JSON.stringify(v))).join(', ')}]
        </div>
      )}
      {weight.elements > 0 && <TensorValues key={weight.id} id={weight.id} elements={weight.elements} />}
    </div>
  );
}
