/**
 * A weight several layers read (tied, or deduplicated by the exporter: torch writes identical
 * parameters once, behind Identity nodes) is compressed once: one encoding, the first reader's,
 * that every reader uses; the file is as small as the size projection says; GPTQ solves it on the
 * sum of its readers' H; each reader's own bias is corrected on its own inputs. Checked in
 * onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { findLayers } from '../onnx/layers';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model } from '../onnx/types';
import type { Sample } from './activations/calibrate';
import { compressModel, compressModelStreaming, modelTensorBytes } from './compress';
import { projectionInput, projectSize } from './project';
import { resolveRecipe, type Recipe } from './recipe';
import { collectHessians } from './recovery/hessian';
import { recoveryLayers } from './recovery/plan';
import { recoverySource } from './recovery/sequential';
import { nodeRunModel } from './recovery/testing/node-run';

const run = nodeRunModel();
const K = 32;
const N = 24;
const ROWS = 8;

const gaussian = (rng: () => number, n: number, s: number) =>
  Float32Array.from({ length: n }, () => s * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()));

/**
 * Two branches on one weight G [N, K] (Gemm, transB): g1 reads x1 and G, g2 reads x2 and
 * Identity(G) (as torch writes a deduplicated parameter), each with a bias of its own.
 */
function branches(): Model {
  const rng = seeded(5);
  const g = makeGraph({
    nodes: [
      makeNode('Gemm', ['x1', 'G', 'b1'], ['y1'], [attr.int('transB', 1)], { name: 'g1' }),
      makeNode('Identity', ['G'], ['G_copy'], [], { name: 'dedup' }),
      makeNode('Gemm', ['x2', 'G_copy', 'b2'], ['y2'], [attr.int('transB', 1)], { name: 'g2' }),
    ],
    initializers: [
      makeTensor('G', DataType.FLOAT, [N, K], gaussian(rng, N * K, 1 / Math.sqrt(K))),
      makeTensor('b1', DataType.FLOAT, [N], gaussian(rng, N, 0.1)),
      makeTensor('b2', DataType.FLOAT, [N], gaussian(rng, N, 0.1)),
    ],
    inputs: [makeValueInfo('x1', DataType.FLOAT, [ROWS, K]), makeValueInfo('x2', DataType.FLOAT, [ROWS, K])],
    outputs: [makeValueInfo('y1', DataType.FLOAT, [ROWS, N]), makeValueInfo('y2', DataType.FLOAT, [ROWS, N])],
  });
  return makeModel({ graph: g, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
}

/** MatMul → Relu → MatMul on one weight W [K, K]: a chain whose two layers read the same tensor. */
function chain(): Model {
  const rng = seeded(7);
  const g = makeGraph({
    nodes: [makeNode('MatMul', ['x', 'W'], ['a'], [], { name: 'm1' }), makeNode('Relu', ['a'], ['r'], [], { name: 'relu' }), makeNode('MatMul', ['r', 'W'], ['y'], [], { name: 'm2' })],
    initializers: [makeTensor('W', DataType.FLOAT, [K, K], gaussian(rng, K * K, 1 / Math.sqrt(K)))],
    inputs: [makeValueInfo('x', DataType.FLOAT, [ROWS, K])],
    outputs: [makeValueInfo('y', DataType.FLOAT, [ROWS, K])],
  });
  return makeModel({ graph: g, irVersion: 8, opsetImport: [{ domain: '', version: 13 }] });
}

const V = 200;

/** A tied embedding: Gather(wte [V, K], ids) → Relu → MatMul(·, Transpose(wte)) → logits [1, 6, V]. */
function tiedEmbedding(): Model {
  const rng = seeded(9);
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      nodes: [
        makeNode('Gather', ['wte', 'ids'], ['e'], [], { name: 'embed' }),
        makeNode('Relu', ['e'], ['h'], [], { name: 'relu' }),
        makeNode('Transpose', ['wte'], ['wte_t'], [attr.ints('perm', [1, 0])], { name: 'tie' }),
        makeNode('MatMul', ['h', 'wte_t'], ['logits'], [], { name: 'lm_head' }),
      ],
      initializers: [makeTensor('wte', DataType.FLOAT, [V, K], gaussian(rng, V * K, 0.2))],
      inputs: [makeValueInfo('ids', DataType.INT64, [1, 6])],
      outputs: [makeValueInfo('logits', DataType.FLOAT, [1, 6, V])],
    }),
  });
}

