import { useState } from 'react';
import { METRIC_LABELS } from '../../bench/explore/score';
import { useExploreStore } from '../../state/explore-store';
import { ProgressBar } from '../common/ProgressBar';
import { formatMetric } from './metric-export';
import { ParetoChart } from './ParetoChart';
import { SensitivityChart } from './SensitivityChart';
import './explore.css';

const secs = (ms: number | undefined) => (ms === undefined ? '' : ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);

function Controls() {
  const phase = useExploreStore((s) => s.phase);
  const progress = useExploreStore((s) => s.progress);
  const labeled = useExploreStore((s) => s.labeled);
  const allowPrune = useExploreStore((s) => s.allowPrune);
  const heatOn = useExploreStore((s) => s.heatOn);
  const hasEntries = useExploreStore((s) => s.entries.length > 0);
  const st = useExploreStore.getState;
  const [goal, setGoal] = useState<'size' | 'floor'>('size');
  const [ratio, setRatio] = useState('15');
  const [floor, setFloor] = useState('0.99');
  const busy = phase === 'preparing' || phase === 'sensitivity' || phase === 'sweep' || phase === 'search';
  const goalValue = goal === 'size' ? Number(ratio) / 100 : Number(floor);
  const goalOk = Number.isFinite(goalValue) && goalValue > 0 && (goal === 'floor' || goalValue <= 1);
  return (
    <div className="explore-controls">
      <div className="explore-row">
        <label className="explore-field">
          Data
          <select
            value={labeled.kind}
            disabled={busy}
            data-testid="explore-data"
            onChange={(e) => {
              const v = e.target.value;
              if (v === 'sample') st().setLabeled({ kind: 'sample' });
              else if (v === 'none') st().setLabeled({ kind: 'none' });
            }}
          >
            <option value="sample">the sample's labeled set</option>
            <option value="none">no labels: fidelity on synthesized inputs</option>
            {labeled.kind === 'file' && <option value="file">{labeled.file.name}</option>}
          </select>
        </label>
        <label className="button button--secondary button--small explore-file">
          Labeled set…
          <input
            type="file"
            accept=".json,.csv"
            disabled={busy}
            data-testid="explore-labeled-file"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) st().setLabeled({ kind: 'file', file: f });
              e.target.value = '';
            }}
          />
        </label>
        <label className="explore-check">
          <input type="checkbox" checked={allowPrune} disabled={busy} onChange={(e) => st().setAllowPrune(e.target.checked)} data-testid="explore-prune" />
          allow pruning
        </label>
        <label className="explore-check">
          <input type="checkbox" checked={heatOn} onChange={(e) => st().setHeatOn(e.target.checked)} disabled={!hasEntries} data-testid="explore-heat" />
          heat on the graph (Graph tab)
        </label>
      </div>
      <div className="explore-row">
        <button type="button" className="button button--secondary" disabled={busy} onClick={() => void st().runSensitivity()} data-testid="run-sensitivity">
          Sensitivity
        </button>
        <button type="button" className="button button--secondary" disabled={busy} onClick={() => void st().runSweep()} data-testid="run-sweep">
          Sweep
        </button>
        <span className="explore-sep" />
        <select value={goal} onChange={(e) => setGoal(e.target.value as 'size' | 'floor')} disabled={busy} data-testid="search-goal">
          <option value="size">size ≤ % of original</option>
          <option value="floor">metric ≥</option>
        </select>
        {goal === 'size' ? (
          <input className="explore-num" type="number" min={1} max={100} step={1} value={ratio} onChange={(e) => setRatio(e.target.value)} disabled={busy} data-testid="search-ratio" />
        ) : (
          <input className="explore-num" type="number" min={0} max={1} step={0.001} value={floor} onChange={(e) => setFloor(e.target.value)} disabled={busy} data-testid="search-floor" />
        )}
        <button
          type="button"
          className="button button--primary"
          disabled={busy || !goalOk}
          onClick={() => void st().search(goal === 'size' ? { kind: 'size', ratio: goalValue } : { kind: 'floor', value: goalValue })}
          data-testid="run-search"
        >
          Find recipe
        </button>
        {busy && (
          <button type="button" className="button button--secondary" onClick={() => st().cancel()} data-testid="explore-cancel">
            Cancel
          </button>
        )}
      </div>
      {busy && progress && (
        <div className="explore-progress" data-testid="explore-progress">
          <ProgressBar fraction={progress.total > 0 ? progress.done / progress.total : 0} label={progress.label} />
          <span className="muted">
            {progress.label}
            {progress.total > 0 ? ` (${progress.done}/${progress.total})` : progress.done > 0 ? ` (${progress.done} measured)` : ''}
          </span>
        </div>
      )}
    </div>
  );
}

function Status() {
  const phase = useExploreStore((s) => s.phase);
  const error = useExploreStore((s) => s.error);
  const metric = useExploreStore((s) => s.metric);
  const baseline = useExploreStore((s) => s.baseline);
  const inputs = useExploreStore((s) => s.inputs);
  const workers = useExploreStore((s) => s.workers);
  const sensMs = useExploreStore((s) => s.sensitivityMs);
  const cached = useExploreStore((s) => s.sensitivityCached);
  const searchMs = useExploreStore((s) => s.searchMs);
  const found = useExploreStore((s) => s.points.find((p) => p.id === s.found));
  return (
    <div className="explore-status" data-testid="explore-status" data-phase={phase}>
      {error && (
        <p className="inline-error" role="alert" data-testid="explore-error">
          {error}
        </p>
      )}
      {phase === 'cancelled' && <p className="muted">Cancelled; what was measured is kept.</p>}
      {metric && baseline && (
        <p className="muted">
          Metric: {METRIC_LABELS[metric]} (original {formatMetric(metric === 'accuracy' ? (baseline.accuracy ?? NaN) : 1, metric)}). Inputs: {inputs}. {workers} worker{workers === 1 ? '' : 's'}, onnxruntime-web wasm, 1 thread each.
          {sensMs !== undefined && ` Sensitivity ${cached ? 'from the cache' : `took ${secs(sensMs)}`}.`}
          {searchMs !== undefined && ` Last search/sweep took ${secs(searchMs)}.`}
        </p>
      )}
      {found && (
        <p data-testid="explore-found">
          Found: <strong>{found.label}</strong>, {formatMetric(found.metric, metric)}; its recipe is loaded (undo with Ctrl+Z).
        </p>
      )}
    </div>
  );
}

/** The Explore tab's panel: run controls, the Pareto chart, the sensitivity chart. */
export function ExplorePanel() {
  return (
    <section className="explore-panel" data-testid="explore-panel" aria-label="Trade-off explorer">
      <Controls />
      <Status />
      <div className="explore-charts">
        <div className="explore-chart">
          <h3 className="explore-h">Accuracy / size</h3>
          <ParetoChart />
        </div>
        <div className="explore-chart">
          <h3 className="explore-h">Sensitivity per layer</h3>
          <SensitivityChart />
        </div>
      </div>
    </section>
  );
}
