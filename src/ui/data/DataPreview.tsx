import { useEffect, useRef } from 'react';
import type { DataPreview } from '../../state/data-store';
import { useDataStore } from '../../state/data-store';

type Picture = DataPreview['pictures'][number];
type Wave = DataPreview['waves'][number];

function PictureCanvas({ p }: { p: Picture }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.putImageData(new ImageData(new Uint8ClampedArray(p.rgba), p.width, p.height), 0, 0);
  }, [p]);
  const scale = Math.max(1, Math.floor(96 / Math.max(p.width, p.height)));
  return <canvas ref={ref} width={p.width} height={p.height} style={{ width: p.width * scale, height: p.height * scale, imageRendering: 'pixelated' }} data-testid="data-preview-picture" />;
}

function WaveSvg({ w }: { w: Wave }) {
  const n = w.envelope.length / 2;
  let peak = 1e-9;
  for (const v of w.envelope) peak = Math.max(peak, Math.abs(v));
  const bars = Array.from({ length: n }, (_, i) => {
    const lo = w.envelope[2 * i] / peak;
    const hi = w.envelope[2 * i + 1] / peak;
    return <line key={i} x1={i} x2={i} y1={20 - hi * 18} y2={20 - lo * 18} />;
  });
  return (
    <svg className="data-wave" viewBox={`0 0 ${n} 40`} preserveAspectRatio="none" data-testid="data-preview-wave">
      {bars}
    </svg>
  );
}

const num = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : x.toFixed(3));

/** A few prepared samples as the model sees them, and the value range of the fed input. */
export function DataPreviewView() {
  const prepared = useDataStore((s) => (s.source.kind === 'none' ? undefined : s.prepared));
  if (!prepared) return null;
  const { pictures, waves, range } = prepared.preview;
  return (
    <fieldset className="bench-fieldset" data-testid="data-preview">
      <legend>Preview (what the model is fed)</legend>
      {range && (
        <div className="data-range" data-testid="data-range">
          <span className="mono">{range.input}</span> [{range.dims.join(', ')}]: values {num(range.min)} … {num(range.max)}, mean {num(range.mean)}, std {num(range.std)}
        </div>
      )}
      <div className="data-previews">
        {pictures.map((p, i) => (
          <figure key={i} className="data-figure">
            <PictureCanvas p={p} />
            <figcaption className="muted">{p.name}</figcaption>
          </figure>
        ))}
        {waves.map((w, i) => (
          <figure key={i} className="data-figure">
            <WaveSvg w={w} />
            <figcaption className="muted">{w.name}</figcaption>
          </figure>
        ))}
      </div>
      <div className="muted">Prepared in {Math.round(prepared.ms)} ms; pictures are stretched from each sample's min to max.</div>
    </fieldset>
  );
}
