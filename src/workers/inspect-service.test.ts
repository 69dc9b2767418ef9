import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeSparseTensor, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { loadModel } from '../onnx/load';
import { makeTensor } from '../onnx/tensor';
import { DataType } from '../onnx/types';
import { makeRecipe } from '../compress/recipe';
import { nodeDetails, projectRecipe, tensorStatsOf } from './inspect-service';

/** A Conv layer with attributes of many kinds, a BatchNormalization, an If with a subgraph, a Constant. */
function model() {
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

describe('nodeDetails', () => {
  const loaded = model();

  it('shows a layer: attributes readably, shapes from value_info and graph inputs, weights with bytes', () => {
    const d = nodeDetails(loaded, '/enc/conv/Conv');
    expect(d).toMatchObject({ key: '/enc/conv/Conv', op: 'Conv', domain: '', graphPath: 'main', isLayer: true, params: 20, docString: 'the first conv' });
    const attrs = Object.fromEntries(d.attributes.map((a) => [a.name, `${a.type}: ${a.value}`]));
    expect(attrs).toEqual({
      pads: 'ints: [1, 1, 1, 1]',
      group: 'int: 1',
      fake_floats: 'floats: [0.1, 2.5]',
      auto_pad: 'string: "NOTSET"',
      tags: 'strings: ["a", "b"]',
      t: 'tensor: tensor int64 [2] = [3, 4]',
      alpha: 'float: 0.3',
    });
    expect(d.inputs).toEqual([
      { name: 'x', dtype: 'float32', shape: ['batch', 1, 4, 4], kind: 'graph-input' },
      { name: 'conv.w', dtype: 'float32', shape: [2, 1, 3, 3], kind: 'initializer' },
      { name: 'conv.b', dtype: 'float32', shape: [2], kind: 'initializer' },
    ]);
    expect(d.outputs).toEqual([{ name: 'c', dtype: 'float32', shape: ['batch', 2, 4, 4], kind: 'activation' }]);
    expect(d.weights.map((w) => [w.id, w.role, w.dtype, w.shape, w.bytes, w.elements])).toEqual([
      ['main|conv.w', 'weight', 'float32', [2, 1, 3, 3], 72, 18],
      ['main|conv.b', 'bias', 'float32', [2], 8, 2],
    ]);
    // tensors of up to 16 values come with their values
    expect(d.weights[1].values).toEqual([0.5, -0.5]);
    expect(d.weights[0].values).toBeUndefined();
  });

  it('shows the constant inputs of other nodes and subgraphs as "graph (N nodes)"', () => {
    const bn = nodeDetails(loaded, '/enc/bn');
    expect(bn.isLayer).toBe(false);
    expect(bn.weights.map((w) => [w.name, w.role, w.values])).toEqual([
      ['bn.s', 'constant', [1, 1]],
      ['bn.b', 'constant', [0, 0]],
      ['bn.m', 'constant', [0, 0]],
      ['bn.v', 'constant', [1, 1]],
    ]);
    const branch = nodeDetails(loaded, 'branch');
    expect(branch.attributes.map((a) => a.value)).toEqual(['graph "then" (2 nodes)', 'graph "else" (1 node)']);
    expect(branch.inputs[0]).toEqual({ name: 'cond', dtype: 'bool', shape: [], kind: 'graph-input' });
    const reshape = nodeDetails(loaded, 'reshape');
    expect(reshape.inputs[1]).toEqual({ name: 'shape', dtype: 'int64', shape: [2], kind: 'constant' });
    expect(reshape.weights[0]).toMatchObject({ name: 'shape', source: 'constant', values: [1, -1] });
    expect(reshape.outputs[0]).toMatchObject({ name: 'flat', shape: [1, '?'], isOutput: true });
  });

  it('finds nodes inside subgraphs, with outer-scope values', () => {
    const d = nodeDetails(loaded, 'then_id');
    expect(d.graphPath).toBe('branch/then_branch');
    expect(d.inputs[0]).toMatchObject({ name: 'n', kind: 'activation' });
    expect(d.outputs[0]).toMatchObject({ name: 't_out' });
    expect(() => nodeDetails(loaded, 'nope')).toThrow('No node is named "nope".');
    expect(() => nodeDetails(undefined, 'x')).toThrow('No model is open.');
  });
});

describe('tensorStatsOf', () => {
  it('computes statistics of a listed tensor once, and densifies sparse ones', () => {
    const loaded = model();
    const d = nodeDetails(loaded, '/enc/conv/Conv');
    const s = tensorStatsOf(loaded, d.weights[0].id);
    // values: i % 3 === 0 ? 0 : i - 9 for i in 0..17: zeros at 0,3,6,9,12,15
    const values = Array.from({ length: 18 }, (_, i) => (i % 3 === 0 ? 0 : i - 9));
    const mean = values.reduce((a, b) => a + b, 0) / 18;
    expect(s.count).toBe(18);
    expect(s.zeros).toBe(6);
    expect(s.sparsity).toBeCloseTo(1 / 3, 12);
    expect(s.min).toBe(-8);
    expect(s.max).toBe(8);
    expect(s.mean).toBeCloseTo(mean, 12);
    expect(s.histogram.counts).toHaveLength(64);
    expect(tensorStatsOf(loaded, d.weights[0].id)).toBe(s);
    expect(() => tensorStatsOf(loaded, 'main|never-shown')).toThrow(/No tensor/);

    const g = nodeDetails(loaded, 'gather_sparse');
    const emb = g.weights.find((w) => w.name === 'emb');
    expect(emb?.source).toBe('sparse');
    const es = tensorStatsOf(loaded, emb?.id ?? '');
    // 20 values, 2 of them stored (3 and -1), the rest zeros
    expect(es.count).toBe(20);
    expect(es.zeros).toBe(18);
    expect(es.min).toBe(-1);
    expect(es.max).toBe(3);
  });
});

describe('projectRecipe', () => {
  it('projects the open model under a recipe, with the focus layer', () => {
    const loaded = model();
    const r = projectRecipe(loaded, makeRecipe('portable', { weights: 'int8' }), '/enc/conv/Conv');
    // conv.w 72 B -> 18 codes + 2 scales (8 B) = 26 B (its bias stays: 8 B)
    expect(r.focus).toEqual({ key: '/enc/conv/Conv', before: 80, after: 34, zip: 34 });
    // the sparse Gather table (2 float values + 2 int64 indices = 24 B) is stored dense:
    // 20 codes + 4 row scales (16 B) = 36 B
    expect(r.after).toBe(r.before - 72 + 26 - 24 + 36);
    expect(() => projectRecipe(loaded, makeRecipe('portable', {}, { conv9: { weights: 'int4' } }))).toThrow('layers["conv9"]: names no layer of this model');
  });
});
