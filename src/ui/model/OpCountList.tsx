import { useMemo, useState } from 'react';
import { formatInteger } from './shape';

export interface OpCountListProps {
  opCounts: Record<string, number>;
}

/** Rows shown before "Show all". */
const SHORT = 12;

/** Operator types by how often they occur, with a bar for scale. */
export function OpCountList({ opCounts }: OpCountListProps) {
  const [showAll, setShowAll] = useState(false);
  const rows = useMemo(
    () => Object.entries(opCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    [opCounts],
  );
  if (rows.length === 0) return <p className="muted">No operators.</p>;
  const max = rows[0]![1];
  const shown = showAll ? rows : rows.slice(0, SHORT);
  return (
    <>
      <ul className="op-list">
        {shown.map(([op, count]) => (
          <li key={op} className="op-list__row" data-testid="op-count" data-op={op} data-value={count}>
            <span className="op-list__name mono" title={op}>
              {op}
            </span>
            <span className="op-list__bar">
              <span className="op-list__fill" style={{ width: `${(count / max) * 100}%` }} />
            </span>
            <span className="op-list__count">{formatInteger(count)}</span>
          </li>
        ))}
      </ul>
      {rows.length > shown.length && (
        <button type="button" className="link-button op-list__more" onClick={() => setShowAll(true)}>
          Show all {rows.length} operator types
        </button>
      )}
    </>
  );
}
