import { useMemo, useState } from 'react';
import { effectiveDefaults, useRecipeStore, type LayerSettings, type PartialLayerSettings } from '../../state/recipe-store';
import { useSelectionStore } from '../../state/selection-store';
import { matchLayers, opCounts, scopeGroups, type BulkScope } from './scope';
import { SettingsEditor } from './SettingsEditor';
import './recipe.css';

type Kind = BulkScope['kind'];
const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'op', label: 'Op type' },
  { kind: 'group', label: 'Group' },
  { kind: 'pattern', label: 'Name' },
  { kind: 'selection', label: 'Selection' },
];
const MAX_OPTIONS = 400;

function describePatch(p: PartialLayerSettings): string {
  const parts: string[] = [];
  if (p.weights) parts.push(p.weights);
  if (p.granularity) parts.push(p.granularity);
  if (p.blockSize) parts.push(`block ${p.blockSize}`);
  if (p.symmetric !== undefined) parts.push(p.symmetric ? 'symmetric' : 'asymmetric');
  if (p.prune !== undefined) parts.push(`prune ${Math.round(p.prune * 100)}%`);
  if (p.pruneMethod) parts.push(p.pruneMethod);
  return parts.join(', ');
}

/**
 * Applies settings to many layers at once: every layer of an op type, a name-scope group, the
 * layers whose name matches a pattern, or the current multi-selection. Only the controls the
 * user touched are applied.
 */
export function BulkEdit() {
  const layers = useRecipeStore((s) => s.layers);
  const recipe = useRecipeStore((s) => s.recipe);
  const setLayers = useRecipeStore((s) => s.setLayers);
  const clearLayers = useRecipeStore((s) => s.clearLayers);
  const multiKeys = useSelectionStore((s) => s.multiKeys);
  const ops = useMemo(() => opCounts(layers), [layers]);
  const groups = useMemo(() => scopeGroups(layers), [layers]);

  const [kind, setKind] = useState<Kind>('op');
  const [op, setOp] = useState('');
  const [group, setGroup] = useState('');
  const [pattern, setPattern] = useState('');
  const [patch, setPatch] = useState<PartialLayerSettings>({});
  // a new multi-selection (e.g. a group clicked in the graph) becomes the scope
  const [seenMulti, setSeenMulti] = useState(multiKeys);
  if (seenMulti !== multiKeys) {
    setSeenMulti(multiKeys);
    if (multiKeys.length > 0) setKind('selection');
  }

  const scope = useMemo((): BulkScope => {
    if (kind === 'op') return { kind, op: op || ops[0]?.op || '' };
    if (kind === 'group') return { kind, prefix: group || groups[0]?.prefix || '' };
    if (kind === 'pattern') return { kind, pattern };
    return { kind, keys: multiKeys };
  }, [kind, op, ops, group, groups, pattern, multiKeys]);
  const keys = useMemo(() => matchLayers(layers, scope), [layers, scope]);
  const draft: LayerSettings = { ...effectiveDefaults(recipe), ...patch };
  const touched = Object.keys(patch).length > 0;

  return (
    <div className="bulk" data-testid="bulk-edit">
      <div className="bulk__scope">
        <div className="segmented segmented--small" role="tablist" aria-label="Apply to">
          {KINDS.map((k) => (
            <button
              key={k.kind}
              type="button"
              role="tab"
              aria-selected={kind === k.kind}
              className={kind === k.kind ? 'segmented__option segmented__option--on' : 'segmented__option'}
              data-testid={`bulk-scope-${k.kind}`}
              onClick={() => setKind(k.kind)}
            >
              {k.label}
              {k.kind === 'selection' && multiKeys.length > 0 && <span className="badge">{multiKeys.length}</span>}
            </button>
          ))}
        </div>
        {kind === 'op' && (
          <select className="select select--wide" aria-label="Op type" data-testid="bulk-op" value={scope.kind === 'op' ? scope.op : ''} onChange={(e) => setOp(e.target.value)}>
            {ops.map((o) => (
              <option key={o.op} value={o.op}>
                {o.op} ({o.count})
              </option>
            ))}
          </select>
        )}
        {kind === 'group' &&
          (groups.length === 0 ? (
            <p className="muted small">The layer names have no scopes (like /encoder/layer.3/…) to group by.</p>
          ) : (
            <select
              className="select select--wide mono"
              aria-label="Group"
              data-testid="bulk-group"
              value={scope.kind === 'group' ? scope.prefix : ''}
              onChange={(e) => setGroup(e.target.value)}
            >
              {groups.slice(0, MAX_OPTIONS).map((g) => (
                <option key={g.prefix} value={g.prefix}>
                  {g.prefix}… ({g.count})
                </option>
              ))}
            </select>
          ))}
        {kind === 'pattern' && (
          <input
            className="input input--wide mono"
            type="search"
            placeholder="attn  or  /encoder/*/MatMul"
            aria-label="Name pattern"
            title="A part of the name, or a glob: * any characters, ? one character"
            data-testid="bulk-pattern"
            value={pattern}
            onChange={(e) => setPattern(e.target.value)}
          />
        )}
        {kind === 'selection' && multiKeys.length === 0 && (
          <p className="muted small">Ctrl- or Shift-click layers (in the list below or the graph) to select several.</p>
        )}
        <p className="bulk__count" data-testid="bulk-count" data-value={keys.length}>
          {keys.length} layer{keys.length === 1 ? '' : 's'}
          {keys.length > 0 && (
            <span className="muted mono" title={keys.join('\n')}>
              {' '}
              {keys.slice(0, 2).join(', ')}
              {keys.length > 2 ? ', …' : ''}
            </span>
          )}
        </p>
      </div>
      <SettingsEditor value={draft} own={patch} testId="bulk" onChange={(p) => setPatch((old) => ({ ...old, ...p }))} />
      <div className="bulk__actions">
        <button
          type="button"
          className="button button--primary button--small"
          disabled={!touched || keys.length === 0}
          data-testid="bulk-apply"
          title={touched ? `Set ${describePatch(patch)}` : 'Change a setting above first'}
          onClick={() => setLayers(keys, patch)}
        >
          Apply to {keys.length} layer{keys.length === 1 ? '' : 's'}
        </button>
        <button
          type="button"
          className="button button--secondary button--small"
          disabled={keys.length === 0}
          data-testid="bulk-clear"
          title="Remove these layers' own settings: they follow the defaults again"
          onClick={() => clearLayers(keys)}
        >
          Use defaults
        </button>
        {touched && (
          <button type="button" className="link-button small" onClick={() => setPatch({})}>
            clear
          </button>
        )}
      </div>
      {touched && <p className="muted small" data-testid="bulk-patch">Sets: {describePatch(patch)}</p>}
    </div>
  );
}
