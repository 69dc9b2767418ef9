/**
 * The clean-up passes on the fixture table (src/testing/fixtures.ts), the committed real exports
 * and the compression fixtures: every pass alone and all together keep onnxruntime-node's outputs
 * (bit for bit, except the BatchNormalization fold: within 1e-5 of the largest output magnitude),
 * and each does what it says on purpose-built graphs.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { assignNodeNames, modelGraphs } from '../../onnx/names';
import { makeTensor } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import { FIXTURES } from '../../testing/fixtures';
import { REAL_MODELS, realFixture, type RealReference } from '../../testing/real-fixtures';
import { seeded } from '../../testing/random';
import { cloneModel, collectNames, NameAllocator } from '../graph-edit';
import { cnnFixture, constantsOpset9Fixture, gaussian, ifSubgraphFixture, mlpFixture } from '../testing/fixtures';
import { runCleanup } from './cleanup';
import { CLEANUP_PASSES, type CleanupOptions, type CleanupPass, type CleanupReport } from './meta';
import { bitDifferences, fixtureFeeds, floatFeeds, maxRelativeDifference, run, type Feeds } from './testing/ort-check';

const ONLY = (pass: CleanupPass): CleanupOptions =>
  Object.fromEntries(CLEANUP_PASSES.map((p) => [p, p === pass])) as CleanupOptions;

function clean(model: Model, options: Partial<CleanupOptions> = {}): { model: Model; report: CleanupReport } {
  const out = cloneModel(model);
  assignNodeNames(out);
  const report = runCleanup(out, options, { names: new NameAllocator(collectNames(out)) });
  return { model: out, report };
}

const passOf = (r: CleanupReport, p: CleanupPass) => r.passes.find((x) => x.pass === p)!;

// ---------------------------------------------------------------- outputs unchanged

const REAL_DIR = fileURLToPath(new URL('../../testing/real/', import.meta.url));
const REAL = REAL_MODELS.map((name) =>
  realFixture(name, new Uint8Array(readFileSync(join(REAL_DIR, `${name}.onnx`))), JSON.parse(readFileSync(join(REAL_DIR, `${name}.json`), 'utf8')) as RealReference),
);
const TABLE = [...FIXTURES, ...REAL].filter((f) => f.runnable && !f.build().externalFiles);

describe.each(TABLE.map((f) => [f.id, f] as const))('fixture %s', (_id, fx) => {
  const model = fx.build().model;
  const feeds = (): Feeds => fixtureFeeds(fx.inputs());
  // the reference runs the named model (some fixtures need unique names to load)
  const named = cloneModel(model);
  assignNodeNames(named);
  let ref: Awaited<ReturnType<typeof run>> | undefined;
  const reference = async () => (ref ??= await run(named, feeds()));

  for (const pass of CLEANUP_PASSES) {
    it(`${pass} alone keeps the outputs ${pass === 'foldBatchNorm' ? '(1e-5)' : 'bit for bit'}`, async () => {
      const { model: out } = clean(model, ONLY(pass));
      const got = await run(out, feeds());
      if (pass === 'foldBatchNorm') expect(maxRelativeDifference(await reference(), got)).toBeLessThanOrEqual(1e-5);
      else expect(bitDifferences(await reference(), got)).toEqual([]);
    });
  }

  it('all passes keep the outputs (1e-5), and a second run changes nothing', async () => {
    const { model: out, report } = clean(model);
    expect(report.nodesAfter).toBeLessThanOrEqual(report.nodesBefore);
    const got = await run(out, feeds());
    expect(maxRelativeDifference(await reference(), got)).toBeLessThanOrEqual(1e-5);
    const again = clean(out);
    expect(again.report.passes.map((p) => [p.pass, p.count])).toEqual(CLEANUP_PASSES.map((p) => [p, 0]));
    expect(Buffer.from(encodeModel(again.model)).equals(Buffer.from(encodeModel(out)))).toBe(true);
  });
});

// ---------------------------------------------------------------- BatchNormalization folding

/** A Conv/ConvTranspose/Gemm followed by BatchNormalization, with options. */
function bnModel(op: 'Conv' | 'ConvTranspose' | 'Gemm', o: { bias?: boolean; group?: number; transB?: boolean; beta?: number; biasDims?: number[]; constants?: boolean; opset?: number } = {}): { model: Model; feeds: Feeds } {
  const rng = seeded(99);
  const C = 6;
  const group = o.group ?? 1;
  const nodes = [];
  const inits = [];
  let wDims: number[];
  let xDims: number[];
  const attrs = [];
  if (op === 'Conv') {
    wDims = [C, 4 / group, 3, 3];
    xDims = [2, 4, 7, 7];
    attrs.push(attr.ints('pads', [1, 1, 1, 1]), attr.int('group', group));
  } else if (op === 'ConvTranspose') {
    wDims = [4, C / group, 3, 3];
    xDims = [2, 4, 5, 5];
    attrs.push(attr.ints('strides', [2, 2]), attr.int('group', group));
  } else {
    wDims = o.transB ? [C, 10] : [10, C];
    xDims = [3, 10];
    if (o.transB) attrs.push(attr.int('transB', 1));
    if (o.beta !== undefined) attrs.push(attr.float('beta', o.beta));
  }
  const tensors = [makeTensor('w', DataType.FLOAT, wDims, gaussian(rng, wDims.reduce((p, d) => p * d, 1), 0.5))];
  const inputs = ['x', 'w'];
  if (o.bias) {
    const bd = o.biasDims ?? [C];
    tensors.push(makeTensor('b', DataType.FLOAT, bd, gaussian(rng, bd.reduce((p, d) => p * d, 1), 0.3)));
    inputs.push('b');
  }
  tensors.push(
    makeTensor('scale', DataType.FLOAT, [C], Float32Array.from({ length: C }, () => 0.5 + rng())),
    makeTensor('shift', DataType.FLOAT, [C], gaussian(rng, C, 0.2)),
    makeTensor('mean', DataType.FLOAT, [C], gaussian(rng, C, 0.2)),
    makeTensor('var', DataType.FLOAT, [C], Float32Array.from({ length: C }, () => 0.3 + rng())),
  );
  if (o.constants) {
    for (const t of tensors) nodes.push(makeNode('Constant', [], [t.name!], [attr.tensor('value', t)], { name: `const_${t.name}` }));
  } else inits.push(...tensors);
  nodes.push(makeNode(op, inputs, ['y0'], attrs, { name: 'layer' }));
  nodes.push(makeNode('BatchNormalization', ['y0', 'scale', 'shift', 'mean', 'var'], ['y'], [attr.float('epsilon', 1e-3)], { name: 'bn' }));
  const model = makeModel({
    graph: makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('x', DataType.FLOAT, xDims)], outputs: [makeValueInfo('y', DataType.FLOAT, undefined)] }),
    opsetImport: [{ domain: '', version: o.opset ?? 13 }],
  });
  return { model, feeds: floatFeeds({ x: xDims }) };
}

