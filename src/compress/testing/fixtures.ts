/**
 * Small synthetic models for the compression tests, built with onnx/build.ts from seeded random
 * weights (deterministic on every machine). Each has one float input and known input shapes.
 */
import { attr, emptyTensor, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model, type Tensor } from '../../onnx/types';
import { seeded, type Rng } from '../../testing/random';

export interface Fixture {
  name: string;
  model: Model;
  /** float32 inputs (name -> shape) */
  inputs: Record<string, number[]>;
  /** extra non-float feeds (e.g. an If condition), fixed per run */
  fixedFeeds?: Record<string, { type: 'bool'; dims: number[]; data: boolean[] }>;
  /** external data files (location -> bytes) the model refers to */
  external?: Record<string, Uint8Array>;
}

/** Normally distributed values (Box-Muller), mean 0, standard deviation `std`. */
export function gaussian(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rng(), 1e-12);
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

const prod = (dims: number[]) => dims.reduce((p, d) => p * d, 1);

function weight(rng: Rng, name: string, dims: number[], fanIn: number): Tensor {
  return makeTensor(name, DataType.FLOAT, dims, gaussian(rng, prod(dims), Math.sqrt(2 / fanIn)));
}

function vec(rng: Rng, name: string, n: number, lo: number, hi: number): Tensor {
  return makeTensor(name, DataType.FLOAT, [n], Float32Array.from({ length: n }, () => lo + rng() * (hi - lo)));
}

function constantNode(t: Tensor, name: string): ReturnType<typeof makeNode> {
  const out = t.name ?? name;
  return makeNode('Constant', [], [out], [attr.tensor('value', { ...t, name: out })], { name });
}

/** Conv(3->8) + BatchNormalization + Relu + Conv(8->16, stride 2) + Relu + GlobalAveragePool + Flatten + Gemm(16->10, transB). */
export function cnnFixture(opset = 13): Fixture {
  const rng = seeded(11);
  const g = makeGraph({
    nodes: [
      makeNode('Conv', ['image', 'conv1.weight', 'conv1.bias'], ['c1'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv1' }),
      makeNode('BatchNormalization', ['c1', 'bn1.scale', 'bn1.bias', 'bn1.mean', 'bn1.var'], ['b1'], [], { name: 'bn1' }),
      makeNode('Relu', ['b1'], ['r1'], [], { name: 'relu1' }),
      makeNode('Conv', ['r1', 'conv2.weight', 'conv2.bias'], ['c2'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])], { name: 'conv2' }),
      makeNode('Relu', ['c2'], ['r2'], [], { name: 'relu2' }),
      makeNode('GlobalAveragePool', ['r2'], ['p'], [], { name: 'pool' }),
      makeNode('Flatten', ['p'], ['f'], [], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'fc.weight', 'fc.bias'], ['logits'], [attr.int('transB', 1)], { name: 'fc' }),
    ],
    initializers: [
      weight(rng, 'conv1.weight', [8, 3, 3, 3], 27),
      vec(rng, 'conv1.bias', 8, -0.1, 0.1),
      vec(rng, 'bn1.scale', 8, 0.5, 1.5),
      vec(rng, 'bn1.bias', 8, -0.2, 0.2),
      vec(rng, 'bn1.mean', 8, -0.1, 0.1),
      vec(rng, 'bn1.var', 8, 0.5, 1.5),
      weight(rng, 'conv2.weight', [16, 8, 3, 3], 72),
      vec(rng, 'conv2.bias', 16, -0.1, 0.1),
      weight(rng, 'fc.weight', [10, 16], 16),
      vec(rng, 'fc.bias', 10, -0.1, 0.1),
    ],
    inputs: [makeValueInfo('image', DataType.FLOAT, [2, 3, 16, 16])],
    outputs: [makeValueInfo('logits', DataType.FLOAT, [2, 10])],
  });
  return { name: 'cnn', model: makeModel({ graph: g, irVersion: 7, opsetImport: [{ domain: '', version: opset }] }), inputs: { image: [2, 3, 16, 16] } };
}

/**
 * An encoder-decoder: Conv 3->16 (stride 2) + Relu, ConvTranspose 16->8 (4x4, stride 2, pads 1:
 * 2x upsampling) + Relu, ConvTranspose 8->4 in 2 groups (3x3, pads 1): image [2, 3, 16, 16] ->
 * [2, 4, 16, 16].
 */
