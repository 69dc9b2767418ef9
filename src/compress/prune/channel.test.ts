/**
 * Channel pruning against a reference: pruning channel c of a layer (and rewiring its consumers)
 * must give the same outputs as the unpruned model with that channel's filter and bias set to
 * zero, wherever the zero channel stays zero on its way to the consumers (Relu(0) = 0, pooling,
 * Pad with 0, Resize, a residual Add of two zeroed channels, a BatchNormalization whose scale and
 * shift are zeroed too). onnxruntime-node runs both; they agree to float rounding (1e-5 of the
 * largest output). Plus: exact counts, the selection by norm, groups, refusals.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { assignNodeNames } from '../../onnx/names';
import { makeTensor, tensorFloats } from '../../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../../onnx/types';
import { seeded, type Rng } from '../../testing/random';
import { runCleanup } from '../cleanup/cleanup';
import { floatFeeds, maxRelativeDifference, run, type Feeds } from '../cleanup/testing/ort-check';
import { cloneModel, collectNames, NameAllocator } from '../graph-edit';
import { gaussian, mlpFixture } from '../testing/fixtures';
import { channelPrune, floatParamCount, type ChannelPruneRequest, type ChannelPruneResult } from './channel';

// ---------------------------------------------------------------- building and running

class Builder {
  readonly nodes: Node[] = [];
  readonly inits: Tensor[] = [];
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = seeded(seed);
  }
  tensor(name: string, dims: number[], std = 0.4): string {
    this.inits.push(makeTensor(name, DataType.FLOAT, dims, gaussian(this.rng, dims.reduce((p, d) => p * d, 1), std)));
    return name;
  }
  positive(name: string, dims: number[]): string {
    this.inits.push(makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => 0.5 + this.rng())));
    return name;
  }
  floats(name: string, dims: number[], values: number[]): string {
    this.inits.push(makeTensor(name, DataType.FLOAT, dims, values));
    return name;
  }
  ints(name: string, values: number[]): string {
    this.inits.push(makeTensor(name, DataType.INT64, [values.length], values));
    return name;
  }
  node(op: string, name: string, inputs: string[], attrs: ReturnType<typeof attr.int>[] = [], outputs = [name]): string {
    this.nodes.push(makeNode(op, inputs, outputs, attrs, { name }));
    return outputs[0];
  }
  conv(name: string, x: string, cin: number, cout: number, o: { group?: number; bias?: boolean; k?: number } = {}): string {
    const k = o.k ?? 3;
    const inputs = [x, this.tensor(`${name}.weight`, [cout, cin / (o.group ?? 1), k, k])];
    if (o.bias !== false) inputs.push(this.tensor(`${name}.bias`, [cout], 0.2));
    const pad = (k - 1) / 2;
    return this.node('Conv', name, inputs, [attr.ints('pads', [pad, pad, pad, pad]), ...(o.group ? [attr.int('group', o.group)] : [])]);
  }
  relu(x: string): string {
    return this.node('Relu', `${x}.relu`, [x]);
  }
  model(inputs: Record<string, number[]>, outputs: string[], opset = 13): Model {
    return makeModel({
      graph: makeGraph({
        nodes: this.nodes,
        initializers: this.inits,
        inputs: Object.entries(inputs).map(([n, d]) => makeValueInfo(n, DataType.FLOAT, d)),
        outputs: outputs.map((n) => makeValueInfo(n, DataType.FLOAT, undefined)),
      }),
      opsetImport: [{ domain: '', version: opset }],
    });
  }
}

function prepared(model: Model, cleanup = true): Model {
  const m = cloneModel(model);
  assignNodeNames(m);
  if (cleanup) runCleanup(m, {}, { names: new NameAllocator(collectNames(m)) });
  return m;
}

function prune(model: Model, requests: ChannelPruneRequest[]): { model: Model; result: ChannelPruneResult } {
  const m = cloneModel(model);
  const result = channelPrune(m, requests, { names: new NameAllocator(collectNames(m)) });
  return { model: m, result };
}

/** Sets entries `indices` along `axis` of initializer `name` to zero (a copy of the model). */
function zeroed(model: Model, cuts: { name: string; axis: number; indices: number[] }[]): Model {
  const m = cloneModel(model);
  for (const { name, axis, indices } of cuts) {
    const g = m.graph!;
    const at = g.initializers.findIndex((t) => t.name === name);
    if (at < 0) throw new Error(`no initializer ${name}`);
    const t = g.initializers[at];
    const v = Float32Array.from(tensorFloats(t));
    const dims = t.dims;
    let inner = 1;
    for (let d = axis + 1; d < dims.length; d++) inner *= dims[d];
    const set = new Set(indices);
    for (let i = 0; i < v.length; i++) if (set.has(Math.floor(i / inner) % dims[axis])) v[i] = 0;
    g.initializers[at] = makeTensor(name, DataType.FLOAT, dims, v);
  }
  return m;
}

