import { describe, expect, it } from 'vitest';
import { nodeDetails, tensorStatsOf } from './inspect';
import { inspectFixture as model } from './testing/inspect-fixture';

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
