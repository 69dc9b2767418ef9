/**
 * What the Data place shows of prepared data: a few samples as pictures (image-shaped inputs,
 * values stretched from the sample's min..max to 0..255, so the user sees what the model sees,
 * after resizing and padding), a waveform envelope for audio-like inputs, and the value range
 * over every sample of the fed input. Pure: the data worker runs it; the page draws the pixels.
 */
import { imageTargetFromDims } from './image';
import type { LoadedData } from './data-load';
import { elementCount, type BenchTensor } from './tensor';

export interface PreviewPicture {
  name: string;
  width: number;
  height: number;
  /** RGBA, width * height * 4 */
  rgba: Uint8ClampedArray;
}

export interface PreviewWave {
  name: string;
  /** min and max per bucket, alternating: [min0, max0, min1, max1, …] */
  envelope: number[];
}

export interface ValueRange {
  input: string;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** the dims one sample feeds */
  dims: number[];
}

export interface DataPreview {
  pictures: PreviewPicture[];
  waves: PreviewWave[];
  range?: ValueRange;
}

const MAX_SAMPLES = 6;
const MAX_SIDE = 160;
const BUCKETS = 120;

function picture(name: string, data: ArrayLike<number>, dims: readonly number[]): PreviewPicture | undefined {
  const t = imageTargetFromDims(dims);
  if (!t) return undefined;
  const { layout, channels, height, width } = t;
  let lo = Infinity;
  let hi = -Infinity;
  const n = channels * height * width;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  // nearest-neighbour down to at most MAX_SIDE on the longer side
  const step = Math.max(1, Math.max(height, width) / MAX_SIDE);
  const w = Math.max(1, Math.round(width / step));
  const h = Math.max(1, Math.round(height / step));
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(height - 1, Math.floor(y * step));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(width - 1, Math.floor(x * step));
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) {
        const cc = channels === 1 ? 0 : c;
        const i = layout === 'NCHW' ? cc * height * width + sy * width + sx : (sy * width + sx) * channels + cc;
        rgba[o + c] = (data[i] - lo) * scale;
      }
      rgba[o + 3] = 255;
    }
  }
  return { name, width: w, height: h, rgba };
}

function envelope(name: string, data: ArrayLike<number>, n: number): PreviewWave {
  const buckets = Math.min(BUCKETS, n);
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.max(start + 1, Math.floor(((b + 1) * n) / buckets));
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < end; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    out.push(lo, hi);
  }
  return { name, envelope: out };
}

/** The fed input's samples: [values, one sample's dims] each, and the input's name. */
function samplesOf(data: LoadedData): { input: string; dims: number[]; each: (i: number) => ArrayLike<number> } | undefined {
  if (data.labeled) {
    const l = data.labeled;
    const per = elementCount(l.sampleDims);
    return { input: l.inputName, dims: [1, ...l.sampleDims], each: (i) => l.data.subarray(i * per, (i + 1) * per) };
  }
  const sets = data.sets ?? [];
  if (sets.length === 0) return undefined;
  const fed = data.fed ?? sets[0].find((t) => t.dtype === 'float32')?.name ?? sets[0][0]?.name;
  const k = sets[0].findIndex((t) => t.name === fed);
  if (k < 0) return undefined;
  const t0: BenchTensor = sets[0][k];
  if (typeof t0.data[0] === 'bigint') return undefined;
  return { input: t0.name, dims: t0.dims, each: (i) => sets[i][k].data as ArrayLike<number> };
}

export function previewData(data: LoadedData): DataPreview {
  const s = samplesOf(data);
  if (!s) return { pictures: [], waves: [] };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sq = 0;
  let count = 0;
  for (let i = 0; i < data.count; i++) {
    const v = s.each(i);
    for (let j = 0; j < v.length; j++) {
      const x = v[j];
      if (x < min) min = x;
      if (x > max) max = x;
      sum += x;
      sq += x * x;
    }
    count += v.length;
  }
  const mean = count ? sum / count : 0;
  const range: ValueRange = { input: s.input, min, max, mean, std: Math.sqrt(Math.max(0, (count ? sq / count : 0) - mean * mean)), dims: s.dims };
  const shown = Math.min(MAX_SAMPLES, data.count);
  const name = (i: number) => (data.labeled ? `${data.labeled.classNames[data.labeled.labels[i]] ?? data.labeled.labels[i]} (#${i + 1})` : (data.names[i] ?? `#${i + 1}`));
  const pictures: PreviewPicture[] = [];
  const waves: PreviewWave[] = [];
  for (let i = 0; i < shown; i++) {
    const v = s.each(i);
    const p = picture(name(i), v, s.dims);
    if (p) pictures.push(p);
    else if (v.length >= 64) waves.push(envelope(name(i), v, v.length));
  }
  return { pictures, waves, range };
}