async function expectEquivalent(pruned: Model, reference: Model, feeds: Feeds): Promise<void> {
  const a = await run(reference, feeds);
  const b = await run(pruned, feeds);
  expect(maxRelativeDifference(a, b)).toBeLessThanOrEqual(1e-5);
  // and pruning really changed something compared with the unzeroed model is checked by callers
}

function dimsOf(model: Model, name: string): number[] | undefined {
  return model.graph!.initializers.find((t) => t.name === name)?.dims;
}

// ---------------------------------------------------------------- fixtures

/** conv1(3->8) Relu conv2(8->6) Relu MaxPool Flatten fc1(96->12, Gemm transB=0) Relu fc2(12->4). */
function chain(): { model: Model; feeds: Feeds } {
  const b = new Builder(5);
  let x = b.relu(b.conv('conv1', 'x', 3, 8));
  x = b.relu(b.conv('conv2', x, 8, 6));
  x = b.node('MaxPool', 'pool', [x], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]);
  x = b.node('Flatten', 'flatten', [x]);
  x = b.relu(b.node('Gemm', 'fc1', [x, b.tensor('fc1.weight', [96, 12], 0.2), b.tensor('fc1.bias', [12], 0.2)]));
  b.node('Gemm', 'fc2', [x, b.tensor('fc2.weight', [4, 12]), b.tensor('fc2.bias', [4])], [attr.int('transB', 1)], ['y']);
  return { model: b.model({ x: [2, 3, 8, 8] }, ['y']), feeds: floatFeeds({ x: [2, 3, 8, 8] }) };
}

/** stem(3->8) Relu; convA(8->8) Relu convB(8->8) + shortcut convS(8->8); Add Relu; convOut(8->4) GlobalAveragePool Flatten head(4->3). */
function residual(shortcut: 'conv' | 'input' = 'conv'): { model: Model; feeds: Feeds } {
  const b = new Builder(9);
  const s = shortcut === 'conv' ? b.relu(b.conv('stem', 'x', 3, 8)) : 'x';
  const a = b.conv('convB', b.relu(b.conv('convA', s, 8, 8)), 8, 8);
  const sc = shortcut === 'conv' ? b.conv('convS', s, 8, 8, { k: 1 }) : 'x';
  let x = b.relu(b.node('Add', 'add', [a, sc]));
  x = b.node('GlobalAveragePool', 'gap', [b.conv('convOut', x, 8, 4)]);
  x = b.node('Flatten', 'flatten', [x]);
  b.node('Gemm', 'head', [x, b.tensor('head.weight', [3, 4]), b.tensor('head.bias', [3])], [attr.int('transB', 1)], ['y']);
  const cin = shortcut === 'conv' ? 3 : 8;
  return { model: b.model({ x: [2, cin, 6, 6] }, ['y']), feeds: floatFeeds({ x: [2, cin, 6, 6] }) };
}

// ---------------------------------------------------------------- equivalence

