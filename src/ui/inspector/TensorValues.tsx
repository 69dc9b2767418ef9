import { useState } from 'react';
import { errorMessage } from '../../core/errors';
import { loadTensorValues, type TensorPage } from '../../state/tensor-values';
import './tensor-values.css';

/** Values fetched per click. */
export const PAGE_SIZE = 256;

type Load = { status: 'idle' } | { status: 'loading' } | { status: 'error'; message: string };

/** A value in full: numbers with every digit JavaScript keeps for them. */
function valueText(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return Object.is(v, -0) ? '-0' : String(v);
}

/** "Show values": a tensor's raw values, one page at a time, with their indices, fetched from the model worker. */
export function TensorValues({ id, elements }: { id: string; elements: number }) {
  const [pages, setPages] = useState<TensorPage[]>([]);
  const [load, setLoad] = useState<Load>({ status: 'idle' });
  const shown = pages.reduce((n, p) => n + p.values.length, 0);
  const more = async () => {
    setLoad({ status: 'loading' });
    try {
      const page = await loadTensorValues(id, shown, PAGE_SIZE);
      setPages((ps) => [...ps, page]);
      setLoad({ status: 'idle' });
    } catch (e) {
      setLoad({ status: 'error', message: errorMessage(e) });
    }
  };
  const total = pages[0]?.total ?? elements;
  const note = pages[0]?.note;
  return (
    <div className="tvalues" data-testid="tensor-values" data-shown={shown}>
      {pages.length > 0 && (
        <>
          {note && <p className="muted small">{note}.</p>}
          <table className="tvalues__table mono">
            <tbody>
              {pages.flatMap((p) =>
                p.values.map((v, i) => (
                  <tr key={p.offset + i} data-testid="tensor-value" data-flat={p.offset + i} data-value={valueText(v)}>
                    <td className="tvalues__index">[{p.indices[i].join(', ')}]</td>
                    <td className="tvalues__value">{valueText(v)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
          <p className="muted small" data-testid="tensor-values-count">
            {shown.toLocaleString('en-US')} of {total.toLocaleString('en-US')} values
          </p>
        </>
      )}
      {load.status === 'error' && <p className="inline-error small">{load.message}</p>}
      {(pages.length === 0 || shown < total) && (
        <button type="button" className="link-button small" data-testid="tensor-values-more" disabled={load.status === 'loading'} onClick={() => void more()}>
          {load.status === 'loading' ? 'Loading values…' : pages.length === 0 ? 'Show values' : `Next ${Math.min(PAGE_SIZE, total - shown).toLocaleString('en-US')} values`}
        </button>
      )}
    </div>
  );
}
