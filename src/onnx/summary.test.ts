import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import { attr, makeGraph, makeModel, makeNode, makeSparseTensor, makeValueInfo, tensorType } from './build';
import { decodeModel, encodeModel } from './codec';
import { loadModel, type LoadedModel } from './load';
import { summarizeModel } from './summary';
import { makeTensor } from './tensor';
import { DataType, type Model } from './types';

const F = DataType.FLOAT;
const I64 = DataType.INT64;

function richModel(): Model {
  const thenBranch = makeGraph({
    nodes: [makeNode('MatMul', ['x2', 'W_sub'], ['t'], [], { name: 'sub_mm' })],
    initializers: [makeTensor('W_sub', F, [2, 2], [1, 2, 3, 4])],
    outputs: [makeValueInfo('t', F, [2, 2])],
  });
  const elseBranch = makeGraph({ nodes: [makeNode('Identity', ['x2'], ['t'])], outputs: [makeValueInfo('t', F, [2, 2])] });
  const graph = makeGraph({
    nodes: [
      makeNode('Gemm', ['x', 'W', 'b'], ['h'], [attr.int('transB', 0)], { name: 'fc' }),
      makeNode('Constant', [], ['cf'], [attr.floats('value_floats', [1, 2, 3, 4, 5])]),
      makeNode('Constant', [], ['ci'], [attr.int('value_int', 7)]),
      makeNode('Constant', [], ['cs'], [attr.sparseTensor('sparse_value', makeSparseTensor(makeTensor('cs', F, [2], [1, 2]), makeTensor('cs_i', I64, [2], [0, 3]), [2, 2]))]),
      makeNode('If', ['cond'], ['t'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)]),
      makeNode('MatMul', ['x', 'S'], ['s'], [], { domain: '' }),
      makeNode('Relu', ['h'], ['y']),
    ],
    initializers: [makeTensor('W', F, [3, 4], new Array(12).fill(0.5)), makeTensor('b', F, [4], [0, 0, 0, 0])],
    sparseInitializers: [makeSparseTensor(makeTensor('S', F, [3], [1, 2, 3]), makeTensor('S_idx', I64, [3], [0, 11, 99]), [10, 10])],
    inputs: [
      makeValueInfo('x', F, ['N', 3]),
      makeValueInfo('img', F, ['batch', 3, null, 224]),
      makeValueInfo('cond', DataType.BOOL, []),
      makeValueInfo('b', F, [4]), // IR 3 style: an initializer listed as an input too
    ],
    outputs: [
      makeValueInfo('y', F, undefined),
      { name: 'seq', type: { sequenceType: { elemType: tensorType(I64, [2]) } }, metadataProps: [] },
    ],
  });
  return makeModel({
    graph,
    irVersion: 9,
    producerName: 'pytorch',
    producerVersion: '2.4.0',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ],
    metadataProps: [
      { key: 'author', value: 'me' },
      { key: '__proto__', value: 'still a plain key' },
    ],
  });
}

