import { useState, type MouseEvent } from 'react';
import { errorMessage } from '../../core/errors';
import { useModelStore } from '../../state/model-store';
import { downloadBlob } from '../export/download';
import { graphSvg, svgToPng } from './graph-export';

/** The file name for the picture: the model's name without .onnx. */
function baseName(fileName: string | undefined): string {
  const stem = (fileName ?? 'graph').replace(/\.onnx$/i, '').replace(/[\\/:*?"<>|]+/g, '_').replace(/\s+/g, ' ');
  return `${stem || 'graph'}-graph`;
}

/** Toolbar buttons that download the graph as rendered now, as SVG or PNG. */
export function GraphExportButtons() {
  const fileName = useModelStore((s) => s.model?.fileName);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const save = async (e: MouseEvent<HTMLButtonElement>, kind: 'svg' | 'png') => {
    const root = e.currentTarget.closest<HTMLElement>('.react-flow');
    if (!root) return;
    setBusy(true);
    setError(undefined);
    try {
      const g = graphSvg(root);
      const blob = kind === 'svg' ? new Blob([g.svg], { type: 'image/svg+xml' }) : await svgToPng(g);
      downloadBlob(blob, `${baseName(fileName)}.${kind}`);
    } catch (err) {
      setError(`The ${kind.toUpperCase()} was not made: ${errorMessage(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="gtoolbar__button" data-testid="graph-export-svg" disabled={busy} title="Download the graph as shown, as SVG" onClick={(e) => void save(e, 'svg')}>
        SVG
      </button>
      <button type="button" className="gtoolbar__button" data-testid="graph-export-png" disabled={busy} title="Download the graph as shown, as PNG" onClick={(e) => void save(e, 'png')}>
        PNG
      </button>
      {error && (
        <span className="inline-error small" data-testid="graph-export-error">
          {error}
        </span>
      )}
    </>
  );
}
