import { formatBytes } from '../../core/bytes-and-counts';
import { StaleResult } from './StaleResult';
import { useCompressStore, type CompressOutcome } from '../../state/compress-store';
import { Stat } from '../common/Stat';
import { downloadBlob } from '../export/download';
import { ExportPanel } from '../export/ExportPanel';
import { formatRatio, modelLines } from './describe';
import { jobDuration } from './result-texts';
import { downloadName } from './file-name';
import { LayerReportTable } from './LayerReportTable';
import { RuntimeCheck } from './RuntimeCheck';

export interface CompressResultProps {
  result: CompressOutcome;
}

/** The last compression: sizes, notes, the per-layer table, the download, and a runtime check. */
export function CompressResult({ result }: CompressResultProps) {
  const verify = useCompressStore((s) => s.verify);
  const verifyResult = useCompressStore((s) => s.verifyResult);
  const { report } = result;
  const name = downloadName(result.fileName, result.recipe);
  const download = () => {
    downloadBlob(result.blob, name);
    if (result.data) downloadBlob(result.data.blob, result.data.name);
  };
  const notes = [...modelLines(report), ...(report.opset.note ? [`opset ${report.opset.note}`] : []), ...report.notes];
  return (
    <div className="compress-result stack" data-testid="compress-result" data-result-id={result.id}>
      <StaleResult where="result" />
      <div className="stats">
        <Stat label="Original" value={formatBytes(result.originalBytes)} raw={result.originalBytes} testId="compress-original-size" />
        <Stat label="Compressed" value={formatBytes(result.compressedBytes)} raw={result.compressedBytes} testId="compress-compressed-size" />
        <Stat
          label="Ratio"
          value={formatRatio(result.originalBytes, result.compressedBytes)}
          raw={result.compressedBytes > 0 ? result.originalBytes / result.compressedBytes : 0}
          testId="compress-ratio"
        />
        <Stat
          label="Layers"
          value={
            <>
              {report.layersChanged} changed
              {report.layersFailed > 0 && <span className="stat__small compress-failed"> · {report.layersFailed} left as they were</span>}
            </>
          }
          raw={`${report.layersChanged}/${report.layersFailed}`}
          testId="compress-layer-stats"
          hint="layers whose weights changed · layers that could not take their settings"
        />
      </div>
      <div className="compress-result__bar">
        <button type="button" className="button button--primary" onClick={download} data-testid="compress-download" data-file-name={name}>
          Download .onnx
        </button>
        <span className="muted mono compress-result__name">{name}</span>
        <span
          className="muted"
          data-testid="compress-run-info"
          data-quantizer={result.timings.quantizer}
          title={
            result.timings.quantizer === 'wasm-simd'
              ? 'Block-wise weights were quantized by WebAssembly SIMD kernels'
              : 'This browser has no WebAssembly SIMD: block-wise weights were quantized by the slower scalar code'
          }
        >
          {result.report.target} · opset {report.opset.before ?? '—'}
          {report.opset.after !== report.opset.before ? ` → ${report.opset.after ?? '—'}` : ''} · {jobDuration(result.totalMs)}
          {result.timings.quantizer === 'scalar' ? ' · no WebAssembly SIMD' : ''}
        </span>
      </div>
      <ExportPanel result={result} modelName={name} />
      {notes.length > 0 && (
        <ul className="compress-notes" data-testid="compress-notes">
          {notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
      <RuntimeCheck verify={verify} onRun={() => void verifyResult()} />
      <LayerReportTable layers={report.layers} />
    </div>
  );
}