describe('pruned = zeroed in the original', () => {
  it('a Conv/Conv/MaxPool/Flatten/Gemm/Gemm chain: every rewired consumer (kernel axis 1, Flatten blocks, Gemm rows)', async () => {
    const { model, feeds } = chain();
    const base = prepared(model);
    const { model: out, result } = prune(base, [
      { key: 'conv1', fraction: 0.5 },
      { key: 'conv2', fraction: 1 / 3 },
      { key: 'fc1', fraction: 0.25 },
    ]);
    const g = Object.fromEntries(result.report.groups.map((x) => [x.sources[0], x]));
    expect(g.conv1.removed).toHaveLength(4);
    expect(g.conv2.removed).toHaveLength(2);
    expect(g.fc1.removed).toHaveLength(3);
    expect(dimsOf(out, 'conv1.weight')).toEqual([4, 3, 3, 3]);
    expect(dimsOf(out, 'conv2.weight')).toEqual([4, 4, 3, 3]);
    expect(dimsOf(out, 'fc1.weight')).toEqual([64, 9]); // 2 of 6 channels x 16 positions gone; 3 of 12 columns gone
    expect(dimsOf(out, 'fc2.weight')).toEqual([4, 9]);
    const ref = zeroed(base, [
      { name: 'conv1.weight', axis: 0, indices: g.conv1.removed },
      { name: 'conv1.bias', axis: 0, indices: g.conv1.removed },
      { name: 'conv2.weight', axis: 0, indices: g.conv2.removed },
      { name: 'conv2.bias', axis: 0, indices: g.conv2.removed },
      { name: 'fc1.weight', axis: 1, indices: g.fc1.removed },
      { name: 'fc1.bias', axis: 0, indices: g.fc1.removed },
    ]);
    await expectEquivalent(out, ref, feeds);
    // and it is not the original any more
    expect(maxRelativeDifference(await run(base, feeds), await run(out, feeds))).toBeGreaterThan(1e-3);
  });

  it('a residual Add ties two layers: pruned together by summed norm, the block input stays', async () => {
    const { model, feeds } = residual();
    const base = prepared(model);
    const { model: out, result } = prune(base, [{ key: 'convB', fraction: 0.5 }]);
    expect(result.report.groups).toHaveLength(1);
    const grp = result.report.groups[0];
    expect(grp).toMatchObject({ sources: ['convB', 'convS'], requested: ['convB'], channels: 8, fraction: 0.5 });
    expect(grp.rewired).toEqual(['convOut']);
    // summed L2 norms of the two layers' filters pick the channels
    const norms = (name: string) => {
      const v = tensorFloats(base.graph!.initializers.find((t) => t.name === name)!);
      const per = v.length / 8;
      return Array.from({ length: 8 }, (_, c) => Math.hypot(...v.subarray(c * per, (c + 1) * per)));
    };
    const [nb, ns] = [norms('convB.weight'), norms('convS.weight')];
    const order = Array.from({ length: 8 }, (_, c) => c).sort((p, q) => nb[p] + ns[p] - (nb[q] + ns[q]) || p - q);
    expect(grp.removed).toEqual(order.slice(0, 4).sort((p, q) => p - q));
    expect(result.layers.get('convS')!.notes[0]).toMatch(/^output channels 8 -> 4 \(removed 4 by summed L2 norm, tied across convB, convS\)$/);
    const cut = (n: string) => [
      { name: `${n}.weight`, axis: 0, indices: grp.removed },
      { name: `${n}.bias`, axis: 0, indices: grp.removed },
    ];
    await expectEquivalent(out, zeroed(base, [...cut('convB'), ...cut('convS')]), feeds);
    // the stem and convA keep their 8 channels
    expect(dimsOf(out, 'stem.weight')).toEqual([8, 3, 3, 3]);
    expect(dimsOf(out, 'convA.weight')).toEqual([8, 8, 3, 3]);
    expect(dimsOf(out, 'convOut.weight')).toEqual([4, 4, 3, 3]);
  });

  it('an identity shortcut ties the block to the layer before it (stem pruned with convB)', async () => {
    const b = new Builder(21);
    const s = b.relu(b.conv('stem', 'x', 3, 8));
    const a = b.conv('convB', b.relu(b.conv('convA', s, 8, 8)), 8, 8);
    const x = b.relu(b.node('Add', 'add', [a, s]));
    b.conv('convOut', x, 8, 4);
    const model = b.model({ x: [1, 3, 5, 5] }, ['convOut']);
    const base = prepared(model);
    const { model: out, result } = prune(base, [{ key: 'convB', fraction: 0.25 }]);
    const grp = result.report.groups[0];
    expect(grp.sources).toEqual(['convB', 'stem']);
    expect(grp.rewired.sort()).toEqual(['convA', 'convOut']);
    const ref = zeroed(base, ['stem', 'convB'].flatMap((n) => [0, 0].map((axis, i) => ({ name: `${n}.${i ? 'bias' : 'weight'}`, axis, indices: grp.removed }))));
    await expectEquivalent(out, ref, floatFeeds({ x: [1, 3, 5, 5] }));
  });

  it('depthwise convolutions follow their producer (multiplier 1 and 2), `group` shrinks with them', async () => {
    for (const mult of [1, 2]) {
      const b = new Builder(13);
      let x = b.relu(b.conv('conv1', 'x', 3, 8));
      x = b.relu(b.conv('dw', x, 8, 8 * mult, { group: 8 }));
      x = b.relu(b.conv('pw', x, 8 * mult, 6, { k: 1 }));
      b.node('GlobalAveragePool', 'gap', [x], [], ['y']);
      const model = b.model({ x: [2, 3, 6, 6] }, ['y']);
      const base = prepared(model);
      for (const key of ['conv1', 'dw']) {
        const { model: out, result } = prune(base, [{ key, fraction: 0.5 }]);
        const grp = result.report.groups[0];
        expect(grp.sources, `${mult} ${key}`).toEqual(['conv1']);
        expect(grp.requested).toEqual([key]);
        const dwNode = out.graph!.nodes.find((n) => n.name === 'dw')!;
        expect(Number(dwNode.attributes.find((a) => a.name === 'group')!.i)).toBe(4);
        expect(dimsOf(out, 'dw.weight')).toEqual([4 * mult, 1, 3, 3]);
        expect(dimsOf(out, 'pw.weight')).toEqual([6, 4 * mult, 1, 1]);
        const dwRows = grp.removed.flatMap((c) => Array.from({ length: mult }, (_, j) => c * mult + j));
        const ref = zeroed(base, [
          { name: 'conv1.weight', axis: 0, indices: grp.removed },
          { name: 'conv1.bias', axis: 0, indices: grp.removed },
          { name: 'dw.weight', axis: 0, indices: dwRows },
          { name: 'dw.bias', axis: 0, indices: dwRows },
        ]);
        await expectEquivalent(out, ref, floatFeeds({ x: [2, 3, 6, 6] }));
        expect(result.layers.get('dw')!.notes[0]).toMatch(/^depthwise: channels 8 -> 4 with its input/);
      }
    }
  });

  it('Concat along the channels: each input group lands at its offset of the next kernel', async () => {
    const b = new Builder(17);
    const a = b.relu(b.conv('convA', 'x', 3, 4));
    const c = b.relu(b.conv('convB', 'x', 3, 6));
    const x = b.node('Concat', 'cat', [a, c], [attr.int('axis', 1)]);
    b.conv('convC', x, 10, 5);
    const model = b.model({ x: [2, 3, 5, 5] }, ['convC']);
    const base = prepared(model);
    const { model: out, result } = prune(base, [
      { key: 'convA', fraction: 0.5 },
      { key: 'convB', fraction: 0.5 },
    ]);
    const [ga, gb] = result.report.groups;
    expect(dimsOf(out, 'convC.weight')).toEqual([5, 5, 3, 3]);
    const ref = zeroed(base, [
      { name: 'convA.weight', axis: 0, indices: ga.removed },
      { name: 'convA.bias', axis: 0, indices: ga.removed },
      { name: 'convB.weight', axis: 0, indices: gb.removed },
      { name: 'convB.bias', axis: 0, indices: gb.removed },
    ]);
    await expectEquivalent(out, ref, floatFeeds({ x: [2, 3, 5, 5] }));
  });

  it('unfolded BatchNormalization, per-channel Mul/Add constants, Pad and Resize pass the channels through', async () => {
    const b = new Builder(23);
    let x = b.conv('conv1', 'x', 3, 6);
    x = b.node('BatchNormalization', 'bn', [x, b.positive('bn.scale', [6]), b.tensor('bn.shift', [6]), b.tensor('bn.mean', [6]), b.positive('bn.var', [6])]);
    x = b.node('Mul', 'mul', [x, b.positive('k', [6, 1, 1])]);
    x = b.node('Add', 'add', [b.tensor('c', [1, 6, 1, 1]), x]);
    x = b.node('Clip', 'clip', [x, b.floats('lo', [], [-0.5]), b.floats('hi', [], [6])]);
    x = b.node('Pad', 'pad', [x, b.ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])]);
    x = b.node('Resize', 'resize', [x, '', b.floats('scales', [4], [1, 1, 2, 2])], [attr.string('mode', 'nearest')]);
    b.conv('conv2', x, 6, 4);
    const model = b.model({ x: [1, 3, 4, 4] }, ['conv2']);
    const base = prepared(model, false);
    const { model: out, result } = prune(base, [{ key: 'conv1', fraction: 0.5 }]);
    const grp = result.report.groups[0];
    expect(grp.rewired.sort()).toEqual(['add', 'bn', 'conv2', 'mul']);
    expect(dimsOf(out, 'bn.var')).toEqual([3]);
    expect(dimsOf(out, 'k')).toEqual([3, 1, 1]);
    expect(dimsOf(out, 'c')).toEqual([1, 3, 1, 1]);
    // zero channel: conv output 0, BN(0) = shift - mean*s: zero the BN scale and shift, and the added constant
    const ref = zeroed(base, [
      { name: 'conv1.weight', axis: 0, indices: grp.removed },
      { name: 'conv1.bias', axis: 0, indices: grp.removed },
      { name: 'bn.scale', axis: 0, indices: grp.removed },
      { name: 'bn.shift', axis: 0, indices: grp.removed },
      { name: 'c', axis: 1, indices: grp.removed },
    ]);
    await expectEquivalent(out, ref, floatFeeds({ x: [1, 3, 4, 4] }));
  });

  it('MatMul layers with bias Adds (the MLP fixture), and Reshape [0, -1] / [-1, K] in front of a MatMul', async () => {
    const fx = mlpFixture();
    const base = prepared(fx.model);
    const { model: out, result } = prune(base, [
      { key: 'fc0', fraction: 0.5 },
      { key: 'fc1', fraction: 0.25 },
    ]);
    const [g0, g1] = result.report.groups;
    expect(g0.rewired).toEqual(['fc0.add', 'fc1']);
    expect(dimsOf(out, 'fc0.weight')).toEqual([256, 256]);
    expect(dimsOf(out, 'fc1.weight')).toEqual([256, 384]);
    expect(dimsOf(out, 'fc2.weight')).toEqual([384, 96]);
    const ref = zeroed(base, [
      { name: 'fc0.weight', axis: 1, indices: g0.removed },
      { name: 'fc0.bias', axis: 0, indices: g0.removed },
      { name: 'fc1.weight', axis: 1, indices: g1.removed },
      { name: 'fc1.bias', axis: 0, indices: g1.removed },
    ]);
    await expectEquivalent(out, ref, floatFeeds(fx.inputs));

    for (const shape of [[0, -1], [-1, 6 * 16]]) {
      const b = new Builder(31);
      let x = b.relu(b.conv('conv1', 'x', 2, 6));
      x = b.node('Reshape', 'reshape', [x, b.ints('shape', shape)]);
      b.node('MatMul', 'mm', [x, b.tensor('mm.weight', [96, 5])], [], ['y']);
      const m = prepared(b.model({ x: [3, 2, 4, 4] }, ['y']));
      const p = prune(m, [{ key: 'conv1', fraction: 0.5 }]);
      const grp = p.result.report.groups[0];
      expect(dimsOf(p.model, 'mm.weight')).toEqual([48, 5]);
      if (shape[1] > 0) expect(Array.from(tensorFloats(p.model.graph!.initializers.find((t) => t.name === 'shape')!))).toEqual([-1, 48]);
      const r = zeroed(m, [
        { name: 'conv1.weight', axis: 0, indices: grp.removed },
        { name: 'conv1.bias', axis: 0, indices: grp.removed },
      ]);
      await expectEquivalent(p.model, r, floatFeeds({ x: [3, 2, 4, 4] }));
    }
  });

  it('ConvTranspose as a source (kernel axis 1) and as a consumer (kernel axis 0)', async () => {
    const b = new Builder(37);
    let x = b.node('ConvTranspose', 'up', ['x', b.tensor('up.weight', [4, 6, 3, 3]), b.tensor('up.bias', [6])], [attr.ints('strides', [2, 2])]);
    x = b.relu(x);
    x = b.relu(b.conv('conv', x, 6, 5));
    b.node('ConvTranspose', 'up2', [x, b.tensor('up2.weight', [5, 2, 2, 2])], [attr.ints('strides', [2, 2])], ['y']);
    const base = prepared(b.model({ x: [1, 4, 3, 3] }, ['y']));
    const { model: out, result } = prune(base, [
      { key: 'up', fraction: 0.5 },
      { key: 'conv', fraction: 0.4 },
    ]);
    const [gu, gc] = result.report.groups;
    expect(dimsOf(out, 'up.weight')).toEqual([4, 3, 3, 3]);
    expect(dimsOf(out, 'conv.weight')).toEqual([3, 3, 3, 3]);
    expect(dimsOf(out, 'up2.weight')).toEqual([3, 2, 2, 2]);
    const ref = zeroed(base, [
      { name: 'up.weight', axis: 1, indices: gu.removed },
      { name: 'up.bias', axis: 0, indices: gu.removed },
      { name: 'conv.weight', axis: 0, indices: gc.removed },
      { name: 'conv.bias', axis: 0, indices: gc.removed },
    ]);
    await expectEquivalent(out, ref, floatFeeds({ x: [1, 4, 3, 3] }));
  });
});

