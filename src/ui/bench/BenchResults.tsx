import { lazy, Suspense } from 'react';
import { formatBytes } from '../../core/bytes-and-counts';
import { sideBySideTimes, speedUp } from '../../core/speedup';
import type { JobResult } from '../../state/bench-store';
import { BACKEND_NAMES, byBackend, db, ms, num, pct, raw, sci, type Pair } from './bench-numbers';

// recharts is large: it loads with the first chart
const LatencyChart = lazy(() => import('./LatencyChart'));

export interface BenchResultsProps {
  results: JobResult[];
  originalBytes?: number;
  compressedBytes?: number;
  classNames: string[];
  /** the compressed model runs int8 activations (integer kernels) on some layers */
  intActivations?: boolean;
}


/** Below this speed-up the compressed model counts as slower (side-by-side noise is a few percent). */
const SLOWER = 0.9;


/**
 * The speed-up (src/core/speedup.ts: original time / compressed time, > 1 is faster): the median of
 * the side-by-side rounds' ratios when measured, else the ratio of the two separate runs' medians
 * (`separate: true`, labelled so wherever it is shown).
 */
function speedup(a?: JobResult, b?: JobResult): { value: number; separate: boolean } | undefined {
  if (b?.paired) return { value: b.paired.speedup, separate: false };
  const v = speedUp(a?.latency?.medianMs, b?.latency?.medianMs);
  return v === undefined ? undefined : { value: v, separate: true };
}

function memory(r: JobResult): string {
  if (r.wasmPeakBytes !== undefined) return `${formatBytes(r.wasmPeakBytes)}${r.memoryNote ? ' *' : ''}`;
  return r.memoryNote ?? 'n/a';
}

/** One model's row of the latency table. */
function LatencyRow({ pair: p, model, size }: { pair: Pair; model: 'original' | 'compressed'; size?: number }) {
  const r = p[model];
  if (!r) return null;
  const s = model === 'compressed' ? speedup(p.original, p.compressed) : undefined;
  return (
    <tr
      data-testid="bench-row"
      data-backend={p.backend}
      data-model={model}
      data-ok={String(r.ok)}
      data-median-ms={raw(r.latency?.medianMs)}
      data-session-ms={raw(r.sessionMs)}
      data-speedup={raw(s?.value)}
    >
      <td>{model === 'original' ? BACKEND_NAMES[p.backend] : ''}</td>
      <td>{model}</td>
      {r.ok ? (
        <>
          <td className="num">{size === undefined ? '–' : formatBytes(size)}</td>
          <td className="num">{ms(r.sessionMs)}</td>
          <td className="num">{ms(r.firstRunMs)}</td>
          <td className="num strong" data-testid="bench-median">
            {ms(r.latency?.medianMs)}
          </td>
          <td className="num">{ms(r.latency?.p90Ms)}</td>
          <td className="num">{ms(r.latency?.p99Ms)}</td>
          <td className="num">{r.latency ? `${r.latency.throughputPerS.toFixed(r.latency.throughputPerS >= 100 ? 0 : 1)}/s` : '–'}</td>
          <td
            className="num"
            data-testid="bench-runs"
            data-warm-up-runs={r.warmUpMs?.length}
            title={`${r.latency?.runs ?? 0} timed runs: ${r.stop === 'stable' ? 'the median was stable' : r.stop === 'max-runs' ? 'stopped at the run cap' : 'stopped at the time cap'}${r.warmUpMs && r.warmUpMs.length > 0 ? `; before them, after the first run, ${r.warmUpMs.length} warm-up runs, not timed, until runs stopped getting faster (${r.warmUpMs.map((ms) => ms.toFixed(0)).join(', ')} ms)` : ''}`}
          >
            {r.latency?.runs}
            {r.stop === 'stable' ? '' : ' (cap)'}
          </td>
          <td className="num" title={r.memoryNote}>
            {memory(r)}
          </td>
          <td
            className="num strong"
            data-testid={s === undefined ? undefined : 'bench-speedup'}
            data-paired-rounds={r.paired?.rounds}
            data-speedup-basis={s === undefined ? undefined : s.separate ? 'separate-runs' : 'side-by-side'}
            title={
              r.paired
                ? `original time / compressed time (> 1 is faster): the median of the ratios of ${r.paired.rounds} alternating runs of both models in one worker; the medians on the left come from separate workers`
                : 'original time / compressed time, from the two separate runs’ medians (no side-by-side run)'
            }
          >
            {s === undefined ? '' : `${s.value.toFixed(2)}×${s.separate ? ' (separate runs)' : ''}`}
          </td>
        </>
      ) : (
        <td colSpan={10} className="compress-note compress-note--error" data-testid="bench-error">
          <div data-testid="bench-error-summary">{r.error}</div>
          {r.errorRaw !== undefined && r.errorRaw !== r.error && (
            <pre className="muted mono bench-error-raw" data-testid="bench-error-raw">
              onnxruntime: {r.errorRaw}
            </pre>
          )}
        </td>
      )}
    </tr>
  );
}

