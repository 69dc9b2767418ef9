import { useMemo, useState } from 'react';
import { SETTINGS, type SettingKey } from '../../compress/methods';
import { bulkChanges, draftPatch, touchDraft, type BulkChange, type BulkDraft } from '../../state/recipe-edits';
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

function showValue(key: SettingKey, v: unknown): string {
  if (key === 'prune') return `${Math.round((v as number) * 100)}%`;
  if (key === 'symmetric') return v ? 'symmetric' : 'asymmetric';
  return String(v);
}

function describePatch(p: PartialLayerSettings): string {
  return (Object.keys(SETTINGS) as SettingKey[])
    .filter((k) => p[k] !== undefined)
    .map((k) => `${SETTINGS[k].label} ${showValue(k, p[k])}`)
    .join(', ');
}

/** One line of the preview: `Prune: 0% → 30% on 12 layers`. */
function ChangeLine({ change }: { change: BulkChange }) {
  const spec = SETTINGS[change.key];
  return (
    <li data-testid="bulk-change" data-key={change.key} data-layers={change.layers}>
      {spec.label}: {change.layers === 0 ? `already ${showValue(change.key, change.to)} on every layer` : `${change.from.map((v) => showValue(change.key, v)).join(' / ')} → ${showValue(change.key, change.to)} on ${change.layers} layer${change.layers === 1 ? '' : 's'}`}
    </li>
  );
}

/**
 * Applies settings to many layers at once: every layer of an op type, a name-scope group, the
 * layers whose name matches a pattern, or the current multi-selection. Only the controls the
 * user touched for this scope are applied (another scope starts from nothing), and the preview
 * lists exactly what Apply will change.
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
  const [draft, setDraft] = useState<BulkDraft | undefined>(undefined);
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
  // the draft belongs to the scope it was made for: a new scope starts from nothing
  const scopeId = JSON.stringify(scope);
  const patch = draftPatch(draft, scopeId);
  const shown: LayerSettings = { ...effectiveDefaults(recipe), ...patch };
  const touched = Object.keys(patch).length > 0;
  const changes = useMemo(() => (touched ? bulkChanges(recipe, layers, keys, patch) : []), [touched, recipe, layers, keys, patch]);
  const changing = changes.some((c) => c.layers > 0);

  return (
    <div className="bulk" data-testid="bulk-edit">
      <ScopePicker
        kind={kind}
        onKind={setKind}
        scope={scope}
        ops={ops}
        onOp={setOp}
        groups={groups}
        onGroup={setGroup}
        pattern={pattern}
        onPattern={setPattern}
        multiKeys={multiKeys}
        keys={keys}
      />
      <SettingsEditor value={shown} own={patch} testId="bulk" onChange={(p) => setDraft((old) => touchDraft(old, scopeId, p))} />
      <div className="bulk__actions">
        <button
          type="button"
          className="button button--primary button--small"
          disabled={!changing}
          data-testid="bulk-apply"
          title={touched ? (changing ? `Set ${describePatch(patch)}` : 'These layers have these settings already') : 'Change a setting above first'}
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
          <button type="button" className="link-button small" onClick={() => setDraft(undefined)}>
            clear
          </button>
        )}
      </div>
      {touched && (
        <div className="muted small" data-testid="bulk-patch">
          Apply changes:
          <ul className="bulk__changes" data-testid="bulk-preview">
            {changes.map((c) => (
              <ChangeLine key={c.key} change={c} />
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

interface ScopePickerProps {
  kind: Kind;
  onKind: (kind: Kind) => void;
  scope: BulkScope;
  ops: ReturnType<typeof opCounts>;
  onOp: (op: string) => void;
  groups: ReturnType<typeof scopeGroups>;
  onGroup: (prefix: string) => void;
  pattern: string;
  onPattern: (pattern: string) => void;
  multiKeys: readonly string[];
  keys: readonly string[];
}

/** The scope row: op type, group, name pattern or selection, and how many layers it holds. */
function ScopePicker({ kind, onKind, scope, ops, onOp, groups, onGroup, pattern, onPattern, multiKeys, keys }: ScopePickerProps) {
  return (
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
            onClick={() => onKind(k.kind)}
          >
            {k.label}
            {k.kind === 'selection' && multiKeys.length > 0 && <span className="badge">{multiKeys.length}</span>}
          </button>
        ))}
      </div>
      {kind === 'op' && (
        <select className="select select--wide" aria-label="Op type" data-testid="bulk-op" value={scope.kind === 'op' ? scope.op : ''} onChange={(e) => onOp(e.target.value)}>
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
            onChange={(e) => onGroup(e.target.value)}
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
          onChange={(e) => onPattern(e.target.value)}
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
  );
}