export function decoderFixture(opset = 13): Fixture {
  const rng = seeded(13);
  const g = makeGraph({
    nodes: [
      makeNode('Conv', ['image', 'enc.weight', 'enc.bias'], ['e'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])], { name: 'enc' }),
      makeNode('Relu', ['e'], ['re'], [], { name: 'enc.relu' }),
      makeNode('ConvTranspose', ['re', 'up.weight', 'up.bias'], ['u'], [attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])], { name: 'up' }),
      makeNode('Relu', ['u'], ['ru'], [], { name: 'up.relu' }),
      makeNode('ConvTranspose', ['ru', 'out.weight', 'out.bias'], ['y'], [attr.ints('pads', [1, 1, 1, 1]), attr.int('group', 2)], { name: 'out' }),
    ],
    initializers: [
      weight(rng, 'enc.weight', [16, 3, 3, 3], 27),
      vec(rng, 'enc.bias', 16, -0.1, 0.1),
      weight(rng, 'up.weight', [16, 8, 4, 4], 64),
      vec(rng, 'up.bias', 8, -0.1, 0.1),
      weight(rng, 'out.weight', [8, 2, 3, 3], 36),
      vec(rng, 'out.bias', 4, -0.1, 0.1),
    ],
    inputs: [makeValueInfo('image', DataType.FLOAT, [2, 3, 16, 16])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [2, 4, 16, 16])],
  });
  return { name: 'decoder', model: makeModel({ graph: g, irVersion: 7, opsetImport: [{ domain: '', version: opset }] }), inputs: { image: [2, 3, 16, 16] } };
}

/**
 * A video/volume model with 3-D kernels: Conv 3->16 (3x3x3, pads 1) + Relu, ConvTranspose 16->8
 * (1x2x2, strides 1,2,2: 2x spatial upsampling) + Relu, Conv 8->4 in 2 groups (1x3x3, strides
 * 1,2,2, pads 0,1,1): clip [2, 3, 4, 8, 8] -> [2, 4, 4, 8, 8].
 */
export function volumeFixture(): Fixture {
  const rng = seeded(17);
  const g = makeGraph({
    nodes: [
      makeNode('Conv', ['clip', 'c1.weight', 'c1.bias'], ['a'], [attr.ints('pads', [1, 1, 1, 1, 1, 1])], { name: 'c1' }),
      makeNode('Relu', ['a'], ['ra'], [], { name: 'c1.relu' }),
      makeNode('ConvTranspose', ['ra', 'up.weight', 'up.bias'], ['u'], [attr.ints('strides', [1, 2, 2])], { name: 'up' }),
      makeNode('Relu', ['u'], ['ru'], [], { name: 'up.relu' }),
      makeNode('Conv', ['ru', 'c2.weight', 'c2.bias'], ['y'], [attr.ints('pads', [0, 1, 1, 0, 1, 1]), attr.ints('strides', [1, 2, 2]), attr.int('group', 2)], { name: 'c2' }),
    ],
    initializers: [
      weight(rng, 'c1.weight', [16, 3, 3, 3, 3], 81),
      vec(rng, 'c1.bias', 16, -0.1, 0.1),
      weight(rng, 'up.weight', [16, 8, 1, 2, 2], 16),
      vec(rng, 'up.bias', 8, -0.1, 0.1),
      weight(rng, 'c2.weight', [4, 4, 1, 3, 3], 36),
      vec(rng, 'c2.bias', 4, -0.1, 0.1),
    ],
    inputs: [makeValueInfo('clip', DataType.FLOAT, [2, 3, 4, 8, 8])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [2, 4, 4, 8, 8])],
  });
  return { name: 'volume', model: makeModel({ graph: g, irVersion: 7, opsetImport: [{ domain: '', version: 13 }] }), inputs: { clip: [2, 3, 4, 8, 8] } };
}

/** MatMul 256->512 + Add + Relu + MatMul 512->512 + Add + Relu + MatMul 512->96 (weights dominate the file). */
export function mlpFixture(opset = 13, dims: number[] = [256, 512, 512, 96]): Fixture {
  const rng = seeded(23);
  const nodes = [];
  const inits: Tensor[] = [];
  let x = 'x';
  for (let i = 0; i + 1 < dims.length; i++) {
    const last = i + 2 === dims.length;
    inits.push(weight(rng, `fc${i}.weight`, [dims[i], dims[i + 1]], dims[i]), vec(rng, `fc${i}.bias`, dims[i + 1], -0.05, 0.05));
    nodes.push(makeNode('MatMul', [x, `fc${i}.weight`], [`mm${i}`], [], { name: `fc${i}` }));
    nodes.push(makeNode('Add', [`mm${i}`, `fc${i}.bias`], [last ? 'y' : `a${i}`], [], { name: `fc${i}.add` }));
    if (!last) nodes.push(makeNode('Relu', [`a${i}`], [`h${i}`], [], { name: `relu${i}` }));
    x = `h${i}`;
  }
  const g = makeGraph({
    nodes,
    initializers: inits,
    inputs: [makeValueInfo('x', DataType.FLOAT, [4, dims[0]])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [4, dims[dims.length - 1]])],
  });
  return { name: 'mlp', model: makeModel({ graph: g, irVersion: opset >= 21 ? 10 : 7, opsetImport: [{ domain: '', version: opset }] }), inputs: { x: [4, dims[0]] } };
}