describe('foldBatchNorm', () => {
  const cases: [string, ReturnType<typeof bnModel>][] = [
    ['Conv with bias', bnModel('Conv', { bias: true })],
    ['Conv without bias', bnModel('Conv')],
    ['grouped Conv (2 groups)', bnModel('Conv', { bias: true, group: 2 })],
    ['Conv with every tensor in Constant nodes', bnModel('Conv', { bias: true, constants: true })],
    ['ConvTranspose without bias', bnModel('ConvTranspose')],
    ['ConvTranspose, 2 groups, with bias', bnModel('ConvTranspose', { bias: true, group: 2 })],
    ['Gemm transB with bias', bnModel('Gemm', { transB: true, bias: true })],
    ['Gemm without bias', bnModel('Gemm')],
    ['Gemm, beta 0.5, bias [1, 6]', bnModel('Gemm', { bias: true, beta: 0.5, biasDims: [1, 6] })],
    ['Gemm, scalar bias', bnModel('Gemm', { bias: true, biasDims: [] })],
  ];
  for (const [label, { model, feeds }] of cases) {
    it(`${label}: folded, outputs within 1e-5`, async () => {
      const { model: out, report } = clean(model, ONLY('foldBatchNorm'));
      expect(passOf(report, 'foldBatchNorm')).toMatchObject({ count: 1, details: [expect.stringMatching(/^bn folded into layer/)] });
      const ops = out.graph!.nodes.map((n) => n.opType);
      expect(ops).not.toContain('BatchNormalization');
      expect(out.graph!.outputs[0].name).toBe('y');
      // the parameters went with it (Constant nodes too)
      const left = [...out.graph!.initializers.map((t) => t.name), ...out.graph!.nodes.flatMap((n) => (n.opType === 'Constant' ? n.outputs : []))];
      for (const p of ['scale', 'shift', 'mean', 'var']) expect(left).not.toContain(p);
      expect(maxRelativeDifference(await run(model, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
    });
  }

  it('keeps the weight names when nothing else reads them (folded in place)', () => {
    const { model: out } = clean(bnModel('Conv', { bias: true }).model, ONLY('foldBatchNorm'));
    expect(out.graph!.initializers.map((t) => t.name)).toEqual(['w', 'b']);
    const { model: out2 } = clean(bnModel('Conv').model, ONLY('foldBatchNorm'));
    expect(out2.graph!.initializers.map((t) => t.name)).toEqual(['w', 'layer.bias']);
  });

  it('leaves a BatchNormalization whose input is read elsewhere, or which follows a Relu, and says why', async () => {
    const { model } = bnModel('Conv', { bias: true });
    model.graph!.nodes.push(makeNode('Relu', ['y0'], ['side'], [], { name: 'side' }));
    model.graph!.outputs.push(makeValueInfo('side', DataType.FLOAT, undefined));
    const { model: out, report } = clean(model, ONLY('foldBatchNorm'));
    expect(passOf(report, 'foldBatchNorm')).toMatchObject({
      count: 0,
      details: ['bn not folded into layer: y0 is read by other nodes too (or is a graph output)'],
    });
    expect(encodeModel(out)).toEqual(encodeModel(clean(model, ONLY('removeDead')).model));
    // BN after Relu (the real cnn-opset9 export) is not a fold candidate at all
    const real = decodeModel(new Uint8Array(readFileSync(join(REAL_DIR, 'cnn-opset9.onnx'))));
    const r = clean(real, ONLY('foldBatchNorm')).report;
    expect(passOf(r, 'foldBatchNorm')).toMatchObject({ count: 0, details: [] });
  });

  it('weights shared with another layer are copied, not changed for both', async () => {
    const { model, feeds } = bnModel('Conv', { bias: true });
    model.graph!.nodes.push(makeNode('Conv', ['x', 'w'], ['other'], [attr.ints('pads', [1, 1, 1, 1])], { name: 'other' }));
    model.graph!.outputs.push(makeValueInfo('other', DataType.FLOAT, undefined));
    const { model: out } = clean(model, ONLY('foldBatchNorm'));
    expect(out.graph!.nodes.find((n) => n.name === 'layer')!.inputs[1]).toBe('w_bnfold');
    expect(out.graph!.nodes.find((n) => n.name === 'other')!.inputs[1]).toBe('w');
    expect(maxRelativeDifference(await run(model, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
  });

  it('the cnn fixture and the digits sample fold every BatchNormalization', () => {
    expect(passOf(clean(cnnFixture().model).report, 'foldBatchNorm').details).toEqual(['bn1 folded into conv1 (Conv, 8 channels)']);
    const digits = decodeModel(new Uint8Array(readFileSync(fileURLToPath(new URL('../../../public/sample/digits-cnn.onnx', import.meta.url)))));
    const r = clean(digits).report;
    expect(passOf(r, 'foldBatchNorm').count).toBe(2);
    expect(r.nodesAfter).toBe(r.nodesBefore - 2);
  });
});

// ---------------------------------------------------------------- Constants, Identity, dead code, sharing

describe('constantsToInitializers', () => {
  it('moves every Constant (IR 3: listed as inputs too) and keeps values', async () => {
    const fx = constantsOpset9Fixture();
    const { model: out, report } = clean(fx.model, ONLY('constantsToInitializers'));
    expect(passOf(report, 'constantsToInitializers').count).toBe(6);
    expect(out.graph!.nodes.some((n) => n.opType === 'Constant')).toBe(false);
    const inputs = new Set(out.graph!.inputs.map((v) => v.name));
    for (const t of out.graph!.initializers) expect(inputs.has(t.name)).toBe(true);
    const feeds = floatFeeds(fx.inputs);
    expect(bitDifferences(await run(fx.model, feeds), await run(out, feeds))).toEqual([]);
  });

  it('keeps a Constant that is a graph output', () => {
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('Constant', [], ['k'], [attr.floats('value_floats', [1, 2])], { name: 'c' })],
        outputs: [makeValueInfo('k', DataType.FLOAT, [2])],
      }),
    });
    const { report } = clean(model, ONLY('constantsToInitializers'));
    expect(passOf(report, 'constantsToInitializers').count).toBe(0);
  });
});

describe('dropIdentity', () => {
  function identityModel(): Model {
    const thenG = makeGraph({
      name: 'then',
      nodes: [makeNode('Identity', ['r'], ['t_out'], [], { name: 'then_id' })],
      outputs: [makeValueInfo('t_out', DataType.FLOAT, undefined)],
    });
    const elseG = makeGraph({
      name: 'else',
      nodes: [makeNode('Neg', ['id1'], ['e_neg'], [], { name: 'else_neg' }), makeNode('Identity', ['e_neg'], ['e_out'], [], { name: 'else_id' })],
      outputs: [makeValueInfo('e_out', DataType.FLOAT, undefined)],
    });
    return makeModel({
      graph: makeGraph({
        nodes: [
          makeNode('Identity', ['x'], ['id0'], [], { name: 'id0' }),
          makeNode('Relu', ['id0'], ['r'], [], { name: 'relu' }),
          makeNode('Identity', ['r'], ['id1'], [], { name: 'id1' }),
          makeNode('Dropout', ['id1'], ['d'], [], { name: 'drop' }),
          makeNode('Dropout', ['d', '', 'train'], ['d2'], [], { name: 'drop_test' }),
          makeNode('Sigmoid', ['d2'], ['s'], [], { name: 'sig' }),
          makeNode('Identity', ['s'], ['y'], [], { name: 'to_output' }),
          makeNode('Identity', ['x'], ['x_copy'], [], { name: 'input_to_output' }),
          makeNode('If', ['cond'], ['z'], [attr.graph('then_branch', thenG), attr.graph('else_branch', elseG)], { name: 'branch' }),
        ],
        initializers: [makeTensor('train', DataType.BOOL, [], [false])],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2, 3]), makeValueInfo('cond', DataType.BOOL, [])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2, 3]), makeValueInfo('x_copy', DataType.FLOAT, [2, 3]), makeValueInfo('z', DataType.FLOAT, undefined)],
        valueInfo: [makeValueInfo('id0', DataType.FLOAT, [2, 3]), makeValueInfo('s', DataType.FLOAT, [2, 3])],
      }),
      opsetImport: [{ domain: '', version: 13 }],
    });
  }

  it('rewires reads (subgraphs included), keeps output names, keeps an Identity from an input to an output', async () => {
    const model = identityModel();
    const { model: out, report } = clean(model, ONLY('dropIdentity'));
    const p = passOf(report, 'dropIdentity');
    expect(p.count).toBe(6);
    expect(p.details.filter((d) => d.startsWith('kept'))).toEqual([
      'kept input_to_output (Identity): it names the graph output x_copy, and x is not computed in this graph',
      'kept then_id (Identity): it names the graph output t_out, and r is not computed in this graph',
    ]);
    const g = out.graph!;
    expect(g.nodes.map((n) => n.name)).toEqual(['relu', 'sig', 'input_to_output', 'branch']);
    expect(g.nodes[0].inputs).toEqual(['x']);
    expect(g.nodes[1].inputs).toEqual(['r']);
    expect(g.nodes[1].outputs).toEqual(['y']); // Sigmoid writes the output name itself
    expect(g.outputs.map((v) => v.name)).toEqual(['y', 'x_copy', 'z']);
    expect(g.valueInfo.map((v) => v.name)).toEqual([]);
    const elseG = g.nodes[3].attributes.find((a) => a.name === 'else_branch')!.g!;
    expect(elseG.nodes.map((n) => [n.name, n.inputs, n.outputs])).toEqual([['else_neg', ['r'], ['e_out']]]);
    for (const cond of [true, false]) {
      const feeds = { ...floatFeeds({ x: [2, 3] }), cond: new (await import('onnxruntime-node')).Tensor('bool', [cond], []) };
      expect(bitDifferences(await run(model, feeds), await run(out, feeds))).toEqual([]);
    }
  });

  it('keeps a Dropout whose mask is read, or in training mode from an input', () => {
    const model = makeModel({
      graph: makeGraph({
        nodes: [
          makeNode('Dropout', ['x'], ['a', 'mask'], [], { name: 'with_mask' }),
          makeNode('Dropout', ['a', '', 'training'], ['y'], [], { name: 'training' }),
        ],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2]), makeValueInfo('training', DataType.BOOL, [])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2]), makeValueInfo('mask', DataType.BOOL, [2])],
      }),
    });
    const { report } = clean(model, ONLY('dropIdentity'));
    expect(passOf(report, 'dropIdentity')).toMatchObject({ count: 0, details: ['kept with_mask (Dropout whose mask is read)', 'kept training (Dropout in training mode)'] });
  });
});

