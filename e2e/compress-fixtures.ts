/**
 * Models for e2e/compress.spec.ts, built on the Node side with the project's own factories.
 */
import { makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';
import { DataType } from '../src/onnx/types';
import type { FileSpec } from './fixtures';

/**
 * x[batch, width] -> `layers` x (MatMul "fc<i>" [width, width] -> Relu) -> y. With 32 layers of
 * 448 it is 26 MB and takes a noticeable time per layer at int4 block 32 (the cancel test).
 */
export function deepMlp(layers: number, width: number, name = 'deep-mlp.onnx'): FileSpec {
  const nodes = [];
  const initializers = [];
  let prev = 'x';
  for (let i = 0; i < layers; i++) {
    const w = new Float32Array(width * width);
    for (let j = 0; j < w.length; j++) w[j] = Math.sin(j * 0.37 + i) * 0.05;
    initializers.push(makeTensor(`fc${i}.weight`, DataType.FLOAT, [width, width], w));
    nodes.push(makeNode('MatMul', [prev, `fc${i}.weight`], [`h${i}`], [], { name: `fc${i}` }));
    const out = i === layers - 1 ? 'y' : `r${i}`;
    nodes.push(makeNode('Relu', [`h${i}`], [out], [], { name: `relu${i}` }));
    prev = out;
  }
  const graph = makeGraph({
    name: 'deep_mlp',
    nodes,
    initializers,
    inputs: [makeValueInfo('x', DataType.FLOAT, ['batch', width])],
    outputs: [makeValueInfo('y', DataType.FLOAT, ['batch', width])],
  });
  const model = makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'e2e-fixture', graph });
  return { name, bytes: encodeModel(model) };
}
