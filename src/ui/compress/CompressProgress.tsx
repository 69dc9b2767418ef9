import type { CompressJob } from '../../state/compress-store';
import { ProgressBar } from '../common/ProgressBar';
import { jobFraction, stageLabel } from './describe';
import { progressLine } from './progress-line';

export interface CompressProgressProps {
  job: CompressJob;
  onCancel: () => void;
}

/** How many finished layers the list shows (the newest). */
const SHOWN = 8;

/** The compression in flight: stage, per-layer progress, the layers done so far, and Cancel. */
export function CompressProgress({ job, onCancel }: CompressProgressProps) {
  const fraction = jobFraction(job);
  const shown = job.finished.slice(-SHOWN);
  return (
    <div className="compress-progress" data-testid="compress-progress" aria-live="polite">
      <div className="loading__head">
        <div className="spinner" aria-hidden="true" />
        <div className="loading__text">
          <div className="strong" data-testid="compress-stage" data-stage={job.stage}>
            {stageLabel(job.stage)}…
          </div>
          <div className="muted" data-testid="compress-layer-count" data-done={job.done} data-total={job.total}>
            {progressLine(job, fraction)}
          </div>
        </div>
        <button type="button" className="button button--secondary" onClick={onCancel} data-testid="compress-cancel">
          Cancel
        </button>
      </div>
      <ProgressBar fraction={fraction} label="Compressing" />
      {shown.length > 0 && (
        <ol className="compress-progress__layers" start={job.finished.length - shown.length + 1}>
          {shown.map((key, i) => (
            <li key={`${job.finished.length - shown.length + i}:${key}`} className="mono" data-testid="compress-layer-done">
              <span className="compress-progress__tick" aria-hidden="true">
                ✓
              </span>
              {key}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
