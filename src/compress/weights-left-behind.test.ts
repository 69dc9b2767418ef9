/**
 * Issue #13, "Weights left behind": weights reached through data-movement ops (PyTorch's LSTM gate
 * re-ordering: Slice/Concat, Gather with constant indices, Split/Concat) are layers' weights;
 * large float tensors no layer claims are compressed where they are stored; already-quantized
 * layers are reported as such; float16 stored weights quantize from their float16 values.
 * Every model runs in real onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { cosine } from '../core/vector';
import { float16ToFloat32, float32ToFloat16 } from '../core/float16';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { encodeModel } from '../onnx/codec';
import { findLayers } from '../onnx/layers';
import { loadModel } from '../onnx/load';
import { modelGraphs } from '../onnx/names';
import { findStoredTensors } from '../onnx/stored-tensors';
import { summarizeModel } from '../onnx/summary';
import { makeTensor, tensorFloats, tensorValues } from '../onnx/tensor';
import { DataType, type Model, type Node, type Tensor } from '../onnx/types';
import { GATE_ORDER, quantizedLayersFixture, VAD, vadFixture } from '../testing/fixtures-weights';
import { randomFloats, seeded } from '../testing/random';
import { compressModel } from './compress';
import { constScope, graphRecordsByPath } from './graph-edit';
import { quantizeTensor } from './quantize/quantize';
import { makeRecipe, type PartialLayerSettings, type Target } from './recipe';
import { effectiveWeight } from './weights';

type Feeds = Record<string, ort.Tensor>;

async function run(model: Model, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(encodeModel(model));
  const r = await s.run(feeds);
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(r)) out[k] = Float32Array.from(v.data as ArrayLike<number>);
  return out;
}

const recipe = (defaults: PartialLayerSettings, target: Target = 'portable', layers: Record<string, PartialLayerSettings> = {}) =>
  makeRecipe(target, defaults, layers);

/** PyTorch-order rows [4H, K] -> ONNX gate order, as the exporter's Slice/Concat computes it. */
function reorderGates(values: Float32Array, rows: number, cols: number): Float32Array {
  const h = rows / 4;
  const out = new Float32Array(values.length);
  GATE_ORDER.forEach((g, k) => out.set(values.subarray(g * h * cols, (g + 1) * h * cols), k * h * cols));
  return out;
}

function floatTensors(model: Model): { name: string; elements: number }[] {
  const out: { name: string; elements: number }[] = [];
  for (const rec of modelGraphs(model)) {
    for (const t of rec.graph?.initializers ?? []) {
      if (t.dataType === DataType.FLOAT || t.dataType === DataType.FLOAT16) out.push({ name: t.name ?? '', elements: t.dims.reduce((p, d) => p * d, 1) });
    }
  }
  return out;
}