/**
 * The same as torch writes it with constant folding: the output MatMul reads a transposed copy
 * of the table, an initializer of its own (GPT-2's LM head).
 */
function foldedTiedEmbedding(): Model {
  const model = tiedEmbedding();
  const g = model.graph!;
  const wte = g.initializers[0];
  const v = new Float32Array(wte.rawData!.buffer.slice(wte.rawData!.byteOffset, wte.rawData!.byteOffset + wte.rawData!.byteLength));
  const t = new Float32Array(V * K);
  for (let i = 0; i < V; i++) for (let j = 0; j < K; j++) t[j * V + i] = v[i * K + j];
  g.nodes = g.nodes.filter((n) => n.opType !== 'Transpose');
  g.initializers.push(makeTensor('onnx::MatMul_99', DataType.FLOAT, [K, V], t));
  g.nodes[g.nodes.length - 1].inputs[1] = 'onnx::MatMul_99';
  return model;
}

/** `n` sets of 6 token ids in [0, V). */
function idSamples(n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  return Array.from({ length: n }, () => ({ ids: { dtype: 'int64', dims: [1, 6], data: BigInt64Array.from({ length: 6 }, () => BigInt(Math.floor(rng() * V))) } }));
}

/** Inputs of low rank plus a little noise, each branch with structure of its own (offset: a mean away from 0). */
function samples(n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const basis = (k: number) => Float32Array.from({ length: K }, (_, i) => Math.sin((i * (k + 1) * 0.41) / 2 + k));
  const b1 = [0, 1, 2].map(basis);
  const b2 = [5, 6, 7].map(basis);
  const rows = (bases: Float32Array[], offset: number) =>
    Float32Array.from({ length: ROWS * K }, (_, e) => {
      const i = e % K;
      return offset + bases.reduce((s, b) => s + (rng() * 2 - 1) * b[i], 0) + 0.02 * (rng() * 2 - 1);
    });
  return Array.from({ length: n }, () => ({
    x1: { dtype: 'float32', dims: [ROWS, K], data: rows(b1, 0.3) },
    x2: { dtype: 'float32', dims: [ROWS, K], data: rows(b2, -0.2) },
    x: { dtype: 'float32', dims: [ROWS, K], data: rows(b1, 0.1) },
  }));
}

const only = (s: Sample, names: string[]): Sample => Object.fromEntries(names.map((k) => [k, s[k]]));

const recipe = (weights: 'int8' | 'int4', recovery: 'none' | 'bias' | 'gptq', layers: Recipe['layers'] = {}): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights, granularity: weights === 'int4' ? 'block' : 'per-channel', blockSize: 32, recovery },
  layers,
});

/** Integer initializers (the quantized codes), by name. */
const codes = (m: Model) => (m.graph?.initializers ?? []).filter((t) => t.dataType === DataType.INT8 || t.dataType === DataType.UINT8).map((t) => t.name);

/** Σ‖y − y₀‖² per output, over samples. */
async function errors(original: Uint8Array, compressed: Uint8Array, set: Sample[], names: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of set) {
    const feed = only(s, names);
    const [a, b] = [await run(original, feed), await run(compressed, feed)];
    for (const k of Object.keys(a)) {
      const x = a[k].data as Float32Array;
      const y = b[k].data as Float32Array;
      let e = 0;
      for (let i = 0; i < x.length; i++) e += (x[i] - y[i]) ** 2;
      out[k] = (out[k] ?? 0) + e;
    }
  }
  return out;
}

