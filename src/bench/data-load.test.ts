/**
 * The shared data assembly (page and CLI): images labeled by class folder or one set each, audio
 * frames with the other inputs filled, the split, the preview and the sizes of symbolic dims.
 */
import { describe, expect, it } from 'vitest';
import { assembleAudio, assembleImages, audioFrameLength, partAsSamples, splitData, type DecodedImage } from './data-load';
import type { InputSpec } from './inputs';
import { previewData } from './data-preview';
import { defaultDescription } from './dataset';
import { describeInputs, dimChoices, dimsOfSets } from './describe-inputs';
import type { IoSummary } from '../onnx/summary';

const io = (name: string, dtype: string, shape: (number | string)[]): IoSummary => ({ name, dtype, shape }) as IoSummary;

function flat(w: number, h: number, v: number): DecodedImage['rgba'] {
  const px = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) px.set([v, v, v, 255], i * 4);
  return px;
}

describe('assembleImages', () => {
  const inputs = [io('x', 'float32', [1, 3, 48, '?'])];
  it('asks for the size the model does not fix, then resizes and normalizes every image', () => {
    const images = [0, 255].map((v, i) => ({ path: `lines/${i}.png`, rgba: flat(100, 20, v), width: 100, height: 20 }));
    expect(() => assembleImages(images, inputs, defaultDescription())).toThrow(/width of input "x" \(dim x\[3\]\) is not fixed by the model/);
    const d = { ...defaultDescription(), image: { ...defaultDescription().image, width: 320 } };
    const data = assembleImages(images, inputs, d);
    expect(data.kind).toBe('images');
    expect(data.count).toBe(2);
    expect(data.sets?.[0][0].dims).toEqual([1, 3, 48, 320]);
    expect(data.dims).toEqual({ 'x[3]': 320 });
    expect(Math.max(...(data.sets?.[0][0].data as Float32Array))).toBe(0);
    expect(Math.min(...(data.sets?.[1][0].data as Float32Array))).toBe(1);
  });

  it('makes a labeled set from class folders (one-input models)', () => {
    const images = ['cat/a.png', 'cat/b.png', 'dog/c.png'].map((path) => ({ path: `set/${path}`, rgba: flat(8, 8, 128), width: 8, height: 8 }));
    const data = assembleImages(images, [io('x', 'float32', [1, 1, 8, 8])], { ...defaultDescription(), image: { ...defaultDescription().image, channels: 'gray' } });
    expect(data.kind).toBe('labeled');
    expect(data.labeled?.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(data.labeled?.labels ?? [])).toEqual([0, 0, 1]);
  });
});

describe('assembleAudio', () => {
  const inputs = [io('input', 'float32', [1, '?']), io('sr', 'int64', []), io('state', 'float32', [2, 1, 64])];
  it('cuts frames of the size the user sets, gives sr the rate and the state zeros, each said', () => {
    const audio = [{ path: 'a.wav', samples: new Float32Array(8000).fill(0.5), sampleRate: 8000 }];
    expect(() => assembleAudio(audio, inputs, defaultDescription())).toThrow(/give --dims input\[1\]=N/);
    const d = { ...defaultDescription(), dims: { 'input[1]': 512 } };
    const data = assembleAudio(audio, inputs, d);
    // 1 s at 8 kHz resampled to 16 kHz: 16000 samples, 31 whole frames of 512
    expect(data.count).toBe(31);
    const set = data.sets![0];
    expect(set.map((t) => t.name)).toEqual(['input', 'sr', 'state']);
    expect(set[0].dims).toEqual([1, 512]);
    expect(set[1].data[0]).toBe(16000n);
    expect(set[2].dims).toEqual([2, 1, 64]);
    expect(data.otherInputs).toEqual(['sr = 16000', 'state = zeros [2, 1, 64] (set it with --input state=V)']);
    const preview = previewData(data);
    expect(preview.pictures).toHaveLength(0);
    expect(preview.waves).toHaveLength(6);
    expect(preview.range?.input).toBe('input');
  });
});

