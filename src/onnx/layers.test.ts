import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeSparseTensor, makeValueInfo } from './build';
import { decodeModel, encodeModel } from './codec';
import { findLayers, type Layer } from './layers';
import { assignNodeNames } from './names';
import { makeTensor } from './tensor';
import { DataLocation, DataType, type Model, type Tensor } from './types';

const F = DataType.FLOAT;
const I64 = DataType.INT64;
const seq = (n: number, scale = 0.1) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) * scale);
const f32 = (name: string, dims: number[]) => makeTensor(name, F, dims, seq(dims.reduce((a, b) => a * b, 1)));
const named = (name: string) => ({ name });

/** A runnable model with weights behind Constant, Transpose, Cast/Reshape, Cast/Mul, DequantizeLinear, and in an If's branches. */
function mixedModel(): Model {
  const thenBranch = makeGraph({
    name: 'then',
    nodes: [makeNode('MatMul', ['h3', 'W_outer'], ['t'], [], named('mm_then'))],
    outputs: [makeValueInfo('t', F, [2, 4])],
  });
  const elseBranch = makeGraph({
    name: 'else',
    nodes: [makeNode('Identity', ['W_sub'], ['W_sub_id']), makeNode('MatMul', ['h3', 'W_sub_id'], ['t'], [], named('mm_else'))],
    initializers: [f32('W_sub', [4, 4])],
    outputs: [makeValueInfo('t', F, [2, 4])],
  });
  const graph = makeGraph({
    nodes: [
      makeNode('Constant', [], ['wc'], [attr.tensor('value', f32('wc', [4, 4]))], named('k')),
      makeNode('Transpose', ['wc'], ['wcT'], [attr.ints('perm', [1, 0])]),
      makeNode('MatMul', ['x', 'wcT'], ['h1'], [], named('mm_const')),
      makeNode('Cast', ['w16'], ['w16f'], [attr.int('to', F)]),
      makeNode('Reshape', ['w16f', 'shape44'], ['w16r']),
      makeNode('Gemm', ['h1', 'w16r', 'bias'], ['h2'], [], named('gemm_cast')),
      makeNode('Gather', ['emb', 'ids'], ['e'], [], named('embed')),
      makeNode('Add', ['h2', 'e'], ['h3']),
      makeNode('Gather', ['int_table', 'ids'], ['g_int'], [], named('gather_ints')),
      makeNode('If', ['cond'], ['t'], [attr.graph('then_branch', thenBranch), attr.graph('else_branch', elseBranch)], named('branch')),
      makeNode('Cast', ['q8'], ['q8f'], [attr.int('to', F)]),
      makeNode('Mul', ['q8f', 'q8_scale'], ['deq']),
      makeNode('MatMul', ['t', 'deq'], ['y1'], [], named('mm_deq')),
      makeNode('DequantizeLinear', ['q8b', 'q8_scale', 'q8_zp'], ['dq']),
      makeNode('MatMul', ['y1', 'dq'], ['y'], [], named('mm_dq')),
      makeNode('Transpose', ['y1'], ['y1T']),
      makeNode('MatMul', ['y', 'y1T'], ['act'], [], named('mm_activations')),
    ],
    initializers: [
      makeTensor('w16', DataType.FLOAT16, [16], seq(16, 0.25)),
      makeTensor('shape44', I64, [2], [4, 4]),
      f32('bias', [4]),
      f32('emb', [10, 4]),
      makeTensor('int_table', I64, [10], seq(10, 1)),
      f32('W_outer', [4, 4]),
      makeTensor('q8', DataType.INT8, [4, 4], seq(16, 10)),
      makeTensor('q8b', DataType.INT8, [4, 4], seq(16, 20)),
      makeTensor('q8_scale', F, [], [0.05]),
      makeTensor('q8_zp', DataType.INT8, [], [0]),
    ],
    inputs: [makeValueInfo('x', F, [2, 4]), makeValueInfo('ids', I64, [2]), makeValueInfo('cond', DataType.BOOL, [])],
    outputs: [makeValueInfo('y', F, [2, 4]), makeValueInfo('g_int', I64, [2]), makeValueInfo('act', F, [2, 2])],
  });
  return makeModel({ graph });
}

const brief = (l: Layer) => ({
  key: l.key,
  op: l.op,
  graphPath: l.graphPath,
  params: l.params,
  weights: l.weights.map((w) => ({ name: w.name, role: w.role, dtype: w.dtype, shape: w.shape, source: w.source, via: w.via, storedIn: w.storedIn })),
});

