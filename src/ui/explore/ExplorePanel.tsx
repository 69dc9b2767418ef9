import { useState } from 'react';
import { METRIC_LABELS } from '../../bench/explore/score';
import { useRecipeStore } from '../../state/recipe-store';
import { useExploreStore } from '../../state/explore-store';
import { useDataFeed, useDataStore } from '../../state/data-store';
import { RandomMark } from '../common/RandomMark';
import { ProgressBar } from '../common/ProgressBar';
import { formatMetric } from './metric-export';
import { ParetoChart } from './ParetoChart';
import { SensitivityChart } from './SensitivityChart';
import './explore.css';

const secs = (ms: number | undefined) => (ms === undefined ? '' : ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`);

/** What the candidates are fed: the Data tab's evaluation part, or random inputs (marked), and whether the results are stale. */
function ExploreData({ onOpenData }: { onOpenData: () => void }) {
  const feed = useDataFeed();
  const measured = useExploreStore((s) => s.data);
  const version = useDataStore((s) => s.version);
  return (
    <div className="explore-field" data-testid="explore-data">
      <span className="strong">Data:</span>{' '}
      {'problem' in feed ? (
        <span className="compress-note--error">{feed.problem}</span>
      ) : feed.random ? (
        <>
          <RandomMark testId="explore-random-mark" /> <span className="muted">{feed.line}</span>
        </>
      ) : (
        <span className="muted">
          {feed.evaluationCount} evaluation samples ({feed.summary}); the {feed.calibrationCount} calibration samples are never scored
        </span>
      )}{' '}
      <button type="button" className="button button--link" data-testid="explore-open-data" onClick={onOpenData}>
        Data tab
      </button>
      {measured && measured.version !== version && (
        <span className="stale-mark" data-testid="explore-stale">
          {' '}
          results below are from other data: the next run starts over
        </span>
      )}
    </div>
  );
}

function Controls({ onOpenData }: { onOpenData: () => void }) {
  const phase = useExploreStore((s) => s.phase);
  const progress = useExploreStore((s) => s.progress);
  const allowPrune = useExploreStore((s) => s.allowPrune);
  const recovery = useExploreStore((s) => s.recovery);
  const heatOn = useExploreStore((s) => s.heatOn);
  const hasEntries = useExploreStore((s) => s.entries.length > 0);
  const st = useExploreStore.getState;
  const sizeBasis = useExploreStore((s) => s.sizeBasis);
  const [goal, setGoal] = useState<'size' | 'floor' | 'latency'>('size');
  const wasm = useRecipeStore((s) => s.recipe.target === 'wasm');
  const [ratio, setRatio] = useState('15');
  const [floor, setFloor] = useState('0.99');
  const busy = phase === 'preparing' || phase === 'sensitivity' || phase === 'sweep' || phase === 'search';
  const goalValue = goal === 'size' ? Number(ratio) / 100 : Number(floor);
  const goalOk = Number.isFinite(goalValue) && goalValue > 0 && (goal !== 'size' || goalValue <= 1) && (goal !== 'latency' || wasm);
  return (
    <div className="explore-controls">
      <div className="explore-row">
        <ExploreData onOpenData={onOpenData} />
        <label className="explore-check">
          <input type="checkbox" checked={allowPrune} disabled={busy} onChange={(e) => st().setAllowPrune(e.target.checked)} data-testid="explore-prune" />
          allow pruning
        </label>
        <label
          className="explore-check"
          title="Every candidate with recovery gptq: its int8/int4 codes chosen with the original model's help on the Data tab's calibration part (pruning repaired too), as Compress does with that recipe"
        >
          <input type="checkbox" checked={recovery} disabled={busy} onChange={(e) => st().setRecovery(e.target.checked)} data-testid="explore-recovery" />
          with recovery (gptq)
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
        <select value={sizeBasis} onChange={(e) => st().setSizeBasis(e.target.value as 'stored' | 'transfer')} disabled={busy} data-testid="size-basis" title="What a size means in the search and the chart">
          <option value="stored">sizes: the stored file</option>
          <option value="transfer">sizes: download (zip estimate)</option>
        </select>
        <select value={goal} onChange={(e) => setGoal(e.target.value as 'size' | 'floor' | 'latency')} disabled={busy} data-testid="search-goal">
          <option value="size" title={sizeBasis === 'stored' ? 'the compressed file (model plus data file), as its name and cli autotune --max-size mean it' : 'the projected download (zip estimate, as the top bar shows it): magnitude pruning counts; cli autotune --size transfer'}>
            {sizeBasis === 'stored' ? 'file' : 'download (zip)'} ≤ % of original
          </option>
          <option value="floor">metric ≥</option>
          <option
            value="latency"
            disabled={!wasm}
            title={wasm ? 'the fastest configuration on wasm (int8 weights, int8 activations where they pay, calibrated on the Data tab) whose metric is at least this' : 'for target wasm (int8 activations): choose the wasm target'}
          >
            fastest (wasm) with metric ≥
          </option>
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
          onClick={() => void st().search(goal === 'size' ? { kind: 'size', ratio: goalValue } : { kind: goal, value: goalValue })}
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
          {found.sideBySide && (
            <span data-testid="explore-found-speed" data-ms={found.sideBySide.ms} data-original-ms={found.sideBySide.originalMs}>
              {' '}
              Timed side by side with the other {found.sideBySide.finalists - 1} candidate{found.sideBySide.finalists === 2 ? '' : 's'} meeting the floor and the original (wasm, 1 thread, alternating runs):{' '}
              {found.sideBySide.ms.toFixed(2)} ms vs the original&apos;s {found.sideBySide.originalMs.toFixed(2)} ms
              {found.id !== 0 ? ` (${(found.sideBySide.originalMs / found.sideBySide.ms).toFixed(2)}× speed-up)` : ': nothing compressed is faster'}.
            </span>
          )}
        </p>
      )}
    </div>
  );
}

/** The Explore tab's panel: run controls, the Pareto chart, the sensitivity chart. */
export function ExplorePanel({ onOpenData }: { onOpenData: () => void }) {
  return (
    <section className="explore-panel" data-testid="explore-panel" aria-label="Trade-off explorer">
      <Controls onOpenData={onOpenData} />
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
