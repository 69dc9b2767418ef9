import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import {
  defaultDescription,
  dimValue,
  fillInput,
  imagePrepFor,
  normalization,
  parseDataDescription,
  parseImageSize,
  parseNormalizeFlag,
  serializeDataDescription,
  splitSamples,
} from './dataset';
import { imageToTensor } from './image';
import type { InputSpec } from './inputs';

const recognizer: InputSpec = { name: 'x', dtype: 'float32', shape: [1, 3, 48, 'width'] };
const nhwc: InputSpec = { name: 'img', dtype: 'float32', shape: ['N', 224, 224, 3] };

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}

describe('data description', () => {
  it('round-trips through JSON with every key, in a stable order', () => {
    const d = defaultDescription();
    d.image = { height: 48, width: 320, resize: 'pad', layout: 'nchw', channels: 'bgr', normalize: { mean: [0.5], std: [0.5] }, invert: false };
    d.audio = { sampleRate: 8000, frame: 512, hop: 256 };
    d.dims = { width: 320, batch: 1 };
    d.inputs = { sr: 16000, h0: [0, 0] };
    d.calibration = 16;
    const text = serializeDataDescription(d);
    expect(parseDataDescription(JSON.parse(text))).toEqual(d);
    expect(serializeDataDescription(parseDataDescription(JSON.parse(text)))).toBe(text);
    expect(Object.keys(JSON.parse(text).dims)).toEqual(['batch', 'width']);
  });

  it('names the key of every bad value', () => {
    const base = { format: 'onnx-studio-data', version: 1 };
    expect(message(() => parseDataDescription({ ...base, image: { resize: 'squash' } }))).toMatch(/^image\.resize: expected one of stretch, pad, crop/);
    expect(message(() => parseDataDescription({ ...base, image: { normalize: { mean: [0.5, 0.5], std: [0.5] } } }))).toMatch(/^image\.normalize: mean has 2 values and std 1/);
    expect(message(() => parseDataDescription({ ...base, image: { normalize: { mean: [0], std: [0] } } }))).toMatch(/^image\.normalize\.std\[0\]: expected a positive number/);
    expect(message(() => parseDataDescription({ ...base, dims: { width: 0 } }))).toMatch(/^dims\["width"\]: expected a whole number/);
    expect(message(() => parseDataDescription({ ...base, inputs: { sr: 'fast' } }))).toMatch(/^inputs\["sr"\]/);
    expect(message(() => parseDataDescription({ ...base, colour: true }))).toMatch(/^colour: unknown key/);
    expect(message(() => parseDataDescription({ ...base, version: 2 }))).toMatch(/^version: expected 1/);
    expect(message(() => parseDataDescription([]))).toMatch(/^data: expected an object/);
  });

  it('reads the flag forms of sizes and normalizations', () => {
    expect(parseImageSize('48x320')).toEqual({ height: 48, width: 320 });
    expect(message(() => parseImageSize('320'))).toMatch(/--image-size: expected HEIGHTxWIDTH/);
    expect(parseNormalizeFlag('imagenet')).toBe('imagenet');
    expect(parseNormalizeFlag('mean=0.5,0.5,0.5,std=0.25,0.25,0.25')).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    expect(message(() => parseNormalizeFlag('zscore'))).toMatch(/--normalize: expected 0to1, minus1to1, imagenet/);
    // the presets' pixel mapping: 0 and 255 at both ends of the range
    const ends = (n: ReturnType<typeof normalization>) => [0, 255].map((v) => ((n.range === '0-1' ? v / 255 : n.range === '-1-1' ? v / 127.5 - 1 : v) - n.mean[0]) / n.std[0]);
    expect(ends(normalization('0to1'))).toEqual([0, 1]);
    expect(ends(normalization('minus1to1'))).toEqual([-1, 1]);
    expect(ends(normalization('0to255'))).toEqual([0, 255]);
    expect(ends(normalization('imagenet'))[0]).toBeCloseTo(-0.485 / 0.229, 6);
  });
});

