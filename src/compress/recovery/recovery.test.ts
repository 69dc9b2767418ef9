/**
 * Recovery end to end on fixture models, checked in onnxruntime-node: a recipe with
 * `recovery: "gptq"` on calibration samples gives outputs closer to the original on held-out
 * samples than round to nearest at the same settings, with the same file size; without H a layer
 * keeps round to nearest and says why.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { makeTensor, tensorValues } from '../../onnx/tensor';
import { DataType, type Graph, type Model, type ValueInfo } from '../../onnx/types';
import { float32ToFloat16 } from '../../core/float16';
import type { Sample } from '../activations/calibrate';
import { nodeRunModel, worstOutputCosine } from './testing/node-run';
import { compressModel, compressModelStreaming } from '../compress';
import type { Recipe } from '../recipe';
import { cnnFixture, decoderFixture, mlpFixture, volumeFixture, type Fixture } from '../testing/fixtures';
import { checkNote, checkRecovery, halfOutputs } from './check';
import { collectHessians, hessianSource } from './hessian';
import { recoverySource } from './sequential';
import { recoveryLayers, recoveryModes } from './plan';

const run = nodeRunModel();

/** Inputs with structure (a few smooth factors plus a little noise), like real data and unlike iid noise. */
function samples(f: Fixture, n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const [name, dims] = Object.entries(f.inputs)[0];
  const size = dims.reduce((p, d) => p * d, 1);
  const bases = Array.from({ length: 4 }, (_, k) => Float32Array.from({ length: size }, (_, i) => Math.sin((i * (k + 1) * 0.37) / 3 + k)));
  return Array.from({ length: n }, () => {
    const c = bases.map(() => rng() * 2 - 1);
    const data = Float32Array.from({ length: size }, (_, i) => bases.reduce((s, b, k) => s + c[k] * b[i], 0) + 0.05 * (rng() * 2 - 1));
    return { [name]: { dtype: 'float32', dims, data } };
  });
}

const worstCosine = (a: Uint8Array, b: Uint8Array, held: Sample[]) => worstOutputCosine(run, a, b, held);

/** The model in float16: every float32 initializer, input and output. */
function halfModel(model: Model): Model {
  const g = model.graph as Graph;
  const half = (v: ValueInfo): ValueInfo => (v.type?.tensorType?.elemType === DataType.FLOAT ? { ...v, type: { ...v.type, tensorType: { ...v.type.tensorType, elemType: DataType.FLOAT16 } } } : v);
  const initializers = g.initializers.map((t) => (t.dataType === DataType.FLOAT ? makeTensor(t.name ?? '', DataType.FLOAT16, t.dims.map(Number), tensorValues(t) as Float32Array) : t));
  return { ...model, graph: { ...g, initializers, inputs: g.inputs.map(half), outputs: g.outputs.map(half) } };
}

const halfSample = (s: Sample): Sample =>
  Object.fromEntries(Object.entries(s).map(([k, t]) => [k, { dtype: 'float16', dims: t.dims, data: Uint16Array.from(t.data as ArrayLike<number>, float32ToFloat16) }]));

const recipe = (weights: 'int8' | 'int4', granularity: 'per-channel' | 'block', recovery: 'none' | 'bias' | 'gptq' | 'sequential'): Recipe => ({
  format: 'onnx-compression-recipe',
  version: 1,
  target: 'portable',
  defaults: { weights, granularity, blockSize: 32, recovery },
  layers: {},
});