describe('weights reached through data-movement ops (PyTorch gate re-ordering)', () => {
  it('findLayers traces LSTM W/R through Slice+Concat, Gather with constant indices and Split+Concat inside If branches', () => {
    const f = vadFixture();
    const layers = findLayers(f.model);
    expect(layers.map((l) => [l.key, l.op])).toEqual([
      ['/encoder/MatMul', 'MatMul'],
      ['/16k/LSTM_8', 'LSTM'],
      ['/16k/MatMul_10', 'MatMul'],
      ['/8k/LSTM_6', 'LSTM'],
      ['/8k/MatMul_8', 'MatMul'],
    ]);
    const lstm16 = layers[1].weights.map((w) => [w.name, w.role, w.via.join(' ')]);
    expect(lstm16).toEqual([
      ['lstm16k.weight_ih_l0', 'weight', 'Slice Slice Slice Slice Concat Unsqueeze'],
      ['lstm16k.weight_hh_l0', 'weight', 'Gather Unsqueeze'],
      ['lstm16k.bias', 'bias', ''],
    ]);
    expect(layers[3].weights.map((w) => [w.name, w.via.join(' ')])).toEqual([
      ['lstm8k.weight_ih_l0', 'Split Concat Unsqueeze'],
      ['lstm8k.weight_hh_l0', 'Split Concat Unsqueeze'],
      ['lstm8k.bias', ''],
    ]);
    // the feature window reaches no layer: a "tensor" pseudo-layer under its own name
    expect(findStoredTensors(f.model, layers).map((t) => [t.key, t.op, t.graphPath, t.params])).toEqual([['feature_window', 'tensor', 'main', VAD.frames * VAD.features]]);
  });

  it('effectiveWeight gives the re-ordered gates bit for bit', () => {
    const f = vadFixture();
    const layers = findLayers(f.model);
    const recs = graphRecordsByPath(f.model);
    const H = VAD.hidden;
    for (const [layer, w, r] of [
      [layers[1], f.stored.w16k, f.stored.r16k],
      [layers[3], f.stored.w8k, f.stored.r8k],
    ] as const) {
      const scope = constScope(recs.get(layer.graphPath)!);
      const W = effectiveWeight(layer.weights[0], scope, true);
      const R = effectiveWeight(layer.weights[1], scope, true);
      expect(W.shape).toEqual([1, 4 * H, VAD.encoder]);
      expect(R.shape).toEqual([1, 4 * H, H]);
      expect(W.values).toEqual(reorderGates(tensorFloats(w), 4 * H, VAD.encoder));
      expect(R.values).toEqual(reorderGates(tensorFloats(r), 4 * H, H));
    }
  });

  it('effectiveWeight of Slice (negative steps, several axes), Gather (2-D, negative indices), Split (sizes, equal parts) and Concat of two stored tensors equals onnxruntime, bit for bit', async () => {
    const rng = seeded(5);
    const a = makeTensor('a', DataType.FLOAT, [6, 8], randomFloats(rng, 48));
    const b = makeTensor('b', DataType.FLOAT, [6, 4], randomFloats(rng, 24));
    const i64 = (name: string, v: number[], dims = [v.length]) => makeTensor(name, DataType.INT64, dims, BigInt64Array.from(v.map(BigInt)));
    const chains: { nodes: Node[]; inits: Tensor[]; out: string; k: number }[] = [
      // Slice rows 5..0 step -2 and columns 1..7 step 3
      { nodes: [makeNode('Slice', ['a', 's_st', 's_en', 's_ax', 's_sp'], ['c0'])], inits: [i64('s_st', [-1, 1]), i64('s_en', [-100, 7]), i64('s_ax', [0, -1]), i64('s_sp', [-2, 3])], out: 'c0', k: 3 },
      // Gather columns with 2-D negative indices, then Reshape to [6, 6]
      {
        nodes: [makeNode('Gather', ['a', 'g_ix'], ['g0'], [attr.int('axis', 1)]), makeNode('Reshape', ['g0', 'g_sh'], ['c1'])],
        inits: [i64('g_ix', [7, -8, 2, 2, -1, 0], [2, 3]), i64('g_sh', [6, 6])],
        out: 'c1',
        k: 6,
      },
      // Split with sizes along axis 1: the middle part
      { nodes: [makeNode('Split', ['a', 'sp_sz'], ['p0', 'c2', 'p2'], [attr.int('axis', 1)])], inits: [i64('sp_sz', [2, 5, 1])], out: 'c2', k: 6 },
      // Split into equal parts (no sizes): the second, then Transpose
      { nodes: [makeNode('Split', ['a'], ['q0', 'q1'], [attr.int('axis', 0)]), makeNode('Transpose', ['q1'], ['c3'], [attr.ints('perm', [1, 0])])], inits: [], out: 'c3', k: 8 },
      // Concat of two stored tensors along the last axis, re-ordered by Slices of each
      {
        nodes: [
          makeNode('Slice', ['b', 'b_st', 'b_en', 'b_ax'], ['b_lo']),
          makeNode('Concat', ['b_lo', 'a', 'b'], ['c4'], [attr.int('axis', -1)]),
        ],
        inits: [i64('b_st', [2]), i64('b_en', [4]), i64('b_ax', [1])],
        out: 'c4',
        k: 6,
      },
    ];
    const nodes: Node[] = [];
    const inits: Tensor[] = [a, b];
    const outputs = [];
    for (const [i, c] of chains.entries()) {
      nodes.push(...c.nodes, makeNode('MatMul', [`x${i}`, c.out], [`y${i}`], [], { name: `mm${i}` }));
      inits.push(...c.inits);
      outputs.push(makeValueInfo(c.out, DataType.FLOAT), makeValueInfo(`y${i}`, DataType.FLOAT));
    }
    const model = makeModel({
      graph: makeGraph({ nodes, initializers: inits, inputs: chains.map((c, i) => makeValueInfo(`x${i}`, DataType.FLOAT, [1, c.k])), outputs }),
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
    });
    const feeds: Feeds = {};
    chains.forEach((c, i) => (feeds[`x${i}`] = new ort.Tensor('float32', new Float32Array(c.k).fill(1), [1, c.k])));
    const ref = await run(model, feeds);
    const layers = findLayers(model);
    expect(layers.map((l) => l.key)).toEqual(['mm0', 'mm1', 'mm2', 'mm3', 'mm4']);
    const scope = constScope(graphRecordsByPath(model).get('main')!);
    for (const [i, c] of chains.entries()) {
      const w = layers[i].weights[0];
      const eff = effectiveWeight(w, scope, true);
      expect(eff.values, c.out).toEqual(ref[c.out]);
      expect(eff.shape[0], c.out).toBe(c.k);
    }
    // the Concat's weight is `a` (largest) and `b` is its other part
    expect(layers[4].weights[0].name).toBe('a');
    expect(layers[4].weights[0].parts?.map((p) => p.name)).toEqual(['b']);
    expect(layers[4].params).toBe(48 + 24);
  });

  it('compressing the voice-activity model at int8 compresses both LSTMs and the feature window, drops every stored float tensor, keeps cosine >= 0.999 in both branches and takes the file below 0.3x', async () => {
    const f = vadFixture();
    const { model: out, report } = compressModel(f.model, recipe({ weights: 'int8' }));
    const rows = Object.fromEntries(report.layers.map((r) => [r.key, r]));
    expect(report.layersFailed).toBe(0);
    for (const k of ['/16k/LSTM_8', '/8k/LSTM_6']) {
      expect(rows[k].applied).toBe('int8-cast-mul');
      expect(rows[k].weights.map((w) => w.shape)).toEqual([
        [1, 4 * VAD.hidden, VAD.encoder],
        [1, 4 * VAD.hidden, VAD.hidden],
      ]);
    }
    expect(rows.feature_window).toMatchObject({ op: 'tensor', applied: 'int8-cast-mul', graphPath: 'main' });
    // no float tensor of 1024+ elements is left: the LSTM chains (Slice/Gather/Split/Concat) and their sources are gone
    expect(floatTensors(out).filter((t) => t.elements >= 1024)).toEqual([]);
    const before = encodeModel(f.model).length;
    const after = encodeModel(out).length;
    expect(after / before).toBeLessThan(0.3);
    for (const sr of [16000n, 8000n]) {
      const rng = seeded(Number(sr));
      for (let k = 0; k < 3; k++) {
        const feeds: Feeds = {
          audio: new ort.Tensor('float32', randomFloats(rng, VAD.frames * VAD.features), f.inputs.audio),
          sr: new ort.Tensor('int64', BigInt64Array.of(sr), []),
        };
        const [ref, got] = [await run(f.model, feeds), await run(out, feeds)];
        expect(cosine(got.state, ref.state)).toBeGreaterThanOrEqual(0.999);
        expect(cosine(got.prob, ref.prob)).toBeGreaterThanOrEqual(0.999);
      }
    }
  });

  it('a Concat of two stored tensors: both are dropped when nothing else reads them, the other part stays when something does', () => {
    const rng = seeded(8);
    const build = (alsoRead: boolean) => {
      const nodes = [
        makeNode('Concat', ['top', 'bottom'], ['w'], [attr.int('axis', 0)]),
        makeNode('MatMul', ['x', 'w'], ['y'], [], { name: 'mm' }),
        ...(alsoRead ? [makeNode('Add', ['bottom', 'bottom'], ['z'], [], { name: 'add' })] : []),
      ];
      return makeModel({
        graph: makeGraph({
          nodes,
          initializers: [
            makeTensor('top', DataType.FLOAT, [64, 32], randomFloats(rng, 64 * 32)),
            makeTensor('bottom', DataType.FLOAT, [64, 32], randomFloats(rng, 64 * 32)),
          ],
          inputs: [makeValueInfo('x', DataType.FLOAT, [2, 128])],
          outputs: [makeValueInfo('y', DataType.FLOAT, [2, 32]), ...(alsoRead ? [makeValueInfo('z', DataType.FLOAT, [64, 32])] : [])],
        }),
        irVersion: 7,
        opsetImport: [{ domain: '', version: 13 }],
      });
    };
    const names = (m: Model) => m.graph!.initializers.map((t) => t.name);
    const alone = compressModel(build(false), recipe({ weights: 'int8' }));
    expect(alone.report.layers.map((r) => [r.key, r.applied, r.bytesBefore])).toEqual([['mm', 'int8-cast-mul', 2 * 64 * 32 * 4]]);
    expect(names(alone.model)).not.toContain('top');
    expect(names(alone.model)).not.toContain('bottom');
    expect(alone.model.graph!.nodes.map((n) => n.opType)).not.toContain('Concat');
    const shared = compressModel(build(true), recipe({ weights: 'int8' }));
    expect(shared.report.layers.map((r) => [r.key, r.applied])).toEqual([['mm', 'int8-cast-mul']]);
    expect(names(shared.model)).not.toContain('top');
    expect(names(shared.model)).toContain('bottom');
  });

  it('a recipe addresses a stored tensor by its name; an unknown key is still an error', () => {
    const f = vadFixture();
    const keep = compressModel(f.model, recipe({ weights: 'int8' }, 'portable', { feature_window: { weights: 'fp32' } }));
    expect(keep.report.layers.find((r) => r.key === 'feature_window')).toMatchObject({ op: 'tensor', applied: 'unchanged' });
    expect(floatTensors(keep.model).find((t) => t.name === 'feature_window')?.elements).toBe(1024);
    const int4 = compressModel(f.model, recipe({ weights: 'int8' }, 'webgpu', { feature_window: { weights: 'int4', granularity: 'block', blockSize: 16 } }));
    // opset 13 has no blocked DequantizeLinear: the portable encoding
    expect(int4.report.layers.find((r) => r.key === 'feature_window')).toMatchObject({ applied: 'int4-nibbles-mul' });
    expect(() => compressModel(f.model, recipe({ weights: 'int8' }, 'portable', { feature_windw: { weights: 'fp32' } }))).toThrow(/feature_windw/);
  });

  it('the layer list (model summary: the page and inspect --json) lists the stored tensor under its name with op "tensor"', () => {
    const f = vadFixture();
    const s = summarizeModel(loadModel(encodeModel(f.model)));
    expect(s.layers.filter((l) => l.op === 'tensor').map((l) => [l.key, l.params, l.weights[0].shape])).toEqual([['feature_window', 1024, [1, 16, 64]]]);
  });
});

