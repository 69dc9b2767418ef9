import { memo, useDeferredValue, useMemo, useState, type MouseEvent, type UIEvent } from 'react';
import { useLayerSetting, useRecipeStore } from '../../state/recipe-store';
import { useSelectionStore } from '../../state/selection-store';
import { PRUNE_COLOR, settingColor, settingSummary } from './colors';
import { patternMatcher } from './scope';
import './recipe.css';

/**
 * The list is windowed: rows have one fixed height (the key is cut with an ellipsis, the full key
 * is in the tooltip) and only those in view, plus a margin, are mounted, so a model with
 * thousands of layers costs the same first render as one with twenty.
 */
const ROW_HEIGHT = 44;
/** the scroller's height in rows */
const VIEW_ROWS = 12;
/** rows mounted beyond each edge of the view */
const OVERSCAN = 6;

const LayerRow = memo(function LayerRow({ layerKey, op, multi, sharedWith }: { layerKey: string; op: string; multi: boolean; sharedWith?: string }) {
  const setting = useLayerSetting(layerKey);
  const onClick = (e: MouseEvent) => {
    const sel = useSelectionStore.getState();
    if (e.ctrlKey || e.metaKey || e.shiftKey) sel.toggleMulti(layerKey);
    else sel.select(layerKey);
  };
  const changed = setting !== undefined && (setting.weights !== 'fp32' || setting.prune > 0);
  return (
    <li style={{ height: ROW_HEIGHT }}>
      <button
        type="button"
        className={multi ? 'layer-row layer-row--multi' : 'layer-row'}
        data-testid="layer-list-row"
        data-key={layerKey}
        aria-pressed={multi}
        title={`${layerKey}\nClick to inspect; Ctrl/Shift-click to add to the selection`}
        onClick={onClick}
      >
        <span
          className="layer-row__swatch"
          style={{
            background: settingColor(setting),
            outline: setting && setting.prune > 0 ? `2px dashed ${PRUNE_COLOR}` : undefined,
          }}
        />
        <span className="layer-row__key mono">{layerKey}</span>
        <span className="tag tag--op">{op}</span>
        {((changed && setting) || sharedWith !== undefined) && (
          <span className="layer-row__setting">
            {changed && setting ? settingSummary(setting) : ''}
            {changed && sharedWith !== undefined ? ' · ' : ''}
            {sharedWith !== undefined && (
              <span
                data-testid="layer-row-shared"
                title={`Reads the weight ${sharedWith} reads (tied, or the same values stored twice): the file keeps it once, one encoding for every layer that reads it (the first of them that compresses it sets it); a reader left at fp32 keeps the float tensor too.`}
              >
                weight of {sharedWith}
              </span>
            )}
          </span>
        )}
        {setting?.overridden && <span className="layer-row__own" title="Has its own settings" />}
      </button>
    </li>
  );
});

/** Every layer, searchable; a click opens it in the inspector, Ctrl/Shift-click builds a selection. */
export function LayerList() {
  const layers = useRecipeStore((s) => s.layers);
  const multiKeys = useSelectionStore((s) => s.multiKeys);
  const setMulti = useSelectionStore((s) => s.setMulti);
  const [query, setQuery] = useState('');
  const deferred = useDeferredValue(query);
  const shown = useMemo(() => {
    const q = deferred.trim();
    if (!q) return layers;
    const match = patternMatcher(q);
    const lower = q.toLowerCase();
    return layers.filter((l) => match(l.key) || l.op.toLowerCase() === lower);
  }, [layers, deferred]);
  const multi = useMemo(() => new Set(multiKeys), [multiKeys]);
  const [scrollTop, setScrollTop] = useState(0);
  const onScroll = (e: UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(shown.length, Math.ceil(scrollTop / ROW_HEIGHT) + VIEW_ROWS + OVERSCAN);
  return (
    <div className="layer-list" data-testid="layer-list">
      <div className="layer-list__tools">
        <input
          className="input input--wide"
          type="search"
          placeholder={`Search ${layers.length} layers by name or op`}
          aria-label="Search layers"
          data-testid="layer-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      {multiKeys.length > 0 && (
        <p className="layer-list__multi small">
          {multiKeys.length} selected ·{' '}
          <button type="button" className="link-button" onClick={() => setMulti(shown.map((l) => l.key))}>
            select all shown
          </button>{' '}
          ·{' '}
          <button type="button" className="link-button" onClick={() => setMulti([])}>
            clear
          </button>
        </p>
      )}
      {shown.length === 0 ? (
        <p className="muted small">{layers.length === 0 ? 'This model has no layers with weights.' : 'No layer matches.'}</p>
      ) : (
        <div
          className="layer-list__scroller"
          data-testid="layer-list-scroller"
          style={{ height: Math.min(shown.length, VIEW_ROWS) * ROW_HEIGHT }}
          onScroll={onScroll}
        >
          <ul
            className="layer-list__rows"
            style={{ height: shown.length * ROW_HEIGHT, paddingTop: first * ROW_HEIGHT }}
            aria-rowcount={shown.length}
          >
            {shown.slice(first, last).map((l) => (
              <LayerRow key={l.key} layerKey={l.key} op={l.op} multi={multi.has(l.key)} sharedWith={l.sharedWith} />
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
