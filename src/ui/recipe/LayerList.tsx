import { memo, useDeferredValue, useMemo, useState, type MouseEvent } from 'react';
import { useLayerSetting, useRecipeStore } from '../../state/recipe-store';
import { useSelectionStore } from '../../state/selection-store';
import { PRUNE_COLOR, settingColor, settingSummary } from './colors';
import { patternMatcher } from './scope';
import './recipe.css';

/** Rows drawn at once; a longer list asks for a narrower search. */
const MAX_ROWS = 300;

const LayerRow = memo(function LayerRow({ layerKey, op, multi }: { layerKey: string; op: string; multi: boolean }) {
  const setting = useLayerSetting(layerKey);
  const onClick = (e: MouseEvent) => {
    const sel = useSelectionStore.getState();
    if (e.ctrlKey || e.metaKey || e.shiftKey) sel.toggleMulti(layerKey);
    else sel.select(layerKey);
  };
  const changed = setting !== undefined && (setting.weights !== 'fp32' || setting.prune > 0);
  return (
    <li>
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
        {changed && setting && <span className="layer-row__setting">{settingSummary(setting)}</span>}
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
        <ul className="layer-list__rows">
          {shown.slice(0, MAX_ROWS).map((l) => (
            <LayerRow key={l.key} layerKey={l.key} op={l.op} multi={multi.has(l.key)} />
          ))}
        </ul>
      )}
      {shown.length > MAX_ROWS && (
        <p className="muted small">
          {shown.length - MAX_ROWS} more — narrow the search to see them.
        </p>
      )}
    </div>
  );
}