describe('imagePrepFor', () => {
  it('takes fixed sides from the model and asks for a symbolic one by its name', () => {
    expect(message(() => imagePrepFor(recognizer, defaultDescription().image))).toBe(
      '--image-size: the width of input "x" (dim "width") is not fixed by the model; give --image-size HEIGHTxWIDTH or --dims width=N',
    );
    const { prep, inputDims } = imagePrepFor(recognizer, { ...defaultDescription().image, height: 48, width: 320, normalize: 'minus1to1' });
    expect(inputDims).toEqual([1, 3, 48, 320]);
    expect(prep).toMatchObject({ layout: 'NCHW', channels: 3, height: 48, width: 320, range: '-1-1', fit: 'stretch' });
    // a dim set in the description sizes it too
    expect(imagePrepFor(recognizer, defaultDescription().image, { width: 100 }).inputDims).toEqual([1, 3, 48, 100]);
    // a size that contradicts a fixed side is refused
    expect(message(() => imagePrepFor(recognizer, { ...defaultDescription().image, height: 32, width: 320 }))).toMatch(/fixed height of 48, not 32/);
  });

  it('finds NHWC from the channel axis, and refuses a channel count the model does not take', () => {
    const { prep, inputDims } = imagePrepFor(nhwc, { ...defaultDescription().image, normalize: 'imagenet' });
    expect(inputDims).toEqual([1, 224, 224, 3]);
    expect(prep.layout).toBe('NHWC');
    expect(message(() => imagePrepFor(nhwc, { ...defaultDescription().image, channels: 'gray' }))).toMatch(/--channels: input "img" takes 3 channels, and gray gives 1/);
  });

  it('bgr swaps the first and last channel planes', () => {
    const rgba = new Uint8Array([255, 128, 0, 255]);
    const base = { ...defaultDescription().image, height: 1, width: 1, normalize: '0to255' as const };
    const spec: InputSpec = { name: 'x', dtype: 'float32', shape: [1, 3, 'h', 'w'] };
    const rgb = imageToTensor(rgba, 1, 1, imagePrepFor(spec, base).prep);
    const bgr = imageToTensor(rgba, 1, 1, imagePrepFor(spec, { ...base, channels: 'bgr' }).prep);
    expect([...rgb]).toEqual([255, 128, 0]);
    expect([...bgr]).toEqual([0, 128, 255]);
  });
});

describe('symbolic dims and other inputs', () => {
  it('sizes a batch dim 1 and asks for any other dim by name', () => {
    const spec: InputSpec = { name: 'tokens', dtype: 'int64', shape: ['batch', 'sequence'] };
    expect(dimValue(spec, 0, {})).toBe(1);
    expect(message(() => dimValue(spec, 1, {}))).toBe('--dims: the size of dim "sequence" (input "tokens" axis 1) is not fixed by the model; give --dims sequence=N');
    expect(dimValue(spec, 1, { sequence: 77 })).toBe(77);
    // a named dim given by its place
    expect(dimValue(spec, 1, { 'tokens[1]': 64 })).toBe(64);
    const unnamed: InputSpec = { name: 'a', dtype: 'float32', shape: [1, '?'] };
    expect(message(() => dimValue(unnamed, 1, {}))).toMatch(/give --dims a\[1\]=N/);
  });

  it('fills an input the data does not feed with its given value, else zeros, and says which', () => {
    const sr: InputSpec = { name: 'sr', dtype: 'int64', shape: [] };
    expect(fillInput(sr, 16000, {})).toEqual({ dims: [], values: 16000, note: 'sr = 16000' });
    const h: InputSpec = { name: 'h', dtype: 'float32', shape: [2, 'batch', 64] };
    expect(fillInput(h, undefined, {})).toEqual({ dims: [2, 1, 64], values: 0, note: 'h = zeros [2, 1, 64] (set it with --input h=V)' });
    expect(message(() => fillInput(h, [1, 2, 3], {}))).toMatch(/3 values given; the input \[2, 1, 64\] takes 128/);
  });
});

describe('splitSamples', () => {
  it('never shares a sample between calibration and evaluation, and spreads calibration over the list', () => {
    for (const n of [2, 3, 10, 40, 450, 1000]) {
      for (const c of [undefined, 0, 1, 7, 5000]) {
        const s = splitSamples(n, c);
        const all = [...s.calibration, ...s.evaluation].sort((a, b) => a - b);
        expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(new Set(s.calibration).size).toBe(s.calibration.length);
        expect(s.evaluation.length).toBeGreaterThan(0);
        expect(s.calibration.length).toBe(Math.min(n - 1, c ?? Math.min(128, Math.floor(n / 2))));
      }
    }
    // 40 samples in class order (4 classes of 10): half calibrate, every class among them
    const s = splitSamples(40);
    expect(new Set(s.calibration.map((i) => Math.floor(i / 10))).size).toBe(4);
    expect(splitSamples(1)).toEqual({ calibration: [0], evaluation: [0], overlap: true });
  });
});
