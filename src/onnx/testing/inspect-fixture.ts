/** The inspector's fixture model, shared by src/onnx/inspect.test.ts and src/compress/project-recipe.test.ts. */
import { attr, makeGraph, makeModel, makeNode, makeSparseTensor, makeValueInfo } from '../build';
import { encodeModel } from '../codec';
import { loadModel } from '../load';
import { makeTensor } from '../tensor';
import { DataType } from '../types';

/** A Conv layer with attributes of many kinds, a BatchNormalization, an If with a subgraph, a Constant. */
export function inspectFixture() {
  const thenBranch = makeGraph({
    name: 'then',
    nodes: [makeNode('Identity', ['n'], ['t_out'], [], { name: 'then_id' }), makeNode('Relu', ['t_out'], ['t2'], [], { name: 'then_relu' })],
    outputs: [makeValueInfo('t2', DataType.FLOAT, [1, 2, 4, 4])],
  });
  const elseBranch = makeGraph({ name: 'else', nodes: [makeNode('Identity', ['n'], ['e_out'], [], { name: 'else_id' })], outputs: [makeValueInfo('e_out')] });
  const w = Float32Array.from({ length: 2 * 1 * 3 * 3 }, (_, i) => (i % 3 === 0 ? 0 : i - 9));
  const graph = makeGraph({
    nodes: [
      makeNode(
        'Conv',
        ['x', 'conv.w', 'conv.b'],
        ['c'],
        [
          attr.ints('pads', [1, 1, 1, 1]),
          attr.int('group', 1),
          attr.floats('fake_floats', [0.1, 2.5]),
          attr.string('auto_pad', 'NOTSET'),
          attr.strings('tags', ['a', 'b']),
          attr.tensor('t', makeTensor('t', DataType.INT64, [2], [3, 4])),
          attr.float('alpha', 0.30000001192092896),
        ],
        { name: '/enc/conv/Conv', docString: 'the first conv' },
      ),
      makeNode('BatchNormalization', ['c', 'bn.s', 'bn.b', 'bn.m', 'bn.v'], ['n'], [attr.float('epsilon', 1e-5)], { name: '/enc/bn' }),
      makeNode('Constant', [], ['shape'], [attr.tensor('value', makeTensor('shape', DataType.INT64, [2], [1, -1]))], { name: 'const_shape' }),
      makeNode('If', ['cond'], ['y'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)], { name: 'branch' }),
      makeNode('Reshape', ['y', 'shape'], ['flat'], [], { name: 'reshape' }),
      makeNode('Gather', ['emb', 'ids'], ['g'], [], { name: 'gather_sparse' }),
    ],
    initializers: [
      makeTensor('conv.w', DataType.FLOAT, [2, 1, 3, 3], w),
      makeTensor('conv.b', DataType.FLOAT, [2], [0.5, -0.5]),
      makeTensor('bn.s', DataType.FLOAT, [2], [1, 1]),
      makeTensor('bn.b', DataType.FLOAT, [2], [0, 0]),
      makeTensor('bn.m', DataType.FLOAT, [2], [0, 0]),
      makeTensor('bn.v', DataType.FLOAT, [2], [1, 1]),
    ],
    sparseInitializers: [
      makeSparseTensor(makeTensor('emb', DataType.FLOAT, [2], [3, -1]), makeTensor('emb_idx', DataType.INT64, [2], [1, 6]), [4, 5]),
    ],
    inputs: [makeValueInfo('x', DataType.FLOAT, ['batch', 1, 4, 4]), makeValueInfo('cond', DataType.BOOL, []), makeValueInfo('ids', DataType.INT64, [3])],
    outputs: [makeValueInfo('flat', DataType.FLOAT, [1, null]), makeValueInfo('g', DataType.FLOAT, [3, 5])],
    valueInfo: [makeValueInfo('c', DataType.FLOAT, ['batch', 2, 4, 4])],
  });
  return loadModel(encodeModel(makeModel({ graph, opsetImport: [{ domain: '', version: 13 }] })), { fileName: 'm.onnx' });
}
