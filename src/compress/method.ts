/**
 * The contract of a compression method's per-layer settings (a method's `meta.ts` declares them;
 * `methods.ts` lists the methods). From these entries come the recipe's `LayerSettings` type,
 * its defaults, key order and validation (recipe.ts), and the page's settings editor, which draws
 * a control per setting from its `control`, `label`, `hint` and `shown`.
 *
 * Small and pure: the page imports this and the methods' `meta.ts` files as values (the rooms'
 * "shared with the page" set, docs/ARCHITECTURE.md).
 */

/** The effective settings of a layer as a setting's `shown` sees them (keys of every method). */
export type SettingsView = Readonly<Record<string, unknown>>;

interface SettingBase<V> {
  /** what a layer gets when neither the recipe's defaults nor its own entry set the key */
  default: V;
  /** the editor's row label */
  label: string;
  /** one or two sentences: what the setting does (the row's tooltip) */
  hint: string;
  /** the recipe's error text after `expected `, e.g. `a number from 0 to 0.95` */
  expected: string;
  /** whether a recipe value is valid */
  accepts(v: unknown): v is V;
  /** whether the editor shows the row (default: always); `target` is the recipe's */
  shown?(s: SettingsView, target: string): boolean;
  /** the control's test id suffix: `<prefix>-<testId>` (default: the key) */
  testId?: string;
  /** the control's accessible name (default: the label) */
  ariaLabel?: string;
}

/** One of a few strings: a segmented control. */
export interface ChoiceSetting<V extends string = string> extends SettingBase<V> {
  control: 'choice';
  values: readonly V[];
  /** shorter texts for the options (default: the value) */
  valueLabels?: Readonly<Record<string, string>>;
}

/** A number from a short list: a select. */
export interface ListSetting extends SettingBase<number> {
  control: 'list';
  values: readonly number[];
}

/** On or off: a checkbox with `text` beside it. */
export interface ToggleSetting extends SettingBase<boolean> {
  control: 'toggle';
  text: string;
}

/** A fraction from 0 to `max`: a slider with a percent field. */
export interface FractionSetting extends SettingBase<number> {
  control: 'fraction';
  max: number;
}

export type Setting = ChoiceSetting | ListSetting | ToggleSetting | FractionSetting;

/** The value type of a setting entry. */
export type ValueOf<S> = S extends SettingBase<infer V> ? V : never;
/** The settings object a method's entries describe: `{ key: value }`. */
export type ValuesOf<T> = { -readonly [K in keyof T]: ValueOf<T[K]> };

/** What a method's `meta.ts` exports for the registry. */
export interface MethodEntry {
  id: string;
  label: string;
  /** its per-layer recipe keys, in the recipe's order */
  settings: Readonly<Record<string, Setting>>;
}

export function choice<const V extends string>(s: Omit<ChoiceSetting<V>, 'control' | 'expected' | 'accepts'>): ChoiceSetting<V> {
  return {
    ...s,
    control: 'choice',
    expected: `one of ${s.values.join(', ')}`,
    accepts: (v: unknown): v is V => typeof v === 'string' && (s.values as readonly string[]).includes(v),
  };
}

export function toggle(s: Omit<ToggleSetting, 'control' | 'expected' | 'accepts'>): ToggleSetting {
  return { ...s, control: 'toggle', expected: 'true or false', accepts: (v: unknown): v is boolean => typeof v === 'boolean' };
}
