import type { RuntimeState } from '../../state/model-store';

export interface RuntimeStatusProps {
  runtimes: RuntimeState;
  onCheck: () => void;
}

function Dot({ ok }: { ok: boolean }) {
  return <span className={`dot ${ok ? 'dot--ok' : 'dot--off'}`} aria-hidden="true" />;
}

/** Which onnxruntime-web backends work here; checked on request (it loads the runtime). */
export function RuntimeStatus({ runtimes, onCheck }: RuntimeStatusProps) {
  return (
    <div className="runtime" data-testid="runtime-status">
      <span className="runtime__isolation" data-testid="isolation" data-value={String(globalThis.crossOriginIsolated)}>
        <Dot ok={globalThis.crossOriginIsolated} />
        {globalThis.crossOriginIsolated ? 'Cross-origin isolated' : 'Not cross-origin isolated (no WASM threads)'}
      </span>
      {runtimes.kind === 'done' && (
        <>
          <span className="runtime__item" data-testid="runtime-wasm" data-available={String(runtimes.report.wasm.available)}>
            <Dot ok={runtimes.report.wasm.available} />
            WASM: {runtimes.report.wasm.detail}
          </span>
          <span className="runtime__item" data-testid="runtime-webgpu" data-available={String(runtimes.report.webgpu.available)}>
            <Dot ok={runtimes.report.webgpu.available} />
            WebGPU: {runtimes.report.webgpu.detail}
          </span>
        </>
      )}
      {runtimes.kind === 'failed' && (
        <span className="runtime__item" data-testid="runtime-failed">
          <Dot ok={false} />
          {runtimes.message}
        </span>
      )}
      <button
        type="button"
        className="link-button"
        onClick={onCheck}
        disabled={runtimes.kind === 'checking'}
        data-testid="runtime-check"
      >
        {runtimes.kind === 'checking' ? 'Checking runtimes…' : runtimes.kind === 'done' ? 'Check again' : 'Check runtimes'}
      </button>
    </div>
  );
}
