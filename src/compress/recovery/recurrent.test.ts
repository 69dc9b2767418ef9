/**
 * LSTM, GRU and RNN layers: GPTQ solves their input weights W [directions, gates·hidden, input]
 * on the layer's input X (every time step a row), and R on the layer's own states (its output Y;
 * a GRU's R only with linear_before_reset); bias correction moves Wb (the first half of each
 * direction's B) by (W − Ŵ)·x̄. Checked in onnxruntime-node against a direct XᵀX and the original's outputs.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { encodeModel } from '../../onnx/codec';
import { findLayers } from '../../onnx/layers';
import { makeTensor, tensorValues } from '../../onnx/tensor';
import { DataType, type Model } from '../../onnx/types';
import type { Sample } from '../activations/calibrate';
import { compressModel } from '../compress';
import { makeRecipe } from '../recipe';
import { collectHessians, unrecoverableReason, weightMatrix } from './hessian';
import { recoveryLayers } from './plan';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();
const [T, I, HID] = [12, 32, 16];
const GATES: Record<string, number> = { LSTM: 4, GRU: 3, RNN: 1 };

const gaussian = (rng: () => number, n: number, s: number) =>
  Float32Array.from({ length: n }, () => s * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng()));

/** X [T, 1, I] → op (bidirectional, `dirs` 2, or forward) → Y [T, dirs, 1, HID] (`named` false: Y unnamed, Y_h the output; `lbr`: a GRU's linear_before_reset). */
function recurrentModel(op: 'LSTM' | 'GRU' | 'RNN', dirs: 1 | 2, named = true, lbr = false): Model {
  const rng = seeded(11);
  const g = GATES[op] * HID;
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 14 }],
    graph: makeGraph({
      nodes: [
        makeNode(op, ['x', 'W', 'R', 'B'], named ? ['y'] : ['', 'y'], [attr.int('hidden_size', HID), ...(dirs === 2 ? [attr.string('direction', 'bidirectional')] : []), ...(lbr ? [attr.int('linear_before_reset', 1)] : [])], { name: 'rnn' }),
      ],
      initializers: [
        makeTensor('W', DataType.FLOAT, [dirs, g, I], gaussian(rng, dirs * g * I, 1 / Math.sqrt(I))),
        makeTensor('R', DataType.FLOAT, [dirs, g, HID], gaussian(rng, dirs * g * HID, 1 / Math.sqrt(HID))),
        makeTensor('B', DataType.FLOAT, [dirs, 2 * g], gaussian(rng, dirs * 2 * g, 0.1)),
      ],
      inputs: [makeValueInfo('x', DataType.FLOAT, [T, 1, I])],
      outputs: [makeValueInfo('y', DataType.FLOAT, named ? [T, dirs, 1, HID] : [dirs, 1, HID])],
    }),
  });
}

/** Inputs of low rank plus a little noise, with a mean away from 0. */
function samples(n: number, seed: number): Sample[] {
  const rng = seeded(seed);
  const basis = [0, 1, 2, 3].map((k) => Float32Array.from({ length: I }, (_, i) => Math.sin((i * (k + 1) * 0.37) / 2 + k)));
  return Array.from({ length: n }, () => ({
    x: {
      dtype: 'float32',
      dims: [T, 1, I],
      data: Float32Array.from({ length: T * I }, (_, e) => 0.4 + basis.reduce((s, b) => s + (rng() * 2 - 1) * b[e % I], 0) + 0.02 * (rng() * 2 - 1)),
    },
  }));
}

async function error(a: Model, b: Model, set: Sample[]): Promise<number> {
  let e = 0;
  const [x, y] = [encodeModel(a), encodeModel(b)];
  for (const s of set) {
    const [p, q] = [(await run(x, s)).y.data as Float32Array, (await run(y, s)).y.data as Float32Array];
    for (let i = 0; i < p.length; i++) e += (p[i] - q[i]) ** 2;
  }
  return e;
}

const recipe = (recovery: 'none' | 'bias' | 'gptq') => makeRecipe('portable', { weights: 'int4', granularity: 'block', blockSize: 16, recovery });