/**
 * Opset 9, IR 3, every weight in a Constant node: a Conv kernel; a MatMul weight stored
 * transposed ([N, K] -> Transpose); a MatMul weight stored flat (Reshape with a constant shape);
 * a Gemm weight behind Unsqueeze(axes attribute) + Squeeze; node names blank.
 */
export function constantsOpset9Fixture(): Fixture {
  const rng = seeded(37);
  const g = makeGraph({
    nodes: [
      constantNode(weight(rng, 'k', [6, 2, 3, 3], 18), ''),
      makeNode('Conv', ['image', 'k'], ['c'], [attr.ints('pads', [1, 1, 1, 1])]),
      makeNode('Relu', ['c'], ['r']),
      makeNode('Flatten', ['r'], ['f']),
      constantNode(weight(rng, 'wt', [32, 6 * 8 * 8], 384), ''),
      makeNode('Transpose', ['wt'], ['w1'], [attr.ints('perm', [1, 0])]),
      makeNode('MatMul', ['f', 'w1'], ['h1']),
      makeNode('Relu', ['h1'], ['r1']),
      constantNode(weight(rng, 'flat', [32 * 24], 32), ''),
      constantNode(makeTensor('shape', DataType.INT64, [2], [32, 24]), ''),
      makeNode('Reshape', ['flat', 'shape'], ['w2']),
      makeNode('MatMul', ['r1', 'w2'], ['h2']),
      makeNode('Relu', ['h2'], ['r2']),
      constantNode(weight(rng, 'g', [24, 10], 24), ''),
      makeNode('Unsqueeze', ['g'], ['gu'], [attr.ints('axes', [0])]),
      makeNode('Squeeze', ['gu'], ['w3'], [attr.ints('axes', [0])]),
      constantNode(vec(rng, 'gb', 10, -0.1, 0.1), ''),
      makeNode('Gemm', ['r2', 'w3', 'gb'], ['logits']),
    ],
    inputs: [makeValueInfo('image', DataType.FLOAT, [2, 2, 8, 8])],
    outputs: [makeValueInfo('logits', DataType.FLOAT, [2, 10])],
  });
  return { name: 'constants-opset9', model: makeModel({ graph: g, irVersion: 3, opsetImport: [{ domain: '', version: 9 }] }), inputs: { image: [2, 2, 8, 8] } };
}

/** If(cond): then-branch MatMul with a weight of its own (subgraph initializer); else-branch MatMul with an outer-scope weight. */
export function ifSubgraphFixture(): Fixture {
  const rng = seeded(41);
  const thenG = makeGraph({
    name: 'then',
    nodes: [makeNode('MatMul', ['x', 'w_then'], ['y_then'], [], { name: 'then_mm' })],
    initializers: [weight(rng, 'w_then', [64, 48], 64)],
    outputs: [makeValueInfo('y_then', DataType.FLOAT, [3, 48])],
  });
  const elseG = makeGraph({
    name: 'else',
    nodes: [makeNode('MatMul', ['x', 'w_outer'], ['y_else'], [], { name: 'else_mm' })],
    outputs: [makeValueInfo('y_else', DataType.FLOAT, [3, 48])],
  });
  const g = makeGraph({
    nodes: [makeNode('If', ['cond'], ['y'], [attr.graph('then_branch', thenG), attr.graph('else_branch', elseG)], { name: 'branch' })],
    initializers: [weight(rng, 'w_outer', [64, 48], 64)],
    inputs: [makeValueInfo('x', DataType.FLOAT, [3, 64]), makeValueInfo('cond', DataType.BOOL, [])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [3, 48])],
  });
  return { name: 'if-subgraph', model: makeModel({ graph: g, irVersion: 7, opsetImport: [{ domain: '', version: 13 }] }), inputs: { x: [3, 64] } };
}

/** A MatMul whose weight lives in an external data file "weights.bin" (after 16 bytes of padding). */
export function externalFixture(): Fixture {
  const rng = seeded(53);
  const w = gaussian(rng, 128 * 64, Math.sqrt(2 / 128));
  const file = new Uint8Array(16 + w.byteLength);
  file.set(new Uint8Array(w.buffer), 16);
  const t = emptyTensor({
    name: 'w_ext',
    dataType: DataType.FLOAT,
    dims: [128, 64],
    dataLocation: 1,
    externalData: [
      { key: 'location', value: 'weights.bin' },
      { key: 'offset', value: '16' },
      { key: 'length', value: String(w.byteLength) },
    ],
  });
  const g = makeGraph({
    nodes: [makeNode('MatMul', ['x', 'w_ext'], ['y'], [], { name: 'ext_mm' })],
    initializers: [t],
    inputs: [makeValueInfo('x', DataType.FLOAT, [2, 128])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [2, 64])],
  });
  return {
    name: 'external',
    model: makeModel({ graph: g, irVersion: 7, opsetImport: [{ domain: '', version: 13 }] }),
    inputs: { x: [2, 128] },
    external: { 'weights.bin': file },
  };
}