describe('summarizeModel', () => {
  it('gives the inspect summary: I/O with symbolic dims, counts over all graphs, params of every stored tensor, layers', () => {
    const bytes = encodeModel(richModel());
    const s = summarizeModel(loadModel(bytes, { fileName: 'rich.onnx' }));
    expect(s.fileName).toBe('rich.onnx');
    expect(s.fileSize).toBe(bytes.length);
    expect(s.irVersion).toBe(9);
    expect(s.producer).toEqual({ name: 'pytorch', version: '2.4.0' });
    expect(s.opsets).toEqual({ '': 17, 'com.microsoft': 1 });
    expect(s.inputs).toEqual([
      { name: 'x', dtype: 'float32', shape: ['N', 3] },
      { name: 'img', dtype: 'float32', shape: ['batch', 3, '?', 224] },
      { name: 'cond', dtype: 'bool', shape: [] },
    ]);
    expect(s.outputs).toEqual([
      { name: 'y', dtype: 'float32', shape: null },
      { name: 'seq', dtype: 'sequence<int64>', shape: null },
    ]);
    expect(s.nodeCount).toBe(9);
    expect(s.graphCount).toBe(3);
    expect(s.opCounts).toEqual({ Constant: 3, MatMul: 2, Gemm: 1, Identity: 1, If: 1, Relu: 1 });
    expect(Object.keys(s.opCounts)[0]).toBe('Constant');
    // W 12 + b 4 + S 100 (dense) + value_floats 5 + value_int 1 + sparse_value 4 + W_sub 4
    expect(s.params).toBe(130);
    // 48 + 16 + (12 + 24) + 20 + 8 + (8 + 16) + 16
    expect(s.weightBytes).toBe(168);
    expect(s.layers).toEqual([
      {
        key: 'fc', op: 'Gemm', domain: '', graph: 'main', params: 16,
        weights: [
          { name: 'W', dtype: 'float32', shape: [3, 4], role: 'weight', source: 'initializer', via: [] },
          { name: 'b', dtype: 'float32', shape: [4], role: 'bias', source: 'initializer', via: [] },
        ],
      },
      {
        key: 'MatMul_5', op: 'MatMul', domain: '', graph: 'main', params: 100,
        weights: [{ name: 'S', dtype: 'float32', shape: [10, 10], role: 'weight', source: 'sparse', via: [] }],
      },
      {
        key: 'sub_mm', op: 'MatMul', domain: '', graph: 'If_4/then_branch', params: 4,
        weights: [{ name: 'W_sub', dtype: 'float32', shape: [2, 2], role: 'weight', source: 'initializer', via: [] }],
      },
    ]);
    expect(s.metadata.author).toBe('me');
    expect(Object.keys(s.metadata)).toContain('__proto__');
    expect(JSON.parse(JSON.stringify(s)).metadata).toEqual({ author: 'me', ['__proto__']: 'still a plain key' });
    expect(s.renamedNodes).toBe(7); // 6 in the main graph, the Identity in else_branch
  });

  it('survives odd dims: negative, huge, missing types', () => {
    const graph = makeGraph({
      nodes: [makeNode('MatMul', ['x', 'W'], ['y']), makeNode('Constant', [], ['c'], [attr.tensor('value', { ...makeTensor('c', F, [1], [1]), dims: [-3, 2] })])],
      initializers: [
        { ...makeTensor('W', F, [1], [1]), dims: [2 ** 40, 2 ** 40, 2 ** 40] },
        { ...makeTensor('neg', F, [1], [1]), dims: [-1] },
        { ...makeTensor('nodata', F, [1], [1]), rawData: undefined, dims: [5] },
      ],
      inputs: [{ name: 'x', metadataProps: [] }, makeValueInfo('z', F, [-5, 0])],
      outputs: [{ name: 'y', type: { tensorType: {} }, metadataProps: [] }],
    });
    const model = decodeModel(encodeModel(makeModel({ graph, opsetImport: [{ version: 13 }] })));
    const loaded: LoadedModel = { model, fileName: 'odd.onnx', fileSize: 1, renamedNodes: 0 };
    const s = summarizeModel(loaded);
    expect(s.params).toBe(Number.MAX_SAFE_INTEGER);
    expect(Number.isSafeInteger(s.weightBytes)).toBe(true);
    expect(s.inputs).toEqual([
      { name: 'x', dtype: '?', shape: null },
      { name: 'z', dtype: 'float32', shape: [-5, 0] },
    ]);
    expect(s.outputs).toEqual([{ name: 'y', dtype: '?', shape: null }]);
    expect(s.opsets).toEqual({ '': 13 });
    expect(s.layers[0].params).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('never throws an untyped error on mutated files: each is a summary or an AppError', () => {
    const original = encodeModel(richModel());
    let seed = 99;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    let summaries = 0;
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const buf = original.slice();
      const edits = 1 + (rnd() % 4);
      for (let k = 0; k < edits; k++) buf[rnd() % buf.length] = rnd() & 255;
      const cut = i % 5 === 0 ? buf.subarray(0, rnd() % buf.length) : buf;
      let loaded: LoadedModel;
      try {
        loaded = loadModel(cut);
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        errors++;
        continue;
      }
      const s = summarizeModel(loaded);
      expect(typeof JSON.stringify(s)).toBe('string');
      summaries++;
    }
    expect(summaries).toBeGreaterThan(100);
    expect(errors).toBeGreaterThan(100);
  });
});

describe('summarizeModel: shared weights', () => {
  it('a layer reading a weight an earlier layer reads (directly, behind an Identity or a Transpose) names that layer; the first reader names none', () => {
    const w = makeTensor('w', DataType.FLOAT, [4, 4], new Float32Array(16).fill(0.5));
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['a'], [], { name: 'first' }),
          makeNode('Identity', ['w'], ['w_id'], [], { name: 'dedup' }),
          makeNode('MatMul', ['a', 'w_id'], ['b'], [], { name: 'again' }),
          makeNode('Transpose', ['w'], ['w_t'], [attr.ints('perm', [1, 0])], { name: 'tie' }),
          makeNode('MatMul', ['b', 'w_t'], ['c'], [], { name: 'transposed' }),
        ],
        initializers: [w],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 4])],
        outputs: [makeValueInfo('c', DataType.FLOAT, [1, 4])],
      }),
    });
    const s = summarizeModel(loadModel(encodeModel(model), { fileName: 'tied.onnx' }));
    expect(s.layers.map((l) => [l.key, l.sharedWith])).toEqual([
      ['first', undefined],
      ['again', 'first'],
      ['transposed', 'first'],
    ]);
  });

  it("a layer reading a duplicate initializer (the same bytes, or a table's transposed copy as torch folds `weight.t()`) names the first reader of the original", () => {
    const [V, D] = [40, 32];
    const table = Float32Array.from({ length: V * D }, (_, i) => Math.sin(i));
    const t = new Float32Array(V * D);
    for (let i = 0; i < V; i++) for (let j = 0; j < D; j++) t[j * V + i] = table[i * D + j];
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('Gather', ['wte', 'ids'], ['e'], [], { name: 'embed' }),
          makeNode('MatMul', ['e', 'head_t'], ['logits'], [], { name: 'lm_head' }),
          makeNode('Gather', ['wte_again', 'ids'], ['e2'], [], { name: 'embed_again' }),
        ],
        initializers: [makeTensor('wte', DataType.FLOAT, [V, D], table), makeTensor('head_t', DataType.FLOAT, [D, V], t), makeTensor('wte_again', DataType.FLOAT, [V, D], table)],
        inputs: [makeValueInfo('ids', DataType.INT64, [1, 3])],
        outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 3, V]), makeValueInfo('e2', DataType.FLOAT, [1, 3, D])],
      }),
    });
    const s = summarizeModel(loadModel(encodeModel(model), { fileName: 'folded.onnx' }));
    expect(s.layers.map((l) => [l.key, l.sharedWith])).toEqual([
      ['embed', undefined],
      ['lm_head', 'embed'],
      ['embed_again', 'embed'],
    ]);
  });
});
