import type { ReactNode } from 'react';
import { FilePicker } from './FilePicker';

export interface EmptyStateProps {
  onFiles: (files: File[]) => void;
  onSample?: () => void;
  /** shown below the buttons (e.g. the recent models) */
  children?: ReactNode;
}

/** The first screen: where to drop a model, and a button for those who prefer a dialog. */
export function EmptyState({ onFiles, onSample, children }: EmptyStateProps) {
  return (
    <div className="empty" data-testid="empty-state">
      <div className="empty__art" aria-hidden="true">
        <svg viewBox="0 0 64 64">
          <rect x="10" y="6" width="44" height="52" rx="6" />
          <path d="M22 24h20M22 32h20M22 40h12" />
        </svg>
      </div>
      <h1 className="empty__title">Drop an ONNX model anywhere</h1>
      <p className="empty__text">
        Inspect its graph, layers and weights, then compress it. If the model keeps its weights in external data files,
        drop them together with the <code>.onnx</code> file.
      </p>
      <FilePicker onFiles={onFiles} testId="empty-file-input">
        Choose files…
      </FilePicker>
      {onSample && (
        <button type="button" className="button button--secondary" data-testid="empty-open-sample" onClick={onSample}>
          Try the sample model
        </button>
      )}
      {children}
      <p className="empty__privacy">Everything runs in this tab. Nothing is uploaded.</p>
    </div>
  );
}
