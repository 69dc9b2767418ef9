import { useMemo } from 'react';
import type { ImageOptions, Normalize, NormalizePreset } from '../../bench/dataset';
import { useDataStore } from '../../state/data-store';

const PRESETS: { value: NormalizePreset; label: string }[] = [
  { value: '0to1', label: '0..1' },
  { value: 'minus1to1', label: '-1..1' },
  { value: 'imagenet', label: 'ImageNet mean/std' },
  { value: '0to255', label: '0..255' },
];

const list = (v: number[]) => v.join(', ');
const parse = (s: string) =>
  s
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)
    .filter((x) => Number.isFinite(x));

/** How images and audio become model inputs: shown only for the kind of data given. */
export function DataPrep() {
  const source = useDataStore((s) => s.source);
  const kind = useDataStore((s) => s.prepared?.loaded.kind);
  const { hasImages, hasAudio } = useMemo(() => {
    const files = source.kind === 'files' ? source.paths : [];
    return { hasImages: files.some((p) => /\.(png|jpe?g|gif|bmp|webp|avif)$/i.test(p)), hasAudio: files.some((p) => /\.(wav|mp3|ogg|oga|opus|flac|m4a|aac|webm)$/i.test(p)) };
  }, [source]);
  if (source.kind !== 'files') return null;
  return (
    <>
      {(hasImages || kind === 'images') && <ImagePrep />}
      {(hasAudio || kind === 'audio') && <AudioPrep />}
    </>
  );
}

function ImagePrep() {
  const image = useDataStore((s) => s.description.image);
  const set = (p: Partial<ImageOptions>) => useDataStore.getState().setImage(p);
  const preset = typeof image.normalize === 'string' ? image.normalize : 'custom';
  const custom: Normalize | undefined = typeof image.normalize === 'object' ? image.normalize : undefined;
  return (
    <fieldset className="bench-fieldset" data-testid="data-image-prep">
      <legend>Preprocessing: images</legend>
      <div className="bench-dims">
        <label className="bench-dim">
          size
          <input type="number" min={1} step={1} placeholder="model's" value={image.height ?? ''} data-testid="data-image-height" onChange={(e) => set({ height: e.target.value === '' ? undefined : Number(e.target.value) })} />
          ×
          <input type="number" min={1} step={1} placeholder="model's" value={image.width ?? ''} data-testid="data-image-width" onChange={(e) => set({ width: e.target.value === '' ? undefined : Number(e.target.value) })} />
          <span className="muted">height × width (empty: the model's fixed size)</span>
        </label>
        <label className="bench-dim">
          resize
          <select value={image.resize} data-testid="data-image-resize" onChange={(e) => set({ resize: e.target.value as ImageOptions['resize'] })}>
            <option value="stretch">stretch</option>
            <option value="pad">keep aspect + pad</option>
            <option value="crop">center crop</option>
          </select>
        </label>
        <label className="bench-dim">
          layout
          <select value={image.layout ?? 'auto'} data-testid="data-image-layout" onChange={(e) => set({ layout: e.target.value === 'auto' ? undefined : (e.target.value as 'nchw' | 'nhwc') })}>
            <option value="auto">from the model</option>
            <option value="nchw">NCHW</option>
            <option value="nhwc">NHWC</option>
          </select>
        </label>
        <label className="bench-dim">
          channels
          <select value={image.channels} data-testid="data-image-channels" onChange={(e) => set({ channels: e.target.value as ImageOptions['channels'] })}>
            <option value="rgb">RGB</option>
            <option value="bgr">BGR</option>
            <option value="gray">gray</option>
          </select>
        </label>
        <label className="bench-dim">
          normalize
          <select
            value={preset}
            data-testid="data-image-normalize"
            onChange={(e) => set({ normalize: e.target.value === 'custom' ? { mean: [0.5], std: [0.5] } : (e.target.value as NormalizePreset) })}
          >
            {PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
            <option value="custom">custom mean/std</option>
          </select>
        </label>
        {custom && typeof custom === 'object' && (
          <>
            <label className="bench-dim">
              mean
              <input type="text" defaultValue={list(custom.mean)} onBlur={(e) => set({ normalize: { mean: parse(e.target.value), std: custom.std } })} />
            </label>
            <label className="bench-dim">
              std
              <input type="text" defaultValue={list(custom.std)} onBlur={(e) => set({ normalize: { mean: custom.mean, std: parse(e.target.value).map((x) => x || 1) } })} />
            </label>
          </>
        )}
        <label className="bench-dim">
          <input type="checkbox" checked={image.invert} onChange={(e) => set({ invert: e.target.checked })} />
          invert (dark ink on light paper)
        </label>
      </div>
    </fieldset>
  );
}

function AudioPrep() {
  const audio = useDataStore((s) => s.description.audio);
  const set = useDataStore.getState().setAudio;
  return (
    <fieldset className="bench-fieldset" data-testid="data-audio-prep">
      <legend>Preprocessing: audio</legend>
      <div className="bench-dims">
        <label className="bench-dim">
          sample rate
          <input type="number" min={1000} step={1} value={audio.sampleRate} data-testid="data-audio-rate" onChange={(e) => Number(e.target.value) >= 1000 && set({ sampleRate: Number(e.target.value) })} />
          Hz
        </label>
        <label className="bench-dim">
          frame
          <input type="number" min={1} step={1} placeholder="model's" value={audio.frame ?? ''} data-testid="data-audio-frame" onChange={(e) => set({ frame: e.target.value === '' ? undefined : Number(e.target.value) })} />
          samples
        </label>
        <label className="bench-dim">
          hop
          <input type="number" min={1} step={1} placeholder="= frame" value={audio.hop ?? ''} onChange={(e) => set({ hop: e.target.value === '' ? undefined : Number(e.target.value) })} />
          samples
        </label>
        <span className="muted">decoded audio is mixed to mono, resampled to this rate and cut into frames; each frame is one sample</span>
      </div>
    </fieldset>
  );
}
