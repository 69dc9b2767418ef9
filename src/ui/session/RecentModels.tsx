import { useEffect } from 'react';
import { formatBytes } from '../../core/bytes-and-counts';
import { useSessionStore } from '../../state/session-store';
import './session.css';

function when(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export interface RecentModelsProps {
  /** called after a model was chosen (e.g. to close a menu) */
  onOpened?: () => void;
}

/** The recent models kept in this browser: reopen one (with its recipe and result) or delete it. */
export function RecentModels({ onOpened }: RecentModelsProps) {
  const recent = useSessionStore((s) => s.recent);
  const currentId = useSessionStore((s) => s.currentId);
  const restoring = useSessionStore((s) => s.restoring);
  const loadRecent = useSessionStore((s) => s.loadRecent);
  const reopen = useSessionStore((s) => s.reopen);
  const remove = useSessionStore((s) => s.remove);
  useEffect(() => {
    void loadRecent();
  }, [loadRecent]);
  if (recent.length === 0) return <p className="muted recent__empty" data-testid="recent-empty">No saved models yet.</p>;
  return (
    <ul className="recent" data-testid="recent-models">
      {recent.map((r) => (
        <li key={r.id} className="recent__item" data-testid="recent-model" data-id={r.id} data-name={r.name} data-current={String(r.id === currentId)}>
          <div className="recent__text">
            <span className="recent__name mono">{r.name}</span>
            <span className="muted recent__meta">
              {r.files.length > 1 ? `${r.files.length} files · ` : ''}
              {formatBytes(r.bytes)} · {when(r.savedAt)}
              {r.id === currentId ? ' · open' : ''}
            </span>
          </div>
          <button
            type="button"
            className="button button--secondary button--small"
            disabled={restoring}
            onClick={() => {
              void reopen(r.id);
              onOpened?.();
            }}
            data-testid="recent-open"
          >
            Open
          </button>
          <button
            type="button"
            className="button button--secondary button--small"
            aria-label={`Delete ${r.name} from this browser`}
            onClick={() => void remove(r.id)}
            data-testid="recent-delete"
          >
            Delete
          </button>
        </li>
      ))}
    </ul>
  );
}
