import type { ModelSummary } from '../../workers/model-api';
import { formatShape } from './shape';

export interface TensorTableProps {
  rows: ModelSummary['inputs'];
  kind: 'input' | 'output';
}

/** The graph's inputs or outputs: name, element type and shape. */
export function TensorTable({ rows, kind }: TensorTableProps) {
  if (rows.length === 0) return <p className="muted">No {kind}s.</p>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Type</th>
          <th>Shape</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name} data-testid={`${kind}-row`} data-name={r.name}>
            <td className="mono strong">{r.name}</td>
            <td>
              <span className="tag">{r.dtype}</span>
            </td>
            <td className="mono" data-testid={`${kind}-shape`}>
              {formatShape(r.shape)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