// ---------------------------------------------------------------- counts, selection, shapes

describe('counts and selection', () => {
  it('removes exactly round(fraction * C), at least one channel kept, the smallest L2 norms (ties to the lower index)', () => {
    const { model } = chain();
    const base = prepared(model);
    const w = tensorFloats(base.graph!.initializers.find((t) => t.name === 'conv1.weight')!);
    const norms = Array.from({ length: 8 }, (_, c) => Math.hypot(...w.subarray(c * 27, (c + 1) * 27)));
    const order = Array.from({ length: 8 }, (_, c) => c).sort((p, q) => norms[p] - norms[q] || p - q);
    for (const [fraction, k] of [
      [0.1, 1],
      [0.3, 2],
      [0.5, 4],
      [0.95, 7],
    ]) {
      const { result, model: out } = prune(base, [{ key: 'conv1', fraction }]);
      expect(result.report.groups[0].removed).toEqual(order.slice(0, k).sort((p, q) => p - q));
      expect(dimsOf(out, 'conv1.weight')![0]).toBe(8 - k);
    }
  });

  it('the parameter count drops by exactly the removed filters, biases and consumer slices', () => {
    const { model } = chain();
    const base = prepared(model);
    const before = floatParamCount(base);
    const { result, model: out } = prune(base, [{ key: 'conv1', fraction: 0.5 }]);
    // 4 filters (27 each) + 4 biases of conv1, and 4 input channels of conv2 (6 x 9 each)
    expect(result.report).toMatchObject({ paramsBefore: before, paramsAfter: before - 4 * 27 - 4 - 4 * 6 * 9 });
    expect(floatParamCount(out)).toBe(result.report.paramsAfter);
    // the file shrinks by (at least) their float32 bytes
    expect(encodeModel(out).length).toBeLessThanOrEqual(encodeModel(base).length - 4 * (4 * 27 + 4 + 4 * 6 * 9));
  });

  it('updates value_info shapes and the listing of initializers as graph inputs', async () => {
    const { model, feeds } = chain();
    const base = prepared(model);
    base.graph!.valueInfo.push(makeValueInfo('conv1.relu', DataType.FLOAT, [2, 8, 8, 8]), makeValueInfo('flatten', DataType.FLOAT, [2, 96]));
    base.graph!.inputs.push(makeValueInfo('conv2.weight', DataType.FLOAT, [6, 8, 3, 3]));
    const { model: out } = prune(base, [
      { key: 'conv1', fraction: 0.5 },
      { key: 'conv2', fraction: 0.5 },
    ]);
    const shape = (n: string, list = out.graph!.valueInfo) => list.find((v) => v.name === n)!.type!.tensorType!.shape!.dim.map((d) => d.dimValue);
    expect(shape('conv1.relu')).toEqual([2, 4, 8, 8]);
    expect(shape('flatten')).toEqual([2, 48]);
    expect(shape('conv2.weight', out.graph!.inputs)).toEqual([3, 4, 3, 3]);
    expect((await run(out, feeds)).y.dims).toEqual([2, 4]);
  });

  it('is deterministic and leaves the other layers byte for byte', () => {
    const { model } = residual();
    const base = prepared(model);
    const a = encodeModel(prune(base, [{ key: 'convB', fraction: 0.5 }]).model);
    const b = encodeModel(prune(base, [{ key: 'convB', fraction: 0.5 }]).model);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const out = decodeModel(a);
    for (const n of ['stem.weight', 'stem.bias', 'convA.weight', 'head.weight']) {
      const x = out.graph!.initializers.find((t) => t.name === n)!;
      const y = base.graph!.initializers.find((t) => t.name === n)!;
      expect(Array.from(tensorFloats(x)), n).toEqual(Array.from(tensorFloats(y)));
    }
  });
});

