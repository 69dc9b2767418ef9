/**
 * A Conv-heavy network for the int8-activation tests and the wasm speed benchmark: five 3x3
 * Conv+Relu layers of 32 to 64 channels at 32x32 and 16x16 (about 37 M multiply-adds per
 * image), a MaxPool, GlobalAveragePool, Flatten and a Gemm classifier. Seeded weights (He
 * initialisation), optionally a BatchNormalization after each Conv (as exporters write it).
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../../onnx/build';
import { makeTensor } from '../../../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../../../onnx/types';
import { seeded, type Rng } from '../../../testing/random';

function normal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * std;
    const a = 2 * Math.PI * rng();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

export interface ConvNetOptions {
  batchNorm?: boolean;
  batch?: number | string;
  opset?: number;
}

export const CONV_NET_INPUT = { name: 'image', channels: 16, size: 32 };

export function convNet(options: ConvNetOptions = {}): Model {
  const { batchNorm = false, batch = 1, opset = 13 } = options;
  const rng = seeded(2024);
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  let x = CONV_NET_INPUT.name;
  let c = CONV_NET_INPUT.channels;
  const conv = (name: string, m: number) => {
    inits.push(makeTensor(`${name}.weight`, DataType.FLOAT, [m, c, 3, 3], normal(rng, m * c * 9, Math.sqrt(2 / (c * 9)))));
    inits.push(makeTensor(`${name}.bias`, DataType.FLOAT, [m], normal(rng, m, 0.05)));
    nodes.push(makeNode('Conv', [x, `${name}.weight`, `${name}.bias`], [`${name}.out`], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('kernel_shape', [3, 3])], { name }));
    x = `${name}.out`;
    if (batchNorm) {
      const bn = `${name}.bn`;
      inits.push(makeTensor(`${bn}.scale`, DataType.FLOAT, [m], Float32Array.from({ length: m }, () => 0.6 + rng() * 0.8)));
      inits.push(makeTensor(`${bn}.bias`, DataType.FLOAT, [m], normal(rng, m, 0.1)));
      inits.push(makeTensor(`${bn}.mean`, DataType.FLOAT, [m], normal(rng, m, 0.1)));
      inits.push(makeTensor(`${bn}.var`, DataType.FLOAT, [m], Float32Array.from({ length: m }, () => 0.5 + rng())));
      nodes.push(makeNode('BatchNormalization', [x, `${bn}.scale`, `${bn}.bias`, `${bn}.mean`, `${bn}.var`], [`${bn}.out`], [], { name: bn }));
      x = `${bn}.out`;
    }
    nodes.push(makeNode('Relu', [x], [`${name}.relu`], [], { name: `${name}.relu` }));
    x = `${name}.relu`;
    c = m;
  };
  conv('conv1', 32);
  conv('conv2', 32);
  nodes.push(makeNode('MaxPool', [x], ['pool'], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])], { name: 'pool' }));
  x = 'pool';
  conv('conv3', 64);
  conv('conv4', 64);
  conv('conv5', 64);
  nodes.push(makeNode('GlobalAveragePool', [x], ['gap'], [], { name: 'gap' }));
  nodes.push(makeNode('Flatten', ['gap'], ['flat'], [], { name: 'flatten' }));
  inits.push(makeTensor('fc.weight', DataType.FLOAT, [10, 64], normal(rng, 640, Math.sqrt(1 / 64))));
  inits.push(makeTensor('fc.bias', DataType.FLOAT, [10], normal(rng, 10, 0.05)));
  nodes.push(makeNode('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], [attr.int('transB', 1)], { name: 'fc' }));
  const s = CONV_NET_INPUT.size;
  const graph = makeGraph({
    nodes,
    initializers: inits,
    inputs: [makeValueInfo(CONV_NET_INPUT.name, DataType.FLOAT, [batch, CONV_NET_INPUT.channels, s, s])],
    outputs: [makeValueInfo('logits', DataType.FLOAT, [batch, 10])],
  });
  return makeModel({ graph, irVersion: 7, opsetImport: [{ domain: '', version: opset }] });
}

/** `count` inputs for convNet: smooth random images (a few low-frequency waves plus noise), seeded. */
export function convNetInputs(count: number, seed: number, batch = 1): Float32Array[] {
  const rng = seeded(seed);
  const { channels, size } = CONV_NET_INPUT;
  const out: Float32Array[] = [];
  for (let k = 0; k < count; k++) {
    const img = new Float32Array(batch * channels * size * size);
    for (let b = 0; b < batch; b++) {
      for (let ch = 0; ch < channels; ch++) {
        const fx = 1 + rng() * 3;
        const fy = 1 + rng() * 3;
        const ph = rng() * 6.283;
        const amp = 0.5 + rng();
        const base = (b * channels + ch) * size * size;
        for (let i = 0; i < size; i++) {
          for (let j = 0; j < size; j++) {
            img[base + i * size + j] = amp * Math.sin((fx * i + fy * j) / size * 6.283 + ph) + (rng() - 0.5) * 0.3;
          }
        }
      }
    }
    out.push(img);
  }
  return out;
}
