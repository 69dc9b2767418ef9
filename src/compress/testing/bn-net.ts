/** A model with a BatchNormalization before a recovered Conv (data-free bias correction, recovery/bn-stats.ts). */
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model, type Node } from '../../onnx/types';
import { gaussian } from './fixtures';

/**
 * x [1, 4, 12, 12] ~ N(0, 1) → 1x1 Conv 4→8 → BatchNorm (its running statistics those of the Conv's
 * output on such inputs: mean b, variance Σ w²) → activation → 3x3 Conv 8→6 (no padding) → y.
 */
export function bnNet(activation: 'Relu' | 'Clip' | 'none', folded = false): Model {
  const rng = seeded(11);
  const w1 = gaussian(rng, 8 * 4, 0.8);
  const b1 = gaussian(rng, 8, 0.5);
  const variance = Float32Array.from({ length: 8 }, (_, c) => w1.slice(c * 4, c * 4 + 4).reduce((s, v) => s + v * v, 0));
  const gamma = Float32Array.from({ length: 8 }, () => 0.5 + rng());
  const beta = Float32Array.from({ length: 8 }, () => rng() * 2 - 0.5);
  const inits = [
    makeTensor('w1', DataType.FLOAT, [8, 4, 1, 1], w1),
    makeTensor('b1', DataType.FLOAT, [8], b1),
    makeTensor('gamma', DataType.FLOAT, [8], gamma),
    makeTensor('beta', DataType.FLOAT, [8], beta),
    makeTensor('mean', DataType.FLOAT, [8], b1),
    makeTensor('var', DataType.FLOAT, [8], variance),
    makeTensor('w2', DataType.FLOAT, [6, 8, 3, 3], gaussian(rng, 6 * 8 * 9, 0.3)),
    makeTensor('b2', DataType.FLOAT, [6], gaussian(rng, 6, 0.1)),
    makeTensor('lo', DataType.FLOAT, [], Float32Array.of(0)),
    makeTensor('hi', DataType.FLOAT, [], Float32Array.of(1)),
  ];
  const nodes: Node[] = [makeNode('Conv', ['x', 'w1', 'b1'], ['c1'], [], { name: 'conv1' })];
  nodes.push(folded ? makeNode('Identity', ['c1'], ['bn'], [], { name: 'id' }) : makeNode('BatchNormalization', ['c1', 'gamma', 'beta', 'mean', 'var'], ['bn'], [attr.float('epsilon', 0)], { name: 'bn' }));
  if (activation === 'Relu') nodes.push(makeNode('Relu', ['bn'], ['a'], [], { name: 'relu' }));
  else if (activation === 'Clip') nodes.push(makeNode('Clip', ['bn', 'lo', 'hi'], ['a'], [], { name: 'clip' }));
  else nodes.push(makeNode('Identity', ['bn'], ['a'], [], { name: 'same' }));
  nodes.push(makeNode('Conv', ['a', 'w2', 'b2'], ['y'], [], { name: 'conv2' }));
  const graph = makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('x', DataType.FLOAT, [1, 4, 12, 12])], outputs: [makeValueInfo('y', DataType.FLOAT, [1, 6, 10, 10])] });
  return makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
}

