import { useMemo, useState } from 'react';
import { describeInputs, dimChoices, dimsOfSets, type DimChoice } from '../../bench/describe-inputs';
import { feedbackChoices, isSampleModel, useDataStore } from '../../state/data-store';
import { DataPreviewView } from './DataPreview';
import { DataPrep } from './DataPrep';
import { splitLine } from './split-line';
import './data.css';

/**
 * The Data tab: the inputs given once for the open model (files, a folder, the sample's labeled
 * set, or random inputs), how they become model inputs, every input's value and every symbolic
 * dim's size, the calibration / evaluation split, and a preview. Every measurement uses it.
 */
export function DataPanel() {
  const model = useDataStore((s) => s.model);
  if (!model) return null;
  return (
    <section className="data-panel" data-testid="data-panel">
      <p className="muted data-intro">
        Give the inputs once: calibration (int8 activations), the runtime check, Benchmark and Explore all use them. They stay in this browser (kept with the session), never
        uploaded.
      </p>
      <DataSourceCard />
      <DataInputs />
      <DataPrep />
      <DataSplit />
      <DataPreviewView />
      <DataDescriptionFile />
    </section>
  );
}

function DataSourceCard() {
  const source = useDataStore((s) => s.source);
  const status = useDataStore((s) => s.status);
  const prepared = useDataStore((s) => s.prepared);
  const model = useDataStore((s) => s.model);
  const st = useDataStore.getState;
  const sample = isSampleModel(model);
  // a folder with no files: said, and the data given before stays (not random inputs in silence)
  const [emptyPick, setEmptyPick] = useState(false);
  const pick = (list: FileList | null) => {
    const files = Array.from(list ?? []);
    setEmptyPick(files.length === 0);
    if (files.length > 0) st().setFiles(files);
  };
  return (
    <fieldset className="bench-fieldset" data-testid="data-source">
      <legend>Samples</legend>
      <div className="bench-files">
        <label className="button button--secondary">
          Choose files…
          <input
            type="file"
            hidden
            multiple
            accept="image/*,audio/*,.wav,.mp3,.ogg,.npy,.json,.csv"
            data-testid="data-files-input"
            onChange={(e) => pick(e.target.files)}
          />
        </label>
        <label className="button button--secondary">
          Choose a folder…
          <input type="file" hidden data-testid="data-folder-input" ref={(el) => el?.setAttribute('webkitdirectory', '')} onChange={(e) => pick(e.target.files)} />
        </label>
        {sample && (
          <button type="button" className="button button--secondary" data-testid="data-use-sample" disabled={source.kind === 'sample'} onClick={() => st().useSample()}>
            The sample's labeled set
          </button>
        )}
        <button type="button" className="button button--secondary" data-testid="data-clear" disabled={source.kind === 'none'} onClick={() => st().clear()}>
          No data (random inputs)
        </button>
      </div>
      <div className="data-status" data-testid="data-status" data-state={source.kind === 'none' ? 'random' : status.kind}>
        {source.kind === 'none' ? (
          <span>
            <span className="random-mark" data-testid="data-random-mark">
              random inputs
            </span>{' '}
            Every figure is measured on random values at the sizes under Inputs: fidelity and latency only, no accuracy. Give images, audio or tensors (.npy, .json, a labeled
            .csv) for numbers that hold on real data.
          </span>
        ) : status.kind === 'preparing' ? (
          <span data-testid="data-preparing">
            {status.stage === 'feedback'
              ? `Running the model over the frames to feed its state back: ${status.done} of ${status.total}…`
              : `Preparing${status.total > 0 ? ` ${status.done} of ${status.total} files` : ''}…`}
          </span>
        ) : status.kind === 'failed' ? (
          <span className="compress-note--error" data-testid="data-error">
            {status.message}
          </span>
        ) : prepared ? (
          <span data-testid="data-summary">
            {prepared.loaded.summary}
            {prepared.loaded.ignored.length > 0 && (
              <span className="muted">
                {' '}
                ({prepared.loaded.ignored.length} file{prepared.loaded.ignored.length === 1 ? '' : 's'} not used: {prepared.loaded.ignored.slice(0, 3).join(', ')}
                {prepared.loaded.ignored.length > 3 ? ', …' : ''})
              </span>
            )}
          </span>
        ) : null}
      </div>
      {emptyPick && (
        <div className="compress-note compress-note--error" data-testid="data-empty-pick">
          The chosen folder holds no files: the data is unchanged.
        </div>
      )}
    </fieldset>
  );
}

