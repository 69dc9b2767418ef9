import { useId, type CSSProperties, type ReactNode } from 'react';
import {
  ACTIVATION_MODES,
  GRANULARITIES,
  MAX_BLOCK_SIZE,
  MAX_PRUNE,
  MIN_BLOCK_SIZE,
  PRUNE_METHODS,
  WEIGHT_MODES,
  type LayerSettings,
  type PartialLayerSettings,
  useRecipeStore,
} from '../../state/recipe-store';
import { WEIGHT_COLORS } from './colors';
import './recipe.css';

const BLOCK_SIZES: number[] = [];
for (let b = MIN_BLOCK_SIZE; b <= MAX_BLOCK_SIZE; b *= 2) BLOCK_SIZES.push(b);

const GRANULARITY_LABELS: Record<string, string> = { 'per-tensor': 'tensor', 'per-channel': 'channel', block: 'block' };
const HINTS = {
  weights: 'How the weights are stored. fp32 leaves the layer untouched; int8/int4 store integer codes with scales.',
  granularity: 'One scale per tensor, per output channel, or per block of weights along the reduction axis.',
  symmetric: 'Zero point fixed at 0 (symmetric) or fitted to each group’s range.',
  prune: 'Fraction of the weights (magnitude) or output channels (channel) removed.',
  activations:
    'int8 quantizes the activations too (target wasm): Conv layers get static QDQ that onnxruntime fuses into integer kernels, with ranges calibrated on 8 random input sets in the page (the CLI takes real ones: compress --samples DIR); MatMul/Gemm get dynamic quantization. Layers where integer kernels would not be faster stay weights-only, and the report says why.',
  method:
    'magnitude: the smallest weights become exact zeros (the file keeps its size; zips smaller). channel: whole output channels are removed.',
};

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

function Segmented<T extends string>({
  options,
  value,
  onPick,
  label,
  testId,
  colors,
  labels,
}: {
  options: readonly T[];
  value: T;
  onPick(v: T): void;
  label: string;
  testId: string;
  colors?: Record<string, string>;
  labels?: Record<string, string>;
}) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label}>
      {options.map((o) => (
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
          {labels?.[o] ?? o}
        </button>
      ))}
    </div>
  );
}

/** The per-layer controls (also used for the defaults): weights, granularity, block size, symmetric, pruning. */
export function SettingsEditor({ value, own, onChange, testId }: SettingsEditorProps) {
  const id = useId();
  const quantized = value.weights === 'int8' || value.weights === 'int4';
  const percent = Math.round(value.prune * 1000) / 10;
  const mark = (k: keyof LayerSettings) => own !== undefined && own[k] !== undefined;
  // int8 activations are written for the wasm target only (integer kernels on the CPU)
  const target = useRecipeStore((st) => st.recipe.target);
  return (
    <div className="settings" data-testid={`${testId}-settings`}>
      <Row label="Weights" hint={HINTS.weights} marked={mark('weights')}>
        <Segmented
          options={WEIGHT_MODES}
          value={value.weights}
          onPick={(weights) => onChange({ weights }, `${testId}:weights`)}
          label="Weights"
          testId={`${testId}-weights`}
          colors={WEIGHT_COLORS}
        />
      </Row>
      {quantized && (
        <>
          <Row label="Scales" hint={HINTS.granularity} marked={mark('granularity')}>
            <Segmented
              options={GRANULARITIES}
              value={value.granularity}
              onPick={(granularity) => onChange({ granularity }, `${testId}:granularity`)}
              label="Granularity"
              testId={`${testId}-granularity`}
              labels={GRANULARITY_LABELS}
            />
          </Row>
          {value.granularity === 'block' && (
            <Row label="Block" hint="Weights per block (a power of two)" marked={mark('blockSize')}>
              <select
                className="select"
                aria-label="Block size"
                data-testid={`${testId}-block-size`}
                value={value.blockSize}
                onChange={(e) => onChange({ blockSize: Number(e.target.value) }, `${testId}:blockSize`)}
              >
                {BLOCK_SIZES.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </Row>
          )}
          <Row label="Zero point" hint={HINTS.symmetric} marked={mark('symmetric')}>
            <label className="toggle">
              <input
                type="checkbox"
                checked={value.symmetric}
                data-testid={`${testId}-symmetric`}
                onChange={(e) => onChange({ symmetric: e.target.checked }, `${testId}:symmetric`)}
              />
              symmetric
            </label>
          </Row>
        </>
      )}
      <Row label="Prune" hint={HINTS.prune} marked={mark('prune')}>
        <div className="prune">
          <input
            id={`${id}-prune`}
            type="range"
            className="prune__range"
            min={0}
            max={MAX_PRUNE}
            step={0.01}
            value={value.prune}
            aria-label="Prune ratio"
            data-testid={`${testId}-prune-range`}
            style={{ '--fill': `${(value.prune / MAX_PRUNE) * 100}%` } as CSSProperties}
            onChange={(e) => onChange({ prune: Number(e.target.value) }, `${testId}:prune`)}
          />
          <span className="prune__number">
            <input
              type="number"
              className="input input--number"
              min={0}
              max={MAX_PRUNE * 100}
              step={1}
              value={percent}
              aria-label="Prune percent"
              data-testid={`${testId}-prune-number`}
              onChange={(e) => {
                const v = Number(e.target.value);
                if (e.target.value !== '' && Number.isFinite(v) && v >= 0 && v <= MAX_PRUNE * 100) {
                  onChange({ prune: Math.round(v * 10) / 1000 }, `${testId}:prune`);
                }
              }}
            />
            %
          </span>
        </div>
      </Row>
      {(target === 'wasm' || value.activations !== 'fp32') && (
        <Row label="Activations" hint={HINTS.activations} marked={mark('activations')}>
          <Segmented
            options={ACTIVATION_MODES}
            value={value.activations}
            onPick={(activations) => onChange({ activations }, `${testId}:activations`)}
            label="Activations"
            testId={`${testId}-activations`}
          />
        </Row>
      )}
      {value.prune > 0 && (
        <Row label="Method" hint={HINTS.method} marked={mark('pruneMethod')}>
          <Segmented
            options={PRUNE_METHODS}
            value={value.pruneMethod}
            onPick={(pruneMethod) => onChange({ pruneMethod }, `${testId}:pruneMethod`)}
            label="Prune method"
            testId={`${testId}-prune-method`}
          />
        </Row>
      )}
    </div>
  );
}
