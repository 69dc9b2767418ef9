import { useMemo } from 'react';
import { formatInteger } from './shape';

export interface OpCountListProps {
  opCounts: Record<string, number>;
}

/** Operator types by how often they occur, with a bar for scale. */
export function OpCountList({ opCounts }: OpCountListProps) {
  const rows = useMemo(
    () => Object.entries(opCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    [opCounts],
  );
  if (rows.length === 0) return <p className="muted">No operators.</p>;
  const max = rows[0]![1];
  return (
    <ul className="op-list">
      {rows.map(([op, count]) => (
        <li key={op} className="op-list__row" data-testid="op-count" data-op={op} data-value={count}>
          <span className="op-list__name mono">{op}</span>
          <span className="op-list__bar">
            <span className="op-list__fill" style={{ width: `${(count / max) * 100}%` }} />
          </span>
          <span className="op-list__count">{formatInteger(count)}</span>
        </li>
      ))}
    </ul>
  );
}
