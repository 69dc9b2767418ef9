/**
 * One-layer models per shape class (pointwise, 3x3 and depthwise Conv; MatMul [1, m, k] x [k, n]),
 * float input and output, seeded N(0, sqrt(2 / fan-in)) weights: what `npm run bench:web-speed`
 * times in every int8 form and what the cost guard's tests decide on.
 */
import { gaussian } from '../compress/testing/fixtures';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../onnx/types';
import { seeded } from './random';

/** A shape class: one Conv (1x1, 3x3, depthwise 3x3) or one MatMul [1, m, k] x [k, n]. */
export type LayerSpec =
  | { kind: 'conv'; name: string; cin: number; cout: number; k: number; size: number; group: number }
  | { kind: 'matmul'; name: string; m: number; k: number; n: number };

export const conv = (name: string, cin: number, cout: number, k: number, size: number, group = 1): LayerSpec => ({ kind: 'conv', name, cin, cout, k, size, group });
export const matmul = (name: string, m: number, k: number, n: number): LayerSpec => ({ kind: 'matmul', name, m, k, n });

export function inputDims(s: LayerSpec): number[] {
  return s.kind === 'conv' ? [1, s.cin, s.size, s.size] : [1, s.m, s.k];
}
export function outputDims(s: LayerSpec): number[] {
  return s.kind === 'conv' ? [1, s.cout, s.size, s.size] : [1, s.m, s.n];
}
export function macs(s: LayerSpec): number {
  return s.kind === 'conv' ? s.cout * (s.cin / s.group) * s.k * s.k * s.size * s.size : s.m * s.k * s.n;
}
const count = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/** The layer's float weights (and a Conv's bias), seeded by its shape. */
export interface LayerWeights {
  w: Float32Array;
  wDims: number[];
  b?: Float32Array;
}

export function layerWeights(s: LayerSpec): LayerWeights {
  if (s.kind === 'conv') {
    const rng = seeded(s.cin * 7919 + s.cout * 31 + s.k * 5 + s.size + s.group);
    const fanIn = (s.cin / s.group) * s.k * s.k;
    const wDims = [s.cout, s.cin / s.group, s.k, s.k];
    return { w: gaussian(rng, count(wDims), Math.sqrt(2 / fanIn)), wDims, b: gaussian(rng, s.cout, 0.05) };
  }
  const rng = seeded(s.m * 7919 + s.k * 31 + s.n);
  return { w: gaussian(rng, s.k * s.n, Math.sqrt(2 / s.k)), wDims: [s.k, s.n] };
}

export function convAttrs(s: Extract<LayerSpec, { kind: 'conv' }>) {
  const p = (s.k - 1) / 2;
  return [attr.ints('kernel_shape', [s.k, s.k]), attr.ints('pads', [p, p, p, p]), ...(s.group > 1 ? [attr.int('group', s.group)] : [])];
}

export function layerModel(nodes: Node[], inits: Tensor[], inputs: [string, number[]][], outputs: [string, number[]][], opset = 13): Model {
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: makeGraph({
      nodes,
      initializers: inits,
      inputs: inputs.map(([n, d]) => makeValueInfo(n, DataType.FLOAT, d)),
      outputs: outputs.map(([n, d]) => makeValueInfo(n, DataType.FLOAT, d)),
    }),
  });
}

/** The float layer: Conv(x, W, B) or MatMul(x, W). */
export function floatModel(s: LayerSpec): Model {
  const { w, wDims, b } = layerWeights(s);
  const inits = [makeTensor('w', DataType.FLOAT, wDims, w)];
  if (b) inits.push(makeTensor('b', DataType.FLOAT, [b.length], b));
  const node = s.kind === 'conv' ? makeNode('Conv', ['x', 'w', 'b'], ['y'], convAttrs(s), { name: 'layer' }) : makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'layer' });
  return layerModel([node], inits, [['x', inputDims(s)]], [['y', outputDims(s)]]);
}

