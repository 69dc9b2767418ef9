import type { ReactNode } from 'react';

export interface StatProps {
  label: string;
  value: ReactNode;
  /** Machine-readable value for tests and copy/paste (e.g. the exact count). */
  raw?: string | number;
  hint?: string;
  testId?: string;
}

export function Stat({ label, value, raw, hint, testId }: StatProps) {
  return (
    <div className="stat" data-testid={testId} data-value={raw} title={hint}>
      <div className="stat__label">{label}</div>
      <div className="stat__value">{value}</div>
    </div>
  );
}