// ---------------------------------------------------------------- already quantized, float16

describe('already-quantized layers and float16 stored weights', () => {
  it('ConvInteger, QLinearConv, QLinearMatMul, MatMulNBits and DequantizeLinear-fed layers are reported as already quantized (layer list, inspect, compress report) and left as they are', async () => {
    const model = quantizedLayersFixture();
    const expected = [
      ['conv_integer', 'ConvInteger int8'],
      ['qlinear_conv', 'QLinearConv int8'],
      ['qlinear_matmul', 'QLinearMatMul uint8'],
      ['matmul_nbits', 'MatMulNBits 4-bit'],
      ['dq_conv', 'DequantizeLinear int8'],
    ];
    expect(findLayers(model).map((l) => [l.key, l.quantized])).toEqual(expected);
    const s = summarizeModel(loadModel(encodeModel(model)));
    expect(s.layers.map((l) => [l.key, l.quantized])).toEqual(expected);
    const { model: out, report } = compressModel(model, recipe({ weights: 'int4', granularity: 'block' }, 'webgpu'));
    expect(report.layers.map((r) => [r.key, r.quantized, r.applied, r.error])).toEqual(expected.map(([k, q]) => [k, q, 'unchanged', undefined]));
    expect(report.layersFailed).toBe(0);
    expect(report.layers.every((r) => r.notes.some((n) => n.startsWith('already quantized')))).toBe(true);
    const rng = seeded(2);
    const feeds: Feeds = {
      xu: new ort.Tensor('uint8', Uint8Array.from({ length: 32 * 256 }, () => Math.floor(rng() * 256)), [1, 32, 16, 16]),
      au: new ort.Tensor('uint8', Uint8Array.from({ length: 4 * 256 }, () => Math.floor(rng() * 256)), [4, 256]),
      af: new ort.Tensor('float32', randomFloats(rng, 4 * 256), [4, 256]),
      xf: new ort.Tensor('float32', randomFloats(rng, 32 * 256), [1, 32, 16, 16]),
    };
    const [ref, got] = [await run(model, feeds), await run(out, feeds)];
    for (const k of Object.keys(ref)) expect(got[k], k).toEqual(ref[k]);
  });

  it('float16 stored weights (read through a Cast, as fp16 exports keep them) quantize to int8 and int4 from their float16 values', async () => {
    const rng = seeded(61);
    const dims = [256, 512];
    const half = makeTensor('fc.weight', DataType.FLOAT16, dims, Float32Array.from(randomFloats(rng, 256 * 512, 0.08)));
    const model = makeModel({
      graph: makeGraph({
        nodes: [makeNode('Cast', ['fc.weight'], ['w32'], [attr.int('to', DataType.FLOAT)], { name: 'cast' }), makeNode('MatMul', ['x', 'w32'], ['y'], [], { name: 'fc' })],
        initializers: [half],
        inputs: [makeValueInfo('x', DataType.FLOAT, [4, 256])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [4, 512])],
      }),
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
    });
    // the float16 values, widened exactly (each is a float16 value)
    const fp16Values = tensorFloats(half);
    expect(fp16Values.every((v) => float16ToFloat32(float32ToFloat16(v)) === v)).toBe(true);
    const feeds: Feeds = { x: new ort.Tensor('float32', randomFloats(seeded(3), 4 * 256), [4, 256]) };
    const ref = await run(model, feeds);
    for (const [weights, min] of [
      ['int8', 0.999],
      ['int4', 0.99],
    ] as const) {
      const { model: out, report } = compressModel(model, recipe({ weights, granularity: weights === 'int8' ? 'per-channel' : 'block', blockSize: 32 }));
      expect(report.layers[0].applied).toBe(weights === 'int8' ? 'int8-cast-mul' : 'int4-nibbles-mul');
      expect(report.layers[0].weights[0]).toMatchObject({ name: 'fc.weight', bytesBefore: 256 * 512 * 2 });
      if (weights === 'int8') {
        const codes = out.graph!.initializers.find((t) => t.dataType === DataType.INT8)!;
        const want = quantizeTensor(fp16Values, dims, { kind: 'channel', axis: 1 }, 8, true);
        expect(new Int8Array(tensorValues(codes) as Int8Array)).toEqual(want.q);
      }
      expect(out.graph!.initializers.some((t) => t.dataType === DataType.FLOAT16)).toBe(false);
      expect(cosine((await run(out, feeds)).y, ref.y)).toBeGreaterThanOrEqual(min);
    }
  });
});