describe('removeDead', () => {
  it('removes dead chains and unused initializers in every graph, never an outer value a subgraph reads', async () => {
    const fx = ifSubgraphFixture();
    const model = fx.model;
    const g = model.graph!;
    // a dead chain in the main graph, an unused initializer in the then-branch, an unused main initializer
    g.nodes.unshift(makeNode('Neg', ['x'], ['dead1'], [], { name: 'dead1' }), makeNode('Abs', ['dead1'], ['dead2'], [], { name: 'dead2' }));
    g.initializers.push(makeTensor('unused', DataType.FLOAT, [3], [1, 2, 3]));
    const thenG = g.nodes[2].attributes.find((a) => a.name === 'then_branch')!.g!;
    thenG.initializers.push(makeTensor('unused_then', DataType.FLOAT, [1], [1]));
    thenG.nodes.push(makeNode('Relu', ['w_outer'], ['dead_in_then'], [], { name: 'dead_in_then' }));
    const { model: out, report } = clean(model, ONLY('removeDead'));
    expect(passOf(report, 'removeDead')).toMatchObject({ count: 5, summary: '3 dead nodes and 2 unused initializers removed' });
    // w_outer is read only by the else branch: it stays
    expect(out.graph!.initializers.map((t) => t.name)).toEqual(['w_outer']);
    const thenOut = out.graph!.nodes[0].attributes.find((a) => a.name === 'then_branch')!.g!;
    expect(thenOut.initializers.map((t) => t.name)).toEqual(['w_then']);
    for (const cond of [true, false]) {
      const ort = await import('onnxruntime-node');
      const feeds = { ...floatFeeds(fx.inputs), cond: new ort.Tensor('bool', [cond], []) };
      expect(bitDifferences(await run(model, feeds), await run(out, feeds))).toEqual([]);
    }
  });

  it('removes a node with a subgraph whose outputs nobody reads, and what only it read', () => {
    const body = makeGraph({ nodes: [makeNode('Mul', ['x', 'k'], ['t'], [], { name: 'inner' })], outputs: [makeValueInfo('t', DataType.FLOAT, undefined)] });
    const model = makeModel({
      graph: makeGraph({
        nodes: [
          makeNode('If', ['c'], ['unread'], [attr.graph('then_branch', body), attr.graph('else_branch', body)], { name: 'if' }),
          makeNode('Relu', ['x'], ['y'], [], { name: 'relu' }),
        ],
        initializers: [makeTensor('k', DataType.FLOAT, [], [2])],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2]), makeValueInfo('c', DataType.BOOL, [])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [2])],
      }),
    });
    const { model: out } = clean(model, ONLY('removeDead'));
    expect(out.graph!.nodes.map((n) => n.name)).toEqual(['relu']);
    expect(out.graph!.initializers).toEqual([]);
    expect(out.graph!.inputs.map((v) => v.name)).toEqual(['x', 'c']);
  });
});

