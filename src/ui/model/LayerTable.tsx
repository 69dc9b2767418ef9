import { useMemo, useState } from 'react';
import { formatCount } from '../../core/bytes-and-counts';
import type { ModelSummary } from '../../workers/model-api';
import { formatInteger, formatShape } from './shape';

export interface LayerTableProps {
  layers: ModelSummary['layers'];
}

/** Rows rendered before "Show all": big models have thousands of layers. */
const PAGE = 200;

/** The nodes that consume weights: their stable key, op, parameter count and weight shapes. */
export function LayerTable({ layers }: LayerTableProps) {
  const [filter, setFilter] = useState('');
  const [showAll, setShowAll] = useState(false);
  const matching = useMemo(() => {
    const q = filter.trim().toLowerCase();
    if (!q) return layers;
    return layers.filter((l) => l.key.toLowerCase().includes(q) || l.op.toLowerCase().includes(q));
  }, [layers, filter]);
  const shown = showAll ? matching : matching.slice(0, PAGE);

  if (layers.length === 0) return <p className="muted">This model has no layers with weights.</p>;
  return (
    <div className="layers">
      <div className="layers__toolbar">
        <input
          className="input"
          type="search"
          placeholder="Filter by name or op"
          aria-label="Filter layers"
          value={filter}
          onChange={(e) => setFilter(e.currentTarget.value)}
          data-testid="layer-filter"
        />
        <span className="muted">
          {matching.length === layers.length
            ? `${formatInteger(layers.length)} layers`
            : `${formatInteger(matching.length)} of ${formatInteger(layers.length)} layers`}
        </span>
      </div>
      <div className="table-scroll">
        <table className="table">
          <thead>
            <tr>
              <th>Layer</th>
              <th>Op</th>
              <th className="num">Params</th>
              <th>Weights</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((l) => (
              <tr key={l.key} data-testid="layer-row" data-key={l.key}>
                <td className="mono strong layer-key">{l.key}</td>
                <td>
                  <span className="tag tag--op">{l.op}</span>
                </td>
                <td className="num" title={formatInteger(l.params)} data-value={l.params}>
                  {formatCount(l.params)}
                </td>
                <td>
                  <ul className="weights">
                    {l.weights.map((w, i) => (
                      <li key={`${w.name}-${i}`} className="mono">
                        <span className="weights__name">{w.name}</span> <span className="muted">{w.dtype}</span>{' '}
                        {formatShape(w.shape)}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!showAll && matching.length > PAGE && (
        <button type="button" className="button button--secondary layers__more" onClick={() => setShowAll(true)}>
          Show all {formatInteger(matching.length)} layers
        </button>
      )}
    </div>
  );
}
