import { useCallback, useEffect, useRef } from 'react';
import { StaleResult } from '../compress/StaleResult';
import { formatBytes } from '../../core/bytes-and-counts';
import { useCompareStore } from '../../state/compare-store';
import { useCompressStore } from '../../state/compress-store';
import { useSelectionStore } from '../../state/selection-store';
import { CompareFidelity } from './CompareFidelity';
import { CompareLegend } from './CompareLegend';
import { ComparePane } from './ComparePane';
import { LayerSizeTable } from './LayerSizeTable';
import { WeightPanel } from './WeightPanel';
import './compare.css';

/**
 * The Compare tab: the original and the compressed graph side by side with one shared viewport
 * (pan or zoom either side and the other follows), what changed highlighted on both, the
 * per-layer sizes, and the selected layer's weights before and after.
 */
export function CompareView() {
  const resultId = useCompressStore((s) => s.result?.id);
  const layers = useCompressStore((s) => s.result?.report.layers);
  const result = useCompressStore((s) => s.result);
  const sizes = result && { before: result.originalBytes, after: result.compressedBytes };
  const phase = useCompareStore((s) => s.phase);
  const info = useCompareStore((s) => s.info);
  const error = useCompareStore((s) => s.error);
  const busy = useCompareStore((s) => s.busy > 0);
  const original = useCompareStore((s) => s.scenes.original);
  const compressed = useCompareStore((s) => s.scenes.compressed);
  const focus = useCompareStore((s) => s.focus);
  const selectedKey = useSelectionStore((s) => s.selectedKey);
  const setViewport = useCompareStore((s) => s.setViewport);
  const graphs = useRef<HTMLDivElement>(null);
  const fitted = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (resultId !== undefined) void useCompareStore.getState().open();
  }, [resultId]);

  // a selected layer (row, node, graph tab) is shown on both sides and its weights loaded
  const isLayer = !!selectedKey && !!layers?.some((l) => l.key === selectedKey);
  useEffect(() => {
    if (phase !== 'ready') return;
    if (selectedKey && isLayer) void useCompareStore.getState().showLayer(selectedKey);
    else useCompareStore.getState().clearWeights();
  }, [phase, selectedKey, isLayer]);

  const paneSize = useCallback(() => {
    const el = graphs.current;
    return { w: el ? el.clientWidth / 2 - 6 : 600, h: el ? el.clientHeight : 400 };
  }, []);

  /** Fits both graphs whole into a pane. */
  const fitAll = useCallback(() => {
    const st = useCompareStore.getState();
    const a = st.scenes.original;
    const b = st.scenes.compressed;
    if (!a || !b) return;
    const { w, h } = paneSize();
    const width = Math.max(a.width, b.width, 1);
    const height = Math.max(a.height, b.height, 1);
    const zoom = Math.max(0.02, Math.min(1, (w - 40) / width, (h - 60) / height));
    st.setViewport({ x: (w - width * zoom) / 2, y: 40 + (h - 60 - height * zoom) / 2, zoom });
  }, [paneSize]);

  // first view: both graphs fit (the larger decides), top-aligned and centred
  useEffect(() => {
    if (!original || !compressed || phase !== 'ready') return;
    const id = `${resultId}`;
    if (fitted.current === id) return;
    fitted.current = id;
    const { w, h } = paneSize();
    const width = Math.max(original.width, compressed.width, 1);
    const height = Math.max(original.height, compressed.height, 1);
    // fit when that stays readable; else readable, top-aligned (scroll or pan for the rest)
    const fit = Math.min(1, (w - 40) / width, (h - 60) / height);
    const zoom = fit >= 0.55 ? fit : Math.max(0.3, Math.min(0.85, (w - 40) / width));
    setViewport({ x: (w - width * zoom) / 2, y: 40, zoom });
  }, [original, compressed, phase, resultId, paneSize, setViewport]);

  // a layer picked in the table: bring it into view (on the original side's position) if it is off screen
  useEffect(() => {
    if (!focus || !original) return;
    const n = original.nodes.find((x) => x.key === focus.key) ?? compressed?.nodes.find((x) => x.key === focus.key);
    if (!n) return;
    const { w, h } = paneSize();
    setViewport((vp) => {
      const sx = n.x * vp.zoom + vp.x;
      const sy = n.y * vp.zoom + vp.y;
      if (sx >= 0 && sy >= 30 && sx + n.width * vp.zoom <= w && sy + n.height * vp.zoom <= h) return vp;
      return { x: w / 2 - (n.x + n.width / 2) * vp.zoom, y: h / 2 - (n.y + n.height / 2) * vp.zoom, zoom: vp.zoom };
    });
  }, [focus, original, compressed, paneSize, setViewport]);

  if (resultId === undefined) {
    return (
      <div className="compare compare--empty" data-testid="compare-view" data-state="empty">
        Compress the model first: the comparison shows the original and the result side by side.
      </div>
    );
  }
  const state = phase === 'ready' && !busy ? 'ready' : phase === 'error' ? 'error' : 'busy';
  const d = info?.diff;
  return (
    <div className="compare" data-testid="compare-view" data-state={state}>
      <StaleResult where="compare" />
      <div className="compare__head">
        <div className="compare__summary" data-testid="compare-summary">
          {info && d && sizes && (
            <>
              <strong>{formatBytes(sizes.before)}</strong> → <strong>{formatBytes(sizes.after)}</strong> · {d.nodes.original} nodes →{' '}
              {d.nodes.compressed} drawn
              {d.nodes.added > 0 && <> ({d.nodes.added} added nodes folded back onto their layers)</>}
              {d.nodes.removed > 0 && <>, {d.nodes.removed} removed</>}
            </>
          )}
          {phase === 'loading' && <span className="compare__loading">Reading the compressed file…</span>}
        </div>
        {d && <CompareLegend counts={d.counts} />}
        <button type="button" className="gtoolbar__button" data-testid="compare-fit" onClick={fitAll} title="Fit both graphs">
          Fit
        </button>
      </div>
      <CompareFidelity />
      {error && (
        <div className="compare__error" data-testid="compare-error">
          {error}
        </div>
      )}
      <div className="compare__graphs" ref={graphs} data-testid="compare-graphs">
        <ComparePane side="original" />
        <ComparePane side="compressed" />
      </div>
      <div className="compare__bottom">
        {layers && d && <LayerSizeTable layers={layers} changes={d.compressed} />}
        <WeightPanel />
      </div>
    </div>
  );
}