describe('class folders and the model\'s classes', () => {
  const images = ['bird', 'cat', 'dog', 'bird', 'cat', 'dog'].map((c, i) => ({ path: `${c}/${i}.png`, rgba: flat(4, 4, i * 30), width: 4, height: 4 }));
  const inputs = [io('x', 'float32', [1, 3, 4, 4])];
  it('named folders label a model with that many classes (sorted order)', () => {
    const data = assembleImages(images, inputs, defaultDescription(), [io('logits', 'float32', [1, 3])]);
    expect(data.kind).toBe('labeled');
    expect(data.labeled?.classNames).toEqual(['bird', 'cat', 'dog']);
  });
  it('named folders do not label a model with another number of classes: fidelity only, said', () => {
    const data = assembleImages(images, inputs, defaultDescription(), [io('logits', 'float32', [1, 1000])]);
    expect(data.kind).toBe('images');
    expect(data.labeled).toBeUndefined();
    expect(data.sets).toHaveLength(6);
    expect(data.summary).toMatch(/not labeled: the 3 class folders \(bird, cat, dog\) do not match the model's 1000 output classes; name the folders by class index \(e\.g\. 281\/\)/);
  });
  it('folders named by class index label any model', () => {
    const numbered = images.map((im, i) => ({ ...im, path: `${[281, 285, 7][i % 3]}/${i}.png` }));
    const data = assembleImages(numbered, inputs, defaultDescription(), [io('logits', 'float32', [1, 1000])]);
    expect(data.kind).toBe('labeled');
    expect(Array.from(data.labeled!.labels)).toEqual([281, 285, 7, 281, 285, 7]);
  });
});

describe('splitData and partAsSamples', () => {
  it('never gives a sample to both parts, and the parts cover every sample', () => {
    const images = Array.from({ length: 10 }, (_, i) => ({ path: `${i}.png`, rgba: flat(4, 4, i * 20), width: 4, height: 4 }));
    const data = assembleImages(images, [io('x', 'float32', [1, 3, 4, 4])], defaultDescription());
    const s = splitData({ ...data, description: { ...data.description, calibration: 3 } }, true);
    expect([s.calibrationCount, s.evaluationCount, s.overlap]).toEqual([3, 7, false]);
    const seen = new Set([...(s.calibration.sets ?? []), ...(s.evaluation.sets ?? [])]);
    expect(seen.size).toBe(10);
    const samples = partAsSamples(s.calibration);
    expect(samples).toHaveLength(3);
    expect(samples[0].x.dims).toEqual([1, 3, 4, 4]);
  });
});

describe('dimChoices', () => {
  it('sizes batch dims 1, guesses from names (said), and leaves unknown dims for the user', () => {
    const { specs } = describeInputs([io('x', 'float32', ['?', 3, 'height', '?']), io('signal', 'float32', ['?'])]);
    const c = dimChoices(specs, {});
    expect(Object.fromEntries(c.choices.map((x) => [x.name, x.basis]))).toEqual({ 'x[0]': 'batch', height: 'name', 'x[3]': 'none', 'signal[0]': 'none' });
    expect(c.missing).toEqual(['x[3]', 'signal[0]']);
    expect(c.guessed).toEqual(['height=224']);
    const set = dimChoices(specs, { 'x[3]': 320, 'signal[0]': 16000 });
    expect(set.missing).toEqual([]);
    expect(set.dims).toEqual({ 'x[0]': 1, height: 224, 'x[3]': 320, 'signal[0]': 16000 });
  });

  it("takes an exporter's meaningless name for a batch only where it leads every rank-3+ input it is in (PaddleOCR's p2o.DynamicDimension.0)", () => {
    const paddle = describeInputs([io('x', 'float32', ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'])]);
    const c = dimChoices(paddle.specs, {});
    expect(Object.fromEntries(c.choices.map((x) => [x.name, [x.basis, x.value]]))).toEqual({
      'p2o.DynamicDimension.0': ['batch', 1],
      'p2o.DynamicDimension.1': ['none', undefined],
      'p2o.DynamicDimension.2': ['none', undefined],
    });
    // the same name also at axis 1 of another input, or leading a rank-2 input: not taken for a batch
    const mixed = describeInputs([io('a', 'float32', ['d0', 3, 4]), io('b', 'float32', [2, 'd0'])]);
    expect(dimChoices(mixed.specs, {}).missing).toEqual(['d0']);
    const points = describeInputs([io('p', 'float32', ['num_points', 3])]);
    expect(dimChoices(points.specs, {}).missing).toEqual(['num_points']);
  });
});

describe('dimsOfSets', () => {
  it("gives the Data tab the sizes tensor files fix (a stacked .npy on a free batch is N samples of batch 1: 'batch: 1' from the data), leaving out dims the sets disagree on", async () => {
    const { encodeNpy } = await import('./npy');
    const { dataFromFiles } = await import('./data-files');
    const inputs = [io('input', 'float32', ['batch', 3, 'height', 'width'])];
    const { specs } = describeInputs(inputs);
    const stacked = dataFromFiles([{ name: 'stack8.npy', bytes: encodeNpy('float32', [8, 3, 6, 5], new Float32Array(8 * 3 * 6 * 5)) }], inputs);
    expect(stacked.sets?.length).toBe(8);
    const fixed = dimsOfSets(specs, stacked.sets ?? []);
    expect(fixed).toEqual({ batch: 1, height: 6, width: 5 });
    const c = dimChoices(specs, {}, fixed);
    expect(c.choices.map((x) => [x.name, x.value, x.basis])).toEqual([
      ['batch', 1, 'data'],
      ['height', 6, 'data'],
      ['width', 5, 'data'],
    ]);
    const two = dataFromFiles(
      [
        { name: 'a.npy', bytes: encodeNpy('float32', [1, 3, 6, 5], new Float32Array(90)) },
        { name: 'b.npy', bytes: encodeNpy('float32', [1, 3, 6, 7], new Float32Array(126)) },
      ],
      inputs,
    );
    expect(dimsOfSets(specs, two.sets ?? [])).toEqual({ batch: 1, height: 6 });
  });
});

describe('.npz input sets', () => {
  it('reads one array per input by name (numpy.savez), and says which array is missing', async () => {
    const { zipSync } = await import('fflate');
    const { encodeNpy } = await import('./npy');
    const { dataFromFiles } = await import('./data-files');
    const inputs = [io('x', 'float32', [1, 4]), io('sr', 'int64', [])];
    const npz = zipSync({ 'x.npy': encodeNpy('float32', [1, 4], Float32Array.from([1, 2, 3, 4])), 'sr.npy': encodeNpy('int64', [], BigInt64Array.from([16000n])) });
    const data = dataFromFiles([{ name: 'a.npz', bytes: npz }], inputs);
    expect(data.sets?.[0].map((t) => [t.name, t.dims, Array.from(t.data as ArrayLike<number | bigint>)])).toEqual([
      ['x', [1, 4], [1, 2, 3, 4]],
      ['sr', [], [16000n]],
    ]);
    const partial = zipSync({ 'x.npy': encodeNpy('float32', [1, 4], new Float32Array(4)) });
    expect(() => dataFromFiles([{ name: 'b.npz', bytes: partial }, { name: 'c.npz', bytes: partial }], inputs)).toThrow(/b\.npz: no array named "sr"/);
  });
});

describe('a .npy stacking samples', () => {
  it('gives N sets of batch 1 where the input has a batch axis first (fixed 1 or symbolic); one set where the first dim is not a batch; refuses a wrong sample shape by name', async () => {
    const { encodeNpy } = await import('./npy');
    const { dataFromFiles } = await import('./data-files');
    const stacked = encodeNpy('float32', [3, 2, 2], Float32Array.from({ length: 12 }, (_, i) => i));
    const fixed = dataFromFiles([{ name: 's.npy', bytes: stacked }], [io('x', 'float32', [1, 2, 2])]);
    expect(fixed.sets?.map((set) => set.map((t) => [t.dims, Array.from(t.data as Float32Array)]))).toEqual([
      [[[1, 2, 2], [0, 1, 2, 3]]],
      [[[1, 2, 2], [4, 5, 6, 7]]],
      [[[1, 2, 2], [8, 9, 10, 11]]],
    ]);
    // a symbolic batch (named like one, or unnamed at axis 0) splits the same way; another symbolic first dim (a sequence) takes the array whole
    for (const batch of ['N', 'batch_size', '?']) {
      const free = dataFromFiles([{ name: 's.npy', bytes: stacked }], [io('x', 'float32', [batch, 2, 2])]);
      expect(free.sets?.map((set) => set[0].dims)).toEqual([
        [1, 2, 2],
        [1, 2, 2],
        [1, 2, 2],
      ]);
    }
    const sequence = dataFromFiles([{ name: 's.npy', bytes: stacked }], [io('x', 'float32', ['time', 2, 2])]);
    expect(sequence.sets?.map((set) => set[0].dims)).toEqual([[3, 2, 2]]);
    // an exporter's name that says nothing (paddle2onnx's) leads a rank-3+ input as a batch does; on a rank-2 input ([points, 3]) it takes the array whole
    const p2o = dataFromFiles([{ name: 's.npy', bytes: stacked }], [io('x', 'float32', ['p2o.DynamicDimension.0', 2, 2])]);
    expect(p2o.sets?.map((set) => set[0].dims)).toEqual([
      [1, 2, 2],
      [1, 2, 2],
      [1, 2, 2],
    ]);
    const pairs = encodeNpy('float32', [6, 2], Float32Array.from({ length: 12 }, (_, i) => i));
    expect(dataFromFiles([{ name: 'p.npy', bytes: pairs }], [io('x', 'float32', ['unk__3', 2])]).sets?.map((set) => set[0].dims)).toEqual([[6, 2]]);
    expect(() => dataFromFiles([{ name: 's.npy', bytes: stacked }], [io('x', 'float32', [1, 2, 3])])).toThrow(/s\.npy: "x" \(3 samples of \[1, 2, 2\]\) has shape \[1, 2, 2\], the model's input "x" needs \[1, 2, 3\]/);
  });
});

describe('audioFrameLength', () => {
  it("the input's fixed length, else its dim's size by name or by place, else a guess from the name (said)", () => {
    const named: InputSpec = { name: 'input', dtype: 'float32', shape: ['batch', 'sequence'] };
    const d = defaultDescription();
    expect(audioFrameLength({ ...named, shape: [1, 512] }, d)).toEqual({ length: 512, dimName: 'input[1]', guessed: false });
    expect(audioFrameLength(named, { ...d, dims: { sequence: 1536 } })).toEqual({ length: 1536, dimName: 'sequence', guessed: false });
    expect(audioFrameLength(named, { ...d, dims: { 'input[1]': 512 } })).toEqual({ length: 512, dimName: 'sequence', guessed: false });
    expect(audioFrameLength(named, d).guessed).toBe(true);
  });
});
