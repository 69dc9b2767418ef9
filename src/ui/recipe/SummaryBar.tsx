import { formatBytes } from '../../core/bytes-and-counts';
import { useCompressStore } from '../../state/compress-store';
import { useModelStore } from '../../state/model-store';
import { useResultStale } from '../compress/StaleResult';
import { useRecipeStore, type WeightsSetting } from '../../state/recipe-store';
import type { SizeProjection } from '../../workers/model-api';
import { WEIGHT_COLORS } from './colors';
import { useUndoShortcuts } from './useUndoShortcuts';
import './recipe.css';

const MODES: readonly WeightsSetting[] = ['fp32', 'fp16', 'int8', 'int4'];
const OTHER_COLOR = '#cbd5e1';

const STORED_HINT =
  'The stored file (model plus data file), now and projected under the recipe: int8/int4 codes plus their scales and zero points, fp16 at 2 bytes a value, biases, norms, non-layer tensors and the graph as they are. The decode nodes compression adds (tens of bytes a layer) are not projected; once the model is compressed with this recipe, the figure is the result file\u2019s own size.';
const ZIP_HINT =
  'Magnitude pruning turns weights into exact zeros. They are stored like any other value, so the file keeps its size; but zeros compress, so the download (zip, gzip, brotli) gets smaller. Estimate: the non-zero bytes plus the positions of the zeros.';

/** "3.59× smaller", or for small savings "2.4% smaller". */
function savingText(before: number, after: number): string {
  if (after <= 0 || before <= 0) return '–';
  const r = before / after;
  if (r >= 1.1) return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}× smaller`;
  const pct = ((before - after) / before) * 100;
  return `${pct >= 1 ? pct.toFixed(1) : pct.toFixed(2)}% smaller`;
}

/** Size now versus projected size after compression, a stacked bar by setting, and undo/redo. */
export function SummaryBar() {
  useUndoShortcuts();
  const model = useModelStore((s) => s.model);
  const weightBytes = model?.summary.weightBytes ?? 0;
  const fileBytes = model ? model.files.reduce((n, f) => n + f.bytes, 0) : 0;
  const projection = useRecipeStore((s) => s.projection);
  const result = useCompressStore((s) => s.result);
  const stale = useResultStale();
  const canUndo = useRecipeStore((s) => s.past.length > 0);
  const canRedo = useRecipeStore((s) => s.future.length > 0);
  const undo = useRecipeStore((s) => s.undo);
  const redo = useRecipeStore((s) => s.redo);
  // the file, as the result panel and the download: the weights projected, the rest of the file
  // (graph, names, small constants) as it is; a result made with this recipe gives its own size
  const weightsBefore = projection?.before ?? weightBytes;
  const rest = Math.max(0, fileBytes - weightsBefore);
  const measured = result && result.model === model && !stale ? result : undefined;
  const before = measured ? measured.originalBytes : weightsBefore + rest;
  const after = measured ? measured.compressedBytes : projection ? projection.after + rest : undefined;
  return (
    <div className="summary-bar" data-testid="summary-bar">
      <div className="undo" role="group" aria-label="Recipe history">
        <button
          type="button"
          className="icon-button"
          onClick={undo}
          disabled={!canUndo}
          title="Undo recipe edit (Ctrl+Z)"
          aria-label="Undo"
          data-testid="undo"
        >
          <svg viewBox="0 0 20 20" aria-hidden>
            <path d="M8 5 4 9l4 4M4.5 9H12a4 4 0 0 1 0 8h-2" />
          </svg>
        </button>
        <button
          type="button"
          className="icon-button"
          onClick={redo}
          disabled={!canRedo}
          title="Redo (Ctrl+Shift+Z or Ctrl+Y)"
          aria-label="Redo"
          data-testid="redo"
        >
          <svg viewBox="0 0 20 20" aria-hidden>
            <path d="m12 5 4 4-4 4m3.5-4H8a4 4 0 0 0 0 8h2" />
          </svg>
        </button>
      </div>
      <div className="size" title={STORED_HINT}>
        <span className="size__label">File</span>
        <span className="size__value" data-testid="summary-before" data-value={before} data-weights={weightsBefore}>
          {formatBytes(before)}
        </span>
        <span className="size__arrow" aria-hidden>
          →
        </span>
        <span
          className="size__value size__value--after"
          data-testid="summary-after"
          data-value={after ?? ''}
          data-weights={projection?.after ?? ''}
          data-measured={measured ? 'true' : 'false'}
          aria-label={after === undefined ? 'projected size: computing' : `projected size ${formatBytes(after)}`}
        >
          {after === undefined ? '…' : formatBytes(after)}
        </span>
        {after !== undefined && (
          <span className={after < before ? 'size__ratio size__ratio--win' : 'size__ratio'} data-testid="summary-ratio">
            {after < before ? savingText(before, after) : after > before ? 'larger' : 'unchanged'}
          </span>
        )}
      </div>
      {projection && <SizeBar projection={projection} />}
      {projection && projection.pruned.magnitude > 0 && (
        <span className="size__zip" title={ZIP_HINT} data-testid="summary-zip" data-value={projection.zip + rest} data-weights={projection.zip}>
          ≈ {formatBytes(projection.zip + rest)} zip
          <span className="size__info" aria-hidden>
            i
          </span>
        </span>
      )}
    </div>
  );
}

/** The projected bytes as a bar the length of today's size, split by setting; the rest is saved. */
function SizeBar({ projection }: { projection: SizeProjection }) {
  const { before } = projection;
  const layerAfter = MODES.reduce((n, m) => n + projection.byWeights[m].after, 0);
  const other = Math.max(0, projection.after - layerAfter);
  const pct = (n: number) => (before > 0 ? `${(n / before) * 100}%` : '0%');
  const segments = [
    { key: 'other', color: OTHER_COLOR, bytes: other, title: `biases, norms and other tensors: ${formatBytes(other)}` },
    ...MODES.map((m) => {
      const s = projection.byWeights[m];
      return {
        key: m,
        color: WEIGHT_COLORS[m],
        bytes: s.after,
        title: `${m}: ${s.layers} layer${s.layers === 1 ? '' : 's'}, ${formatBytes(s.before)} → ${formatBytes(s.after)}`,
      };
    }),
  ].filter((s) => s.bytes > 0);
  const saved = Math.max(0, before - projection.after);
  return (
    <div className="size-bar" data-testid="summary-size-bar" aria-hidden>
      {segments.map((s) => (
        <span key={s.key} className="size-bar__part" style={{ width: pct(s.bytes), background: s.color }} title={s.title} />
      ))}
      {saved > 0 && <span className="size-bar__saved" style={{ width: pct(saved) }} title={`saved: ${formatBytes(saved)}`} />}
    </div>
  );
}
