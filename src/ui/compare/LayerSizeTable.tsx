import { memo, useMemo, useState } from 'react';
import { formatBytes } from '../../core/bytes-and-counts';
import { useSelectionStore } from '../../state/selection-store';
import type { LayerReport, NodeChange } from '../../workers/model-api';
import { badgeColor } from './kinds';

type Column = 'key' | 'op' | 'applied' | 'before' | 'after' | 'ratio';

const COLUMNS: { id: Column; label: string; num?: boolean }[] = [
  { id: 'key', label: 'Layer' },
  { id: 'op', label: 'Op' },
  { id: 'applied', label: 'Became' },
  { id: 'before', label: 'Before', num: true },
  { id: 'after', label: 'After', num: true },
  { id: 'ratio', label: 'Ratio', num: true },
];

const ratio = (l: LayerReport) => (l.bytesBefore > 0 ? l.bytesAfter / l.bytesBefore : 1);

function value(l: LayerReport, c: Column): string | number {
  switch (c) {
    case 'key':
      return l.key;
    case 'op':
      return l.op;
    case 'applied':
      return l.error ? `~${l.applied}` : l.applied;
    case 'before':
      return l.bytesBefore;
    case 'after':
      return l.bytesAfter;
    case 'ratio':
      return ratio(l);
  }
}

export interface LayerSizeTableProps {
  layers: readonly LayerReport[];
  changes: Readonly<Record<string, NodeChange>>;
}

/**
 * Per-layer stored bytes before and after, sortable by any column (click a header; again to
 * reverse). A row selects its layer on both graphs and shows its weights.
 */
export const LayerSizeTable = memo(function LayerSizeTable({ layers, changes }: LayerSizeTableProps) {
  const [sort, setSort] = useState<{ by: Column; desc: boolean }>({ by: 'before', desc: true });
  const selected = useSelectionStore((s) => s.selectedKey);
  const rows = useMemo(() => {
    const out = [...layers];
    out.sort((a, b) => {
      const x = value(a, sort.by);
      const y = value(b, sort.by);
      const d = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return (sort.desc ? -d : d) || a.key.localeCompare(b.key);
    });
    return out;
  }, [layers, sort]);
  const total = useMemo(() => layers.reduce((t, l) => ({ before: t.before + l.bytesBefore, after: t.after + l.bytesAfter }), { before: 0, after: 0 }), [layers]);
  return (
    <div className="table-scroll compare-table" data-testid="compare-layers">
      <table className="table">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th
                key={c.id}
                className={c.num ? 'num' : undefined}
                aria-sort={sort.by === c.id ? (sort.desc ? 'descending' : 'ascending') : 'none'}
              >
                <button
                  type="button"
                  className="compare-table__sort"
                  data-testid={`compare-sort-${c.id}`}
                  onClick={() => setSort((s) => ({ by: c.id, desc: s.by === c.id ? !s.desc : c.num === true }))}
                >
                  {c.label}
                  <span className="compare-table__arrow">{sort.by === c.id ? (sort.desc ? '▼' : '▲') : ''}</span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((l) => {
            const c = changes[l.key];
            const isSel = selected === l.key;
            return (
              <tr
                key={`${l.graphPath}/${l.key}`}
                data-testid="compare-layer-row"
                data-key={l.key}
                data-before={l.bytesBefore}
                data-after={l.bytesAfter}
                className={isSel ? 'compare-table__row compare-table__row--selected' : 'compare-table__row'}
                aria-selected={isSel}
                onClick={() => {
                  const sel = useSelectionStore.getState();
                  sel.select(l.key);
                  sel.setMulti([]);
                }}
                title={[l.error ? `not compressed: ${l.error}` : '', ...l.notes, ...(c?.detail ?? [])].filter(Boolean).join('\n')}
              >
                <td className="mono">{l.key}</td>
                <td>{l.op}</td>
                <td>
                  {c && (
                    <span className="compare-table__badge" style={{ background: badgeColor(c) }}>
                      {c.badge}
                    </span>
                  )}{' '}
                  <span className="compare-table__applied">{l.error ? 'left as it was' : l.applied}</span>
                </td>
                <td className="num">{formatBytes(l.bytesBefore)}</td>
                <td className="num">{formatBytes(l.bytesAfter)}</td>
                <td className="num">{ratio(l).toFixed(2)}×</td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <td colSpan={3}>All layers ({layers.length})</td>
            <td className="num">{formatBytes(total.before)}</td>
            <td className="num">{formatBytes(total.after)}</td>
            <td className="num">{total.before > 0 ? (total.after / total.before).toFixed(2) : '1.00'}×</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
});