/** "3", or "2-5" where the rows warmed up differently */
function warmUpRange(counts: number[]): string {
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

/** What the table's figures mean: the side-by-side runs, a slower result and why, memory, WebGPU fallbacks. */
function BenchNotes({ pairs, intActivations }: { pairs: Pair[]; intActivations: boolean }) {
  const warm = pairs.flatMap((p) => [p.original, p.compressed]).filter((r) => r?.warmUpMs !== undefined);
  return (
    <>
      {warm.length > 0 && (
        <div className="muted" data-testid="bench-warm-up">
          Median, p90 and p99 are over the timed runs. Each model’s first run is shown on its own, then {warmUpRange(warm.map((r) => r!.warmUpMs!.length))} more
          ran untimed until runs stopped getting faster (a new worker first runs onnxruntime’s WebAssembly before the browser has optimized it; hover the run
          count for their times).
        </div>
      )}
      {pairs
        .filter((p) => p.compressed?.paired)
        .map((p) => {
          const side = sideBySideTimes(p.compressed!.paired!);
          return (
            <div key={`side:${p.backend}`} className="muted" data-testid="bench-side-by-side" data-backend={p.backend}>
              {BACKEND_NAMES[p.backend]}, side by side ({side.rounds} alternating runs of both in one worker): speed-up {side.speedup.toFixed(2)}× (the median of
              the rounds’ original / compressed ratios), i.e. original {ms(side.originalMs)}, compressed {ms(side.compressedMs)} at that ratio. The “own run”
              medians in the table come from separate workers run one after the other and can drift on a busy machine; the speed-up, the chart and the report
              use the side-by-side runs.
            </div>
          );
        })}
      {pairs
        .map((p) => ({ p, s: speedup(p.original, p.compressed) }))
        .filter(({ s }) => s !== undefined && s.value < SLOWER)
        .map(({ p, s }) => (
          <div key={`slower:${p.backend}`} className="bench-slower" role="status" data-testid="bench-slower" data-backend={p.backend}>
            On {BACKEND_NAMES[p.backend]} the compressed model ran {(1 / s!.value).toFixed(2)}× slower than the original (speed-up {s!.value.toFixed(2)}×)
            {p.compressed?.paired ? `, over ${p.compressed.paired.rounds} alternating runs of both` : ', from separate runs'}.{' '}
            {intActivations && p.backend.startsWith('wasm')
              ? 'Its int8 activations run integer kernels that do not pay off for this model in this browser: compress with Activations fp32 (int8 weights are folded to float32 at load and run at the original’s speed).'
              : p.backend.startsWith('wasm')
                ? 'Weight-only encodings are folded to float32 at load on wasm; run again to rule out noise.'
                : 'Encodings decoded at run time (DequantizeLinear, MatMulNBits) trade speed for size on this backend.'}
          </div>
        ))}
      {pairs.some((p) => p.original?.memoryNote || p.compressed?.memoryNote) && (
        <div className="muted">* Peak memory is onnxruntime's wasm heap (it never shrinks); on WebGPU the GPU's own memory is not exposed to pages, on WebGL nothing is.</div>
      )}
      {pairs
        .filter((p) => p.backend === 'webgpu')
        .flatMap((p) => [p.original, p.compressed])
        .filter((r): r is JobResult => !!r && r.ok)
        .map((r) => (
          <div key={`fallback:${r.model}`} className="muted" data-testid="bench-fallback" data-model={r.model} data-count={r.cpuFallbackNodes?.length ?? ''}>
            WebGPU, {r.model}:{' '}
            {!r.placementLogged
              ? 'onnxruntime logged no node placements, so CPU fallbacks are unknown.'
              : r.cpuFallbackNodes && r.cpuFallbackNodes.length > 0
                ? `${r.cpuFallbackNodes.length} node${r.cpuFallbackNodes.length === 1 ? '' : 's'} fall back to the CPU: ${r.cpuFallbackNodes.join(', ')}`
                : 'every node runs on WebGPU.'}
            {r.placementLog && r.placementLog.length > 0 && (
              <details>
                <summary>onnxruntime's node placement log</summary>
                <pre className="mono bench-log" data-testid="bench-placement-log">
                  {r.placementLog.join('\n')}
                </pre>
              </details>
            )}
          </div>
        ))}
    </>
  );
}

/** Fidelity of the compressed model against the original, per backend and output. */
export function FidelityTable({ pairs }: { pairs: Pair[] }) {
  return (
    <>
      <h3 className="bench-h">Fidelity of the compressed model against the original</h3>
      <div className="muted">Worst / mean over the input sets, on the same backend. KL is KL(original ‖ compressed) in nats, on the softmax of the outputs when they are not probabilities.</div>
      <div className="table-scroll">
        <table className="table" data-testid="bench-fidelity-table">
          <thead>
            <tr>
              <th>Backend</th>
              <th>Output</th>
              <th className="num">Top-1 agreement</th>
              <th className="num">Cosine</th>
              <th className="num" title="the lowest cosine of a single row (one sample) over every set">Worst row cosine</th>
              <th className="num">SQNR</th>
              <th className="num">KL</th>
              <th className="num">Max |error|</th>
            </tr>
          </thead>
          <tbody>
            {pairs.flatMap((p) =>
              p.compressed!.fidelity!.map((f) => (
                <tr
                  key={`${p.backend}:${f.output}`}
                  data-testid="bench-fidelity-row"
                  data-backend={p.backend}
                  data-output={f.output}
                  data-top1={raw(f.top1.rate)}
                  data-cosine-worst={raw(f.cosine.worst)}
                  data-row-cosine-worst={raw(f.rowCosine.worst)}
                  data-sqnr-worst={raw(f.sqnrDb.worst)}
                  data-kl-worst={raw(f.kl.worst)}
                  data-max-abs-worst={raw(f.maxAbsError.worst)}
                  data-kind={f.kind}
                >
                  <td>{BACKEND_NAMES[p.backend]}</td>
                  <td className="mono">
                    {f.output} <span className="muted">({f.rows}×{f.classes})</span>
                  </td>
                  <td className="num" title={f.kind === 'scalar' ? `one value per sample: ${f.agreesOn}` : f.agreesOn}>
                    {f.top1.agree}/{f.top1.rows} = {pct(f.top1.rate)}
                    {f.kind === 'scalar' ? ' at 0.5' : f.kind === 'map' ? ' of pixels' : ''}
                  </td>
                  {f.kind === 'near-zero' ? (
                    <td colSpan={4} className="muted" data-testid="bench-fidelity-near-zero">
                      n/a: both outputs ≈ 0 (every |value| ≤ 1e-6); the max |error| is the figure
                    </td>
                  ) : (
                    <>
                      <td className="num" title={f.kind === 'scalar' ? 'over every sample of every set (one value per sample)' : undefined}>
                        {f.kind === 'scalar' ? `${num(f.cosine.worst)} (all samples)` : `${num(f.cosine.worst)} / ${num(f.cosine.mean)}`}
                      </td>
                      <td className="num">{f.kind === 'scalar' || f.kind === 'map' ? 'n/a' : num(f.rowCosine.worst)}</td>
                      <td className="num">
                        {db(f.sqnrDb.worst)} / {db(f.sqnrDb.mean)}
                      </td>
                      <td className="num" title={f.kl.basis === 'softmax' ? 'on the softmax of the outputs (read as logits)' : 'on the outputs (probabilities)'}>
                        {f.kind === 'scalar' || f.kind === 'map' ? 'n/a' : `${sci(f.kl.worst)} / ${sci(f.kl.mean)} ${f.kl.basis === 'softmax' ? '(softmax)' : ''}`}
                      </td>
                    </>
                  )}
                  <td className="num">
                    {f.maxAbsError.worst.toPrecision(3)} / {f.maxAbsError.mean.toPrecision(3)}
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Accuracy of both models on the labeled set, per backend. */
export function AccuracyTable({ pairs }: { pairs: Pair[] }) {
  return (
    <>
      <h3 className="bench-h">Accuracy on the labeled set</h3>
      <table className="table" data-testid="bench-accuracy-table">
        <thead>
          <tr>
            <th>Backend</th>
            <th className="num">Original</th>
            <th className="num">Compressed</th>
            <th className="num">Change</th>
          </tr>
        </thead>
        <tbody>
          {pairs.map((p) => {
            const a = p.original?.accuracy;
            const b = p.compressed?.accuracy;
            return (
              <tr key={p.backend} data-testid="bench-accuracy-row" data-backend={p.backend} data-original={raw(a?.accuracy)} data-compressed={raw(b?.accuracy)} data-original-correct={raw(a?.correct)} data-compressed-correct={raw(b?.correct)}>
                <td>{BACKEND_NAMES[p.backend]}</td>
                <td className="num" data-testid="bench-accuracy-original">
                  {a ? `${a.correct}/${a.total} = ${pct(a.accuracy)}` : '–'}
                </td>
                <td className="num" data-testid="bench-accuracy-compressed">
                  {b ? `${b.correct}/${b.total} = ${pct(b.accuracy)}` : '–'}
                </td>
                <td className="num">{a && b ? `${((b.accuracy - a.accuracy) * 100).toFixed(2)} pts` : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

/** Latency table and chart, fidelity and accuracy tables, as results arrive. */
export function BenchResults({ results, originalBytes, compressedBytes, intActivations = false }: BenchResultsProps) {
  const pairs = byBackend(results);
  if (pairs.length === 0) return null;
  const chart = pairs
    .filter((p) => p.original?.ok || p.compressed?.ok)
    .map((p) => {
      // side by side when measured (the fair comparison): the original's median and that / the
      // speed-up, so the bars and the label agree; else each model's own median
      const side = p.compressed?.paired ? sideBySideTimes(p.compressed.paired) : undefined;
      const s = speedup(p.original, p.compressed);
      return {
        backend: BACKEND_NAMES[p.backend],
        original: side ? side.originalMs : p.original?.latency?.medianMs,
        compressed: side ? side.compressedMs : p.compressed?.latency?.medianMs,
        speedup: s?.value,
        separate: s?.separate ?? false,
      };
    });
  const withFidelity = pairs.filter((p) => p.compressed?.fidelity && p.compressed.fidelity.length > 0);
  const withAccuracy = pairs.filter((p) => p.original?.accuracy || p.compressed?.accuracy);
  return (
    <div className="bench-results">
      <h3 className="bench-h">Latency</h3>
      <div className="table-scroll">
        <table className="table" data-testid="bench-latency-table">
          <thead>
            <tr>
              <th>Backend</th>
              <th>Model</th>
              <th className="num">File</th>
              <th className="num">Session</th>
              <th className="num">First run</th>
              <th className="num" title="each model's own median, measured in separate workers one after the other">
                Median (own run)
              </th>
              <th className="num">p90</th>
              <th className="num">p99</th>
              <th className="num">Throughput</th>
              <th className="num">Runs</th>
              <th className="num">Peak memory</th>
              <th className="num">Speed-up</th>
            </tr>
          </thead>
          <tbody>
            {pairs.flatMap((p) =>
              (['original', 'compressed'] as const).map((model) => (
                <LatencyRow key={`${p.backend}:${model}`} pair={p} model={model} size={model === 'original' ? originalBytes : compressedBytes} />
              )),
            )}
          </tbody>
        </table>
      </div>
      <BenchNotes pairs={pairs} intActivations={intActivations} />
      {chart.length > 0 && (
        <div className="bench-chart" data-testid="bench-chart">
          <Suspense fallback={<div className="muted">Loading the chart…</div>}>
            <LatencyChart data={chart} />
          </Suspense>
        </div>
      )}

      {withFidelity.length > 0 && <FidelityTable pairs={withFidelity} />}

      {withAccuracy.length > 0 && <AccuracyTable pairs={withAccuracy} />}
    </div>
  );
}
