/**
 * A ResNet-like model (the shape of torchvision's resnet18 with BatchNormalization folded, at
 * a third of its width): input `image float32[1, 3, size, size]`, a 3x3 stride-2 stem, three
 * stages of two basic blocks (Conv-Relu-Conv + identity or 1x1 stride-2 projection, residual Add,
 * Relu) at 32, 64 and 128 channels, GlobalAveragePool, Flatten, Gemm to 10 classes. Seeded He
 * weights (about 0.7 M parameters), built with our own encoder. About 240 M multiply-adds at 96x96.
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../onnx/types';
import { gaussian } from '../compress/testing/fixtures';
import { seeded } from './random';

export const RESNET_INPUT = 'image';

export function resnetLikeModel(size = 96, seed = 18): Model {
  const rng = seeded(seed);
  const inits: Tensor[] = [];
  const nodes: Node[] = [];
  const conv = (name: string, x: string, cin: number, cout: number, k: number, stride: number): string => {
    const p = (k - 1) >> 1;
    inits.push(
      makeTensor(`${name}.weight`, DataType.FLOAT, [cout, cin, k, k], gaussian(rng, cout * cin * k * k, Math.sqrt(2 / (cin * k * k)))),
      makeTensor(`${name}.bias`, DataType.FLOAT, [cout], gaussian(rng, cout, 0.05)),
    );
    const attrs = [attr.ints('kernel_shape', [k, k]), attr.ints('strides', [stride, stride]), attr.ints('pads', [p, p, p, p])];
    nodes.push(makeNode('Conv', [x, `${name}.weight`, `${name}.bias`], [`${name}.out`], attrs, { name }));
    return `${name}.out`;
  };
  const relu = (name: string, x: string): string => {
    nodes.push(makeNode('Relu', [x], [`${name}.relu`], [], { name: `${name}.act` }));
    return `${name}.relu`;
  };
  let x = relu('stem', conv('stem', RESNET_INPUT, 3, 32, 3, 2));
  let c = 32;
  for (const [stage, width] of [32, 64, 128].entries()) {
    for (let block = 0; block < 2; block++) {
      const name = `layer${stage + 1}.${block}`;
      const stride = stage > 0 && block === 0 ? 2 : 1;
      const h = relu(`${name}.conv1`, conv(`${name}.conv1`, x, c, width, 3, stride));
      const y = conv(`${name}.conv2`, h, width, width, 3, 1);
      const skip = stride !== 1 || c !== width ? conv(`${name}.downsample`, x, c, width, 1, stride) : x;
      nodes.push(makeNode('Add', [y, skip], [`${name}.sum`], [], { name: `${name}.add` }));
      x = relu(name, `${name}.sum`);
      c = width;
    }
  }
  inits.push(makeTensor('fc.weight', DataType.FLOAT, [10, c], gaussian(rng, 10 * c, Math.sqrt(1 / c))), makeTensor('fc.bias', DataType.FLOAT, [10], gaussian(rng, 10, 0.05)));
  nodes.push(
    makeNode('GlobalAveragePool', [x], ['pooled'], [], { name: 'avgpool' }),
    makeNode('Flatten', ['pooled'], ['flat'], [attr.int('axis', 1)], { name: 'flatten' }),
    makeNode('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], [attr.int('transB', 1)], { name: 'fc' }),
  );
  const graph = makeGraph({
    name: 'resnet-like',
    inputs: [makeValueInfo(RESNET_INPUT, DataType.FLOAT, [1, 3, size, size])],
    outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 10])],
    initializers: inits,
    nodes,
  });
  return makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'onnx-compression-studio tests', graph });
}