describe('recurrent layers (LSTM, GRU, RNN): W recovered on the layer inputs, R on its states', () => {
  it('H is XᵀX over every time step of every sample; W seen as [directions·gates·hidden, input]', async () => {
    const model = recurrentModel('LSTM', 2);
    const cal = samples(5, 1);
    const layer = findLayers(model)[0];
    expect(unrecoverableReason(layer)).toBeUndefined();
    const m = weightMatrix(layer, [2, 4 * HID, I]);
    expect(m).toMatchObject({ rows: 2 * 4 * HID, cols: I, strides: [I, 1] });
    expect(m!.at(4 * HID + 3, 5)).toBe((4 * HID + 3) * I + 5);
    const got = (await collectHessians(model, recoveryLayers(model, recipe('gptq')), cal, run)).get('rnn');
    expect(got).toBeDefined();
    expect([got!.rows, got!.cols, got!.h.length]).toEqual([5 * T, I, 1]);
    const h = new Float64Array(I * I);
    const mean = new Float64Array(I);
    for (const s of cal) {
      const x = s.x.data as Float32Array;
      for (let t = 0; t < T; t++)
        for (let i = 0; i < I; i++) {
          mean[i] += x[t * I + i] / (5 * T);
          for (let j = 0; j < I; j++) h[i * I + j] += x[t * I + i] * x[t * I + j];
        }
    }
    const scale = Math.max(...h.map(Math.abs));
    expect(Math.max(...h.map((v, i) => Math.abs(v - got!.h[0][i]))) / scale).toBeLessThan(1e-6);
    expect(Math.max(...mean.map((v, i) => Math.abs(v - got!.mean[0][i])))).toBeLessThan(1e-6);
  });

  it("R's H is Σ h·hᵀ over the states the layer outputs (every time step, both directions), its unnamed Y named in the statistics copy", async () => {
    const cal = samples(4, 5);
    const unnamed = recurrentModel('LSTM', 2, false);
    const got = (await collectHessians(unnamed, recoveryLayers(unnamed, recipe('gptq')), cal, run)).get('rnn#R');
    expect([got?.rows, got?.cols]).toEqual([4 * T * 2, HID]);
    const h = new Float64Array(HID * HID);
    for (const s of cal) {
      const y = (await run(encodeModel(recurrentModel('LSTM', 2)), s)).y.data as Float32Array;
      for (let r = 0; r < y.length / HID; r++) for (let i = 0; i < HID; i++) for (let j = 0; j < HID; j++) h[i * HID + j] += y[r * HID + i] * y[r * HID + j];
    }
    const scale = Math.max(...h.map(Math.abs));
    expect(Math.max(...h.map((v, i) => Math.abs(v - got!.h[0][i]))) / scale).toBeLessThan(1e-5);
  });

  for (const [op, dirs, lbr] of [['LSTM', 2, false], ['GRU', 1, false], ['GRU', 1, true], ['RNN', 2, false]] as const) {
    it(`${op} (${dirs === 2 ? 'bidirectional' : 'forward'}${lbr ? ', linear_before_reset' : ''}), int4 block: gptq closer to the original than round to nearest on held-out inputs; W and R solved (a GRU's R only with linear_before_reset); with "bias", Wb moved by (W − Ŵ)·x̄, Rb unchanged`, async () => {
      const model = recurrentModel(op, dirs, true, lbr);
      const cal = samples(24, 2);
      const held = samples(8, 3);
      const layers = recoveryLayers(model, recipe('gptq'));
      const hessians = await collectHessians(model, layers, cal, run);
      const gptq = compressModel(model, recipe('gptq'), { recovery: hessians });
      const bias = compressModel(model, recipe('bias'), { recovery: hessians });
      const rtn = compressModel(model, recipe('none'));
      const [eg, eb, er] = [await error(model, gptq.model, held), await error(model, bias.model, held), await error(model, rtn.model, held)];
      console.log(`${op} int4 block16, held-out squared error of Y: gptq ${eg.toExponential(3)}, bias ${eb.toExponential(3)}, round to nearest ${er.toExponential(3)}`);
      expect(eg).toBeLessThan(er);
      expect(eb).toBeLessThan(er);
      const notes = gptq.report.layers[0].notes.join(' ');
      expect(notes).toMatch(/bias corrected/);
      const [wRec, rRec] = [1, 2].map((i) => gptq.report.layers[0].weights.find((x) => x.input === i)?.recovery);
      expect(wRec?.method).toBe('gptq');
      if (op === 'GRU' && !lbr) {
        expect(rRec).toBeUndefined();
        expect(notes).toMatch(/the recurrent weights R keep round to nearest \(a GRU without linear_before_reset reads r ⊙ h through R/);
      } else {
        // R solved on the states: its one-step error on them lower than round to nearest's
        expect(rRec?.method).toBe('gptq');
        expect(rRec!.errorAfter).toBeLessThan(rRec!.errorBefore);
      }
      // the bias step: Wb + (W − Ŵ)·x̄ (Ŵ the round-to-nearest weights both share), Rb as it was
      const g = GATES[op] * HID;
      const w = tensorValues(model.graph!.initializers[0]) as Float32Array;
      const b0 = tensorValues(model.graph!.initializers[2]) as Float32Array;
      const decoded = await decodedWeight(bias.model, dirs * g * I);
      const b1 = tensorValues(bias.model.graph!.initializers.find((t) => t.name === bias.model.graph!.nodes.find((n) => n.opType === op)!.inputs[3])!) as Float32Array;
      const mean = hessians.get('rnn')!.mean[0];
      let worst = 0;
      for (let d = 0; d < dirs; d++)
        for (let r = 0; r < 2 * g; r++) {
          let want = b0[d * 2 * g + r];
          if (r < g) for (let c = 0; c < I; c++) want += (w[(d * g + r) * I + c] - decoded[(d * g + r) * I + c]) * mean[c];
          worst = Math.max(worst, Math.abs(b1[d * 2 * g + r] - want));
        }
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

/** W as the compressed model decodes it: the recurrent node's input 1, run out as a graph output. */
async function decodedWeight(model: Model, n: number): Promise<Float32Array> {
  const copy = structuredClone(model);
  const g = copy.graph!;
  const node = g.nodes.find((x) => ['LSTM', 'GRU', 'RNN'].includes(x.opType ?? ''))!;
  g.outputs = [makeValueInfo(node.inputs[1], DataType.FLOAT)];
  const out = await run(encodeModel(copy), samples(1, 9)[0]);
  const data = out[node.inputs[1]].data as Float32Array;
  expect(data.length).toBe(n);
  return data;
}