function dimNote(c: DimChoice): string {
  switch (c.basis) {
    case 'set':
      return 'set by you';
    case 'data':
      return 'from the data';
    case 'batch':
      return 'batch: 1';
    case 'name':
      return `guessed from its name: ${c.value}; confirm or change`;
    case 'none':
      return 'not fixed by the model: set it';
  }
}

/** Feed a state output back into its input, frame after frame (the value above starts each file). */
function FeedbackToggle({ choice }: { choice: { input: string; output: string; on: boolean } }) {
  return (
    <label className="data-feedback" title="The original model runs over each file's frames in order; every frame gets the state it left after the frame before. The value beside starts each file.">
      <input type="checkbox" data-testid={`data-feedback-${choice.input}`} checked={choice.on} onChange={(e) => useDataStore.getState().setFeedback(choice.input, e.target.checked ? choice.output : undefined)} />
      feed <span className="mono">{choice.output}</span> back between frames
    </label>
  );
}

function DataInputs() {
  const model = useDataStore((s) => s.model);
  const description = useDataStore((s) => s.description);
  const prepared = useDataStore((s) => s.prepared);
  const source = useDataStore((s) => s.source);
  const status = useDataStore((s) => s.status);
  const st = useDataStore.getState;
  const described = useMemo(() => describeInputs(model?.summary.inputs ?? []), [model]);
  // tensor files (.npy, .json) fix the dims by their shapes, as images do by their size
  const fromData = useMemo(
    () => (source.kind !== 'none' && prepared ? { ...dimsOfSets(described.specs, prepared.loaded.sets ?? []), ...prepared.loaded.dims } : {}),
    [source.kind, prepared, described],
  );
  const dims = dimChoices(described.specs, description.dims, fromData);
  const fed = source.kind !== 'none' ? prepared?.loaded.fed : undefined;
  const firstSet = prepared?.loaded.sets?.[0];
  const feedback = feedbackChoices({ model, description, prepared, source });
  return (
    <fieldset className="bench-fieldset" data-testid="data-inputs">
      <legend>Inputs</legend>
      {described.problem && <div className="compress-note compress-note--error">{described.problem}</div>}
      <table className="table">
        <thead>
          <tr>
            <th>Input</th>
            <th>Type</th>
            <th>Declared shape</th>
            <th>Fed with</th>
          </tr>
        </thead>
        <tbody>
          {described.specs.map((s) => {
            const given = firstSet?.find((t) => t.name === s.name);
            const isFed = fed === s.name || (source.kind !== 'none' && fed === undefined && given !== undefined);
            const value = description.inputs[s.name];
            return (
              <tr key={s.name} data-testid="data-input-row" data-input={s.name}>
                <td className="mono">{s.name}</td>
                <td className="mono">{s.dtype}</td>
                <td className="mono">[{s.shape.join(', ')}]</td>
                <td>
                  {!isFed && source.kind !== 'none' && !prepared && s.shape.length >= 3 && s.dtype.startsWith('float') ? (
                    <span className="muted" data-testid={`data-input-waiting-${s.name}`}>
                      {status.kind === 'failed' ? 'nothing: the data could not be used (see Samples above)' : 'the data, once it is ready (see Samples above)'}
                    </span>
                  ) : isFed ? (
                    <span>
                      the data{given ? <span className="mono"> [{given.dims.join(', ')}]</span> : null}
                    </span>
                  ) : source.kind === 'none' ? (
                    <span className="muted">random values</span>
                  ) : (
                    <label className="bench-dim">
                      <span className="muted" data-testid={`data-input-note-${s.name}`}>
                        {prepared?.loaded.otherInputs?.find((n) => n.startsWith(`${s.name} =`))?.replace(/ \(set it[^)]*\)$/, '') ?? 'value'}
                      </span>
                      <input
                        type="number"
                        step="any"
                        data-testid={`data-input-value-${s.name}`}
                        value={typeof value === 'number' ? value : ''}
                        placeholder={Array.isArray(value) ? 'list (data.json)' : 'zeros'}
                        onChange={(e) => st().setInputValue(s.name, e.target.value === '' ? undefined : Number(e.target.value))}
                      />
                      {feedback.find((f) => f.input === s.name) && <FeedbackToggle choice={feedback.find((f) => f.input === s.name)!} />}
                    </label>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {dims.choices.length > 0 && (
        <div className="data-dims">
          <div className="muted">Symbolic dims (one place for every measurement):</div>
          {dims.choices.map((c) => (
            <label key={c.name} className="bench-dim" title={`used by ${c.usedBy.join(', ')}`} data-testid="data-dim" data-dim={c.name} data-basis={c.basis}>
              <span className="mono">{c.name}</span>
              <input
                type="number"
                min={1}
                step={1}
                value={description.dims[c.name] ?? ''}
                placeholder={c.value !== undefined ? String(c.value) : 'size?'}
                data-testid={`data-dim-${c.name}`}
                onChange={(e) => st().setDim(c.name, e.target.value === '' ? undefined : Number(e.target.value))}
              />
              <span className={c.basis === 'none' ? 'compress-note--error' : c.basis === 'name' ? 'data-guess' : 'muted'}>{dimNote(c)}</span>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

function DataSplit() {
  const source = useDataStore((s) => s.source);
  const prepared = useDataStore((s) => s.prepared);
  const calibration = useDataStore((s) => s.description.calibration);
  if (source.kind === 'none') return null;
  return (
    <fieldset className="bench-fieldset" data-testid="data-split">
      <legend>Calibration and evaluation</legend>
      <div className="bench-dims">
        <label className="bench-dim">
          <span>calibrate on</span>
          <input
            type="number"
            min={0}
            step={1}
            value={calibration ?? ''}
            placeholder={prepared ? String(prepared.calibrationCount) : 'half, ≤128'}
            data-testid="data-calibration"
            onChange={(e) => useDataStore.getState().setCalibration(e.target.value === '' ? undefined : Number(e.target.value))}
          />
          <span>samples</span>
        </label>
        {prepared && (
          <span data-testid="data-split-line">
            {splitLine(prepared)}
          </span>
        )}
      </div>
    </fieldset>
  );
}

function DataDescriptionFile() {
  const st = useDataStore.getState;
  const [error, setError] = useState<string | undefined>();
  const download = () => {
    const blob = new Blob([st().exportDescription()], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'data.json';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return (
    <fieldset className="bench-fieldset">
      <legend>For the CLI</legend>
      <div className="bench-files">
        <button type="button" className="button button--secondary" data-testid="data-export" onClick={download}>
          Download data.json
        </button>
        <label className="button button--secondary">
          Load data.json…
          <input
            type="file"
            hidden
            accept=".json,application/json"
            data-testid="data-import"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (!f) return;
              try {
                st().importDescription(await f.text());
                setError(undefined);
              } catch (err) {
                setError(`${f.name}: ${err instanceof Error ? err.message : String(err)}`);
              }
            }}
          />
        </label>
        <span className="muted">
          the preprocessing, dims, input values and split (no files): <span className="mono">npm run cli -- eval MODEL --samples DIR --data data.json</span> gives the same inputs
        </span>
      </div>
      {error && (
        <div className="compress-note compress-note--error" data-testid="data-import-error">
          {error}
        </div>
      )}
    </fieldset>
  );
}
