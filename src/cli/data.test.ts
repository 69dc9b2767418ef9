/**
 * The CLI's data options as a user runs them: a folder of images (PNG and JPEG, written here with
 * pngjs and jpeg-js) prepared by flags, a data.json description, class folders as a labeled set,
 * WAV audio cut into frames with a rate input filled, and the split between calibration and
 * evaluation. The headline check (issue #11): `autotune --max-size 0.2` on a recognizer-like model
 * with a symbolic width, fed 48x320 text-line images, writes a recipe whose compressed file is at
 * most a fifth of the original on disk, and the cosine autotune printed is within 0.02 of what
 * `eval` measures on held-out images.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../onnx/codec';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import { glyphStrip, recognizerModel } from '../testing/recognizer';
import { toneWav, vadModel } from '../testing/vad';
import type { AutotuneReport } from './autotune';
import type { CompressOutcome } from './compress';
import { checkDims, decodeImageFile } from './data';
import type { EvalReport } from './eval';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-cli-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function png(file: string, rgba: Uint8Array, w: number, h: number): void {
  const p = new PNG({ width: w, height: h });
  p.data = Buffer.from(rgba);
  fs.writeFileSync(file, PNG.sync.write(p));
}

const recognizer = path.join(tmp, 'recognizer.onnx');
fs.writeFileSync(recognizer, encodeModel(recognizerModel()));

/** `count` text-line pictures of `w` x `h` in `dir` (seeds from `seed`), a few of them JPEG. */
function strips(dir: string, count: number, seed: number, w = 320, h = 48): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const px = glyphStrip(w, h, seed + i);
    if (i % 4 === 3) fs.writeFileSync(path.join(dir, `line${i}.jpg`), jpeg.encode({ data: px, width: w, height: h }, 95).data);
    else png(path.join(dir, `line${i}.png`), px, w, h);
  }
}