describe('shareInitializers', () => {
  it('merges identical tensors (dtype, dims and bytes) and rewires their readers, in subgraphs too', async () => {
    const w = gaussian(seeded(3), 64 * 48, 0.1);
    const fx = ifSubgraphFixture();
    const g = fx.model.graph!;
    g.initializers = [makeTensor('w_a', DataType.FLOAT, [64, 48], w), makeTensor('w_outer', DataType.FLOAT, [64, 48], w), makeTensor('w_flat', DataType.FLOAT, [64 * 48], w)];
    g.nodes.push(makeNode('Reshape', ['w_flat', 'shape'], ['w_r'], [], { name: 'reshape' }), makeNode('MatMul', ['x', 'w_a'], ['y2'], [], { name: 'mm' }));
    g.initializers.push(makeTensor('shape', DataType.INT64, [2], [64, 48]));
    g.outputs.push(makeValueInfo('y2', DataType.FLOAT, undefined), makeValueInfo('w_r', DataType.FLOAT, undefined));
    const { model: out, report } = clean(fx.model, ONLY('shareInitializers'));
    expect(passOf(report, 'shareInitializers')).toMatchObject({ count: 1, details: [`w_outer -> w_a (${64 * 48 * 4} bytes)`] });
    expect(out.graph!.initializers.map((t) => t.name)).toEqual(['w_a', 'w_flat', 'shape']);
    const elseG = out.graph!.nodes[0].attributes.find((a) => a.name === 'else_branch')!.g!;
    expect(elseG.nodes[0].inputs).toEqual(['x', 'w_a']);
    const ort = await import('onnxruntime-node');
    for (const cond of [true, false]) {
      const feeds = { ...floatFeeds(fx.inputs), cond: new ort.Tensor('bool', [cond], []) };
      expect(bitDifferences(await run(fx.model, feeds), await run(out, feeds))).toEqual([]);
    }
  });

  it("reads a 2-D table's transposed copy (torch's folded `weight.t()`) through a Transpose of the table; a near-copy, a small one and an exact duplicate's own handling stay as they were", async () => {
    const [V, D] = [40, 32];
    const wte = gaussian(seeded(4), V * D, 0.1);
    const t = new Float32Array(V * D);
    for (let i = 0; i < V; i++) for (let j = 0; j < D; j++) t[j * V + i] = wte[i * D + j];
    const near = t.slice();
    near[V * D - 1] += 1e-3;
    const small = Float32Array.from({ length: 8 * 4 }, (_, i) => i);
    const smallT = new Float32Array(32);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 4; j++) smallT[j * 8 + i] = small[i * 4 + j];
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('Gather', ['wte', 'ids'], ['e'], [], { name: 'embed' }),
          makeNode('MatMul', ['e', 'head_t'], ['logits'], [], { name: 'lm_head' }),
          makeNode('MatMul', ['e', 'near_t'], ['other'], [], { name: 'near' }),
          makeNode('MatMul', ['q', 'small'], ['s1'], [], { name: 's1' }),
          makeNode('MatMul', ['p', 'small_t'], ['s2'], [], { name: 's2' }),
        ],
        initializers: [
          makeTensor('wte', DataType.FLOAT, [V, D], wte),
          makeTensor('head_t', DataType.FLOAT, [D, V], t),
          makeTensor('near_t', DataType.FLOAT, [D, V], near),
          makeTensor('small', DataType.FLOAT, [8, 4], small),
          makeTensor('small_t', DataType.FLOAT, [4, 8], smallT),
        ],
        inputs: [makeValueInfo('ids', DataType.INT64, [2, 3]), makeValueInfo('q', DataType.FLOAT, [2, 8]), makeValueInfo('p', DataType.FLOAT, [2, 4])],
        outputs: ['logits', 'other', 's1', 's2'].map((n) => makeValueInfo(n, DataType.FLOAT, undefined)),
      }),
    });
    const { model: out, report } = clean(model, ONLY('shareInitializers'));
    expect(passOf(report, 'shareInitializers')).toMatchObject({
      count: 1,
      summary: `0 duplicate initializers shared (0 bytes saved); 1 transposed copy read through a Transpose (${V * D * 4} bytes saved)`,
      details: [`head_t -> Transpose(wte) (${V * D * 4} bytes)`],
    });
    expect(out.graph!.initializers.map((x) => x.name)).toEqual(['wte', 'near_t', 'small', 'small_t']);
    expect(out.graph!.nodes[0]).toMatchObject({ opType: 'Transpose', inputs: ['wte'], outputs: ['head_t'] });
    const ort = await import('onnxruntime-node');
    const feeds: Feeds = {
      ids: new ort.Tensor('int64', BigInt64Array.from([0, 7, 39, 3, 21, 12].map(BigInt)), [2, 3]),
      q: new ort.Tensor('float32', gaussian(seeded(5), 16, 1), [2, 8]),
      p: new ort.Tensor('float32', gaussian(seeded(6), 8, 1), [2, 4]),
    };
    expect(bitDifferences(await run(model, feeds), await run(out, feeds))).toEqual([]);
    // a copy a caller may feed (IR 4+: an initializer also listed as a graph input) stays
    const fed = cloneModel(model);
    fed.graph!.inputs.push(makeValueInfo('head_t', DataType.FLOAT, [D, V]));
    expect(passOf(clean(fed, ONLY('shareInitializers')).report, 'shareInitializers').count).toBe(0);
  });

  it('shares the repeated BatchNormalization defaults of the real transformer (Identity-tied LayerNorm params)', () => {
    const real = decodeModel(new Uint8Array(readFileSync(join(REAL_DIR, 'transformer-opset17.onnx'))));
    const { model: out, report } = clean(real);
    expect(passOf(report, 'dropIdentity').count).toBe(2);
    const ln2 = out.graph!.nodes.filter((n) => n.opType === 'LayerNormalization')[1];
    expect(ln2.inputs.slice(1)).toEqual(['ln1.weight', 'ln1.bias']);
  });
});

