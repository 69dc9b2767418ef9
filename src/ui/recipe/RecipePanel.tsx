import { useRef } from 'react';
import { useRecoveryMemoryLine } from '../../state/compress-store';
import { useModelStore } from '../../state/model-store';
import { TARGETS } from '../../compress/recipe';
import { effectiveDefaults, useRecipeStore, type PartialLayerSettings } from '../../state/recipe-store';
import { SettingsEditor } from './SettingsEditor';
import './recipe.css';

const TARGET_HINTS: Record<string, string> = {
  portable: 'Loads and gives the same results on every onnxruntime-web backend (smallest file, no speed promise).',
  wasm: 'The fastest encodings on the CPU/WASM path.',
  webgpu: 'The fastest encodings on WebGPU.',
};

const PRESETS: { label: string; title: string; patch: PartialLayerSettings }[] = [
  { label: 'As is', title: 'fp32, no pruning: leave every layer untouched', patch: { weights: 'fp32', prune: 0 } },
  { label: 'fp16', title: 'Half precision: half the size, nearly lossless', patch: { weights: 'fp16', prune: 0 } },
  { label: 'int8', title: 'int8, one scale per output channel: about 4x smaller', patch: { weights: 'int8', granularity: 'per-channel', symmetric: true, prune: 0 } },
  { label: 'int4 b32', title: 'int4 in blocks of 32: about 6-7x smaller', patch: { weights: 'int4', granularity: 'block', blockSize: 32, symmetric: true, prune: 0 } },
];

function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function recipeName(modelFile: string | undefined): string {
  const base = (modelFile ?? 'model').replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '');
  return `${base}.recipe.json`;
}

/** The recipe as a whole: target, defaults for every layer, presets, import and export. */
export function RecipePanel() {
  const recipe = useRecipeStore((s) => s.recipe);
  const overrides = useRecipeStore((s) => Object.keys(s.recipe.layers).length);
  const setTarget = useRecipeStore((s) => s.setTarget);
  const setDefaults = useRecipeStore((s) => s.setDefaults);
  const importText = useRecipeStore((s) => s.importText);
  const importError = useRecipeStore((s) => s.importError);
  const dismiss = useRecipeStore((s) => s.dismissImportError);
  const fileName = useModelStore((s) => s.model?.fileName);
  const input = useRef<HTMLInputElement>(null);
  const defaults = effectiveDefaults(recipe);
  const memoryLine = useRecoveryMemoryLine();

  return (
    <div className="recipe-panel" data-testid="recipe-panel">
      <div className="setting">
        <span className="setting__label" title="Which runtime the encodings are chosen for">
          Target
        </span>
        <div className="setting__control">
          <div className="segmented" role="radiogroup" aria-label="Target">
            {TARGETS.map((t) => (
              <button
                key={t}
                type="button"
                role="radio"
                aria-checked={recipe.target === t}
                title={TARGET_HINTS[t]}
                className={recipe.target === t ? 'segmented__option segmented__option--on' : 'segmented__option'}
                data-testid={`target-${t}`}
                onClick={() => setTarget(t)}
              >
                {t}
              </button>
            ))}
          </div>
        </div>
      </div>
      <div className="presets">
        <span className="setting__label">Presets</span>
        <div className="presets__buttons">
          {PRESETS.map((p) => (
            <button key={p.label} type="button" className="chip-button" title={p.title} data-testid={`preset-${p.label}`} onClick={() => setDefaults(p.patch)}>
              {p.label}
            </button>
          ))}
        </div>
      </div>
      <SettingsEditor value={defaults} testId="defaults" onChange={(patch, tag) => setDefaults(patch, tag)} />
      {memoryLine && (
        <p className="muted small" data-testid="recipe-recovery-memory">
          {memoryLine}
        </p>
      )}
      <p className="muted small">
        Defaults apply to every layer without settings of its own
        {overrides > 0 ? ` (${overrides} layer${overrides === 1 ? ' has' : 's have'} their own).` : '.'}
      </p>
      <div className="recipe-panel__io">
        <button type="button" className="button button--secondary button--small" data-testid="recipe-import" onClick={() => input.current?.click()}>
          Import recipe…
        </button>
        <button
          type="button"
          className="button button--secondary button--small"
          data-testid="recipe-export"
          onClick={() => download(useRecipeStore.getState().exportText(), recipeName(fileName))}
        >
          Export recipe
        </button>
        <input
          ref={input}
          type="file"
          accept=".json,application/json"
          hidden
          data-testid="recipe-file-input"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) importText(await file.text());
          }}
        />
      </div>
      {importError && (
        <div className="inline-error" role="alert" data-testid="recipe-import-error">
          <span>The recipe was not applied: {importError}</span>
          <button type="button" className="banner__close" aria-label="Dismiss" onClick={dismiss}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