describe('cli data: images', () => {
  const tune = path.join(tmp, 'tune');
  const heldOut = path.join(tmp, 'held-out');
  strips(tune, 12, 100);
  strips(heldOut, 8, 900, 300, 50); // other sizes too: stretched to 48x320

  it('decodes PNG exactly and JPEG closely', () => {
    const px = glyphStrip(64, 16, 3);
    png(path.join(tmp, 'a.png'), px, 64, 16);
    const a = decodeImageFile('a.png', fs.readFileSync(path.join(tmp, 'a.png')));
    expect([a.width, a.height]).toEqual([64, 16]);
    expect(Buffer.from(a.rgba).equals(Buffer.from(px))).toBe(true);
    fs.writeFileSync(path.join(tmp, 'a.jpg'), jpeg.encode({ data: px, width: 64, height: 16 }, 100).data);
    const j = decodeImageFile('a.jpg', fs.readFileSync(path.join(tmp, 'a.jpg')));
    let err = 0;
    for (let i = 0; i < px.length; i++) err += Math.abs(j.rgba[i] - px[i]);
    expect(err / px.length).toBeLessThan(6);
    expect(() => decodeImageFile('x.png', new Uint8Array([0x89, 0x50, 1, 2]))).toThrow(/x\.png: cannot decode the image/);
  });

  it('says which dim to set when the images cannot size the model, and never runs it at width 1', () => {
    const r = cli(['eval', recognizer, recognizer, '--samples', tune, '--max-runs', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'error: --image-size: the width of input "x" (dim "width") is not fixed by the model; give --image-size HEIGHTxWIDTH or --dims width=N',
    );
    // random inputs: a dim named "width" is guessed (224) and the output says so
    const synth = cli(['eval', recognizer, recognizer, '--max-runs', '2', '--json']);
    expect(synth.stderr).toBe('');
    const e = JSON.parse(synth.stdout) as EvalReport;
    expect(e.data).toBe("random inputs; sizes guessed from the dims' names: width=224 (set them with --dims)");
    expect(e.inputs).toMatch(/float32\[1, 3, 48, 224\]/);
    // an unnamed dim is never set to 1 behind the user's back
    const unnamed = path.join(tmp, 'recognizer-unnamed.onnx');
    fs.writeFileSync(unnamed, encodeModel(recognizerModel(5, null)));
    for (const cmd of [['eval', unnamed, unnamed], ['autotune', unnamed, '--max-size', '0.5', '--out', path.join(tmp, 'never.json')]]) {
      const r2 = cli(cmd);
      expect(r2.code).toBe(2);
      expect(r2.stderr.trim()).toBe(
        'error: the size of dim "x[3]" (x[3]) is not fixed by the model and its name says nothing of it; give --dims x[3]=N, or real inputs with --samples',
      );
    }
    const given = cli(['eval', unnamed, unnamed, '--dims', 'x[3]=64', '--max-runs', '2', '--json']);
    expect(given.stderr).toBe('');
    expect((JSON.parse(given.stdout) as EvalReport).inputs).toMatch(/float32\[1, 3, 48, 64\]/);
  });

  it('autotune --max-size 0.2 on 48x320 images: the file is at most a fifth on disk, and eval on held-out images agrees within 0.02', () => {
    const recipe = path.join(tmp, 'r.json');
    const flags = ['--image-size', '48x320', '--normalize', 'minus1to1'];
    const r = cli(['autotune', recognizer, '--max-size', '0.2', '--samples', tune, ...flags, '--out', recipe, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as AutotuneReport;
    expect(report.data).toMatch(/^12 images, each x float32\[1, 3, 48, 320\] \(stretch, rgb, minus1to1\); all 12 samples/);
    expect(report.inputs).toMatch(/float32\[1, 3, 48, 320\]/);
    expect(report.metric).toBe('cosine');

    const out = path.join(tmp, 'recognizer.tuned.onnx');
    const c = cli(['compress', recognizer, '--recipe', recipe, '--out', out, '--json']);
    expect(c.code).toBe(0);
    const outcome = JSON.parse(c.stdout) as CompressOutcome;
    expect(fs.statSync(out).size).toBe(outcome.fileBytesAfter);
    expect(fs.statSync(out).size / fs.statSync(recognizer).size).toBeLessThanOrEqual(0.2);

    const ev = cli(['eval', recognizer, out, '--samples', heldOut, ...flags, '--max-runs', '3', '--json']);
    expect(ev.stderr).toBe('');
    expect(ev.code).toBe(0);
    const e = JSON.parse(ev.stdout) as EvalReport;
    expect(e.data).toMatch(/^8 images, each x float32\[1, 3, 48, 320\]/);
    const worst = Math.min(...e.fidelity.map((f) => f.cosine.worst));
    console.log(`recognizer: autotune chose ${report.chosen.label} at ${(report.chosen.sizeRatio * 100).toFixed(1)}% (cosine ${report.chosen.cosine.toFixed(5)} on 12 images); file ${(fs.statSync(out).size / 1024).toFixed(1)} KB of ${(fs.statSync(recognizer).size / 1024).toFixed(1)} KB; eval on 8 held-out images: cosine ${worst.toFixed(5)}`);
    expect(Math.abs(report.chosen.cosine - worst)).toBeLessThanOrEqual(0.02);
  });

  it('reads the preprocessing from data.json, splits calibration from evaluation, and flags override the file', () => {
    const data = path.join(tmp, 'data.json');
    fs.writeFileSync(data, JSON.stringify({ format: 'onnx-studio-data', version: 1, image: { height: 48, width: 320, normalize: 'imagenet', channels: 'bgr' }, calibration: 4 }));
    const r = cli(['eval', recognizer, recognizer, '--samples', tune, '--data', data, '--max-runs', '2', '--json']);
    expect(r.stderr).toBe('');
    const e = JSON.parse(r.stdout) as EvalReport;
    expect(e.data).toBe('12 images, each x float32[1, 3, 48, 320] (stretch, bgr, imagenet); 4 calibrate, 8 evaluate (never the same samples)');
    expect(e.fidelity[0].sets).toBe(8);
    const o = cli(['eval', recognizer, recognizer, '--samples', tune, '--data', data, '--calibration', '0', '--resize', 'pad', '--max-runs', '2', '--json']);
    expect((JSON.parse(o.stdout) as EvalReport).data).toMatch(/\(pad, bgr, imagenet\); 0 calibrate, 12 evaluate/);
    fs.writeFileSync(data, JSON.stringify({ format: 'onnx-studio-data', version: 1, image: { resize: 'squash' } }));
    const bad = cli(['eval', recognizer, recognizer, '--samples', tune, '--data', data]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^error: --data .*data\.json: image\.resize: expected one of stretch, pad, crop, got "squash"$/);
  });

  it('class folders are a labeled set: accuracy, split per class', () => {
    // a tiny classifier over 8x8 gray images: mean brightness above or below the middle
    const g = makeGraph({
      name: 'bright',
      inputs: [makeValueInfo('img', DataType.FLOAT, ['n', 1, 8, 8])],
      outputs: [makeValueInfo('p', DataType.FLOAT, ['n', 2])],
      nodes: [
        makeNode('GlobalAveragePool', ['img'], ['m'], [], { name: 'pool' }),
        makeNode('Flatten', ['m'], ['f'], [], { name: 'flat' }),
        makeNode('Gemm', ['f', 'w', 'b'], ['p'], [attr.int('transB', 1)], { name: 'fc' }),
      ],
      initializers: [
        makeTensorF('w', [2, 1], [-1, 1]),
        makeTensorF('b', [2], [0.5, -0.5]),
      ],
    });
    const model = path.join(tmp, 'bright.onnx');
    fs.writeFileSync(model, encodeModel(makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: g })));
    const dir = path.join(tmp, 'classes');
    for (const [cls, level] of [['dark', 40], ['light', 220]] as const) {
      fs.mkdirSync(path.join(dir, cls), { recursive: true });
      for (let i = 0; i < 5; i++) png(path.join(dir, cls, `${i}.png`), new Uint8Array(16 * 16 * 4).map((_, k) => (k % 4 === 3 ? 255 : level + i * 3)), 16, 16);
    }
    const r = cli(['eval', model, model, '--samples', dir, '--channels', 'gray', '--calibration', '4', '--max-runs', '2', '--json']);
    expect(r.stderr).toBe('');
    const e = JSON.parse(r.stdout) as EvalReport;
    expect(e.data).toBe('10 images in 2 class folders, each img float32[1, 1, 8, 8] (stretch, gray, 0to1); 4 calibrate, 6 evaluate (never the same samples)');
    expect(e.original.accuracy).toMatchObject({ correct: 6, total: 6 });
  });
});

const makeTensorF = (name: string, dims: number[], values: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from(values));

describe('cli data: audio', () => {
  it('frames WAV audio at the model rate and fills its rate input', async () => {
    // out = mean(x) * sr / 16000: shows both the frame and the rate input reach the model
    const g = makeGraph({
      name: 'vad',
      inputs: [makeValueInfo('input', DataType.FLOAT, [1, 512]), makeValueInfo('sr', DataType.FLOAT, [])],
      outputs: [makeValueInfo('out', DataType.FLOAT, [1, 1])],
      nodes: [
        makeNode('ReduceMean', ['input'], ['m'], [attr.ints('axes', [1])], { name: 'mean' }),
        makeNode('Mul', ['m', 'sr'], ['ms'], [], { name: 'scale' }),
        makeNode('Div', ['ms', 'k'], ['out'], [], { name: 'norm' }),
      ],
      initializers: [makeTensorF('k', [], [16000])],
    });
    const model = path.join(tmp, 'vad.onnx');
    fs.writeFileSync(model, encodeModel(makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: g })));
    // one second of a constant 0.25 at 8 kHz: 16,000 samples at 16 kHz, 31 whole frames of 512
    const n = 8000;
    const b = new Uint8Array(44 + n * 2);
    const v = new DataView(b.buffer);
    [...'RIFF'].forEach((c, i) => (b[i] = c.charCodeAt(0)));
    v.setUint32(4, 36 + n * 2, true);
    [...'WAVEfmt '].forEach((c, i) => (b[8 + i] = c.charCodeAt(0)));
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true);
    v.setUint16(22, 1, true);
    v.setUint32(24, 8000, true);
    v.setUint32(28, 16000, true);
    v.setUint16(32, 2, true);
    v.setUint16(34, 16, true);
    [...'data'].forEach((c, i) => (b[36 + i] = c.charCodeAt(0)));
    v.setUint32(40, n * 2, true);
    for (let i = 0; i < n; i++) v.setInt16(44 + 2 * i, 8192, true);
    const dir = path.join(tmp, 'audio');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a.wav'), b);
    const r = cli(['eval', model, model, '--samples', dir, '--max-runs', '2', '--json']);
    expect(r.stderr).toBe('');
    const e = JSON.parse(r.stdout) as EvalReport;
    expect(e.data).toMatch(/^31 frames of 512 samples at 16000 Hz from 1 audio file, each input float32\[1, 512\]; sr = 16000; all 31 samples/);
    // the model itself: a middle frame of the resampled constant gives 0.25 * 16000 / 16000
    const s = await ort.InferenceSession.create(fs.readFileSync(model));
    const frame = new Float32Array(512).fill(0.25);
    const o = await s.run({ input: new ort.Tensor('float32', frame, [1, 512]), sr: new ort.Tensor('float32', new Float32Array([16000]), []) });
    expect((o.out.data as Float32Array)[0]).toBeCloseTo(0.25, 6);
  });

  it('feeds a recurrent state back between frames (the original model runs each file in order), or zeros with --feedback none', () => {
    const model = path.join(tmp, 'vad-state.onnx');
    fs.writeFileSync(model, encodeModel(vadModel()));
    const dir = path.join(tmp, 'speech');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a.wav'), toneWav(0.5));
    const flags = ['--samples', dir, '--dims', 'input[1]=512', '--max-runs', '2', '--json'];
    const fed = cli(['eval', model, model, ...flags]);
    expect(fed.stderr).toBe('');
    expect((JSON.parse(fed.stdout) as EvalReport).data).toMatch(
      /^15 frames of 512 samples at 16000 Hz from 1 audio file, each input float32\[1, 512\]; sr = 16000; state = stateN of the previous frame, run by the original model \(zeros \[2, 1, 64\] at each file's start\)/,
    );
    const zeros = cli(['eval', model, model, ...flags, '--feedback', 'none']);
    expect(zeros.stderr).toBe('');
    expect((JSON.parse(zeros.stdout) as EvalReport).data).toMatch(/; state = zeros \[2, 1, 64\]/);
    const wrong = cli(['eval', model, model, ...flags, '--feedback', 'state=nope']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('feedback: the model has no output "nope" to feed into "state"');
  });

  it('a --dims key that names no symbolic dim is an error listing the ones there are', () => {
    const d = checkDimsOf({ input: ['batch', 'sequence'], sr: [] });
    expect(d({ sequence: 512 })).toBe('');
    expect(d({ 'input[1]': 512 })).toBe('');
    expect(d({ 'input[2]': 512 })).toBe('--dims: "input[2]" names no symbolic dim of this model; its symbolic dims: batch (input[0]), sequence (input[1])');
  });
});

/** checkDims' message for `dims` on inputs of these shapes ('' when accepted). */
function checkDimsOf(shapes: Record<string, (string | number)[]>): (dims: Record<string, number>) => string {
  const inputs = Object.entries(shapes).map(([name, shape]) => ({ name, dtype: 'float32', shape }));
  return (dims) => {
    try {
      checkDims(dims, inputs);
      return '';
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };
}