describe('runCleanup', () => {
  it('reports every pass, in order, with counts; off passes say so', () => {
    const { report } = clean(cnnFixture().model, { shareInitializers: false });
    expect(report.passes.map((p) => [p.pass, p.enabled, p.count])).toEqual([
      ['constantsToInitializers', true, 0],
      ['dropIdentity', true, 0],
      ['foldBatchNorm', true, 1],
      ['removeDead', true, 0],
      ['shareInitializers', false, 0],
    ]);
    expect(report.passes[4].summary).toBe('off');
    expect(report).toMatchObject({ nodesBefore: 8, nodesAfter: 7 });
  });

  it('leaves a model with nothing to clean byte for byte as it was', () => {
    const fx = mlpFixture();
    const named = cloneModel(fx.model);
    assignNodeNames(named);
    expect(encodeModel(clean(fx.model).model)).toEqual(encodeModel(named));
  });

  it('folds weights held in Constant nodes, with or without moving them first', async () => {
    const { model, feeds } = bnModel('Conv', { bias: true, constants: true });
    for (const constantsToInitializers of [true, false]) {
      const { model: out } = clean(model, { constantsToInitializers });
      const consts = modelGraphs(out).flatMap((r) => r.nodes.filter((n) => n.opType === 'Constant').map((n) => n.outputs[0]));
      // folded in place: into the initializers they became, or into their own Constant nodes; the BN parameters are gone
      expect(consts).toEqual(constantsToInitializers ? [] : ['w', 'b']);
      expect(out.graph!.initializers.map((t) => t.name)).toEqual(constantsToInitializers ? ['w', 'b'] : []);
      expect(maxRelativeDifference(await run(model, feeds), await run(out, feeds))).toBeLessThanOrEqual(1e-5);
    }
  });
});
