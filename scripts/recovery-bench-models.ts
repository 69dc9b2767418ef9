/**
 * The models and inputs of the recovery benchmarks (`npm run bench:recovery`, `npm run
 * bench:recovery-page`): built here with seeded weights, so both measure the same bytes.
 *   - a CNN of about 8 MB: four 3x3 Convs 3→64→128→256→512 (stride 2) on 64x64 images, a Gemm head;
 *   - a MatMul model of about 25 MB: four 1024/1536 layers on 64-token sequences (the page's
 *     benchmark), and one of about 100 MB (the size, `npm run bench:recovery`): four
 *     2048/3072 layers on 64-token sequences;
 *   - inputs with structure (a few smooth factors plus noise), as real data has.
 */
import type { Sample } from '../src/compress/activations/calibrate';
import { gaussian } from '../src/compress/testing/fixtures';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { makeTensor } from '../src/onnx/tensor';
import { DataType, type Model, type Tensor } from '../src/onnx/types';
import { seeded } from '../src/testing/random';

export interface BenchModel {
  model: Model;
  input: string;
  dims: number[];
}

export function cnn(): BenchModel {
  const rng = seeded(3);
  const inits: Tensor[] = [];
  const nodes = [];
  let x = 'image';
  const chans = [3, 64, 128, 256, 512];
  for (let i = 0; i + 1 < chans.length; i++) {
    const [cin, cout] = [chans[i], chans[i + 1]];
    inits.push(makeTensor(`conv${i}.weight`, DataType.FLOAT, [cout, cin, 3, 3], gaussian(rng, cout * cin * 9, Math.sqrt(2 / (cin * 9)))));
    inits.push(makeTensor(`conv${i}.bias`, DataType.FLOAT, [cout], gaussian(rng, cout, 0.05)));
    nodes.push(makeNode('Conv', [x, `conv${i}.weight`, `conv${i}.bias`], [`c${i}`], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])], { name: `conv${i}` }));
    nodes.push(makeNode('Relu', [`c${i}`], [`r${i}`], [], { name: `relu${i}` }));
    x = `r${i}`;
  }
  inits.push(makeTensor('fc.weight', DataType.FLOAT, [1000, 512], gaussian(rng, 512000, Math.sqrt(1 / 512))));
  nodes.push(makeNode('GlobalAveragePool', [x], ['p'], [], { name: 'pool' }), makeNode('Flatten', ['p'], ['f'], [], { name: 'flatten' }));
  nodes.push(makeNode('Gemm', ['f', 'fc.weight'], ['logits'], [attr.int('transB', 1)], { name: 'fc' }));
  const graph = makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('image', DataType.FLOAT, [1, 3, 64, 64])], outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 1000])] });
  return { model: makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }), input: 'image', dims: [1, 3, 64, 64] };
}

export function mlp(width = 1024): BenchModel {
  const rng = seeded(5);
  const dims = [width, width * 1.5, width, width * 1.5, width];
  const inits: Tensor[] = [];
  const nodes = [];
  let x = 'x';
  for (let i = 0; i + 1 < dims.length; i++) {
    inits.push(makeTensor(`fc${i}.weight`, DataType.FLOAT, [dims[i], dims[i + 1]], gaussian(rng, dims[i] * dims[i + 1], Math.sqrt(2 / dims[i]))));
    nodes.push(makeNode('MatMul', [x, `fc${i}.weight`], [`m${i}`], [], { name: `fc${i}` }));
    const last = i + 2 === dims.length;
    if (!last) nodes.push(makeNode('Relu', [`m${i}`], [`h${i}`], [], { name: `relu${i}` }));
    x = last ? `m${i}` : `h${i}`;
  }
  const graph = makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('x', DataType.FLOAT, [1, 64, width])], outputs: [makeValueInfo(x, DataType.FLOAT, [1, 64, width])] });
  return { model: makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] }), input: 'x', dims: [1, 64, width] };
}

export function samples(input: string, dims: number[], n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const size = dims.reduce((p, d) => p * d, 1);
  const bases = Array.from({ length: 6 }, (_, k) => Float32Array.from({ length: size }, (_, i) => Math.sin((i * (k + 1) * 0.29) / 5 + k)));
  return Array.from({ length: n }, () => {
    const c = bases.map(() => rng() * 2 - 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      let v = 0.1 * (rng() * 2 - 1);
      for (let k = 0; k < bases.length; k++) v += c[k] * bases[k][i];
      data[i] = v;
    }
    return { [input]: { dtype: 'float32', dims, data } };
  });
}

/** The MatMul model of about 100 MB (four 2048/3072 layers): the size. */
export const mlpLarge = (): BenchModel => mlp(2048);
