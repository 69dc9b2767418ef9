export interface ProgressBarProps {
  /** 0..1 */
  fraction: number;
  label: string;
}

export function ProgressBar({ fraction, label }: ProgressBarProps) {
  const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
  return (
    <div
      className="progress"
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      data-testid="progress-bar"
    >
      <div className="progress__fill" style={{ width: `${pct}%` }} />
    </div>
  );
}