describe('compressing a compressed model', () => {
  it('its layers are already quantized, and the scales of its decodes are not taken for stored tensors', () => {
    const f = vadFixture();
    const int8 = compressModel(f.model, recipe({ weights: 'int8' })).model;
    const again = compressModel(int8, recipe({ weights: 'int4', granularity: 'block', blockSize: 16 }));
    expect(again.report.layers.filter((r) => ['LSTM', 'MatMul'].includes(r.op)).map((r) => [r.op, r.quantized, r.error])).toEqual([
      ['MatMul', 'Cast → Mul int8', undefined],
      ['LSTM', 'Cast → Mul int8', undefined],
      ['MatMul', 'Cast → Mul int8', undefined],
      ['LSTM', 'Cast → Mul int8', undefined],
      ['MatMul', 'Cast → Mul int8', undefined],
    ]);
    // (the int4 nibble decode hides its layers from the tracer; its block scales are still no "tensor")
    const int4 = compressModel(f.model, recipe({ weights: 'int4', granularity: 'block', blockSize: 16 })).model;
    for (const m of [int8, int4]) {
      const r = compressModel(m, recipe({ weights: 'int8' })).report;
      expect(r.layers.filter((x) => x.op === 'tensor').map((x) => x.key)).toEqual([]);
      expect(r.layersChanged).toBe(0);
    }
  });
});
