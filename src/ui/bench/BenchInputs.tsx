import { useDataFeed } from '../../state/data-store';
import { useBenchStore } from '../../state/bench-store';
import { RandomMark } from '../common/RandomMark';

export interface BenchInputsProps {
  disabled: boolean;
  /** shows the Data tab */
  onOpenData: () => void;
}

/** What the benchmark is fed (the Data tab's evaluation part, or random inputs) and its timing caps. */
export function BenchInputs({ disabled, onOpenData }: BenchInputsProps) {
  const maxRuns = useBenchStore((s) => s.maxRuns);
  const maxSeconds = useBenchStore((s) => s.maxSeconds);
  const setCaps = useBenchStore((s) => s.setCaps);
  const feed = useDataFeed();
  return (
    <div className="bench-inputs">
      <fieldset className="bench-fieldset" data-testid="bench-source">
        <legend>Data</legend>
        <div data-testid="bench-data-line">
          {'problem' in feed ? (
            <span className="compress-note--error">{feed.problem}</span>
          ) : feed.random ? (
            <span>
              <RandomMark testId="bench-random-mark" /> {feed.line}: fidelity and latency, no accuracy.
            </span>
          ) : (
            <span>
              {feed.evaluationCount} evaluation samples: {feed.summary}
            </span>
          )}{' '}
          <button type="button" className="button button--link" data-testid="bench-open-data" onClick={onOpenData}>
            Change in the Data tab
          </button>
        </div>
      </fieldset>

      <fieldset className="bench-fieldset">
        <legend>Timing</legend>
        <div className="bench-dims">
          <label className="bench-dim">
            <span>at most</span>
            <input type="number" min={1} step={1} value={maxRuns} disabled={disabled} data-testid="bench-max-runs" onChange={(e) => setCaps({ maxRuns: Math.max(1, Math.floor(Number(e.target.value) || 1)) })} />
            <span>runs</span>
          </label>
          <label className="bench-dim">
            <span>or</span>
            <input type="number" min={0.1} step={0.5} value={maxSeconds} disabled={disabled} data-testid="bench-max-seconds" onChange={(e) => setCaps({ maxSeconds: Math.max(0.1, Number(e.target.value) || 0.1) })} />
            <span>seconds per model and backend; runs repeat until the median moves less than 2% between checks</span>
          </label>
        </div>
      </fieldset>
    </div>
  );
}