describe('recovery gptq', () => {
  for (const [fixture, weights, granularity] of [
    [cnnFixture(), 'int4', 'per-channel'],
    [mlpFixture(), 'int4', 'block'],
    [mlpFixture(), 'int8', 'per-channel'],
    // ConvTranspose (its weight [in, out/groups, ...kernel]: rows are its axis 1)
    [decoderFixture(), 'int4', 'per-channel'],
    [decoderFixture(), 'int4', 'block'],
    // 3-D kernels (Conv and ConvTranspose over [N, C, D, H, W])
    [volumeFixture(), 'int4', 'per-channel'],
  ] as const) {
    it(`${fixture.name} ${weights} ${granularity}: closer to the original on held-out samples than round to nearest, about the same size`, async () => {
      const cal = samples(fixture, 32, 1);
      const held = samples(fixture, 8, 2);
      const original = encodeModel(fixture.model);
      const rtn = compressModel(fixture.model, recipe(weights, granularity, 'none'));
      const r = recipe(weights, granularity, 'gptq');
      const hessians = await collectHessians(fixture.model, recoveryLayers(fixture.model, r), cal, run);
      expect(hessians.size).toBe(recoveryLayers(fixture.model, r).length);
      const gptq = compressModel(fixture.model, r, { recovery: hessians });
      const [bytesRtn, bytesGptq] = [encodeModel(rtn.model), encodeModel(gptq.model)];
      // the same weight bytes; a corrected bias is a new float32 tensor of its old size (its name adds a few bytes)
      expect(Math.abs(bytesGptq.length - bytesRtn.length)).toBeLessThanOrEqual(32 * gptq.report.layers.length);
      for (const l of gptq.report.layers) {
        const rec = l.weights.find((w) => w.recovery)?.recovery;
        expect(rec, l.key).toBeDefined();
        expect(rec!.errorAfter).toBeLessThanOrEqual(rec!.errorBefore);
      }
      const [cRtn, cGptq] = [await worstCosine(original, bytesRtn, held), await worstCosine(original, bytesGptq, held)];
      console.log(`${fixture.name} ${weights} ${granularity}: held-out worst cosine RTN ${cRtn.toFixed(6)}, gptq ${cGptq.toFixed(6)}`);
      expect(1 - cGptq).toBeLessThan(1 - cRtn);
    });
  }

  it('a float16 model (weights, inputs and outputs): its layers are recovered on inputs cast to float32, closer than round to nearest; biases corrected in float16; the check compares its float16 outputs', async () => {
    const f = decoderFixture();
    const half = halfModel(f.model);
    const cal = samples(f, 32, 1).map(halfSample);
    const held = samples(f, 8, 2).map(halfSample);
    const r = recipe('int4', 'per-channel', 'gptq');
    const hessians = await collectHessians(half, recoveryLayers(half, r), cal, run);
    expect([...hessians.keys()]).toEqual(['enc', 'up', 'out']);
    const gptq = compressModel(half, r, { recovery: hessians });
    const rtn = compressModel(half, recipe('int4', 'per-channel', 'none'));
    for (const l of gptq.report.layers) {
      expect(l.weights.find((w) => w.recovery)?.recovery, l.key).toBeDefined();
      expect(l.notes.join(' '), l.key).toMatch(/bias corrected/);
    }
    // the corrected biases are float16 tensors, as the originals (no float32 tensor or Cast added)
    const types = (m: Model) => (m.graph?.initializers ?? []).map((t) => t.dataType).sort();
    expect(types(gptq.model)).toEqual(types(rtn.model));
    expect(gptq.model.graph?.nodes.filter((n) => n.opType === 'Cast').length).toBe(rtn.model.graph?.nodes.filter((n) => n.opType === 'Cast').length);
    const [original, bytesRtn, bytesGptq] = [encodeModel(half), encodeModel(rtn.model), encodeModel(gptq.model)];
    const [cRtn, cGptq] = [await worstCosine(original, bytesRtn, held), await worstCosine(original, bytesGptq, held)];
    console.log(`decoder float16 int4 per-channel: held-out worst cosine RTN ${cRtn.toFixed(6)}, gptq ${cGptq.toFixed(6)}`);
    expect(1 - cGptq).toBeLessThan(1 - cRtn);
    const check = await checkRecovery(original, bytesRtn, bytesGptq, cal, run, 'calibration', [], halfOutputs(half));
    expect(check.compared).toBe(1);
    expect(check.errorRtn).toBeGreaterThan(0);
    expect(check.errorRecovered).toBeLessThan(check.errorRtn);
    // without knowing the outputs are float16, nothing is compared, and the note says so (it never claims "closer" on nothing)
    const blind = await checkRecovery(original, bytesRtn, bytesGptq, cal, run);
    expect(blind.compared).toBe(0);
    expect(checkNote(blind, ['gptq'])).toMatch(/no float outputs to compare .* kept unchecked/);
  });

  it('a weight read through a Transpose (torch without constant folding) is recovered on the weight as the layer reads it', async () => {
    const rng = seeded(8);
    const g = (n: number, s: number) => Float32Array.from({ length: n }, () => s * (rng() * 2 - 1));
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('Transpose', ['w1t'], ['w1'], [attr.ints('perm', [1, 0])], { name: 'w1.t' }),
          makeNode('MatMul', ['x', 'w1'], ['a'], [], { name: 'fc1' }),
          makeNode('Relu', ['a'], ['r'], [], { name: 'relu' }),
          makeNode('MatMul', ['r', 'w2'], ['y'], [], { name: 'fc2' }),
        ],
        initializers: [makeTensor('w1t', DataType.FLOAT, [48, 64], g(48 * 64, 0.2)), makeTensor('w2', DataType.FLOAT, [48, 16], g(48 * 16, 0.25))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [4, 64])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [4, 16])],
      }),
    });
    const f: Fixture = { name: 'transposed', model, inputs: { x: [4, 64] } };
    const r = recipe('int4', 'block', 'gptq');
    expect(recoveryLayers(model, r).map((l) => [l.layer.key, l.shape])).toEqual([
      ['fc1', [64, 48]],
      ['fc2', [48, 16]],
    ]);
    const cal = samples(f, 32, 1);
    const held = samples(f, 8, 2);
    const hessians = await collectHessians(model, recoveryLayers(model, r), cal, run);
    const gptq = compressModel(model, r, { recovery: hessians });
    expect(gptq.report.layers[0].weights[0].recovery?.method).toBe('gptq');
    const original = encodeModel(model);
    const [cRtn, cGptq] = [await worstCosine(original, encodeModel(compressModel(model, recipe('int4', 'block', 'none')).model), held), await worstCosine(original, encodeModel(gptq.model), held)];
    console.log(`MatMul through a Transpose, int4 block: held-out worst cosine RTN ${cRtn.toFixed(6)}, gptq ${cGptq.toFixed(6)}`);
    expect(1 - cGptq).toBeLessThan(1 - cRtn);
  });

  it('the model-level check keeps whichever result is closer to the original on the calibration samples', async () => {
    const f = mlpFixture();
    const cal = samples(f, 8, 3);
    const original = encodeModel(f.model);
    const good = encodeModel(compressModel(f.model, recipe('int8', 'per-channel', 'none')).model);
    const bad = encodeModel(compressModel(f.model, { ...recipe('int4', 'per-channel', 'none'), defaults: { weights: 'int4', granularity: 'per-tensor' } }).model);
    const better = await checkRecovery(original, bad, good, cal, run);
    expect(better.keep).toBe(true);
    expect(better.errorRecovered).toBeLessThan(better.errorRtn);
    expect(checkNote(better, ['gptq'])).toMatch(/^recovery gptq: the model's outputs on 8 calibration samples are closer to the original than without recovery/);
    const worse = await checkRecovery(original, good, bad, cal, run);
    expect(worse.keep).toBe(false);
    expect(checkNote(worse, ['gptq'])).toMatch(/: the result without recovery kept \(round to nearest, or pruning alone\)$/);
    // on held-out samples (the evaluation part) the note says so; at most CHECK_SAMPLES run
    const held = await checkRecovery(original, bad, good, samples(f, 20, 4), run, 'evaluation');
    expect(held.samples).toBe(16);
    expect(checkNote(held, ['gptq'])).toMatch(/on 16 evaluation samples \(held out from recovery\) are closer/);
    // the note names the recipe's recovery, not always gptq (resnet18 with sequential said 'recovery gptq:')
    const seqRecipe = { ...recipe('int4', 'block', 'sequential'), layers: { a: { recovery: 'bias' as const }, b: { recovery: 'none' as const } } };
    expect(recoveryModes(seqRecipe)).toEqual(['bias', 'sequential']);
    expect(checkNote(held, recoveryModes(seqRecipe))).toMatch(/^recovery bias and sequential: the model's outputs on 16 evaluation samples/);
    expect(checkNote(worse, recoveryModes(recipe('int8', 'per-channel', 'sequential')))).toMatch(/^recovery sequential: the model's outputs on 8 calibration samples were further/);
    // one stacked .npy on a free batch is one sample (cli compress --samples, resnet18): said in the singular
    expect(checkNote({ ...better, samples: 1 }, ['gptq'])).toMatch(/^recovery gptq: the model's outputs on 1 calibration sample are closer/);
  });

  it('bias correction: the mean output error on the calibration samples becomes zero, channel by channel', async () => {
    const rng = seeded(4);
    const W = Float32Array.from({ length: 32 * 64 }, () => (rng() * 2 - 1) * 0.3);
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [makeNode('Gemm', ['x', 'w', 'b'], ['y'], [attr.int('transB', 1)], { name: 'fc' })],
        initializers: [makeTensor('w', DataType.FLOAT, [32, 64], W), makeTensor('b', DataType.FLOAT, [32], new Float32Array(32).fill(0.1))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 64])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [1, 32])],
      }),
    });
    // inputs with a large common offset: rounding errors then shift every output's mean
    const cal = Array.from({ length: 64 }, () => ({ x: { dtype: 'float32', dims: [1, 64], data: Float32Array.from({ length: 64 }, () => 1 + 0.3 * (rng() * 2 - 1)) } }));
    const r = recipe('int4', 'per-channel', 'bias');
    const h = await collectHessians(model, recoveryLayers(model, r), cal, run);
    expect(h.get('fc')?.h).toEqual([]);
    const [original, rtn, corrected] = [encodeModel(model), encodeModel(compressModel(model, recipe('int4', 'per-channel', 'none')).model), encodeModel(compressModel(model, r, { recovery: h }).model)];
    const meanError = async (bytes: Uint8Array) => {
      const m = new Float64Array(32);
      for (const s of cal) {
        const [a, b] = [(await run(original, s)).y.data as Float32Array, (await run(bytes, s)).y.data as Float32Array];
        for (let i = 0; i < 32; i++) m[i] += (b[i] - a[i]) / cal.length;
      }
      return Math.max(...Array.from(m, Math.abs));
    };
    const [eRtn, eCorrected] = [await meanError(rtn), await meanError(corrected)];
    expect(eRtn).toBeGreaterThan(1e-3);
    expect(eCorrected).toBeLessThan(1e-5);
    expect(Math.abs(corrected.length - rtn.length)).toBeLessThanOrEqual(32);
  });

  it('without H a layer keeps round to nearest and its row says why', () => {
    const f = mlpFixture();
    const rtn = compressModel(f.model, recipe('int4', 'block', 'none'));
    const r = compressModel(f.model, recipe('int4', 'block', 'gptq'));
    expect(Buffer.compare(Buffer.from(encodeModel(r.model)), Buffer.from(encodeModel(rtn.model)))).toBe(0);
    for (const l of r.report.layers) expect(l.notes.join(' ')).toMatch(/recovery gptq: no calibration inputs/);
  });

  for (const [fixture, weights] of [
    [mlpFixture(), 'fp32'],
    [cnnFixture(), 'fp32'],
    [mlpFixture(), 'int8'],
  ] as const) {
    it(`${fixture.name} ${weights}, 50% magnitude pruning: repair refits the kept weights (at least halving the error on held-out samples), the zeros stay zeros`, async () => {
      const cal = samples(fixture, 48, 5);
      const held = samples(fixture, 8, 6);
      const original = encodeModel(fixture.model);
      const pruned = (recovery: 'none' | 'gptq'): Recipe => ({ ...recipe('int8', 'per-channel', recovery), defaults: { weights, granularity: 'per-channel', prune: 0.5, pruneMethod: 'magnitude', recovery } });
      const plain = compressModel(fixture.model, pruned('none'));
      const r = pruned('gptq');
      const hessians = await collectHessians(fixture.model, recoveryLayers(fixture.model, r), cal, run);
      expect(hessians.size).toBeGreaterThan(0);
      const repaired = compressModel(fixture.model, r, { recovery: hessians });
      for (const l of repaired.report.layers.filter((x) => hessians.has(x.key))) {
        const w = l.weights.find((x) => x.recovery);
        expect(w?.recovery, l.key).toBeDefined();
        expect(w!.recovery!.errorAfter).toBeLessThan(w!.recovery!.errorBefore);
        // as many elements pruned (the mask chosen with the calibration inputs, the row says so)
        expect(l.notes.join(' ')).toMatch(/pruning mask chosen with the calibration inputs/);
        // the bias moves by the pruning's mean error: float weights have no rounding error to name
        if (weights === 'fp32') expect(l.notes.join(' '), l.key).not.toMatch(/rounding error/);
        const before = plain.report.layers.find((x) => x.key === l.key)!.weights.find((x) => x.name === w!.name)!;
        expect(w!.pruned).toBe(before.pruned);
      }
      // the zeros stay zeros: at least as many zero values (fp32) or zero codes (int8, symmetric; a kept
      // weight may also round to 0) are written
      const zeros = (m: typeof plain.model) =>
        (m.graph?.initializers ?? [])
          .filter((t) => t.dims.length >= 2 && (t.dataType === DataType.FLOAT || t.dataType === DataType.INT8))
          .map((t) => Array.from(tensorValues(t) as ArrayLike<number>).filter((v) => v === 0).length)
          .reduce((a, b) => a + b, 0);
      // (the cnn's Convs have biases; the mlp's MatMuls none)
      if (weights === 'fp32' && fixture.name.includes('cnn')) expect(repaired.report.layers.some((l) => /bias corrected by the mean error of the pruned weights on the calibration inputs/.test(l.notes.join(' ')))).toBe(true);
      expect(zeros(repaired.model)).toBeGreaterThanOrEqual(zeros(plain.model));
      expect(zeros(plain.model)).toBeGreaterThan(0);
      const [bytesPlain, bytesRepaired] = [encodeModel(plain.model), encodeModel(repaired.model)];
      expect(Math.abs(bytesRepaired.length - bytesPlain.length)).toBeLessThanOrEqual(32 * repaired.report.layers.length);
      const [cPlain, cRepaired] = [await worstCosine(original, bytesPlain, held), await worstCosine(original, bytesRepaired, held)];
      console.log(`${fixture.name} ${weights} prune 50%: held-out worst cosine ${cPlain.toFixed(6)} -> repaired ${cRepaired.toFixed(6)}`);
      expect(1 - cRepaired).toBeLessThan((1 - cPlain) / 2);
    });
  }

  for (const fixture of [cnnFixture(), mlpFixture()]) {
    it(`${fixture.name}, 50% channel pruning: the layers that lose input channels are refit (at least halving the error on held-out samples), same size`, async () => {
      const cal = samples(fixture, 48, 7);
      const held = samples(fixture, 8, 8);
      const original = encodeModel(fixture.model);
      const pruned = (recovery: 'none' | 'gptq'): Recipe => ({ ...recipe('int8', 'per-channel', recovery), defaults: { weights: 'fp32', prune: 0.5, pruneMethod: 'channel', recovery } });
      const plain = compressModel(fixture.model, pruned('none'));
      const r = pruned('gptq');
      const hessians = await collectHessians(fixture.model, recoveryLayers(fixture.model, r), cal, run);
      const repaired = compressModel(fixture.model, r, { recovery: hessians });
      const refit = repaired.report.layers.filter((l) => l.notes.some((n) => /input columns left refit/.test(n)));
      expect(refit.length).toBeGreaterThan(0);
      for (const l of refit) {
        const rec = l.weights.find((w) => w.recovery)!.recovery!;
        expect(rec.errorAfter).toBeLessThanOrEqual(rec.errorBefore);
      }
      const [bytesPlain, bytesRepaired] = [encodeModel(plain.model), encodeModel(repaired.model)];
      expect(Math.abs(bytesRepaired.length - bytesPlain.length)).toBeLessThanOrEqual(64 * repaired.report.layers.length);
      const [cPlain, cRepaired] = [await worstCosine(original, bytesPlain, held), await worstCosine(original, bytesRepaired, held)];
      console.log(`${fixture.name} channel prune 50%: held-out worst cosine ${cPlain.toFixed(6)} -> refit ${cRepaired.toFixed(6)}`);
      expect(1 - cRepaired).toBeLessThan((1 - cPlain) / 2);
    });
  }
});

