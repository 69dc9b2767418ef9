import { formatBytes } from '../../core/bytes-and-counts';
import type { CompressOutcome } from '../../state/compress-store';
import { partsOf, recipeFile, useExportStore, type PartKind } from '../../state/export-store';
import { ProgressBar } from '../common/ProgressBar';
import { downloadBlob } from './download';
import './export.css';

export interface ExportPanelProps {
  result: CompressOutcome;
  /** the compressed .onnx file's name */
  modelName: string;
}

const BUTTONS: { kinds: PartKind[]; label: string; testId: string }[] = [
  { kinds: ['model', 'data'], label: 'Model', testId: 'export-model' },
  { kinds: ['recipe'], label: 'Recipe .json', testId: 'export-recipe' },
  { kinds: ['report-md'], label: 'Report .md', testId: 'export-report-md' },
  { kinds: ['report-json'], label: 'Report .json', testId: 'export-report-json' },
  { kinds: ['csv'], label: 'Layers .csv', testId: 'export-csv' },
];

/** Export: every part on its own, or all of them in one zip; the SHA-256 of what is exported. */
export function ExportPanel({ result, modelName }: ExportPanelProps) {
  const externalData = useExportStore((s) => s.externalData);
  const setExternalData = useExportStore((s) => s.setExternalData);
  const status = useExportStore((s) => s.status);
  const prepared = useExportStore((s) => s.prepared);
  const prepare = useExportStore((s) => s.prepare);
  const zipAll = useExportStore((s) => s.zipAll);
  const cancel = useExportStore((s) => s.cancel);
  const dismiss = useExportStore((s) => s.dismissError);
  const forced = result.data !== undefined;
  const busy = status.kind === 'working';

  const download = async (kinds: PartKind[]) => {
    if (kinds.length === 1 && kinds[0] === 'recipe') {
      // the recipe needs no hashing: right away
      const f = recipeFile(result, modelName);
      return downloadBlob(f.blob, f.name);
    }
    const bundle = await prepare(modelName);
    if (bundle) for (const p of partsOf(bundle, kinds)) downloadBlob(p.blob, p.name);
  };
  const downloadZip = async () => {
    const zip = await zipAll(modelName);
    if (zip) downloadBlob(zip.blob, zip.name);
  };
  const identity = prepared?.bundle.report.model;
  return (
    <section className="export stack" data-testid="export-panel" aria-label="Export">
      <div className="export__head">
        <span className="strong">Export</span>
        <label className="export__option" title="Weights in a file of their own beside the .onnx (needed past 2 GB, where one protobuf file ends)">
          <input
            type="checkbox"
            checked={externalData || forced}
            disabled={forced || busy}
            onChange={(e) => setExternalData(e.target.checked)}
            data-testid="export-external-data"
          />
          weights in a separate .data file{forced ? ' (over 2 GB: required)' : ''}
        </label>
      </div>
      <div className="export__buttons">
        <button type="button" className="button button--primary" disabled={busy} onClick={() => void downloadZip()} data-testid="export-zip">
          Download all (.zip)
        </button>
        {BUTTONS.map((b) => (
          <button
            key={b.testId}
            type="button"
            className="button button--secondary button--small"
            disabled={busy}
            onClick={() => void download(b.kinds)}
            data-testid={b.testId}
          >
            {b.testId === 'export-model' ? (externalData || forced ? 'Model .onnx + .data' : 'Model .onnx') : b.label}
          </button>
        ))}
      </div>
      {status.kind === 'working' && (
        <div className="export__progress" data-testid="export-progress" data-what={status.what}>
          <span className="muted">{status.what === 'prepare' ? 'Hashing and writing the report…' : `Zipping ${formatBytes(status.done)} of ${formatBytes(status.total)}…`}</span>
          <ProgressBar fraction={status.what === 'zip' && status.total > 0 ? status.done / status.total : 0} label="Export progress" />
          <button type="button" className="button button--secondary button--small" onClick={cancel} data-testid="export-cancel">
            Cancel
          </button>
        </div>
      )}
      {status.kind === 'failed' && (
        <div className="inline-error" role="alert" data-testid="export-error">
          <span>{status.message}</span>
          <button type="button" className="banner__close" aria-label="Dismiss" onClick={dismiss}>
            ×
          </button>
        </div>
      )}
      {identity && (
        <table className="table export__identity" data-testid="export-identity">
          <tbody>
            {[...identity.original.map((f) => ({ ...f, role: 'original' })), ...identity.result.map((f) => ({ ...f, role: 'result' }))].map((f) => (
              <tr key={`${f.role}:${f.name}`} data-testid="export-file" data-role={f.role} data-name={f.name} data-sha256={f.sha256} data-bytes={f.bytes}>
                <td className="muted">{f.role}</td>
                <td className="mono">{f.name}</td>
                <td className="num">{formatBytes(f.bytes)}</td>
                <td className="mono export__hash" title="SHA-256">
                  {f.sha256}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