// ---------------------------------------------------------------- refusals

describe('refusals leave the layer as it was, with the reason', () => {
  function refusal(build: (b: Builder) => void, inputs: Record<string, number[]>, outputs: string[], key: string): { reason?: string; same: boolean } {
    const b = new Builder(41);
    build(b);
    const base = prepared(b.model(inputs, outputs));
    const { model: out, result } = prune(base, [{ key, fraction: 0.5 }]);
    return { reason: result.layers.get(key)?.error, same: Buffer.from(encodeModel(out)).equals(Buffer.from(encodeModel(base))) };
  }
  const X = { x: [1, 4, 6, 6] };
  const cases: [string, (b: Builder) => void, string[], string, string][] = [
    ['its output is the graph output', (b) => b.conv('conv', 'x', 4, 6), ['conv'], 'conv', 'its channels reach the graph output conv'],
    [
      'a Softmax over the channels',
      (b) => b.conv('c2', b.node('Softmax', 'sm', [b.conv('conv', 'x', 4, 6)], [attr.int('axis', 1)]), 6, 2),
      ['c2'],
      'conv',
      'its channels flow into Softmax "sm", which this pass cannot rewire',
    ],
    [
      'a grouped convolution after it',
      (b) => b.conv('g', b.conv('conv', 'x', 4, 6), 6, 4, { group: 2 }),
      ['g'],
      'conv',
      'Conv "g" is a grouped convolution (group 2), which ties channels in blocks',
    ],
    [
      'a Reshape that moves channels',
      (b) => b.node('Reshape', 'rs', [b.conv('conv', 'x', 4, 6), b.ints('shape', [1, 6, 36])], [], ['y']),
      ['y'],
      'conv',
      'Reshape "rs" reshapes to [1, 6, 36], which moves channels (only [N, -1] and [N, K] are rewired)',
    ],
    [
      'an Add with the graph input',
      (b) => b.conv('c2', b.node('Add', 'add', [b.conv('conv', 'x', 4, 4), 'x']), 4, 2),
      ['c2'],
      'conv',
      'its channels are tied to the graph input x',
    ],
    [
      'Shape of its output',
      (b) => {
        const c = b.conv('conv', 'x', 4, 6);
        b.node('Shape', 'shape', [c], [], ['s']);
        b.conv('c2', c, 6, 2);
      },
      ['c2', 's'],
      'conv',
      'its channels flow into Shape "shape", which this pass cannot rewire',
    ],
    [
      'an embedding Gather',
      (b) => b.node('Gather', 'emb', [b.tensor('table', [10, 4]), 'ids'], [], ['y']),
      ['y'],
      'emb',
      'channel pruning handles Conv, ConvTranspose, Gemm and MatMul layers, not Gather',
    ],
  ];
  for (const [label, build, outputs, key, reason] of cases) {
    it(label, () => {
      const r = refusal(build, key === 'emb' ? {} : X, outputs, key);
      expect(r.reason).toBe(reason);
      expect(r.same).toBe(true);
    });
  }

  it('a value read inside a subgraph', () => {
    const r = refusal(
      (b) => {
        const c = b.conv('conv', 'x', 4, 6);
        const branch = makeGraph({ nodes: [makeNode('Relu', [c], ['t'], [], { name: 'inner' })], outputs: [makeValueInfo('t', DataType.FLOAT, undefined)] });
        b.node('If', 'if', ['cond'], [attr.graph('then_branch', branch), attr.graph('else_branch', branch)], ['y']);
      },
      X,
      ['y'],
      'conv',
    );
    expect(r).toEqual({ reason: 'its channels are read inside a subgraph (conv)', same: true });
  });

  it('other layers still prune when one is refused; the refused group is listed', () => {
    const { model } = residual('input');
    const base = prepared(model);
    const { result } = prune(base, [
      { key: 'convB', fraction: 0.5 },
      { key: 'convA', fraction: 0.5 },
      { key: 'head', fraction: 0.5 },
    ]);
    expect(result.report.refused).toEqual([
      { layers: ['convB'], reason: 'its channels are tied to the graph input x' },
      { layers: ['head'], reason: 'its channels reach the graph output y' },
    ]);
    expect(result.report.groups.map((g) => g.sources)).toEqual([['convA']]);
  });
});

