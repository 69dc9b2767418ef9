import type { VerifyState } from '../../state/compress-store';
import { RandomMark } from '../common/RandomMark';
import type { SessionRun } from '../../workers/compress-api';

export interface RuntimeCheckProps {
  verify: VerifyState;
  onRun: () => void;
}

function ms(v: number | undefined): string {
  return v === undefined ? '' : v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(1)} ms`;
}

function SessionCell({ run, testId }: { run: SessionRun; testId: string }) {
  if (!run.ok) {
    return (
      <td className="compress-note compress-note--error" data-testid={testId} data-ok="false">
        {run.error}
      </td>
    );
  }
  return (
    <td data-testid={testId} data-ok="true" title="A run after one warm-up run, over a couple of input sets: a quick figure. The Benchmark tab times both models side by side until stable.">
      loads in {ms(run.loadMs)}, runs in {ms(run.runMs)}
      {run.firstRunOnly ? ' (its first run, set-up included: the time budget allowed no second)' : ''}
    </td>
  );
}

/** Runs the original and the compressed model on wasm and WebGPU and compares their outputs. */
export function RuntimeCheck({ verify, onRun }: RuntimeCheckProps) {
  const running = verify.kind === 'running';
  return (
    <div className="compress-verify" data-testid="compress-verify" data-state={verify.kind}>
      <div className="compress-verify__head">
        <span className="strong">Runs in this browser?</span>
        <button type="button" className="button button--secondary" onClick={onRun} disabled={running} data-testid="compress-verify-run">
          {running ? 'Checking…' : verify.kind === 'done' ? 'Check again' : 'Check on wasm and WebGPU'}
        </button>
      </div>
      {running && <div className="muted">Running the original and the compressed model (WebGPU's first run can take a while)…</div>}
      {verify.kind === 'failed' && (
        <div className="compress-note compress-note--error" data-testid="compress-verify-error">
          {verify.message}
        </div>
      )}
      {verify.kind === 'done' && (
        <>
          <div className="muted" data-testid="compress-verify-inputs">
            {verify.report.random && <RandomMark testId="compress-verify-random" />} {verify.report.inputs}
          </div>
          <table className="table">
            <thead>
              <tr>
                <th>Backend</th>
                <th>Original</th>
                <th>Compressed</th>
                <th className="num">Cosine</th>
                <th className="num">Max |diff|</th>
              </tr>
            </thead>
            <tbody>
              {verify.report.backends.map((b) => (
                <tr
                  key={b.backend}
                  data-testid="compress-verify-row"
                  data-backend={b.backend}
                  data-available={String(b.available)}
                  data-ok={String(b.available && b.original.ok && b.compressed.ok)}
                  data-cosine={b.cosineVsReference}
                  data-cosine-same-backend={b.cosineVsOriginal}
                  data-max-abs-diff={b.maxAbsDiff}
                >
                  <td>
                    <div className="strong">{b.backend === 'wasm' ? 'WASM' : 'WebGPU'}</div>
                    <div className="muted" data-testid="compress-verify-detail">
                      {b.detail}
                    </div>
                    {b.sets !== undefined && (
                      <div className="muted" data-testid="compress-verify-sets">
                        on the first {b.sets.ran} of {b.sets.of} input sets: as many as ran here in the check&rsquo;s {b.sets.seconds} s
                      </div>
                    )}
                  </td>
                  {b.available ? (
                    <>
                      <SessionCell run={b.original} testId="compress-verify-original" />
                      <SessionCell run={b.compressed} testId="compress-verify-compressed" />
                    </>
                  ) : (
                    <td colSpan={2} className="muted">
                      not available here
                    </td>
                  )}
                  <td
                    className="num"
                    data-testid="compress-verify-cosine"
                    title={
                      b.cosineVsReference === undefined && b.maxAbsDiff !== undefined
                        ? 'both outputs are ~0 (every |value| ≤ 1e-6): a cosine of rounding noise means nothing, the max |diff| is the figure'
                        : 'worst over outputs and inputs, against the original on wasm (outputs ~0 in both are left out)'
                    }
                  >
                    {b.cosineVsReference !== undefined ? b.cosineVsReference.toFixed(6) : b.maxAbsDiff !== undefined ? 'n/a: outputs ≈ 0' : ''}
                  </td>
                  <td className="num">{b.maxAbsDiff === undefined ? '' : b.maxAbsDiff.toPrecision(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
