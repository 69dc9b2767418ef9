import { useBenchStore, type BackendId } from '../../state/bench-store';
import { BACKEND_NAMES } from './bench-numbers';

const ORDER: BackendId[] = ['wasm-1', 'wasm-n', 'webgl', 'webgpu'];

/** Backend checkboxes with what the browser has, and why a backend is unavailable. */
export function BenchBackends({ disabled }: { disabled: boolean }) {
  const backends = useBenchStore((s) => s.backends);
  const availability = useBenchStore((s) => s.availability);
  const setBackend = useBenchStore((s) => s.setBackend);
  const check = useBenchStore((s) => s.checkBackends);
  const list = availability.kind === 'done' ? availability.list : [];
  return (
    <fieldset className="bench-fieldset" data-testid="bench-backends">
      <legend>Backends</legend>
      {availability.kind === 'checking' && <div className="muted">Checking which backends this browser has…</div>}
      {availability.kind === 'failed' && (
        <div className="compress-note compress-note--error">
          {availability.message}{' '}
          <button type="button" className="button button--secondary" onClick={() => void check()}>
            Check again
          </button>
        </div>
      )}
      <div className="bench-backends">
        {ORDER.map((b) => {
          const a = list.find((x) => x.backend === b);
          const available = a?.available ?? false;
          return (
            <label
              key={b}
              className={available ? 'bench-backend' : 'bench-backend bench-backend--off'}
              data-testid="bench-backend"
              data-backend={b}
              data-available={a ? String(available) : 'unknown'}
            >
              <input
                type="checkbox"
                checked={backends[b] && available}
                disabled={disabled || !available}
                onChange={(e) => setBackend(b, e.target.checked)}
                data-testid={`bench-backend-${b}`}
              />
              <span className="strong">{BACKEND_NAMES[b]}</span>
              <span className="muted" data-testid="bench-backend-detail">
                {a ? a.detail : '…'}
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}
