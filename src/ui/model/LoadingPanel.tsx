import { formatBytes } from '../../core/bytes-and-counts';
import type { LoadingState } from '../../state/model-store';
import { ProgressBar } from '../common/ProgressBar';

export interface LoadingPanelProps {
  loading: LoadingState;
  onCancel: () => void;
}

const STAGES: Record<string, string> = {
  reading: 'Reading files',
  sniff: 'Checking the format',
  decode: 'Decoding',
  names: 'Naming nodes',
  'external data': 'Checking external data',
  done: 'Summarizing',
  summary: 'Summarizing',
};

/** Shown while a model is being read and parsed in the worker. */
export function LoadingPanel({ loading, onCancel }: LoadingPanelProps) {
  const stage = STAGES[loading.stage] ?? loading.stage.charAt(0).toUpperCase() + loading.stage.slice(1);
  return (
    <div className="loading card" data-testid="progress" aria-live="polite">
      <div className="loading__head">
        <div className="spinner" aria-hidden="true" />
        <div className="loading__text">
          <div className="strong">Opening {loading.fileNames.join(', ')}</div>
          <div className="muted" data-testid="progress-stage">
            {stage}… {Math.round(loading.fraction * 100)}% of {formatBytes(loading.totalBytes)}
          </div>
        </div>
        <button type="button" className="button button--secondary" onClick={onCancel} data-testid="cancel-button">
          Cancel
        </button>
      </div>
      <ProgressBar fraction={loading.fraction} label="Opening model" />
    </div>
  );
}
