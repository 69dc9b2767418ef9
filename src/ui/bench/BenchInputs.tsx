import { useMemo } from 'react';
import { concreteDims, describeInputs } from '../../bench/describe-inputs';
import { useBenchStore, type ImagePrep, type SourceKind } from '../../state/bench-store';
import type { IoSummary } from '../../onnx/summary';

export interface BenchInputsProps {
  inputs: IoSummary[];
  isSample: boolean;
  disabled: boolean;
  /** the image settings in effect (defaults for the model's input merged with the user's) */
  imagePrep: ImagePrep | undefined;
}

const SOURCES: { kind: SourceKind; label: string; hint: string }[] = [
  { kind: 'sample-labeled', label: "The sample's labeled set", hint: '450 labeled 8x8 digits (public/sample/digits-test.json): accuracy and fidelity' },
  { kind: 'synthetic', label: 'Synthesized inputs', hint: 'deterministic random values at the shapes above: fidelity and latency, no accuracy' },
  { kind: 'files', label: 'Input files', hint: '.npy or .json files (one input set each), or one labeled .json / .csv (inputs and labels)' },
  { kind: 'images', label: 'Images', hint: 'a folder with one sub-folder per class (labeled), or loose images; resized and normalized as set below' },
];

/** The model's inputs, symbolic dims with defaults the user can change, and where the data comes from. */
export function BenchInputs({ inputs, isSample, disabled, imagePrep }: BenchInputsProps) {
  const dimValues = useBenchStore((s) => s.dimValues);
  const setDim = useBenchStore((s) => s.setDim);
  const source = useBenchStore((s) => s.source);
  const setSource = useBenchStore((s) => s.setSource);
  const files = useBenchStore((s) => s.files);
  const setFiles = useBenchStore((s) => s.setFiles);
  const maxRuns = useBenchStore((s) => s.maxRuns);
  const maxSeconds = useBenchStore((s) => s.maxSeconds);
  const setCaps = useBenchStore((s) => s.setCaps);
  const described = useMemo(() => describeInputs(inputs), [inputs]);
  const resolved = useMemo(() => concreteDims(described.specs, dimValues), [described, dimValues]);
  return (
    <div className="bench-inputs">
      <fieldset className="bench-fieldset" data-testid="bench-shapes">
        <legend>Model inputs</legend>
        {described.problem && <div className="compress-note compress-note--error">{described.problem}</div>}
        <table className="table">
          <thead>
            <tr>
              <th>Input</th>
              <th>Type</th>
              <th>Declared shape</th>
              <th>Fed as</th>
            </tr>
          </thead>
          <tbody>
            {described.specs.map((s, i) => (
              <tr key={s.name} data-testid="bench-input-row" data-input={s.name}>
                <td className="mono">{s.name}</td>
                <td className="mono">{s.dtype}</td>
                <td className="mono">[{s.shape.join(', ')}]</td>
                <td className="mono" data-testid="bench-input-dims">
                  {resolved[i]?.dims ? `[${resolved[i].dims!.join(', ')}]` : <span className="compress-note--error">{resolved[i]?.problem}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {described.dims.length > 0 && (
          <div className="bench-dims">
            <span className="muted">Symbolic dims:</span>
            {described.dims.map((d) => (
              <label key={d.name} className="bench-dim" title={`used by ${d.usedBy.join(', ')}`}>
                <span className="mono">{d.name}</span>
                <input
                  type="number"
                  min={1}
                  step={1}
                  disabled={disabled}
                  value={dimValues[d.name] ?? d.value}
                  data-testid={`bench-dim-${d.name}`}
                  onChange={(e) => {
                    const v = e.target.value === '' ? undefined : Number(e.target.value);
                    setDim(d.name, v);
                  }}
                />
              </label>
            ))}
            <span className="muted">(the labeled set runs in batches of 64 along the first dim)</span>
          </div>
        )}
      </fieldset>

      <fieldset className="bench-fieldset" data-testid="bench-source">
        <legend>Data</legend>
        {SOURCES.filter((o) => o.kind !== 'sample-labeled' || isSample).map((o) => (
          <label key={o.kind} className="bench-radio">
            <input type="radio" name="bench-source" checked={source === o.kind} disabled={disabled} onChange={() => setSource(o.kind)} data-testid={`bench-source-${o.kind}`} />
            <span className="strong">{o.label}</span> <span className="muted">{o.hint}</span>
          </label>
        ))}
        {source === 'files' && (
          <div className="bench-files">
            <input
              type="file"
              multiple
              accept=".npy,.json,.csv"
              disabled={disabled}
              data-testid="bench-files-input"
              onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
            />
            <span className="muted" data-testid="bench-files-count">
              {files.length > 0 ? `${files.length} file${files.length === 1 ? '' : 's'}: ${files.slice(0, 3).map((f) => f.name).join(', ')}${files.length > 3 ? ', …' : ''}` : 'no files chosen'}
            </span>
          </div>
        )}
        {source === 'images' && <ImageOptions disabled={disabled} prep={imagePrep} files={files} setFiles={setFiles} />}
      </fieldset>

      <fieldset className="bench-fieldset">
        <legend>Timing</legend>
        <div className="bench-dims">
          <label className="bench-dim">
            <span>at most</span>
            <input type="number" min={1} step={1} value={maxRuns} disabled={disabled} data-testid="bench-max-runs" onChange={(e) => setCaps({ maxRuns: Math.max(1, Math.floor(Number(e.target.value) || 1)) })} />
            <span>runs</span>
          </label>
          <label className="bench-dim">
            <span>or</span>
            <input type="number" min={0.1} step={0.5} value={maxSeconds} disabled={disabled} data-testid="bench-max-seconds" onChange={(e) => setCaps({ maxSeconds: Math.max(0.1, Number(e.target.value) || 0.1) })} />
            <span>seconds per model and backend; runs repeat until the median moves less than 2% between checks</span>
          </label>
        </div>
      </fieldset>
    </div>
  );
}

function ImageOptions({ disabled, prep, files, setFiles }: { disabled: boolean; prep: ImagePrep | undefined; files: File[]; setFiles: (f: File[]) => void }) {
  const setPrep = useBenchStore((s) => s.setImagePrep);
  if (!prep) {
    return <div className="compress-note compress-note--error" data-testid="bench-image-unsupported">The model's input does not look like an image ([N, C, H, W] or [N, H, W, C] with 1 or 3 channels).</div>;
  }
  const list = (v: number[]) => v.map((x) => String(x)).join(', ');
  const parse = (s: string) => s.split(/[\s,]+/).filter(Boolean).map(Number).filter((x) => Number.isFinite(x));
  return (
    <div className="bench-image">
      <div className="bench-files">
        <label className="button button--secondary">
          Choose a folder…
          <input
            type="file"
            hidden
            disabled={disabled}
            data-testid="bench-images-folder"
            ref={(el) => el?.setAttribute('webkitdirectory', '')}
            onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
          />
        </label>
        <label className="button button--secondary">
          Choose images…
          <input type="file" hidden multiple accept="image/*" disabled={disabled} data-testid="bench-images-files" onChange={(e) => setFiles(Array.from(e.target.files ?? []))} />
        </label>
        <span className="muted">{files.length > 0 ? `${files.length} file${files.length === 1 ? '' : 's'}` : 'none chosen'}</span>
      </div>
      <div className="bench-dims">
        <span className="muted">
          to {prep.layout} {prep.channels === 1 ? 'gray' : 'RGB'} {prep.width}×{prep.height}
        </span>
        <label className="bench-dim">
          fit
          <select value={prep.fit} disabled={disabled} onChange={(e) => setPrep({ fit: e.target.value as ImagePrep['fit'] })}>
            <option value="stretch">stretch</option>
            <option value="center-crop">center crop</option>
            <option value="letterbox">letterbox</option>
          </select>
        </label>
        <label className="bench-dim">
          pixels to
          <select value={prep.range} disabled={disabled} onChange={(e) => setPrep({ range: e.target.value as ImagePrep['range'] })}>
            <option value="0-1">0..1</option>
            <option value="-1-1">-1..1</option>
            <option value="0-255">0..255</option>
          </select>
        </label>
        <label className="bench-dim">
          mean
          <input type="text" defaultValue={list(prep.mean)} disabled={disabled} onBlur={(e) => setPrep({ mean: parse(e.target.value) })} />
        </label>
        <label className="bench-dim">
          std
          <input type="text" defaultValue={list(prep.std)} disabled={disabled} onBlur={(e) => setPrep({ std: parse(e.target.value).map((x) => x || 1) })} />
        </label>
        <label className="bench-dim">
          <input type="checkbox" checked={prep.invert} disabled={disabled} onChange={(e) => setPrep({ invert: e.target.checked })} />
          invert (dark ink on light paper)
        </label>
      </div>
    </div>
  );
}
