/**
 * Images as model inputs: the pure math the bench worker applies to decoded pixels (the worker
 * decodes with createImageBitmap and reads RGBA bytes from an OffscreenCanvas at the image's own
 * size; everything after that happens here, so results do not depend on the browser's scaler).
 *
 * fit (stretch / center-crop / letterbox) -> resample (area average when shrinking, bilinear with
 * half-pixel centers when enlarging, per axis) -> channels (RGB, or gray as 0.299 R + 0.587 G +
 * 0.114 B) -> optional invert -> scale to a range -> (x - mean) / std per channel -> NCHW or NHWC.
 */

export type ImageLayout = 'NCHW' | 'NHWC';
export type FitMode = 'stretch' | 'center-crop' | 'letterbox';
/** How 0..255 pixel values are scaled before mean/std: to [0, 1], [-1, 1] or kept as [0, 255]. */
export type PixelRange = '0-1' | '-1-1' | '0-255';

export interface ImagePrep {
  width: number;
  height: number;
  channels: 1 | 3;
  layout: ImageLayout;
  fit: FitMode;
  range: PixelRange;
  /** per channel (one value for gray), applied after the range */
  mean: number[];
  std: number[];
  /** 255 - v before scaling (dark ink on a light page -> high values, as the digits sample wants) */
  invert: boolean;
  /** 3 channels in blue, green, red order (OpenCV-trained models) */
  bgr?: boolean;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * Where a model's input wants an image: rank 4 with a channel axis of 1 or 3 next to the batch
 * axis (NCHW) or last (NHWC). `dims` are concrete. Undefined when it does not look like an image.
 */
export function imageTargetFromDims(dims: readonly number[]): { layout: ImageLayout; channels: 1 | 3; height: number; width: number } | undefined {
  if (dims.length !== 4) return undefined;
  const [, a, b, c] = dims;
  if ((a === 1 || a === 3) && b > 0 && c > 0) return { layout: 'NCHW', channels: a, height: b, width: c };
  if ((c === 1 || c === 3) && a > 0 && b > 0) return { layout: 'NHWC', channels: c, height: a, width: b };
  return undefined;
}

/** A rectangle in source pixels (fractional allowed). */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The part of the source that fills the target (stretch: all of it; center-crop: the largest
 * centered part with the target's aspect), and for letterbox the target area the whole source
 * goes to (the rest is padded with zeros).
 */
export function fitRects(srcW: number, srcH: number, dstW: number, dstH: number, mode: FitMode): { src: Rect; dst: Rect } {
  const whole = { x: 0, y: 0, w: srcW, h: srcH };
  const full = { x: 0, y: 0, w: dstW, h: dstH };
  if (mode === 'stretch') return { src: whole, dst: full };
  const s = srcW / srcH;
  const d = dstW / dstH;
  if (mode === 'center-crop') {
    if (s > d) {
      const w = srcH * d;
      return { src: { x: (srcW - w) / 2, y: 0, w, h: srcH }, dst: full };
    }
    const h = srcW / d;
    return { src: { x: 0, y: (srcH - h) / 2, w: srcW, h }, dst: full };
  }
  // letterbox: whole integer target pixels, centered
  if (s > d) {
    const h = Math.max(1, Math.round(dstW / s));
    return { src: whole, dst: { x: 0, y: Math.floor((dstH - h) / 2), w: dstW, h } };
  }
  const w = Math.max(1, Math.round(dstH * s));
  return { src: whole, dst: { x: Math.floor((dstW - w) / 2), y: 0, w, h: dstH } };
}

/** Per output pixel along one axis: source indices and weights (summing to 1). */
export function axisWeights(srcStart: number, srcLen: number, srcSize: number, outLen: number): { index: number[]; weight: number[] }[] {
  const scale = srcLen / outLen;
  const out: { index: number[]; weight: number[] }[] = [];
  for (let o = 0; o < outLen; o++) {
    const index: number[] = [];
    const weight: number[] = [];
    if (scale > 1) {
      // area: the source interval [a, b) this output pixel covers
      const a = srcStart + o * scale;
      const b = a + scale;
      for (let i = Math.floor(a); i < Math.ceil(b); i++) {
        const overlap = Math.min(b, i + 1) - Math.max(a, i);
        if (overlap <= 0) continue;
        index.push(Math.min(srcSize - 1, Math.max(0, i)));
        weight.push(overlap / scale);
      }
    } else {
      // bilinear, half-pixel centers
      const x = Math.min(srcStart + srcLen - 0.5, Math.max(srcStart - 0.5, srcStart + (o + 0.5) * scale - 0.5));
      const x0 = Math.floor(x);
      const t = x - x0;
      const clamp = (i: number) => Math.min(srcSize - 1, Math.max(0, i));
      index.push(clamp(x0), clamp(x0 + 1));
      weight.push(1 - t, t);
    }
    out.push({ index, weight });
  }
  return out;
}

/**
 * Resamples the `src` rectangle of an RGBA image (w x h) to outW x outH, per channel R, G, B as
 * floats 0..255 (alpha dropped). Returns 3 planes: [R..., G..., B...].
 */
export function resampleRgb(rgba: ArrayLike<number>, w: number, h: number, src: Rect, outW: number, outH: number): Float32Array {
  const wx = axisWeights(src.x, src.w, w, outW);
  const wy = axisWeights(src.y, src.h, h, outH);
  // horizontal pass: h rows x outW
  const tmp = new Float32Array(3 * h * outW);
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < outW; o++) {
      const { index, weight } = wx[o];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < index.length; k++) {
        const p = (y * w + index[k]) * 4;
        r += rgba[p] * weight[k];
        g += rgba[p + 1] * weight[k];
        b += rgba[p + 2] * weight[k];
      }
      const q = y * outW + o;
      tmp[q] = r;
      tmp[h * outW + q] = g;
      tmp[2 * h * outW + q] = b;
    }
  }
  const out = new Float32Array(3 * outH * outW);
  for (let c = 0; c < 3; c++) {
    for (let o = 0; o < outH; o++) {
      const { index, weight } = wy[o];
      for (let x = 0; x < outW; x++) {
        let v = 0;
        for (let k = 0; k < index.length; k++) v += tmp[c * h * outW + index[k] * outW + x] * weight[k];
        out[c * outH * outW + o * outW + x] = v;
      }
    }
  }
  return out;
}

