import { useEffect } from 'react';
import { formatBytes } from '../../core/bytes-and-counts';
import { useBenchStore } from '../../state/bench-store';
import { useCompressStore } from '../../state/compress-store';
import { useModelStore } from '../../state/model-store';
import { useDataStore } from '../../state/data-store';
import { RandomMark } from '../common/RandomMark';
import { StaleResult } from '../compress/StaleResult';
import { ProgressBar } from '../common/ProgressBar';
import { BenchBackends } from './BenchBackends';
import { BenchInputs } from './BenchInputs';
import { BenchResults } from './BenchResults';
import './bench.css';

/** The Benchmark tab: original vs compressed on every backend, fidelity and accuracy. */
export function BenchPanel({ onOpenData }: { onOpenData: () => void }) {
  const model = useModelStore((s) => s.model);
  const result = useCompressStore((s) => s.result);
  const compressing = useCompressStore((s) => s.job !== undefined);
  const availability = useBenchStore((s) => s.availability.kind);
  const checkBackends = useBenchStore((s) => s.checkBackends);
  const run = useBenchStore((s) => s.run);
  const results = useBenchStore((s) => s.results);
  const setup = useBenchStore((s) => s.setup);
  const start = useBenchStore((s) => s.start);
  const cancel = useBenchStore((s) => s.cancel);
  const measuredOn = useBenchStore((s) => s.data);
  const dataVersion = useDataStore((s) => s.version);
  useEffect(() => {
    if (availability === 'unknown') void checkBackends();
  }, [availability, checkBackends]);
  if (!model) return null;
  const running = run.kind === 'running';
  const current = result && result.model === model ? result : undefined;
  return (
    <div className="bench" data-testid="bench-panel" data-state={run.kind}>
      <div className="bench-head">
        <div>
          <h2 className="card__title">Benchmark and evaluate</h2>
          <div className="muted">
            The original and the compressed model, in onnxruntime-web on each backend of this browser, on the same inputs. Nothing leaves this tab.
          </div>
        </div>
        {current ? (
          <div className="muted" data-testid="bench-compressed">
            Compressed result: {formatBytes(current.compressedBytes)} (from {formatBytes(current.originalBytes)})
          </div>
        ) : (
          <div className="compress-note" data-testid="bench-need-compress">
            {compressing ? 'Compressing…' : 'Compress the model first (the Compress button in the top bar): the benchmark compares the original with the compressed result.'}
          </div>
        )}
      </div>
      {current && <StaleResult where="bench" />}
      <BenchInputs disabled={running} onOpenData={onOpenData} />
      <BenchBackends disabled={running} />
      <div className="bench-run">
        <button
          type="button"
          className="button button--primary"
          disabled={running || !current || availability === 'checking' || availability === 'unknown'}
          title={availability === 'checking' || availability === 'unknown' ? 'Checking which backends this browser has…' : undefined}
          onClick={() => void start()}
          data-testid="bench-run"
        >
          {results.length > 0 && !running ? 'Run again' : 'Run benchmark'}
        </button>
        {running && (
          <>
            <div className="bench-progress" data-testid="bench-progress">
              <div className="muted" data-testid="bench-progress-label">
                {run.progress.label}
              </div>
              <ProgressBar fraction={run.progress.fraction} label="Benchmark" />
            </div>
            <button type="button" className="button button--secondary" onClick={cancel} data-testid="bench-cancel">
              Cancel
            </button>
          </>
        )}
        {run.kind === 'cancelled' && <span className="muted" data-testid="bench-cancelled">Cancelled; the results so far are kept.</span>}
        {run.kind === 'failed' && (
          <span className="compress-note compress-note--error" data-testid="bench-failed">
            {run.message}
          </span>
        )}
        {run.kind === 'done' && <span className="muted">Done in {(run.ms / 1000).toFixed(1)} s.</span>}
      </div>
      {setup && (
        <div className="muted" data-testid="bench-setup">
          {measuredOn?.random && <RandomMark testId="bench-results-random" />} Inputs: {setup.inputs}
          {measuredOn && measuredOn.version !== dataVersion && (
            <span className="stale-mark" data-testid="bench-stale">
              {' '}
              stale: the data changed since (run again)
            </span>
          )}
        </div>
      )}
      <BenchResults
        results={results}
        originalBytes={setup?.originalFileBytes}
        compressedBytes={setup?.compressedFileBytes}
        classNames={setup?.classNames ?? []}
        intActivations={result?.report.layers.some((l) => !l.error && l.activations !== undefined) ?? false}
      />
    </div>
  );
}