// ---------------------------------------------------------------- real export

describe('the real cnn-opset9 export (weights in Constant nodes, BN after Relu, initializers listed as inputs)', () => {
  it('prunes both convolutions; matches the zeroed reference; the input listing follows', async () => {
    const url = new URL('../../testing/real/cnn-opset9.onnx', import.meta.url);
    const model = decodeModel(new Uint8Array(readFileSync(fileURLToPath(url))));
    const ref = JSON.parse(readFileSync(fileURLToPath(new URL('../../testing/real/cnn-opset9.json', import.meta.url)), 'utf8'));
    const feeds = { image: new ort.Tensor('float32', Float32Array.from(ref.inputs.image.data), ref.inputs.image.dims) };
    const base = prepared(model);
    expect(base.graph!.nodes.some((n) => n.opType === 'Constant')).toBe(false);
    const { model: out, result } = prune(base, [
      { key: '/Conv', fraction: 0.5 },
      { key: '/conv2/Conv', fraction: 0.5 },
    ]);
    const [g1, g2] = result.report.groups;
    expect(g1).toMatchObject({ sources: ['/Conv'], channels: 8, rewired: ['/bn1/BatchNormalization', '/conv2/Conv'] });
    expect(g2).toMatchObject({ sources: ['/conv2/Conv'], channels: 16, rewired: ['/fc/Gemm'] });
    expect(dimsOf(out, 'fc.weight')).toEqual([10, 128]);
    const listed = out.graph!.inputs.find((v) => v.name === 'bn1.running_var')!;
    expect(listed.type!.tensorType!.shape!.dim.map((d) => d.dimValue)).toEqual([4]);
    expect(result.report.paramsAfter).toBeLessThan(result.report.paramsBefore / 2);
    // Relu then BN: a zero channel leaves BN as shift - mean * s; zero its scale and shift too
    const conv1 = base.graph!.nodes.find((n) => n.name === '/Conv')!;
    const zero = zeroed(base, [
      { name: conv1.inputs[1], axis: 0, indices: g1.removed },
      { name: conv1.inputs[2], axis: 0, indices: g1.removed },
      { name: 'bn1.weight', axis: 0, indices: g1.removed },
      { name: 'bn1.bias', axis: 0, indices: g1.removed },
      { name: 'onnx::Conv_28', axis: 0, indices: g2.removed },
      { name: 'onnx::Conv_29', axis: 0, indices: g2.removed },
    ]);
    await expectEquivalent(out, zero, feeds);
    // the pruned file still matches the exporter's outputs only roughly: that is the point
    expect((await run(out, feeds)).logits.dims).toEqual([2, 10]);
  });
});