/** 0..255 -> the range. */
export function scalePixel(v: number, range: PixelRange): number {
  return range === '0-1' ? v / 255 : range === '-1-1' ? v / 127.5 - 1 : v;
}

/**
 * One image (RGBA bytes, w x h) as a float32 tensor's data for `prep` (dims [1, C, H, W] for
 * NCHW, [1, H, W, C] for NHWC). Letterbox padding is 0 before normalization.
 */
export function imageToTensor(rgba: ArrayLike<number>, w: number, h: number, prep: ImagePrep): Float32Array {
  const { width: W, height: H, channels: C } = prep;
  const { src, dst } = fitRects(w, h, W, H, prep.fit);
  const planes = resampleRgb(rgba, w, h, src, dst.w, dst.h);
  const area = dst.w * dst.h;
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    const mean = prep.mean[c] ?? prep.mean[0] ?? 0;
    const std = prep.std[c] ?? prep.std[0] ?? 1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const iy = y - dst.y;
        const ix = x - dst.x;
        let v = 0;
        if (iy >= 0 && iy < dst.h && ix >= 0 && ix < dst.w) {
          const q = iy * dst.w + ix;
          v = C === 1 ? 0.299 * planes[q] + 0.587 * planes[area + q] + 0.114 * planes[2 * area + q] : planes[(prep.bgr ? 2 - c : c) * area + q];
          if (prep.invert) v = 255 - v;
        }
        const n = (scalePixel(v, prep.range) - mean) / std;
        out[prep.layout === 'NCHW' ? c * H * W + y * W + x : (y * W + x) * C + c] = n;
      }
    }
  }
  return out;
}
