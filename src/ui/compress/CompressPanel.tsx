import { useCompressStore } from '../../state/compress-store';
import { Banner } from '../common/Banner';
import { CompressProgress } from './CompressProgress';
import { CompressResult } from './CompressResult';
import { recipeSummary } from './file-name';

/** The compression panel: the job in flight, or the last result, or what went wrong. */
export function CompressPanel() {
  const open = useCompressStore((s) => s.panelOpen);
  const job = useCompressStore((s) => s.job);
  const result = useCompressStore((s) => s.result);
  const error = useCompressStore((s) => s.error);
  const notice = useCompressStore((s) => s.notice);
  const memoryWarning = useCompressStore((s) => s.memoryWarning);
  const cancel = useCompressStore((s) => s.cancel);
  const setOpen = useCompressStore((s) => s.setPanelOpen);
  const dismiss = useCompressStore((s) => s.dismissMessage);
  if (!open) return null;
  const recipe = job?.recipe ?? result?.recipe;
  return (
    <aside className="compress-panel card" data-testid="compress-panel" aria-label="Compression">
      <header className="card__header">
        <h2 className="card__title">
          Compression
          {recipe && <span className="muted mono compress-panel__recipe"> {recipeSummary(recipe)}</span>}
        </h2>
        <button type="button" className="banner__close" aria-label="Close" onClick={() => setOpen(false)} data-testid="compress-close">
          ×
        </button>
      </header>
      <div className="stack">
        {memoryWarning !== undefined && (
          <div data-testid="compress-memory-warning">
            <Banner kind="warning" message={memoryWarning} onDismiss={dismiss} />
          </div>
        )}
        {error !== undefined && <Banner kind="error" message={error} onDismiss={dismiss} />}
        {notice !== undefined && <Banner kind="notice" message={notice} onDismiss={dismiss} />}
        {job && <CompressProgress job={job} onCancel={cancel} />}
        {!job && result && <CompressResult key={result.id} result={result} />}
        {!job && !result && error === undefined && notice === undefined && <div className="muted">Nothing compressed yet.</div>}
      </div>
    </aside>
  );
}
