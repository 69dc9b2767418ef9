import { useId, type CSSProperties, type ReactNode } from 'react';
import { SETTINGS, type SettingKey } from '../../compress/methods';
import type { ChoiceSetting, FractionSetting, ListSetting, Setting, ToggleSetting } from '../../compress/method';
import { type LayerSettings, type PartialLayerSettings, useRecipeStore } from '../../state/recipe-store';
import { WEIGHT_COLORS } from './colors';
import './recipe.css';

/** Colours of a setting's options, where the page has them (the graph colours layers by weights). */
const COLORS: Partial<Record<SettingKey, Record<string, string>>> = { weights: WEIGHT_COLORS };
const ENTRIES = Object.entries(SETTINGS) as [SettingKey, Setting][];

export interface SettingsEditorProps {
  /** the effective settings shown */
  value: LayerSettings;
  /** keys this layer sets itself (marked with a dot); omit for the defaults */
  own?: PartialLayerSettings;
  onChange(patch: PartialLayerSettings, tag: string): void;
  /** prefix of the controls' test ids, e.g. "layer" gives "layer-weights-int4" */
  testId: string;
}

function Row({ label, hint, marked, children }: { label: string; hint: string; marked?: boolean; children: ReactNode }) {
  return (
    <div className="setting">
      <span className="setting__label" title={hint}>
        {label}
        {marked && <span className="setting__own" title="Set on this layer (differs from the defaults)" />}
      </span>
      <div className="setting__control">{children}</div>
    </div>
  );
}

function Segmented({ spec, value, onPick, testId, colors }: ControlProps<ChoiceSetting>) {
  return (
    <div className="segmented" role="radiogroup" aria-label={spec.ariaLabel ?? spec.label}>
      {spec.values.map((o) => (
        <button
          key={o}
          type="button"
          role="radio"
          aria-checked={o === value}
          className={o === value ? 'segmented__option segmented__option--on' : 'segmented__option'}
          data-testid={`${testId}-${o}`}
          onClick={() => onPick(o)}
        >
          {colors && <span className="segmented__dot" style={{ background: colors[o] }} />}
          {spec.valueLabels?.[o] ?? o}
        </button>
      ))}
    </div>
  );
}

interface ControlProps<S extends Setting> {
  spec: S;
  value: unknown;
  onPick(v: unknown): void;
  testId: string;
  colors?: Record<string, string>;
}

function ListControl({ spec, value, onPick, testId }: ControlProps<ListSetting>) {
  return (
    <select className="select" aria-label={spec.ariaLabel ?? spec.label} data-testid={testId} value={value as number} onChange={(e) => onPick(Number(e.target.value))}>
      {spec.values.map((b) => (
        <option key={b} value={b}>
          {b}
        </option>
      ))}
    </select>
  );
}

function ToggleControl({ spec, value, onPick, testId }: ControlProps<ToggleSetting>) {
  return (
    <label className="toggle">
      <input type="checkbox" checked={value as boolean} data-testid={testId} onChange={(e) => onPick(e.target.checked)} />
      {spec.text}
    </label>
  );
}

function FractionControl({ spec, value, onPick, testId }: ControlProps<FractionSetting>) {
  const id = useId();
  const v = value as number;
  const percent = Math.round(v * 1000) / 10;
  const name = spec.ariaLabel ?? spec.label;
  return (
    <div className="prune">
      <input
        id={`${id}-range`}
        type="range"
        className="prune__range"
        min={0}
        max={spec.max}
        step={0.01}
        value={v}
        aria-label={`${name} ratio`}
        data-testid={`${testId}-range`}
        style={{ '--fill': `${(v / spec.max) * 100}%` } as CSSProperties}
        onChange={(e) => onPick(Number(e.target.value))}
      />
      <span className="prune__number">
        <input
          type="number"
          className="input input--number"
          min={0}
          max={spec.max * 100}
          step={1}
          value={percent}
          aria-label={`${name} percent`}
          data-testid={`${testId}-number`}
          onChange={(e) => {
            const n = Number(e.target.value);
            if (e.target.value !== '' && Number.isFinite(n) && n >= 0 && n <= spec.max * 100) onPick(Math.round(n * 10) / 1000);
          }}
        />
        %
      </span>
    </div>
  );
}

function Control(props: ControlProps<Setting>) {
  const { spec } = props;
  if (spec.control === 'choice') return <Segmented {...props} spec={spec} />;
  if (spec.control === 'list') return <ListControl {...props} spec={spec} />;
  if (spec.control === 'toggle') return <ToggleControl {...props} spec={spec} />;
  return <FractionControl {...props} spec={spec} />;
}

/**
 * The per-layer controls (also used for the defaults), one row per setting of the registered
 * methods (compress/methods.ts), in their order, each shown when its entry says so.
 */
export function SettingsEditor({ value, own, onChange, testId }: SettingsEditorProps) {
  const target = useRecipeStore((st) => st.recipe.target);
  const mark = (k: SettingKey) => own !== undefined && own[k] !== undefined;
  return (
    <div className="settings" data-testid={`${testId}-settings`}>
      {ENTRIES.filter(([, spec]) => spec.shown?.(value as unknown as Record<string, unknown>, target) ?? true).map(([key, spec]) => (
        <Row key={key} label={spec.label} hint={spec.hint} marked={mark(key)}>
          <Control
            spec={spec}
            value={value[key]}
            onPick={(v) => onChange({ [key]: v } as PartialLayerSettings, `${testId}:${key}`)}
            testId={`${testId}-${spec.testId ?? key}`}
            colors={COLORS[key]}
          />
        </Row>
      ))}
    </div>
  );
}
