/**
 * Small real models for the e2e specs, built on the Node side with the project's own factories
 * (src/onnx/build.ts, src/onnx/tensor.ts) and encoder (src/onnx/codec.ts).
 */
import { attr, emptyTensor, makeGraph, makeModel, makeNode, makeValueInfo } from '../src/onnx/build';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';
import { DataLocation, DataType, type Tensor } from '../src/onnx/types';

export interface FileSpec {
  name: string;
  bytes: Uint8Array;
  mimeType?: string;
}

const range = (n: number, scale: number) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) * scale);

/**
 * x[batch, 4] -> Gemm "fc1" (8x4, bias 8) -> Relu (unnamed) -> MatMul "head" (8x3) -> y[batch, 3].
 * 3 nodes; 32 + 8 + 24 = 64 parameters; 256 bytes of float32 weights; IR 8, opset 13.
 */
function mlpTensors(): Tensor[] {
  return [
    makeTensor('fc1.weight', DataType.FLOAT, [8, 4], range(32, 0.25)),
    makeTensor('fc1.bias', DataType.FLOAT, [8], range(8, 0.1)),
    makeTensor('head.weight', DataType.FLOAT, [8, 3], range(24, 0.5)),
  ];
}

function mlpModel(initializers: Tensor[]) {
  const graph = makeGraph({
    name: 'tiny_mlp',
    nodes: [
      makeNode('Gemm', ['x', 'fc1.weight', 'fc1.bias'], ['h'], [attr.int('transB', 1)], { name: 'fc1' }),
      makeNode('Relu', ['h'], ['r']),
      makeNode('MatMul', ['r', 'head.weight'], ['y'], [], { name: 'head' }),
    ],
    initializers,
    inputs: [makeValueInfo('x', DataType.FLOAT, ['batch', 4])],
    outputs: [makeValueInfo('y', DataType.FLOAT, ['batch', 3])],
  });
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'e2e-fixture',
    producerVersion: '1.0',
    graph,
  });
}

export const TINY_MLP = {
  nodeCount: 3,
  params: 64,
  weightBytes: 256,
  irVersion: 8,
  opset: 13,
  producer: 'e2e-fixture 1.0',
};

export function tinyMlp(name = 'tiny-mlp.onnx'): FileSpec {
  return { name, bytes: encodeModel(mlpModel(mlpTensors())) };
}

/** The same network with every weight in an external data file `dataName`. */
export function tinyMlpExternal(name = 'ext-mlp.onnx', dataName = 'ext-mlp.weights'): { model: FileSpec; data: FileSpec } {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const external = mlpTensors().map((t) => {
    const raw = t.rawData!;
    chunks.push(raw);
    const ext = emptyTensor({
      name: t.name,
      dims: t.dims,
      dataType: t.dataType,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: dataName },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ],
    });
    offset += raw.length;
    return ext;
  });
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { model: { name, bytes: encodeModel(mlpModel(external)) }, data: { name: dataName, bytes: data } };
}

/** A chain of `n` Relu nodes: a small file (about 25 bytes a node) that takes a while to parse. */
export function longChain(n: number, name = 'long-chain.onnx'): FileSpec {
  const nodes = Array.from({ length: n }, (_, i) =>
    makeNode('Relu', [i === 0 ? 'x' : `t${i - 1}`], [i === n - 1 ? 'y' : `t${i}`]),
  );
  const graph = makeGraph({
    name: 'long_chain',
    nodes,
    inputs: [makeValueInfo('x', DataType.FLOAT, [1])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [1])],
  });
  return { name, bytes: encodeModel(makeModel({ graph })) };
}

/** The PNG signature and the start of an IHDR chunk: an image, not a model. */
export function pngLike(name = 'photo.png'): FileSpec {
  const bytes = Uint8Array.from([
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x06, 0x00, 0x00, 0x00,
  ]);
  return { name, bytes, mimeType: 'image/png' };
}

export function emptyFile(name = 'empty.onnx'): FileSpec {
  return { name, bytes: new Uint8Array(0) };
}
