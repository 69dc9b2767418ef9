/**
 * A text-recognizer-like model (the shape of CRNN/SVTR-style OCR exports): input
 * `x float32[1, 3, 48, width]` with a symbolic width, four Convs that fold the height away, then a
 * sequence of MatMuls over the width steps: logits `[1, steps, 97]`. Seeded He-initialised weights
 * (about 69 k parameters, 275 KB), built with our own encoder. Used where a test needs a model
 * whose dims the data must set (never 1 by default) and whose size int4 can cut to a fifth.
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model, type Tensor } from '../onnx/types';
import { gaussian } from '../compress/testing/fixtures';
import { seeded } from './random';

export const RECOGNIZER_CLASSES = 97;

/** `width`: the input's symbolic width name, or null for an unnamed dim (as many exports write it). */
export function recognizerModel(seed = 5, width: string | null = 'width'): Model {
  const rng = seeded(seed);
  const inits: Tensor[] = [];
  const w = (name: string, dims: number[], fanIn: number) => {
    inits.push(makeTensor(name, DataType.FLOAT, dims, gaussian(rng, dims.reduce((p, d) => p * d, 1), Math.sqrt(2 / fanIn))));
    return name;
  };
  const b = (name: string, n: number) => {
    inits.push(makeTensor(name, DataType.FLOAT, [n], gaussian(rng, n, 0.05)));
    return name;
  };
  const convs: [number, number, number[], number[], number[]][] = [
    // [in, out, kernel, strides, pads]
    [3, 16, [3, 3], [2, 2], [1, 1, 1, 1]],
    [16, 32, [3, 3], [2, 2], [1, 1, 1, 1]],
    [32, 64, [3, 3], [2, 1], [1, 1, 1, 1]],
    [64, 64, [6, 1], [1, 1], [0, 0, 0, 0]],
  ];
  const nodes = [];
  let x = 'x';
  convs.forEach(([cin, cout, k, s, p], i) => {
    const name = `backbone.conv${i + 1}`;
    nodes.push(
      makeNode('Conv', [x, w(`${name}.weight`, [cout, cin, ...k], cin * k[0] * k[1]), b(`${name}.bias`, cout)], [`${name}.out`], [attr.ints('kernel_shape', k), attr.ints('strides', s), attr.ints('pads', p)], { name }),
      makeNode('Relu', [`${name}.out`], [`${name}.relu`], [], { name: `${name}.act` }),
    );
    x = `${name}.relu`;
  });
  inits.push(makeTensor('squeeze_axes', DataType.INT64, [1], new BigInt64Array([2n])));
  nodes.push(
    makeNode('Squeeze', [x, 'squeeze_axes'], ['seq_cf'], [], { name: 'neck.squeeze' }),
    makeNode('Transpose', ['seq_cf'], ['seq'], [attr.ints('perm', [0, 2, 1])], { name: 'neck.transpose' }),
    makeNode('MatMul', ['seq', w('head.fc1.weight', [64, 128], 64)], ['fc1'], [], { name: 'head.fc1' }),
    makeNode('Add', ['fc1', b('head.fc1.bias', 128)], ['fc1b'], [], { name: 'head.fc1.add' }),
    makeNode('Relu', ['fc1b'], ['fc1r'], [], { name: 'head.fc1.act' }),
    makeNode('MatMul', ['fc1r', w('head.fc2.weight', [128, RECOGNIZER_CLASSES], 128)], ['fc2'], [], { name: 'head.fc2' }),
    makeNode('Add', ['fc2', b('head.fc2.bias', RECOGNIZER_CLASSES)], ['logits'], [], { name: 'head.fc2.add' }),
  );
  const graph = makeGraph({
    name: 'recognizer',
    inputs: [makeValueInfo('x', DataType.FLOAT, [1, 3, 48, width])],
    outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 'steps', RECOGNIZER_CLASSES])],
    initializers: inits,
    nodes,
  });
  return makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'onnx-compression-studio tests', graph });
}

/**
 * RGBA pixels of a text-line-like picture (w x h): a light page with dark glyph-like strokes and
 * a slight gradient, seeded. Not text, but the statistics of one (mostly background, sharp strokes).
 */
export function glyphStrip(w: number, h: number, seed: number): Uint8Array {
  const rng = seeded(seed);
  const px = new Uint8Array(w * h * 4);
  const tint = [200 + rng() * 50, 200 + rng() * 50, 190 + rng() * 60];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const g = (x / w) * 20;
      px[p] = tint[0] - g;
      px[p + 1] = tint[1] - g;
      px[p + 2] = tint[2] - g;
      px[p + 3] = 255;
    }
  }
  const ink = [rng() * 60, rng() * 60, rng() * 80];
  let x = 4 + Math.floor(rng() * 8);
  while (x < w - 12) {
    const gw = 6 + Math.floor(rng() * 10);
    const strokes = 2 + Math.floor(rng() * 3);
    for (let s = 0; s < strokes; s++) {
      const vertical = rng() < 0.5;
      const x0 = x + Math.floor(rng() * gw);
      const y0 = Math.floor(h * 0.2 + rng() * h * 0.5);
      const len = vertical ? Math.floor(h * (0.3 + rng() * 0.4)) : Math.floor(gw * (0.5 + rng() * 0.5));
      const t = 2 + Math.floor(rng() * 2);
      for (let k = 0; k < len; k++) {
        for (let u = 0; u < t; u++) {
          const xx = vertical ? x0 + u : x0 + k;
          const yy = vertical ? y0 + k : y0 + u;
          if (xx < 0 || xx >= w || yy < 0 || yy >= h) continue;
          const p = (yy * w + xx) * 4;
          px[p] = ink[0];
          px[p + 1] = ink[1];
          px[p + 2] = ink[2];
        }
      }
    }
    x += gw + 2 + Math.floor(rng() * 6);
    if (rng() < 0.12) x += 10 + Math.floor(rng() * 12);
  }
  return px;
}