describe('a weight several layers read', () => {
  it('is stored once (the size the projection gives), every reader reading it; the second reader says whose encoding it reads', async () => {
    const model = chain();
    const r = compressModel(model, recipe('int8', 'none'));
    expect(codes(r.model)).toHaveLength(1);
    const [m1, m2] = r.report.layers;
    expect(m2.notes.join(' ')).toContain('reads the same weight as m1');
    expect([m2.bytesBefore, m2.bytesAfter]).toEqual([0, 0]);
    expect(m1.bytesBefore).toBe(K * K * 4);
    // the rows add up to the model: the shared weight counted once
    expect(r.report.layers.reduce((s, l) => s + l.bytesAfter, 0)).toBe(r.report.bytesAfter);
    const resolved = new Map(resolveRecipe(recipe('int8', 'none'), findLayers(model)).map((l) => [l.key, l.settings]));
    const projected = projectSize(projectionInput(model, findLayers(model), modelTensorBytes(model)), (k) => resolved.get(k) as never);
    expect(projected.after).toBe(r.report.bytesAfter);
    // both layers decode the one tensor: the output stays close to the original's
    const set = samples(4, 3).map((s) => only(s, ['x']));
    const e = await errors(encodeModel(model), encodeModel(r.model), set, ['x']);
    let energy = 0;
    for (const s of set) energy += ((await run(encodeModel(model), s)).y.data as Float32Array).reduce((p, v) => p + v * v, 0);
    expect(e.y / energy).toBeLessThan(1e-3);
  });

  it('webgpu int4: both readers become MatMulNBits on the one set of blocks', async () => {
    const model = chain();
    const r = compressModel(model, { ...recipe('int4', 'none'), target: 'webgpu' });
    const nodes = r.model.graph?.nodes ?? [];
    const nbits = nodes.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.map((n) => n.name)).toEqual(['m1', 'm2']);
    expect(nbits[1].inputs.slice(1)).toEqual(nbits[0].inputs.slice(1));
    expect(r.model.graph?.initializers.filter((t) => t.dataType === DataType.UINT8)).toHaveLength(1);
    const set = samples(2, 3).map((s) => only(s, ['x']));
    const e = await errors(encodeModel(model), encodeModel(r.model), set, ['x']);
    let energy = 0;
    for (const s of set) energy += ((await run(encodeModel(model), s)).y.data as Float32Array).reduce((p, v) => p + v * v, 0);
    expect(e.y / energy).toBeLessThan(3e-2);
  });

  it('a tied embedding (Gather reads it, the output MatMul reads its Transpose) is stored once: the MatMul reads the decoded tensor through a copy of its Transpose', async () => {
    const model = tiedEmbedding();
    for (const weights of ['int8', 'int4'] as const) {
      const rec = recipe(weights, 'none');
      const r = compressModel(model, rec);
      expect(codes(r.model), weights).toHaveLength(1);
      expect(r.model.graph?.initializers.some((t) => t.name === 'wte')).toBe(false);
      const lm = r.report.layers[1];
      expect(lm.notes.join(' ')).toMatch(/reads the weight embed reads, through its Transpose/);
      expect([lm.bytesBefore, lm.bytesAfter]).toEqual([0, 0]);
      const resolved = new Map(resolveRecipe(rec, findLayers(model)).map((l) => [l.key, l.settings]));
      // (the projection leaves out the decode chains' small constants: at most 128 bytes a layer, project.test.ts)
      const projected = projectSize(projectionInput(model, findLayers(model), modelTensorBytes(model)), (k) => resolved.get(k) as never).after;
      expect(Math.abs(projected - r.report.bytesAfter), weights).toBeLessThanOrEqual(128 * 2);
      // stored once: about one encoding's bytes, not two
      expect(r.report.bytesAfter, weights).toBeLessThan((V * K * (weights === 'int8' ? 1 : 0.5) + V * 4) * 1.2);
      const ids: Sample = { ids: { dtype: 'int64', dims: [1, 6], data: BigInt64Array.from([0, 5, 17, 99, 150, 199].map(BigInt)) } };
      const [a, b] = [(await run(encodeModel(model), ids)).logits.data as Float32Array, (await run(encodeModel(r.model), ids)).logits.data as Float32Array];
      let [dot, na, nb] = [0, 0, 0];
      for (let i = 0; i < a.length; i++) [dot, na, nb] = [dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
      expect(dot / Math.sqrt(na * nb), weights).toBeGreaterThan(weights === 'int8' ? 0.9999 : 0.99);
    }
  });

  it("a tied embedding whose output layer reads a transposed copy (torch's constant folding) is stored once too, the size the projection gives; with clean-up's sharing off, twice, and the projection says so", async () => {
    const model = foldedTiedEmbedding();
    const input = projectionInput(model, findLayers(model), modelTensorBytes(model));
    for (const share of [true, false]) {
      const rec: Recipe = { ...recipe('int8', 'none'), ...(share ? {} : { cleanup: { shareInitializers: false } }) };
      const r = compressModel(model, rec);
      expect(codes(r.model), String(share)).toHaveLength(share ? 1 : 2);
      const resolved = new Map(resolveRecipe(rec, findLayers(model)).map((l) => [l.key, l.settings]));
      const projected = projectSize(input, (k) => resolved.get(k) as never, 'portable', undefined, false, share).after;
      expect(Math.abs(projected - r.report.bytesAfter), String(share)).toBeLessThanOrEqual(128 * 2);
      const ids: Sample = { ids: { dtype: 'int64', dims: [1, 6], data: BigInt64Array.from([0, 5, 17, 99, 150, 199].map(BigInt)) } };
      const [a, b] = [(await run(encodeModel(model), ids)).logits.data as Float32Array, (await run(encodeModel(r.model), ids)).logits.data as Float32Array];
      let [dot, na, nb] = [0, 0, 0];
      for (let i = 0; i < a.length; i++) [dot, na, nb] = [dot + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
      expect(dot / Math.sqrt(na * nb), String(share)).toBeGreaterThan(0.9999);
    }
    // left as float, the copy is still gone (and the projection counts the table once)
    const fp = compressModel(model, { ...recipe('int8', 'none'), defaults: { weights: 'fp32' } });
    expect(fp.model.graph?.initializers.map((t) => t.name)).toEqual(['wte']);
    const resolved = new Map(resolveRecipe({ ...recipe('int8', 'none'), defaults: { weights: 'fp32' } }, findLayers(model)).map((l) => [l.key, l.settings]));
    expect(projectSize(input, (k) => resolved.get(k) as never).after).toBe(V * K * 4);
    expect(fp.report.bytesAfter).toBe(V * K * 4);
  });

  it("a tied embedding with gptq: the table is solved on the output MatMul's H, closer to the original than round to nearest, still stored once", async () => {
    const model = tiedEmbedding();
    const r = recipe('int4', 'gptq');
    const cal = idSamples(48, 3);
    const held = idSamples(16, 4);
    const hessians = await collectHessians(model, recoveryLayers(model, r), cal, run);
    expect([...hessians.keys()]).toEqual(['lm_head']);
    const gptq = compressModel(model, r, { recovery: hessians });
    const rtn = compressModel(model, recipe('int4', 'none'));
    expect(codes(gptq.model)).toHaveLength(1);
    expect(gptq.report.layers[0].notes.join(' ')).toMatch(/the table is solved on the inputs of lm_head, which reads it transposed/);
    expect(gptq.report.bytesAfter).toBe(rtn.report.bytesAfter);
    const original = encodeModel(model);
    const [eg, er] = [await errors(original, encodeModel(gptq.model), held, ['ids']), await errors(original, encodeModel(rtn.model), held, ['ids'])];
    console.log(`tied embedding int4 block: held-out squared error of the logits, gptq on the table ${eg.logits.toExponential(3)}, round to nearest ${er.logits.toExponential(3)}`);
    expect(eg.logits).toBeLessThan(er.logits);
    // streamed H gives the same bytes
    const { source } = await recoverySource(model, undefined, r, cal, run);
    expect(encodeModel((await compressModelStreaming(model, r, source)).model)).toEqual(encodeModel(gptq.model));
  });

  it('an exact duplicate under another name (clean-up stores it once) is counted once by the projection too', () => {
    const model = chain();
    const g = model.graph!;
    g.initializers.push({ ...g.initializers[0], name: 'W_again' });
    g.nodes[2].inputs[1] = 'W_again';
    const input = projectionInput(model, findLayers(model), modelTensorBytes(model));
    for (const weights of ['fp32', 'int8'] as const) {
      const rec: Recipe = { ...recipe('int8', 'none'), defaults: { weights } };
      const r = compressModel(model, rec);
      expect(r.model.graph?.initializers.filter((t) => t.dims.join() === `${K},${K}`).map((t) => t.name), weights).toHaveLength(1);
      const resolved = new Map(resolveRecipe(rec, findLayers(model)).map((l) => [l.key, l.settings]));
      expect(projectSize(input, (k) => resolved.get(k) as never).after, weights).toBe(r.report.bytesAfter);
    }
  });

  it('two readers through chains alike (each its own Transpose of the weight, as exporters write one per reader) share one encoding; chains that differ do not', async () => {
    const make = (perm2: number[]) => {
      const model = chain();
      const g = model.graph!;
      g.nodes = [
        makeNode('Transpose', ['W'], ['Wt1'], [attr.ints('perm', [1, 0])], { name: 't1' }),
        makeNode('MatMul', ['x', 'Wt1'], ['a'], [], { name: 'm1' }),
        makeNode('Relu', ['a'], ['r'], [], { name: 'relu' }),
        makeNode('Transpose', ['W'], ['Wt2'], [attr.ints('perm', perm2)], { name: 't2' }),
        makeNode('MatMul', ['r', 'Wt2'], ['y'], [], { name: 'm2' }),
      ];
      return model;
    };
    const alike = make([1, 0]);
    const r = compressModel(alike, recipe('int8', 'none'));
    expect(codes(r.model)).toHaveLength(1);
    expect(r.report.layers[1].notes.join(' ')).toContain('reads the same weight as m1');
    const set = samples(2, 3).map((s) => only(s, ['x']));
    const e = await errors(encodeModel(alike), encodeModel(r.model), set, ['x']);
    let energy = 0;
    for (const s of set) energy += ((await run(encodeModel(alike), s)).y.data as Float32Array).reduce((p, v) => p + v * v, 0);
    expect(e.y / energy).toBeLessThan(1e-3);
    // (perm [0, 1] is another view: the second reads the first's decoded tensor through its own chain, not its encoding)
    const other = compressModel(make([0, 1]), recipe('int8', 'none'));
    expect(other.report.layers[1].notes.join(' ')).not.toContain('reads the same weight as m1');
  });

  it("readers in the two branches of an If, each slicing the outer weight with constants of its own branch (silero-vad's LSTMs), share one encoding, written in the graph that stores it", async () => {
    const rng = seeded(13);
    const branch = (name: string, relu: boolean) => {
      const c = (n: string, v: number[]) => makeNode('Constant', [], [`${name}_${n}`], [attr.tensor('value', makeTensor(`${name}_${n}`, DataType.INT64, [1], v))], { name: `${name}_${n}` });
      return makeGraph({
        name,
        nodes: [
          c('start', [0]),
          c('end', [K]),
          c('axis', [1]),
          makeNode('Slice', ['W', `${name}_start`, `${name}_end`, `${name}_axis`], [`${name}_w`], [], { name: `${name}_slice` }),
          ...(relu ? [makeNode('Relu', ['x'], [`${name}_x`], [], { name: `${name}_relu` })] : []),
          makeNode('MatMul', [relu ? `${name}_x` : 'x', `${name}_w`], [`${name}_y`], [], { name: `${name}_mm` }),
        ],
        outputs: [makeValueInfo(`${name}_y`, DataType.FLOAT, [ROWS, K])],
      });
    };
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('Greater', ['c', 'zero'], ['cond'], [], { name: 'positive' }),
          makeNode('If', ['cond'], ['y'], [attr.graph('then_branch', branch('then', false)), attr.graph('else_branch', branch('else', true))], { name: 'branch' }),
        ],
        initializers: [makeTensor('W', DataType.FLOAT, [K, K], gaussian(rng, K * K, 1 / Math.sqrt(K))), makeTensor('zero', DataType.FLOAT, [], Float32Array.of(0))],
        inputs: [makeValueInfo('c', DataType.FLOAT, []), makeValueInfo('x', DataType.FLOAT, [ROWS, K])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [ROWS, K])],
      }),
    });
    const rec = recipe('int8', 'none');
    const r = compressModel(model, rec);
    expect(codes(r.model)).toHaveLength(1);
    // the codes and their decode nodes in the main graph, where W was: both branches read them
    expect(r.report.layers[1].notes.join(' ')).toContain('reads the same weight as then_mm');
    // the rows add up to the file (but the 4-byte threshold no layer reads)
    expect(r.report.layers.reduce((t, l) => t + l.bytesAfter, 0)).toBe(r.report.bytesAfter - 4);
    const resolved = new Map(resolveRecipe(rec, findLayers(model)).map((l) => [l.key, l.settings]));
    const projected = projectSize(projectionInput(model, findLayers(model), modelTensorBytes(model)), (k) => resolved.get(k) as never).after;
    expect(Math.abs(projected - r.report.bytesAfter)).toBeLessThanOrEqual(128);
    const x = samples(1, 3)[0].x;
    for (const cond of [true, false]) {
      const feed: Sample = { c: { dtype: 'float32', dims: [], data: Float32Array.of(cond ? 1 : -1) }, x };
      const [a, b] = [(await run(encodeModel(model), feed)).y.data as Float32Array, (await run(encodeModel(r.model), feed)).y.data as Float32Array];
      let [e, n] = [0, 0];
      for (let i = 0; i < a.length; i++) [e, n] = [e + (a[i] - b[i]) ** 2, n + a[i] * a[i]];
      expect(e / n, String(cond)).toBeLessThan(1e-3);
    }
  });

  it("follows the first reader's settings where another reader asks for others, and says so", () => {
    const r = compressModel(chain(), recipe('int8', 'none', { m2: { weights: 'int4' } }));
    expect(codes(r.model)).toHaveLength(1);
    const m2 = r.report.layers[1];
    expect(m2.applied).toBe(r.report.layers[0].applied);
    expect(m2.notes.join(' ')).toMatch(/m1's settings: one encoding serves every layer that reads it/);
  });

  it('the size projection gives the bytes compression writes, whatever each reader asks (a reader left as float keeps the float tensor beside the encoding)', () => {
    const model = chain();
    const input = projectionInput(model, findLayers(model), modelTensorBytes(model));
    const cases: Recipe['layers'][] = [{ m1: { weights: 'fp32' } }, { m2: { weights: 'fp32' } }, { m2: { weights: 'int4' } }, { m1: { weights: 'fp16' } }];
    for (const layers of cases) {
      const rec = recipe('int8', 'none', layers);
      const resolved = new Map(resolveRecipe(rec, findLayers(model)).map((l) => [l.key, l.settings]));
      const r = compressModel(model, rec);
      expect(projectSize(input, (k) => resolved.get(k) as never).after, JSON.stringify(layers)).toBe(r.report.bytesAfter);
    }
  });

  it('GPTQ solves it on the sum of its readers\u2019 H: the second reader loses less than when only the first one\u2019s inputs count, and both together too', async () => {
    const model = branches();
    const r = recipe('int4', 'gptq');
    // the Identity the exporter wrote does not keep g2 out of recovery
    expect(recoveryLayers(model, r).map((l) => l.layer.key)).toEqual(['g1', 'g2']);
    const cal = samples(32, 1).map((s) => only(s, ['x1', 'x2']));
    const held = samples(16, 2).map((s) => only(s, ['x1', 'x2']));
    const hessians = await collectHessians(model, recoveryLayers(model, r), cal, run);
    const sum = compressModel(model, r, { recovery: hessians });
    const first = compressModel(model, r, { recovery: new Map([['g1', hessians.get('g1') as never]]) });
    const original = encodeModel(model);
    const es = await errors(original, encodeModel(sum.model), held, ['x1', 'x2']);
    const ef = await errors(original, encodeModel(first.model), held, ['x1', 'x2']);
    console.log(`shared Gemm weight, int4 gptq, held-out squared error y1 / y2: H of both readers ${es.y1.toExponential(3)} / ${es.y2.toExponential(3)}, of the first only ${ef.y1.toExponential(3)} / ${ef.y2.toExponential(3)}`);
    expect(es.y2).toBeLessThan(ef.y2);
    expect(es.y1 + es.y2).toBeLessThan(ef.y1 + ef.y2);
    expect(codes(sum.model)).toHaveLength(1);
    expect(sum.report.layers[0].notes.join(' ')).toMatch(/shared by 2 layers, solved on all of their inputs \(512 rows\)/);
    // streamed H (the CLI's and the page's way) gives the same bytes
    const { source } = await recoverySource(model, undefined, r, cal, run);
    const streamed = await compressModelStreaming(model, r, source);
    expect(encodeModel(streamed.model)).toEqual(encodeModel(sum.model));
  });

  it("corrects each reader's own bias on its own inputs: every output's mean error on the calibration samples is 0", async () => {
    const model = branches();
    const r = recipe('int4', 'bias');
    const cal = samples(16, 4).map((s) => only(s, ['x1', 'x2']));
    const hessians = await collectHessians(model, recoveryLayers(model, r), cal, run);
    const out = compressModel(model, r, { recovery: hessians });
    expect(codes(out.model)).toHaveLength(1);
    expect(out.report.layers[1].notes.join(' ')).toMatch(/bias corrected .* on its own inputs/);
    const [a, b] = [encodeModel(model), encodeModel(out.model)];
    const rtn = encodeModel(compressModel(model, recipe('int4', 'none')).model);
    for (const name of ['y1', 'y2']) {
      const mean = new Float64Array(N);
      const rtnMean = new Float64Array(N);
      for (const s of cal) {
        const [x, y, z] = [(await run(a, s))[name].data as Float32Array, (await run(b, s))[name].data as Float32Array, (await run(rtn, s))[name].data as Float32Array];
        for (let i = 0; i < x.length; i++) {
          mean[i % N] += y[i] - x[i];
          rtnMean[i % N] += z[i] - x[i];
        }
      }
      const largest = Math.max(...mean.map(Math.abs));
      const rtnLargest = Math.max(...rtnMean.map(Math.abs));
      expect(rtnLargest).toBeGreaterThan(1e-2);
      expect(largest).toBeLessThan(rtnLargest * 1e-3);
    }
  });
});