describe('recovery streamed (compressModelStreaming with recoverySource): the bytes of the whole map', () => {
  for (const [fixture, settings] of [
    [cnnFixture(), { weights: 'int4', granularity: 'per-channel', recovery: 'gptq' }],
    [mlpFixture(), { weights: 'int8', granularity: 'per-channel', recovery: 'gptq', prune: 0.5, pruneMethod: 'magnitude' }],
    [cnnFixture(), { weights: 'fp32', recovery: 'gptq', prune: 0.5, pruneMethod: 'channel' }],
    [mlpFixture(), { weights: 'int4', granularity: 'block', blockSize: 32, recovery: 'bias' }],
  ] as const) {
    it(`${fixture.name} ${JSON.stringify(settings)}: one statistics pass per layer, the same file as with every H collected first`, async () => {
      const cal = samples(fixture, 16, 1);
      const r: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: settings, layers: {} };
      const hessians = await collectHessians(fixture.model, recoveryLayers(fixture.model, r), cal, run);
      const whole = compressModel(fixture.model, r, { recovery: hessians });
      const passes: number[] = [];
      let taken = 0;
      const source = hessianSource(fixture.model, recoveryLayers(fixture.model, r), cal, run, { statsBudget: 1, onPass: (_p, all, done, total) => done === total && passes.push(all) });
      const counted = { ...source, plan: source.plan, take: (key: string) => (taken++, source.take(key)), release: source.release };
      const streamed = await compressModelStreaming(fixture.model, r, counted, {});
      expect(taken).toBeGreaterThan(0);
      expect(passes.length).toBe(new Set(recoveryLayers(fixture.model, r).map((l) => l.layer.node.inputs[0])).size);
      expect(encodeModel(streamed.model)).toEqual(encodeModel(whole.model));
      expect(streamed.report.layers.map((l) => l.notes)).toEqual(whole.report.layers.map((l) => l.notes));
      // and the helper the page and the CLI call: one pass for these small models, the same bytes
      const viaPlan = await recoverySource(fixture.model, undefined, r, cal, run);
      expect(viaPlan.rounds).toBe(1);
      expect(encodeModel((await compressModelStreaming(fixture.model, r, viaPlan.source, {})).model)).toEqual(encodeModel(whole.model));
    });
  }
});
