/** A model whose nodes are not in topological order, as real exports edited by tools come (src/onnx/topo.ts). */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model } from '../onnx/types';

/**
 * x -> Conv -> Cast(fp16) -> Resize -> Cast(fp32) -> Concat -> Conv -> y, listed as a float16
 * converter left IS-Net: the Casts and the Resize at the end of the node list, after the Concat
 * that reads them (onnxruntime runs it), and an If whose branch reads a value made by a node
 * listed after it.
 */
export function unsortedModel(withIf = true): Model {
  const w = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(i + name.length)));
  const then = makeGraph({ nodes: [makeNode('Relu', ['late'], ['t'], [], { name: 'then_relu' })], initializers: [], inputs: [], outputs: [makeValueInfo('t', DataType.FLOAT)] });
  const other = makeGraph({ nodes: [makeNode('Neg', ['late'], ['e'], [], { name: 'else_neg' })], initializers: [], inputs: [], outputs: [makeValueInfo('e', DataType.FLOAT)] });
  const graph = makeGraph({
    nodes: [
      makeNode('Conv', ['x', 'w1'], ['a'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv1' }),
      makeNode('Concat', ['c32', 'c32'], ['cat'], [attr.int('axis', 1)], { name: 'concat' }),
      makeNode('Conv', ['cat', 'w2'], ['y'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'conv2' }),
      ...(withIf ? [makeNode('If', ['flag'], ['z'], [attr.graph('then_branch', then), attr.graph('else_branch', other)], { name: 'branch' })] : []),
      makeNode('ReduceMean', ['y'], ['late'], [attr.int('keepdims', 1)], { name: 'late' }),
      makeNode('Cast', ['a'], ['a16'], [attr.int('to', DataType.FLOAT16)], { name: 'cast_in' }),
      makeNode('Resize', ['a16', '', 'scales'], ['r16'], [attr.string('mode', 'nearest')], { name: 'resize' }),
      makeNode('Cast', ['r16'], ['c32'], [attr.int('to', DataType.FLOAT)], { name: 'cast_out' }),
    ],
    initializers: [w('w1', [4, 3, 3, 3]), w('w2', [2, 8, 3, 3]), makeTensor('scales', DataType.FLOAT, [4], Float32Array.of(1, 1, 2, 2))],
    inputs: [makeValueInfo('x', DataType.FLOAT, [1, 3, 4, 4]), ...(withIf ? [makeValueInfo('flag', DataType.BOOL, [])] : [])],
    outputs: [makeValueInfo('y', DataType.FLOAT), ...(withIf ? [makeValueInfo('z', DataType.FLOAT)] : [])],
  });
  return makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
}
