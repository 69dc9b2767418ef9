import { useEffect } from 'react';
import { useBenchStore, type BackendId } from '../../state/bench-store';
import { useCompressStore } from '../../state/compress-store';
import { useDataFeed, useDataStore } from '../../state/data-store';
import { AccuracyTable, FidelityTable } from '../bench/BenchResults';
import { BACKEND_NAMES, byBackend, num, pct } from '../bench/bench-numbers';
import { RandomMark } from '../common/RandomMark';
import { ProgressBar } from '../common/ProgressBar';

/**
 * Compare's output fidelity: the compressed model's outputs against the original's on the Data
 * tab's evaluation part. The figures are the Benchmark's (one measurement, shown in both places);
 * where the result has none yet, one click measures it on wasm (the Benchmark tab shows the same
 * run, latency included).
 */
export function CompareFidelity() {
  const resultId = useCompressStore((s) => s.result?.id);
  const results = useBenchStore((s) => s.results);
  const measuredFor = useBenchStore((s) => s.resultId);
  const measuredOn = useBenchStore((s) => s.data);
  const run = useBenchStore((s) => s.run);
  const availability = useBenchStore((s) => s.availability);
  const dataVersion = useDataStore((s) => s.version);
  const feed = useDataFeed();
  useEffect(() => {
    if (availability.kind === 'unknown') void useBenchStore.getState().checkBackends();
  }, [availability.kind]);

  const running = run.kind === 'running';
  const mine = measuredFor === resultId ? results : [];
  const pairs = byBackend(mine).filter((p) => p.compressed?.fidelity && p.compressed.fidelity.length > 0);
  const withAccuracy = byBackend(mine).filter((p) => p.original?.accuracy || p.compressed?.accuracy);
  const stale = measuredOn !== undefined && measuredOn.version !== dataVersion;
  const list = availability.kind === 'done' ? availability.list : [];
  const wasm: BackendId = list.some((a) => a.backend === 'wasm-n' && a.available) ? 'wasm-n' : 'wasm-1';
  const problem = 'problem' in feed ? feed.problem : undefined;
  const first = pairs[0];
  const state = running ? 'running' : pairs.length > 0 ? (stale ? 'stale' : 'done') : 'none';

  return (
    <details className="compare__fidelity" data-testid="compare-fidelity" data-state={state}>
      <summary>
        <strong>Outputs</strong>{' '}
        {first ? (
          <span data-testid="compare-fidelity-line">
            {measuredOn?.random && <RandomMark testId="compare-fidelity-random" />} {BACKEND_NAMES[first.backend]}, {measuredOn?.random ? 'on' : 'on the evaluation part of'} {measuredOn?.line}:{' '}
            {first.compressed!.fidelity!.map((f, i) => (
              <span key={f.output} className="mono" data-testid="compare-fidelity-output" data-output={f.output} data-kind={f.kind} data-cosine-worst={f.cosine.worst}>
                {i > 0 ? '; ' : ''}
                {f.output}{' '}
                {f.kind === 'near-zero'
                  ? `max |error| ${f.maxAbsError.worst.toPrecision(3)} (outputs ≈ 0)`
                  : f.kind === 'scalar'
                    ? `decisions at 0.5 agree ${pct(f.top1.rate)}, max |error| ${f.maxAbsError.worst.toPrecision(3)}`
                    : f.kind === 'map'
                      ? `cosine ${num(f.cosine.worst)} worst, pixels agreeing ${pct(f.top1.rate)} (${f.agreesOn.replace(/^pixels whose /, '').replace(/ agrees$/, '')})`
                      : `cosine ${num(f.cosine.worst)} worst, top-1 agreement ${pct(f.top1.rate)}`}
              </span>
            ))}
            {stale && (
              <span className="stale-mark" data-testid="compare-fidelity-stale">
                {' '}
                stale: the data changed since
              </span>
            )}
          </span>
        ) : (
          <span className="muted">not measured on this result yet</span>
        )}
      </summary>
      <div className="compare__fidelity-body">
        <div className="bench-run">
          <button
            type="button"
            className="button button--secondary button--small"
            data-testid="compare-fidelity-run"
            disabled={running || problem !== undefined || resultId === undefined || availability.kind === 'checking' || availability.kind === 'unknown'}
            title={problem ?? `Runs the Benchmark on ${BACKEND_NAMES[wasm]}: the same figures appear in the Benchmark tab, with latency`}
            onClick={() => void useBenchStore.getState().start([wasm])}
          >
            {pairs.length > 0 ? `Measure again on ${BACKEND_NAMES[wasm]}` : `Measure on ${BACKEND_NAMES[wasm]}`}
          </button>
          {running && (
            <>
              <div className="bench-progress" data-testid="compare-fidelity-progress">
                <div className="muted">{run.progress.label}</div>
                <ProgressBar fraction={run.progress.fraction} label="Measuring" />
              </div>
              <button type="button" className="button button--secondary button--small" onClick={() => useBenchStore.getState().cancel()}>
                Cancel
              </button>
            </>
          )}
          {run.kind === 'failed' && (
            <span className="compress-note compress-note--error" data-testid="compare-fidelity-error">
              {run.message}
            </span>
          )}
          {problem && <span className="muted">{problem}</span>}
        </div>
        {pairs.length > 0 && <FidelityTable pairs={pairs} />}
        {withAccuracy.length > 0 && <AccuracyTable pairs={withAccuracy} />}
      </div>
    </details>
  );
}