describe('findLayers', () => {
  it('finds weights through Constant nodes, shape-only chains, dequantization and outer scopes', async () => {
    const bytes = encodeModel(mixedModel());
    // the model is valid: onnxruntime runs it
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({
      x: new ort.Tensor('float32', Float32Array.from(seq(8)), [2, 4]),
      ids: new ort.Tensor('int64', BigInt64Array.from([1n, 7n]), [2]),
      cond: new ort.Tensor('bool', Uint8Array.from([1]), []),
    });
    expect(out.y.dims).toEqual([2, 4]);

    const model = decodeModel(bytes);
    assignNodeNames(model);
    const layers = findLayers(model).map(brief);
    expect(layers).toEqual([
      {
        key: 'mm_const', op: 'MatMul', graphPath: 'main', params: 16,
        weights: [{ name: 'wc', role: 'weight', dtype: 'float32', shape: [4, 4], source: 'constant', via: ['Transpose'], storedIn: 'main' }],
      },
      {
        key: 'gemm_cast', op: 'Gemm', graphPath: 'main', params: 20,
        weights: [
          { name: 'w16', role: 'weight', dtype: 'float16', shape: [16], source: 'initializer', via: ['Cast', 'Reshape'], storedIn: 'main' },
          { name: 'bias', role: 'bias', dtype: 'float32', shape: [4], source: 'initializer', via: [], storedIn: 'main' },
        ],
      },
      {
        key: 'embed', op: 'Gather', graphPath: 'main', params: 40,
        weights: [{ name: 'emb', role: 'weight', dtype: 'float32', shape: [10, 4], source: 'initializer', via: [], storedIn: 'main' }],
      },
      {
        key: 'mm_deq', op: 'MatMul', graphPath: 'main', params: 16,
        weights: [{ name: 'q8', role: 'weight', dtype: 'int8', shape: [4, 4], source: 'initializer', via: ['Cast', 'Mul'], storedIn: 'main' }],
      },
      {
        key: 'mm_dq', op: 'MatMul', graphPath: 'main', params: 16,
        weights: [{ name: 'q8b', role: 'weight', dtype: 'int8', shape: [4, 4], source: 'initializer', via: ['DequantizeLinear'], storedIn: 'main' }],
      },
      {
        key: 'mm_then', op: 'MatMul', graphPath: 'branch/then_branch', params: 16,
        weights: [{ name: 'W_outer', role: 'weight', dtype: 'float32', shape: [4, 4], source: 'initializer', via: [], storedIn: 'main' }],
      },
      {
        key: 'mm_else', op: 'MatMul', graphPath: 'branch/else_branch', params: 16,
        weights: [{ name: 'W_sub', role: 'weight', dtype: 'float32', shape: [4, 4], source: 'initializer', via: ['Identity'], storedIn: 'branch/else_branch' }],
      },
    ]);
    // references reach the stored objects
    const found = findLayers(model);
    const gemm = found.find((l) => l.key === 'gemm_cast');
    expect(gemm?.weights[0].owner).toEqual({ kind: 'initializer', graph: model.graph, index: 0 });
    expect(gemm?.weights[0].tensor).toBe(model.graph?.initializers[0]);
    expect(gemm?.node).toBe(model.graph?.nodes[5]);
    const mmConst = found.find((l) => l.key === 'mm_const');
    expect(mmConst?.weights[0].owner).toMatchObject({ kind: 'constant', attribute: 'value', node: model.graph?.nodes[0] });
    expect(mmConst?.weights[0].viaNodes).toEqual([model.graph?.nodes[1]]);
  });

  it('finds recurrent, quantized, sparse, external, custom-domain and Loop-body weights', () => {
    const ext: Tensor = {
      ...f32('W_ext', [8, 8]),
      rawData: undefined,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'w.bin' },
        { key: 'offset', value: '0' },
        { key: 'length', value: '256' },
      ],
    };
    const sparse = makeSparseTensor(makeTensor('W_sparse', F, [3], [1, 2, 3]), makeTensor('W_sparse_idx', I64, [3], [0, 5, 9]), [4, 4]);
    const loopBody = makeGraph({
      nodes: [
        makeNode('Unsqueeze', ['vf', 'axes0'], ['vf2']),
        makeNode('MatMul', ['state', 'vf2'], ['state_out'], [], named('mm_loop')),
      ],
      inputs: [makeValueInfo('i', I64, []), makeValueInfo('c', DataType.BOOL, []), makeValueInfo('state', F, [1, 4])],
      outputs: [makeValueInfo('c', DataType.BOOL, []), makeValueInfo('state_out', F, [1, 1])],
    });
    const graph = makeGraph({
      nodes: [
        makeNode('LSTM', ['x', 'lw', 'lr', 'lb'], ['ly'], [attr.int('hidden_size', 2)], named('lstm')),
        makeNode('MatMul', ['x', 'W_ext'], ['e1'], [], named('mm_ext')),
        makeNode('MatMul', ['x', 'W_sparse'], ['e2'], [], named('mm_sparse')),
        makeNode(
          'MatMulNBits',
          ['x', 'nb_w', 'nb_s'],
          ['e3'],
          [attr.int('K', 32), attr.int('N', 4), attr.int('bits', 4), attr.int('block_size', 32)],
          { name: 'nbits', domain: 'com.microsoft' },
        ),
        makeNode('FancyDense', ['x', 'W_custom', 'axes0'], ['e4'], [], { name: 'custom', domain: 'my.ops' }),
        makeNode('Constant', [], ['vf'], [attr.floats('value_floats', [1, 2, 3, 4])]),
        makeNode('Constant', [], ['axes0'], [attr.ints('value_ints', [1])]),
        makeNode('Loop', ['', 'cond', 's0'], ['s_final'], [attr.graph('body', loopBody)], named('loop')),
        makeNode('Conv', ['x', 'dynamic_w'], ['e5'], [], named('conv_dynamic')),
        makeNode('Add', ['x', 'W_custom'], ['e6'], [], named('add_not_a_layer')),
      ],
      initializers: [
        f32('lw', [1, 8, 3]),
        f32('lr', [1, 8, 2]),
        f32('lb', [1, 16]),
        ext,
        makeTensor('nb_w', DataType.UINT8, [4, 1, 16], new Array(64).fill(0x88)),
        f32('nb_s', [4, 1]),
        f32('W_custom', [4, 4]),
      ],
      sparseInitializers: [sparse],
    });
    const model = makeModel({ graph });
    assignNodeNames(model);
    const layers = findLayers(model);
    expect(layers.map((l) => l.key)).toEqual(['lstm', 'mm_ext', 'mm_sparse', 'nbits', 'custom', 'mm_loop']);
    const by = (k: string) => layers.find((l) => l.key === k) as Layer;
    expect(by('lstm').weights.map((w) => [w.name, w.role])).toEqual([
      ['lw', 'weight'],
      ['lr', 'weight'],
      ['lb', 'bias'],
    ]);
    expect(by('lstm').params).toBe(24 + 16 + 16);
    expect(by('mm_ext').weights[0]).toMatchObject({ source: 'external', shape: [8, 8], elements: 64 });
    expect(by('mm_sparse').weights[0]).toMatchObject({ source: 'sparse', shape: [4, 4], elements: 16, owner: { kind: 'sparse-initializer', index: 0 } });
    expect(by('nbits')).toMatchObject({ op: 'MatMulNBits', domain: 'com.microsoft' });
    expect(by('nbits').weights.map((w) => [w.name, w.role, w.dtype])).toEqual([
      ['nb_w', 'weight', 'uint8'],
      ['nb_s', 'other', 'float32'],
    ]);
    expect(by('custom').weights.map((w) => [w.name, w.role])).toEqual([
      ['W_custom', 'weight'],
      ['axes0', 'other'],
    ]);
    expect(by('mm_loop')).toMatchObject({ graphPath: 'loop/body' });
    expect(by('mm_loop').weights[0]).toMatchObject({
      name: 'vf', source: 'constant', dtype: 'float32', shape: [4], via: ['Unsqueeze'], storedIn: 'main', owner: { kind: 'constant', attribute: 'value_floats' },
    });
    expect(Array.from(new Float32Array(by('mm_loop').weights[0].tensor?.rawData?.slice().buffer ?? new ArrayBuffer(0)))).toEqual([1, 2, 3, 4]);
  });

  it('does not loop forever on a cycle of pass-through ops', () => {
    const graph = makeGraph({
      nodes: [
        makeNode('Identity', ['b'], ['a']),
        makeNode('Identity', ['a'], ['b']),
        makeNode('MatMul', ['x', 'a'], ['y'], [], named('mm')),
      ],
    });
    expect(findLayers(makeModel({ graph }))).toEqual([]);
  });

  it('is fast on a 6,000-node graph', () => {
    const nodes = [];
    const inits = [];
    for (let i = 0; i < 2000; i++) {
      inits.push(makeTensor(`w${i}`, F, [2, 2], [1, 0, 0, 1]));
      nodes.push(makeNode('Transpose', [`w${i}`], [`wt${i}`]));
      nodes.push(makeNode('MatMul', [`h${i}`, `wt${i}`], [`m${i}`]));
      nodes.push(makeNode('Relu', [`m${i}`], [`h${i + 1}`]));
    }
    const model = makeModel({ graph: makeGraph({ nodes, initializers: inits }) });
    assignNodeNames(model);
    let best = Infinity;
    let layers: Layer[] = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      layers = findLayers(model);
      best = Math.min(best, performance.now() - t0);
    }
    expect(best).toBeLessThan(500); // linear: about 10 ms on an idle core
    expect(layers).toHaveLength(2000);
    expect(layers[1999].weights[0].name).toBe('w1999');
  });
});
