import { describe, expect, it } from 'vitest';
import { axisWeights, fitRects, imageTargetFromDims, imageToTensor, resampleRgb, scalePixel, type ImagePrep } from './image';

/** RGBA bytes from [r, g, b] triples (alpha 255). */
function rgba(pixels: number[][]): Uint8Array {
  return Uint8Array.from(pixels.flatMap(([r, g, b]) => [r, g, b, 255]));
}

describe('image preprocessing math', () => {
  it('finds the image layout in input dims', () => {
    expect(imageTargetFromDims([1, 3, 224, 200])).toEqual({ layout: 'NCHW', channels: 3, height: 224, width: 200 });
    expect(imageTargetFromDims([1, 32, 32, 1])).toEqual({ layout: 'NHWC', channels: 1, height: 32, width: 32 });
    expect(imageTargetFromDims([1, 10])).toBeUndefined();
  });

  it('fits: stretch, center-crop, letterbox', () => {
    expect(fitRects(200, 100, 50, 50, 'stretch').src).toEqual({ x: 0, y: 0, w: 200, h: 100 });
    // 200x100 into a square: the centered 100x100
    expect(fitRects(200, 100, 50, 50, 'center-crop').src).toEqual({ x: 50, y: 0, w: 100, h: 100 });
    expect(fitRects(100, 200, 50, 50, 'center-crop').src).toEqual({ x: 0, y: 50, w: 100, h: 100 });
    // letterbox 200x100 into 50x50: 50x25, rows 12..36
    expect(fitRects(200, 100, 50, 50, 'letterbox').dst).toEqual({ x: 0, y: 12, w: 50, h: 25 });
  });

  it('resamples: area average when shrinking, bilinear when enlarging', () => {
    // 4 -> 2: each output averages two source pixels
    expect(axisWeights(0, 4, 4, 2)).toEqual([
      { index: [0, 1], weight: [0.5, 0.5] },
      { index: [2, 3], weight: [0.5, 0.5] },
    ]);
    // 2 -> 4, half-pixel centers: x = (o + 0.5) / 2 - 0.5 = -0.25 (clamped to -0.5.. edge), 0.25, 0.75, 1.25
    const up = axisWeights(0, 2, 2, 4);
    expect(up[1]).toEqual({ index: [0, 1], weight: [0.75, 0.25] });
    expect(up[2]).toEqual({ index: [0, 1], weight: [0.25, 0.75] });
    // a 2x2 image down to 1x1: the mean of the four pixels per channel
    const img = rgba([
      [0, 10, 100],
      [40, 10, 100],
      [80, 10, 0],
      [120, 10, 0],
    ]);
    expect(Array.from(resampleRgb(img, 2, 2, { x: 0, y: 0, w: 2, h: 2 }, 1, 1))).toEqual([60, 10, 50]);
  });

  it('normalizes, converts to gray, inverts, and lays out NCHW or NHWC', () => {
    expect(scalePixel(255, '0-1')).toBe(1);
    expect(scalePixel(0, '-1-1')).toBe(-1);
    expect(scalePixel(51, '0-255')).toBe(51);
    // 1x2 image: red and white
    const img = rgba([
      [255, 0, 0],
      [255, 255, 255],
    ]);
    const base: ImagePrep = { width: 2, height: 1, channels: 3, layout: 'NCHW', fit: 'stretch', range: '0-1', mean: [0], std: [1], invert: false };
    expect(Array.from(imageToTensor(img, 2, 1, base))).toEqual([1, 1, 0, 1, 0, 1]);
    expect(Array.from(imageToTensor(img, 2, 1, { ...base, layout: 'NHWC' }))).toEqual([1, 0, 0, 1, 1, 1]);
    // (x - 0.5) / 0.5 per channel
    expect(Array.from(imageToTensor(img, 2, 1, { ...base, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }))).toEqual([1, 1, -1, 1, -1, 1]);
    // gray: red is 0.299 * 255 = 76.245; inverted: 255 - 76.245 = 178.755 -> / 255 = 0.701
    const gray = imageToTensor(img, 2, 1, { ...base, channels: 1, invert: true });
    expect(gray[0]).toBeCloseTo(0.701, 6);
    expect(gray[1]).toBeCloseTo(0, 6);
  });
});
