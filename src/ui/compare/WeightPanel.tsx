import { lazy, memo, Suspense } from 'react';
import { useCompareStore } from '../../state/compare-store';
import type { WeightComparison } from '../../workers/model-api';

const WeightChart = lazy(() => import('./WeightChart'));

const num = (v: number | undefined, digits = 4) => (v === undefined ? '–' : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(digits));

/** The selected layer's weights: original against decoded, the grid and range of one channel or block. */
export const WeightPanel = memo(function WeightPanel() {
  const weights = useCompareStore((s) => s.weights);
  if (weights.kind === 'none') {
    return (
      <div className="wpanel wpanel--empty" data-testid="compare-weights" data-state="none">
        Select a layer (a row, or a node on either side) to compare its weights.
      </div>
    );
  }
  if (weights.kind === 'error') {
    return (
      <div className="wpanel" data-testid="compare-weights" data-state="error">
        <div className="wpanel__title mono">{weights.key}</div>
        <div className="wpanel__error" data-testid="compare-weights-error">
          {weights.message}
        </div>
      </div>
    );
  }
  if (weights.kind === 'loading') {
    return (
      <div className="wpanel" data-testid="compare-weights" data-state="loading">
        <div className="wpanel__title mono">{weights.key}</div>
        <div className="wpanel__loading">Decoding the weights…</div>
      </div>
    );
  }
  return <WeightDetails data={weights.data} />;
});

function WeightDetails({ data }: { data: WeightComparison }) {
  const g = data.grid;
  return (
    <div className="wpanel" data-testid="compare-weights" data-state="ready" data-key={data.key}>
      <div className="wpanel__head">
        <div className="wpanel__title">
          <span className="mono">{data.key}</span> <span className="wpanel__op">{data.op}</span>
        </div>
        <div className="wpanel__storage" data-testid="compare-storage">
          {data.weight} [{data.shape.join(', ')}] → {data.storage}
          {!data.aligned && ` [${data.compressedShape.join(', ')}]`}
        </div>
      </div>
      {data.groupCount > 1 && (
        <label className="wpanel__group">
          {data.groupCount} scale groups; showing{' '}
          <select
            data-testid="compare-group"
            value={data.group.index}
            onChange={(e) => void useCompareStore.getState().loadWeights(data.key, Number(e.target.value))}
          >
            {data.groups.map((x, i) => (
              <option key={x.index} value={x.index}>
                {x.label} ({num(x.min, 3)} … {num(x.max, 3)}){i === 0 ? ' · widest' : ''}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="wpanel__keys">
        <span className="wkey wkey--original">original</span>
        <span className="wkey wkey--decoded">decoded from the compressed file</span>
        {g && <span className="wkey wkey--grid">grid</span>}
        {g && <span className="wkey wkey--clip">representable range</span>}
      </div>
      <Suspense fallback={<div className="wchart wchart--placeholder" />}>
        <WeightChart data={data} />
      </Suspense>
      <dl className="wpanel__stats" data-testid="compare-weight-stats">
        {g && (
          <>
            <dt>grid</dt>
            <dd data-testid="compare-grid">
              {g.levels} levels, step {num(g.step, 5)}, range {num(g.lo)} … {num(g.hi)}
              {g.every > 1 ? ` (every ${g.every}th level drawn)` : ''}
            </dd>
            <dt>clipped</dt>
            <dd data-testid="compare-clipped">{data.aligned ? `${data.clipped} of ${data.group.elements}` : '–'}</dd>
          </>
        )}
        <dt>cosine</dt>
        <dd title={data.cosine === undefined && data.maxAbsError !== undefined ? 'both tensors are ~0 (every |value| ≤ 1e-6): no cosine; see max |error| and RMSE' : undefined}>
          {data.cosine !== undefined ? data.cosine.toFixed(6) : data.maxAbsError !== undefined ? 'n/a (≈ 0)' : '–'}
        </dd>
        <dt>max |error|</dt>
        <dd>{num(data.maxAbsError, 5)}</dd>
        <dt>RMSE</dt>
        <dd>{num(data.rmse, 5)}</dd>
        <dt>zeros</dt>
        <dd>
          {data.zeros.original} → {data.zeros.decoded}
        </dd>
      </dl>
      {data.note && <div className="wpanel__note">{data.note}</div>}
    </div>
  );
}
