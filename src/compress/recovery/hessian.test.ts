/**
 * H as the runtime computes it (the statistics copy, in onnxruntime-node) equals a literal XᵀX of
 * the layer's input rows built here in JavaScript (im2col written out for Conv), summed over the
 * samples: within 1e-6 of H's largest entry, with the same means and row counts; one sample a
 * run, and two (3 samples: the last run has an empty slot, weighed 0).
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../core/random';
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../../onnx/build';
import { makeTensor, tensorValues } from '../../onnx/tensor';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { DataType, type Attribute, type Model } from '../../onnx/types';
import { hasLargeRuns, type Sample } from '../activations/calibrate';
import { makeRecipe, type Recipe } from '../recipe';
import { collectHessians, hessianSource, ROWS_PER_COLUMN, subsampleRows, tiledTranspose, unrecoverableReason, weightMatrix } from './hessian';
import { findLayers, type Layer } from '../../onnx/layers';
import { recoveryLayers } from './plan';
import { compressModel } from '../compress';
import { nodeRunModel } from './testing/node-run';

const run = nodeRunModel();

/** MatMul → Relu three times, widths `dims` ([K, N₀, N₁, N₂]), and 7 samples of x [1, 5, K]. */
function matMulChain(rng: () => number, dims: number[]): { model: Model; samples: Sample[] } {
  const inits = dims.slice(1).map((d, i) => makeTensor(`w${i}`, DataType.FLOAT, [dims[i], d], Float32Array.from({ length: dims[i] * d }, () => rng() * 2 - 1)));
  const nodes = [];
  let x = 'x';
  for (let i = 0; i < 3; i++) {
    nodes.push(makeNode('MatMul', [x, `w${i}`], [`m${i}`], [], { name: `fc${i}` }), makeNode('Relu', [`m${i}`], [`r${i}`], [], { name: `relu${i}` }));
    x = `r${i}`;
  }
  const model = makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({ nodes, initializers: inits, inputs: [makeValueInfo('x', DataType.FLOAT, [1, 5, dims[0]])], outputs: [makeValueInfo(x, DataType.FLOAT)] }),
  });
  const size = 5 * dims[0];
  const samples: Sample[] = Array.from({ length: 7 }, () => ({ x: { dtype: 'float32', dims: [1, 5, dims[0]], data: Float32Array.from({ length: size }, () => rng() * 2 - 1) } }));
  return { model, samples };
}

/** Two MatMuls q and k reading the same x [1, 6, 8] (one statistic). */
function sharedInput(rng: () => number): Model {
  const w = (name: string) => makeTensor(name, DataType.FLOAT, [8, 4], Float32Array.from({ length: 32 }, () => rng() * 2 - 1));
  return makeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: makeGraph({
      nodes: [makeNode('MatMul', ['x', 'wq'], ['q'], [], { name: 'q' }), makeNode('MatMul', ['x', 'wk'], ['k'], [], { name: 'k' })],
      initializers: [w('wq'), w('wk')],
      inputs: [makeValueInfo('x', DataType.FLOAT, [1, 6, 8])],
      outputs: [makeValueInfo('q', DataType.FLOAT), makeValueInfo('k', DataType.FLOAT)],
    }),
  });
}

interface ConvGeometry {
  groups: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  /** ConvTranspose only */
  outputPadding?: number[];
  /** the model says auto_pad instead of pads (`pads`: what it comes to, for the rows written out here) */
  autoPad?: 'SAME_UPPER' | 'SAME_LOWER';
}

interface Case {
  name: string;
  /** the input's dims, the weight's shape */
  x: number[];
  w: number[];
  op: 'Conv' | 'ConvTranspose' | 'MatMul' | 'Gemm';
  conv?: ConvGeometry;
  /** a Relu before the layer (its input is then an intermediate tensor) */
  relu?: boolean;
  /** the model's opset (13 unless said) */
  opset?: number;
}

const cases: Case[] = [
  { name: 'Conv groups 2, stride 2, pads, dilation, batch 2, after a Relu', op: 'Conv', x: [2, 4, 7, 9], w: [6, 2, 3, 3], relu: true, conv: { groups: 2, kernel: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1], dilations: [1, 2] } },
  { name: 'Conv depthwise 3x3, pads 1', op: 'Conv', x: [1, 3, 6, 6], w: [3, 1, 3, 3], conv: { groups: 3, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] } },
  { name: 'Conv 1-D, stride 2, pads, dilation 2', op: 'Conv', x: [1, 4, 11], w: [5, 4, 3], conv: { groups: 1, kernel: [3], strides: [2], pads: [1, 2], dilations: [2] } },
  { name: 'Conv auto_pad SAME_UPPER, stride 2 (pads 1, 0, 1, 1)', op: 'Conv', x: [1, 3, 7, 8], w: [4, 3, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [2, 2], pads: [1, 0, 1, 1], dilations: [1, 1], autoPad: 'SAME_UPPER' } },
  { name: 'Conv auto_pad SAME_LOWER, stride 2 (pads 1, 1, 1, 0)', op: 'Conv', x: [1, 3, 7, 8], w: [4, 3, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0], dilations: [1, 1], autoPad: 'SAME_LOWER' } },
  { name: 'Conv 1x1 (rows without a patch Conv)', op: 'Conv', x: [1, 4, 5, 3], w: [3, 4, 1, 1], conv: { groups: 1, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] } },
  { name: 'Conv 1x1 stride 2', op: 'Conv', x: [1, 4, 5, 5], w: [3, 4, 1, 1], conv: { groups: 1, kernel: [1, 1], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] } },
  // ConvTranspose: the weight is [in, out/groups, ...kernel]; its rows are the input each kernel position carries to an output position
  { name: 'ConvTranspose groups 2, stride 2, pads, output_padding, batch 2, after a Relu', op: 'ConvTranspose', x: [2, 4, 4, 5], w: [4, 3, 3, 3], relu: true, conv: { groups: 2, kernel: [3, 3], strides: [2, 2], pads: [1, 0, 1, 1], dilations: [1, 1], outputPadding: [1, 0] } },
  { name: 'ConvTranspose 4x4, stride 2, pads 1 (2x upsampling)', op: 'ConvTranspose', x: [1, 4, 3, 3], w: [4, 2, 4, 4], conv: { groups: 1, kernel: [4, 4], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] } },
  { name: 'ConvTranspose 1-D, stride 3, dilation 2', op: 'ConvTranspose', x: [1, 3, 6], w: [3, 2, 3], conv: { groups: 1, kernel: [3], strides: [3], pads: [1, 0], dilations: [2] } },
  { name: 'ConvTranspose 1x1', op: 'ConvTranspose', x: [1, 5, 3, 4], w: [5, 3, 1, 1], conv: { groups: 1, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] } },
  // strides = kernel, no pads: the kernel positions tile the output (tiledTranspose: H from the input itself, I_k ⊗ its H)
  { name: 'ConvTranspose 2x2 stride 2 (tiled), groups 2, batch 2, after a Relu', op: 'ConvTranspose', x: [2, 4, 3, 5], w: [4, 3, 2, 2], relu: true, conv: { groups: 2, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] } },
  { name: 'ConvTranspose 1-D kernel 4 stride 4 (tiled)', op: 'ConvTranspose', x: [1, 3, 5], w: [3, 2, 4], conv: { groups: 1, kernel: [4], strides: [4], pads: [0, 0], dilations: [1] } },
  { name: 'ConvTranspose 3-D 2x2x2 stride 2 (tiled)', op: 'ConvTranspose', x: [1, 3, 2, 3, 2], w: [3, 2, 2, 2, 2], conv: { groups: 1, kernel: [2, 2, 2], strides: [2, 2, 2], pads: [0, 0, 0, 0, 0, 0], dilations: [1, 1, 1] } },
  { name: 'ConvTranspose 2x2 stride 2, output_padding 1 (not tiled: a row of outputs no input reaches)', op: 'ConvTranspose', x: [1, 3, 3, 4], w: [3, 2, 2, 2], conv: { groups: 1, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], outputPadding: [1, 0] } },
  // 3-D (video, volumes): the patch Conv takes a 3-D one-hot kernel the same way
  { name: 'Conv 3-D, groups 2, strides (1, 2, 2), pads, dilation (2, 1, 1), batch 2', op: 'Conv', x: [2, 4, 5, 5, 6], w: [6, 2, 2, 3, 3], conv: { groups: 2, kernel: [2, 3, 3], strides: [1, 2, 2], pads: [1, 1, 0, 0, 1, 1], dilations: [2, 1, 1] } },
  { name: 'ConvTranspose 3-D, strides (1, 2, 2), pads, output_padding', op: 'ConvTranspose', x: [1, 4, 2, 3, 3], w: [4, 3, 2, 3, 3], conv: { groups: 1, kernel: [2, 3, 3], strides: [1, 2, 2], pads: [0, 1, 1, 0, 1, 0], dilations: [1, 1, 1], outputPadding: [0, 1, 0] } },
  { name: 'MatMul with 3-D X, after a Relu', op: 'MatMul', x: [2, 5, 8], w: [8, 6], relu: true },
  { name: 'MatMul with 2-D X', op: 'MatMul', x: [5, 8], w: [8, 3] },
  { name: 'Gemm transB', op: 'Gemm', x: [4, 8], w: [6, 8] },
  // wide layers: H's products in parts (gramBlocks), only the blocks on and above the diagonal
  { name: 'MatMul with 777 columns (H in 3 parts), opset 9 (Slice-1)', op: 'MatMul', x: [1, 4, 777], w: [777, 3], opset: 9 },
  { name: 'Conv 3x3 over 64 channels (576 columns, H in 2 parts), 9 positions', op: 'Conv', x: [1, 64, 3, 3], w: [2, 64, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] } },
  { name: 'Conv groups 2, 2x2 over 2 x 130 channels (520 columns a group, 2 parts)', op: 'Conv', x: [1, 260, 3, 3], w: [4, 130, 2, 2], conv: { groups: 2, kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] } },
];

function caseModel(c: Case, rng: () => number): Model {
  const w = makeTensor('w', DataType.FLOAT, c.w, Float32Array.from({ length: c.w.reduce((p, d) => p * d, 1) }, () => rng() * 2 - 1));
  const g = c.conv;
  const attrs: Attribute[] = g
    ? [
        attr.int('group', g.groups),
        attr.ints('kernel_shape', g.kernel),
        attr.ints('strides', g.strides),
        g.autoPad ? attr.string('auto_pad', g.autoPad) : attr.ints('pads', g.pads),
        attr.ints('dilations', g.dilations),
        ...(g.outputPadding ? [attr.ints('output_padding', g.outputPadding)] : []),
      ]
    : c.op === 'Gemm'
      ? [attr.int('transB', 1)]
      : [];
  const x = c.relu ? 'r' : 'x';
  const nodes = [...(c.relu ? [makeNode('Relu', ['x'], ['r'], [], { name: 'relu' })] : []), makeNode(c.op, [x, 'w'], ['y'], attrs, { name: 'layer' })];
  const graph = makeGraph({ nodes, initializers: [w], inputs: [makeValueInfo('x', DataType.FLOAT, c.x)], outputs: [makeValueInfo('y', DataType.FLOAT)] });
  return makeModel({ graph, irVersion: 8, opsetImport: [{ domain: '', version: c.opset ?? 13 }] });
}

/** The largest |x| (no spread: H of wide layers has too many entries for one call's arguments) */
function largest(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]));
  return m;
}

/** The layer's input rows, per group, written out: Conv im2col in the weight's column order (channel, then kernel position). */
function inputRows(c: Case, data: Float32Array): number[][][] {
  const x = c.relu ? data.map((v) => Math.max(0, v)) : data;
  const g = c.conv;
  if (!g) {
    const k = c.x[c.x.length - 1];
    return [Array.from({ length: x.length / k }, (_, r) => Array.from(x.subarray(r * k, (r + 1) * k)))];
  }
  // any number of spatial axes (1-D, 2-D, 3-D): multi-indices over them, the last fastest
  const [N, C] = c.x;
  const S = c.x.slice(2);
  const rank = S.length;
  const K = g.kernel;
  const begin = g.pads.slice(0, rank);
  const end = g.pads.slice(rank);
  const cg = C / g.groups;
  const volume = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
  const unravel = (i: number, dims: number[]) => {
    const out = new Array<number>(dims.length);
    for (let a = dims.length - 1; a >= 0; a--) {
      out[a] = i % dims[a];
      i = Math.floor(i / dims[a]);
    }
    return out;
  };
  const at = (n: number, ch: number, pos: number[]) => pos.reduce((o, v, a) => o * S[a] + v, n * C + ch);
  const out: number[][][] = Array.from({ length: g.groups }, () => []);
  if (c.op === 'ConvTranspose') {
    // output position o gets input i through kernel position k where o = i·s − pad + k·d
    const op = g.outputPadding ?? new Array<number>(rank).fill(0);
    const T = S.map((len, a) => (len - 1) * g.strides[a] - begin[a] - end[a] + g.dilations[a] * (K[a] - 1) + 1 + op[a]);
    const from = (o: number, k: number, a: number) => {
      const t = o + begin[a] - k * g.dilations[a];
      return t >= 0 && t % g.strides[a] === 0 && t / g.strides[a] < S[a] ? t / g.strides[a] : -1;
    };
    for (let n = 0; n < N; n++)
      for (let o = 0; o < volume(T); o++)
        for (let grp = 0; grp < g.groups; grp++) {
          const oo = unravel(o, T);
          const row: number[] = [];
          for (let ci = 0; ci < cg; ci++)
            for (let k = 0; k < volume(K); k++) {
              const src = unravel(k, K).map((kk, a) => from(oo[a], kk, a));
              row.push(src.every((v) => v >= 0) ? x[at(n, grp * cg + ci, src)] : 0);
            }
          out[grp].push(row);
        }
    return out;
  }
  const O = S.map((len, a) => Math.floor((len + begin[a] + end[a] - g.dilations[a] * (K[a] - 1) - 1) / g.strides[a]) + 1);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < volume(O); o++)
      for (let grp = 0; grp < g.groups; grp++) {
        const oo = unravel(o, O);
        const row: number[] = [];
        for (let ci = 0; ci < cg; ci++)
          for (let k = 0; k < volume(K); k++) {
            const src = unravel(k, K).map((kk, a) => oo[a] * g.strides[a] - begin[a] + kk * g.dilations[a]);
            row.push(src.every((v, a) => v >= 0 && v < S[a]) ? x[at(n, grp * cg + ci, src)] : 0);
          }
        out[grp].push(row);
      }
  return out;
}

const recipe: Recipe = { format: 'onnx-compression-recipe', version: 1, target: 'portable', defaults: { weights: 'int8', granularity: 'per-channel', recovery: 'gptq' }, layers: {} };

describe('weightMatrix: the layer output is its weight rows times its input rows', () => {
  for (const c of cases.filter((x) => x.conv)) {
    it(c.name, async () => {
      const rng = seeded(9);
      const model = caseModel(c, rng);
      const w = tensorValues(model.graph!.initializers[0]) as Float32Array;
      const layer = findLayers(model).find((l) => l.key === 'layer') as Layer;
      const m = weightMatrix(layer, c.w);
      expect(m).toBeDefined();
      const data = Float32Array.from({ length: c.x.reduce((p, d) => p * d, 1) }, () => rng() * 2 - 1);
      const y = (await run(encodeModel(model), { x: { dtype: 'float32', dims: c.x, data } })).y.data as Float32Array;
      const rows = inputRows(c, data);
      const groups = rows.length;
      const per = m!.rows / groups;
      const positions = rows[0].length / c.x[0];
      // y [N, out, ...positions]; rows per group, sample-major then position
      let worst = 0;
      for (let g = 0; g < groups; g++)
        for (let r = 0; r < rows[g].length; r++) {
          const [n, p] = [Math.floor(r / positions), r % positions];
          for (let o = g * per; o < (g + 1) * per; o++) {
            let v = 0;
            for (let col = 0; col < m!.cols; col++) v += w[m!.at(o, col)] * rows[g][r][col];
            worst = Math.max(worst, Math.abs(v - y[(n * m!.rows + o) * positions + p]));
          }
        }
      expect(worst).toBeLessThan(1e-4);
      if (m!.strides) for (let r = 0; r < m!.rows; r++) for (let col = 0; col < m!.cols; col++) expect(m!.at(r, col)).toBe(r * m!.strides[0] + col * m!.strides[1]);
    });
  }
});

describe('collectHessians: layers in If branches', () => {
  /** y = If(sum(x) > 0): then Gemm(Relu(x), Wt) (its input made in the branch), else Gemm(x, We) (its input read from outside); weights held by the branches */
  function ifModel(rng: () => number): Model {
    const t = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => rng() * 2 - 1));
    const then = makeGraph({
      nodes: [makeNode('Relu', ['x'], ['h'], [], { name: 'relu' }), makeNode('Gemm', ['h', 'wt', 'bt'], ['yt'], [attr.int('transB', 1)], { name: 'then_fc' })],
      initializers: [t('wt', [8, 16]), t('bt', [8])],
      inputs: [],
      outputs: [makeValueInfo('yt', DataType.FLOAT)],
    });
    const other = makeGraph({
      nodes: [makeNode('Gemm', ['x', 'we', 'be'], ['ye'], [attr.int('transB', 1)], { name: 'else_fc' })],
      initializers: [t('we', [8, 16]), t('be', [8])],
      inputs: [],
      outputs: [makeValueInfo('ye', DataType.FLOAT)],
    });
    return makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('ReduceSum', ['x'], ['s'], [attr.int('keepdims', 0)], { name: 'sum' }),
          makeNode('Greater', ['s', 'zero'], ['c'], [], { name: 'positive' }),
          makeNode('If', ['c'], ['y'], [attr.graph('then_branch', then), attr.graph('else_branch', other)], { name: 'branch' }),
        ],
        initializers: [makeTensor('zero', DataType.FLOAT, [], Float32Array.of(0))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 16])],
        outputs: [makeValueInfo('y', DataType.FLOAT)],
      }),
    });
  }

  it('H of each branch layer sums the samples that took its branch (its input taken out of the If); a branch no sample took has none, and says so', async () => {
    const rng = seeded(12);
    const model = ifModel(rng);
    expect(recoveryLayers(model, recipe).map((l) => l.layer.key)).toEqual(['then_fc', 'else_fc']);
    const samples: Sample[] = Array.from({ length: 9 }, (_, i) => ({ x: { dtype: 'float32', dims: [1, 16], data: Float32Array.from({ length: 16 }, () => rng() * 2 - 1 + (i % 3 === 0 ? -0.8 : 0.8)) } }));
    const positive = samples.filter((s) => (s.x.data as Float32Array).reduce((p, v) => p + v, 0) > 0);
    expect(positive.length).toBeGreaterThan(0);
    expect(positive.length).toBeLessThan(samples.length);
    const got = await collectHessians(model, recoveryLayers(model, recipe), samples, run);
    const direct = (set: Sample[], f: (v: number) => number) => {
      const h = new Float64Array(256);
      for (const s of set) {
        const x = Array.from(s.x.data as Float32Array, f);
        for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) h[i * 16 + j] += x[i] * x[j];
      }
      return h;
    };
    const negative = samples.filter((s) => !positive.includes(s));
    for (const [key, set, f] of [
      ['then_fc', positive, (v: number) => Math.max(0, v)],
      ['else_fc', negative, (v: number) => v],
    ] as const) {
      const h = got.get(key);
      expect(h?.rows, key).toBe(set.length);
      const want = direct(set, f);
      expect(largest(want.map((v, i) => v - (h?.h[0][i] ?? 0))) / largest(want), key).toBeLessThan(1e-6);
    }
    // compressed with those H: both branch layers recovered, the model still runs in the runtime
    const r: Recipe = { ...recipe, defaults: { ...recipe.defaults, weights: 'int4', granularity: 'per-channel' } };
    const out = compressModel(model, r, { recovery: got });
    for (const l of out.report.layers) expect(l.weights.find((w) => w.recovery)?.recovery?.method, l.key).toBe('gptq');
    const y = (await run(encodeModel(out.model), samples[0])).y.data as Float32Array;
    expect(y.length).toBe(8);
    // every sample positive: the else branch never ran
    const only = await collectHessians(model, recoveryLayers(model, recipe), positive, run);
    expect([...only.keys()]).toEqual(['then_fc']);
    const skipped = compressModel(model, r, { recovery: only });
    expect(skipped.report.layers[1].notes.join(' ')).toMatch(/its If branch \(else_branch of branch\) did not run on the calibration samples/);
  });
});

describe('collectHessians: Conv layers in If branches', () => {
  /** y = If(sum(x) > 0): then Conv 3x3 pads 1 (Relu(x), made in the branch), else ConvTranspose 1x1 (x, read from outside); x [1, 3, 5, 6] */
  const thenCase: Case = { name: 'then', op: 'Conv', x: [1, 3, 5, 6], w: [4, 3, 3, 3], relu: true, conv: { groups: 1, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] } };
  const elseCase: Case = { name: 'else', op: 'ConvTranspose', x: [1, 3, 5, 6], w: [3, 4, 1, 1], conv: { groups: 1, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] } };
  function ifConvModel(rng: () => number): Model {
    const t = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => rng() * 2 - 1));
    const then = makeGraph({
      nodes: [makeNode('Relu', ['x'], ['h'], [], { name: 'relu' }), makeNode('Conv', ['h', 'wt', 'bt'], ['yt'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])], { name: 'then_conv' })],
      initializers: [t('wt', thenCase.w), t('bt', [4])],
      outputs: [makeValueInfo('yt', DataType.FLOAT)],
    });
    const other = makeGraph({
      nodes: [makeNode('ConvTranspose', ['x', 'we', 'be'], ['ye'], [attr.ints('kernel_shape', [1, 1])], { name: 'else_convt' })],
      initializers: [t('we', elseCase.w), t('be', [4])],
      outputs: [makeValueInfo('ye', DataType.FLOAT)],
    });
    return makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('ReduceSum', ['x'], ['s'], [attr.int('keepdims', 0)], { name: 'sum' }),
          makeNode('Greater', ['s', 'zero'], ['c'], [], { name: 'positive' }),
          makeNode('If', ['c'], ['y'], [attr.graph('then_branch', then), attr.graph('else_branch', other)], { name: 'branch' }),
        ],
        initializers: [makeTensor('zero', DataType.FLOAT, [], Float32Array.of(0))],
        inputs: [makeValueInfo('x', DataType.FLOAT, thenCase.x)],
        outputs: [makeValueInfo('y', DataType.FLOAT)],
      }),
    });
  }

  for (const copies of [1, 2]) {
    it(`${copies} sample(s) a run: H of each branch's Conv is XᵀX of its patches over exactly the samples that took the branch (the other branch's zeros count no rows)`, async () => {
      const rng = seeded(21);
      const model = ifConvModel(rng);
      expect(recoveryLayers(model, recipe).map((l) => l.layer.key)).toEqual(['then_conv', 'else_convt']);
      const samples: Sample[] = Array.from({ length: 7 }, (_, i) => ({ x: { dtype: 'float32', dims: thenCase.x, data: Float32Array.from({ length: 90 }, () => rng() * 2 - 1 + (i % 3 === 0 ? -0.6 : 0.6)) } }));
      const positive = samples.filter((s) => (s.x.data as Float32Array).reduce((p, v) => p + v, 0) > 0);
      expect(positive.length).toBeGreaterThan(0);
      expect(positive.length).toBeLessThan(samples.length);
      const got = await collectHessians(model, recoveryLayers(model, recipe), samples, run, { copies });
      for (const [key, c, set] of [
        ['then_conv', thenCase, positive],
        ['else_convt', elseCase, samples.filter((s) => !positive.includes(s))],
      ] as const) {
        const rows = set.flatMap((s) => inputRows(c, s.x.data as Float32Array)[0]);
        const cols = rows[0].length;
        const want = new Float64Array(cols * cols);
        for (const r of rows) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) want[i * cols + j] += r[i] * r[j];
        const h = got.get(key);
        expect([h?.rows, h?.cols], key).toEqual([rows.length, cols]);
        expect(largest(want.map((v, i) => v - (h?.h[0][i] ?? 0))) / largest(want), key).toBeLessThan(1e-6);
      }
      // compressed with those H: both recovered, and the model runs
      const r: Recipe = { ...recipe, defaults: { ...recipe.defaults, weights: 'int4', granularity: 'per-channel' } };
      const out = compressModel(model, r, { recovery: got });
      for (const l of out.report.layers) expect(l.weights.find((w) => w.recovery)?.recovery?.method, l.key).toBe('gptq');
      expect(((await run(encodeModel(out.model), samples[0])).y.data as Float32Array).length).toBe(4 * 30);
    });
  }
});

describe('collectHessians: layers in an If nested in an If branch', () => {
  // x [1, 2, 4, 4]: If(sum(x) > 0) then (If(max(x) > 1.5) then Conv 3x3 pads 1, else Conv 1x1) else Gemm on the flattened x
  const inner3: Case = { name: 'inner then', op: 'Conv', x: [1, 2, 4, 4], w: [3, 2, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] } };
  const inner1: Case = { name: 'inner else', op: 'Conv', x: [1, 2, 4, 4], w: [3, 2, 1, 1], conv: { groups: 1, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] } };
  function nested(rng: () => number): Model {
    const t = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => rng() * 2 - 1));
    const conv = (name: string, w: string, k: number) =>
      makeGraph({ nodes: [makeNode('Conv', ['x', w], [`${name}_y`], [attr.ints('kernel_shape', [k, k]), attr.ints('pads', k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0])], { name })], outputs: [makeValueInfo(`${name}_y`, DataType.FLOAT)] });
    const outerThen = makeGraph({
      nodes: [
        makeNode('ReduceMax', ['x'], ['m'], [attr.int('keepdims', 0)], { name: 'max' }),
        makeNode('Greater', ['m', 'limit'], ['c2'], [], { name: 'large' }),
        makeNode('If', ['c2'], ['yi'], [attr.graph('then_branch', conv('conv3', 'w3', 3)), attr.graph('else_branch', conv('conv1', 'w1', 1))], { name: 'inner' }),
      ],
      initializers: [t('w3', inner3.w), t('w1', inner1.w), makeTensor('limit', DataType.FLOAT, [], Float32Array.of(1.5))],
      outputs: [makeValueInfo('yi', DataType.FLOAT)],
    });
    const outerElse = makeGraph({
      nodes: [
        makeNode('Flatten', ['x'], ['f'], [], { name: 'flat' }),
        makeNode('Gemm', ['f', 'wg'], ['g'], [attr.int('transB', 1)], { name: 'gemm' }),
        makeNode('Reshape', ['g', 'shape'], ['ye'], [], { name: 'back' }),
      ],
      initializers: [t('wg', [48, 32]), makeTensor('shape', DataType.INT64, [4], [1, 3, 4, 4])],
      outputs: [makeValueInfo('ye', DataType.FLOAT)],
    });
    return makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('ReduceSum', ['x'], ['s'], [attr.int('keepdims', 0)], { name: 'sum' }),
          makeNode('Greater', ['s', 'zero'], ['c'], [], { name: 'positive' }),
          makeNode('If', ['c'], ['y'], [attr.graph('then_branch', outerThen), attr.graph('else_branch', outerElse)], { name: 'outer' }),
        ],
        initializers: [makeTensor('zero', DataType.FLOAT, [], Float32Array.of(0))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 2, 4, 4])],
        outputs: [makeValueInfo('y', DataType.FLOAT)],
      }),
    });
  }

  for (const copies of [1, 2]) {
    it(`${copies} sample(s) a run: each layer's H is over exactly the samples that took every branch it sits in`, async () => {
      const rng = seeded(31);
      const model = nested(rng);
      expect(recoveryLayers(model, recipe).map((l) => l.layer.key)).toEqual(['gemm', 'conv3', 'conv1']);
      const samples: Sample[] = Array.from({ length: 12 }, (_, i) => ({
        x: { dtype: 'float32', dims: [1, 2, 4, 4], data: Float32Array.from({ length: 32 }, () => (rng() * 2 - 1) * (i % 2 === 0 ? 1 : 1.8) + (i % 3 === 0 ? -0.5 : 0.5)) },
      }));
      const data = (s: Sample) => s.x.data as Float32Array;
      const positive = (s: Sample) => data(s).reduce((p, v) => p + v, 0) > 0;
      const large = (s: Sample) => Math.max(...data(s)) > 1.5;
      const sets = { conv3: samples.filter((s) => positive(s) && large(s)), conv1: samples.filter((s) => positive(s) && !large(s)), gemm: samples.filter((s) => !positive(s)) };
      for (const set of Object.values(sets)) expect(set.length).toBeGreaterThan(0);
      const got = await collectHessians(model, recoveryLayers(model, recipe), samples, run, { copies });
      for (const [key, set] of Object.entries(sets)) {
        const rows = key === 'gemm' ? set.map((s) => Array.from(data(s))) : set.flatMap((s) => inputRows(key === 'conv3' ? inner3 : inner1, data(s))[0]);
        const cols = rows[0].length;
        const want = new Float64Array(cols * cols);
        for (const r of rows) for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) want[i * cols + j] += r[i] * r[j];
        const h = got.get(key);
        expect([h?.rows, h?.cols], key).toEqual([rows.length, cols]);
        expect(largest(want.map((v, i) => v - (h?.h[0][i] ?? 0))) / largest(want), key).toBeLessThan(1e-6);
      }
    });
  }
});

describe('collectHessians: layers in a Loop body', () => {
  // h_0 = x [1, K]; M iterations of h ← Relu(h·W) (W an outer weight); y the last h
  const K = 12;
  function loopModel(rng: () => number): Model {
    const body = makeGraph({
      name: 'body',
      nodes: [
        makeNode('MatMul', ['h_in', 'w'], ['a'], [], { name: 'step_fc' }),
        makeNode('Relu', ['a'], ['h_out'], [], { name: 'step_relu' }),
        makeNode('Identity', ['cond_in'], ['cond_out'], [], { name: 'keep_going' }),
      ],
      inputs: [makeValueInfo('i', DataType.INT64, []), makeValueInfo('cond_in', DataType.BOOL, []), makeValueInfo('h_in', DataType.FLOAT, [1, K])],
      outputs: [makeValueInfo('cond_out', DataType.BOOL, []), makeValueInfo('h_out', DataType.FLOAT, [1, K])],
    });
    return makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [makeNode('Loop', ['m', 'yes', 'x'], ['y'], [attr.graph('body', body)], { name: 'loop' })],
        initializers: [makeTensor('w', DataType.FLOAT, [K, K], Float32Array.from({ length: K * K }, () => (rng() * 2 - 1) * 0.6)), makeTensor('yes', DataType.BOOL, [], Uint8Array.of(1))],
        inputs: [makeValueInfo('m', DataType.INT64, []), makeValueInfo('x', DataType.FLOAT, [1, K])],
        outputs: [makeValueInfo('y', DataType.FLOAT, [1, K])],
      }),
    });
  }

  it("H is Σ h·hᵀ over every iteration of every sample (a sample whose Loop runs no iteration adds none); the layer recovered, the model runs", async () => {
    const rng = seeded(41);
    const model = loopModel(rng);
    expect(recoveryLayers(model, recipe).map((l) => l.layer.key)).toEqual(['step_fc']);
    const w = tensorValues(model.graph!.initializers[0]) as Float32Array;
    const trips = [3, 0, 2, 4, 1];
    const samples: Sample[] = trips.map((m) => ({ m: { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(m)) }, x: { dtype: 'float32', dims: [1, K], data: Float32Array.from({ length: K }, () => rng() * 2 - 0.5) } }));
    const got = (await collectHessians(model, recoveryLayers(model, recipe), samples, run)).get('step_fc');
    const want = new Float64Array(K * K);
    let rows = 0;
    for (const [k, s] of samples.entries()) {
      let h = Array.from(s.x.data as Float32Array);
      for (let it = 0; it < trips[k]; it++) {
        rows++;
        for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) want[i * K + j] += h[i] * h[j];
        h = Array.from({ length: K }, (_, o) => Math.max(0, h.reduce((p, v, i) => p + v * w[i * K + o], 0)));
      }
    }
    expect([got?.rows, got?.cols]).toEqual([rows, K]);
    expect(largest(want.map((v, i) => v - (got?.h[0][i] ?? 0))) / largest(want)).toBeLessThan(1e-6);
    const out = compressModel(model, { ...recipe, defaults: { ...recipe.defaults, weights: 'int4', granularity: 'per-channel' } }, { recovery: new Map([['step_fc', got!]]) });
    expect(out.report.layers[0].weights.find((x) => x.recovery)?.recovery?.method).toBe('gptq');
    expect(((await run(encodeModel(out.model), samples[0])).y.data as Float32Array).length).toBe(K);
    // no sample runs an iteration: no H, and the layer says why
    const none = await collectHessians(model, recoveryLayers(model, recipe), samples.filter((_, k) => trips[k] === 0), run);
    expect(none.size).toBe(0);
    const kept = compressModel(model, { ...recipe, defaults: { ...recipe.defaults, weights: 'int4', granularity: 'per-channel' } }, { recovery: none });
    expect(kept.report.layers[0].notes.join(' ')).toMatch(/its Loop \(loop\) ran no iteration on the calibration samples/);
  });
});

describe('unrecoverableReason: why a layer gets no statistics whatever samples are given', () => {
  it('names the op, a 4-D kernel; nothing for a layer it can recover (a weight read through a Transpose, Gemm with transA, a 3-D kernel included)', () => {
    const rng = seeded(3);
    const t = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => rng()));
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('MatMul', ['x', 'w'], ['a'], [], { name: 'plain' }),
          makeNode('Transpose', ['wt'], ['wt_t'], [attr.ints('perm', [1, 0])], { name: 'tr' }),
          makeNode('MatMul', ['a', 'wt_t'], ['b'], [], { name: 'through' }),
          makeNode('Gemm', ['g', 'wg'], ['c'], [attr.int('transA', 1)], { name: 'transA' }),
          makeNode('Conv', ['v', 'wv'], ['d'], [], { name: 'conv3d' }),
          makeNode('Conv', ['u', 'wu'], ['d4'], [], { name: 'conv4d' }),
          makeNode('GRU', ['s', 'gw', 'gr'], ['e'], [attr.int('hidden_size', 4)], { name: 'gru' }),
          makeNode('Einsum', ['x', 'w'], ['f'], [attr.string('equation', 'bi,io->bo')], { name: 'einsum' }),
          makeNode('Einsum', ['x', 'w'], ['f2'], [attr.string('equation', 'bi,ij->bij')], { name: 'outer' }),
          makeNode('ConvTranspose', ['v2', 'wc'], ['h'], [attr.string('auto_pad', 'SAME_UPPER'), attr.ints('strides', [2, 2])], { name: 'same' }),
        ],
        initializers: [t('w', [8, 8]), t('wt', [8, 8]), t('wg', [8, 8]), t('wv', [2, 3, 2, 2, 2]), t('wu', [2, 3, 2, 2, 2, 2]), t('gw', [1, 12, 8]), t('gr', [1, 12, 4]), t('wc', [3, 2, 2, 2])],
        inputs: [makeValueInfo('x', DataType.FLOAT, [2, 8]), makeValueInfo('g', DataType.FLOAT, [8, 2]), makeValueInfo('v', DataType.FLOAT, [1, 3, 4, 4, 4]), makeValueInfo('u', DataType.FLOAT, [1, 3, 3, 3, 3, 3]), makeValueInfo('s', DataType.FLOAT, [5, 1, 8]), makeValueInfo('v2', DataType.FLOAT, [1, 3, 4, 4])],
        outputs: ['b', 'c', 'd', 'd4', 'e', 'f', 'f2', 'h'].map((n) => makeValueInfo(n, DataType.FLOAT)),
      }),
    });
    const why = Object.fromEntries(findLayers(model).map((l) => [l.key, unrecoverableReason(l)]));
    expect(why.plain).toBeUndefined();
    // (a weight read through a Transpose is recovered on its transposed view: recovery.test.ts)
    expect(why.through).toBeUndefined();
    // (A [K, M] read by its columns: weight-first.test.ts)
    expect(why.transA).toBeUndefined();
    // (3-D: H against a direct XᵀX above)
    expect(why.conv3d).toBeUndefined();
    expect(why.conv4d).toBe('Conv with a 4-D kernel is not recovered (1-D, 2-D and 3-D are)');
    // (W on its inputs: recurrent.test.ts)
    expect(why.gru).toBeUndefined();
    // (a linear Einsum is recovered: einsum.test.ts)
    expect(why.einsum).toBeUndefined();
    expect(why.outer).toMatch(/^an Einsum that is not a linear layer/);
    expect(why.same).toMatch(/ConvTranspose with auto_pad SAME is not recovered/);
  });
});

describe('collectHessians: H computed in the runtime', () => {
  for (const c of cases) for (const copies of [1, 2]) {
    it(`${c.name}, ${copies} sample(s) a run: H, mean and rows equal a direct XᵀX over the samples`, async () => {
      const rng = seeded(7);
      const model = caseModel(c, rng);
      const size = c.x.reduce((p, d) => p * d, 1);
      const samples: Sample[] = Array.from({ length: 3 }, () => ({ x: { dtype: 'float32', dims: c.x, data: Float32Array.from({ length: size }, () => rng() * 4 - 1.5) } }));
      const got = (await collectHessians(model, recoveryLayers(model, recipe), samples, run, { copies })).get('layer');
      expect(got).toBeDefined();
      const perSample = samples.map((s) => inputRows(c, s.x.data as Float32Array));
      const groups = perSample[0].length;
      const cols = perSample[0][0][0].length;
      const rows = perSample.reduce((p, s) => p + s[0].length, 0);
      expect(got!.cols).toBe(cols);
      expect(got!.rows).toBe(rows);
      expect(got!.h.length).toBe(groups);
      for (let g = 0; g < groups; g++) {
        const h = new Float64Array(cols * cols);
        const sum = new Float64Array(cols);
        for (const s of perSample)
          for (const r of s[g])
            for (let i = 0; i < cols; i++) {
              sum[i] += r[i];
              for (let j = 0; j < cols; j++) h[i * cols + j] += r[i] * r[j];
            }
        const scale = largest(h);
        const worst = largest(h.map((v, i) => v - got!.h[g][i]));
        expect(worst / scale).toBeLessThan(1e-6);
        const meanWorst = Math.max(...Array.from(sum, (v, i) => Math.abs(v / rows - got!.mean[g][i])));
        expect(meanWorst / Math.max(...Array.from(sum, (v) => Math.abs(v / rows)))).toBeLessThan(1e-6);
      }
    });
  }

  it('layers reading the same input share one statistic; means-only layers get no H', async () => {
    const rng = seeded(9);
    const model = sharedInput(rng);
    const [q, k] = recoveryLayers(model, recipe);
    const samples: Sample[] = [{ x: { dtype: 'float32', dims: [1, 6, 8], data: Float32Array.from({ length: 48 }, () => rng()) } }];
    const got = await collectHessians(model, [q, { ...k, full: false }], samples, run);
    expect(got.get('q')?.h.length).toBe(1);
    expect(got.get('k')?.h).toEqual([]);
    expect(got.get('k')?.mean).toEqual(got.get('q')?.mean);
    expect(got.get('k')?.rows).toBe(6);
  });

  it('streamed (hessianSource): a statistic two layers share runs once and is freed only when both are released', async () => {
    const rng = seeded(19);
    const model = sharedInput(rng);
    const samples: Sample[] = Array.from({ length: 3 }, () => ({ x: { dtype: 'float32', dims: [1, 6, 8], data: Float32Array.from({ length: 48 }, () => rng()) } }));
    const whole = await collectHessians(model, recoveryLayers(model, recipe), samples, run);
    let runs = 0;
    const source = hessianSource(model, recoveryLayers(model, recipe), samples, (bytes, feeds) => (runs++, run(bytes, feeds)));
    source.plan(['q', 'k']);
    expect((await source.take('q'))?.h).toEqual(whole.get('q')?.h);
    const ran = runs;
    source.release('q');
    // k reads the same statistic: still there, no run
    expect((await source.take('k'))?.h).toEqual(whole.get('k')?.h);
    expect(runs).toBe(ran);
    source.release('k');
    // both released: gone, so taking q again runs its pass again
    expect((await source.take('q'))?.h).toEqual(whole.get('q')?.h);
    expect(runs).toBeGreaterThan(ran);
  });
});

describe('collectHessians: a ConvTranspose whose kernel positions tile its output', () => {
  const tiled: Case = { name: 'tiled', op: 'ConvTranspose', x: [1, 6, 4, 5], w: [6, 4, 2, 2], relu: true, conv: { groups: 1, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] } };
  const node = (c: Case) => caseModel(c, seeded(1)).graph!.nodes.find((n) => n.name === 'layer')!;

  it('which: strides equal to the kernel, no dilation, pads, output_padding or output_shape', () => {
    const g = tiled.conv!;
    expect(tiledTranspose(node(tiled), [2, 2])).toBe(4);
    expect(tiledTranspose(node({ ...tiled, conv: { ...g, strides: [2, 1] } }), [2, 2])).toBeUndefined();
    expect(tiledTranspose(node({ ...tiled, conv: { ...g, pads: [1, 0, 0, 0] } }), [2, 2])).toBeUndefined();
    expect(tiledTranspose(node({ ...tiled, conv: { ...g, outputPadding: [1, 0] } }), [2, 2])).toBeUndefined();
    expect(tiledTranspose(node({ ...tiled, conv: { ...g, dilations: [2, 2] } }), [2, 2])).toBeUndefined();
    expect(tiledTranspose(node({ ...tiled, op: 'Conv', w: [4, 6, 2, 2] }), [2, 2])).toBeUndefined();
    const shaped = node(tiled);
    shaped.attributes.push(attr.ints('output_shape', [8, 10]));
    expect(tiledTranspose(shaped, [2, 2])).toBeUndefined();
  });

  it('its statistics copy runs no patch ConvTranspose (the input is the rows), and a teacher\'s cross term and mean come out as the patch rows\' would', async () => {
    const rng = seeded(23);
    const model = caseModel(tiled, rng);
    const size = tiled.x.reduce((p, d) => p * d, 1);
    const samples: Sample[] = Array.from({ length: 3 }, () => ({ x: { dtype: 'float32', dims: tiled.x, data: Float32Array.from({ length: size }, () => rng() * 4 - 1.5) } }));
    const ops = new Set<string>();
    const watched = Object.assign((bytes: Uint8Array, feeds: Sample) => {
      for (const n of decodeModel(bytes).graph!.nodes) ops.add(n.opType ?? '');
      return run(bytes, feeds);
    }, run);
    // the layer reads Relu(x); its teacher input: x itself (the same shape)
    const [layer] = recoveryLayers(model, recipe);
    const got = (await collectHessians(model, [{ ...layer, partner: 'x' }], samples, watched))!.get('layer')!;
    // (the layer itself is not run: nothing reads its output)
    expect(ops.has('MatMul')).toBe(true);
    expect(ops.has('ConvTranspose')).toBe(false);
    // (inputRows applies the case's Relu)
    const own = samples.map((s) => inputRows(tiled, s.x.data as Float32Array)[0]);
    const teacher = samples.map((s) => inputRows({ ...tiled, relu: false }, s.x.data as Float32Array)[0]);
    const cols = 24;
    const cross = new Float64Array(cols * cols);
    const h = new Float64Array(cols * cols);
    const tsum = new Float64Array(cols);
    let rows = 0;
    own.forEach((rs, k) =>
      rs.forEach((r, i) => {
        rows++;
        const t = teacher[k][i];
        for (let a = 0; a < cols; a++) {
          tsum[a] += t[a];
          for (let b = 0; b < cols; b++) {
            cross[a * cols + b] += r[a] * t[b];
            h[a * cols + b] += r[a] * r[b];
          }
        }
      }),
    );
    expect(got.cols).toBe(cols);
    expect(got.rows).toBe(rows);
    expect(largest(h.map((v, i) => v - got.h[0][i])) / largest(h)).toBeLessThan(1e-6);
    expect(largest(cross.map((v, i) => v - got.cross![0][i])) / largest(cross)).toBeLessThan(1e-6);
    expect(largest(tsum.map((v, i) => v / rows - got.teacherMean![0][i])) / largest(tsum.map((v) => v / rows))).toBeLessThan(1e-6);
  });

  it('subsampled (wide): input positions at a step, each the k rows of its kernel positions', async () => {
    // 64 channels × 2x2 = 256 columns (subsampled); 1 row per column over 2 samples: 128 rows a sample, 32 input positions of 100
    const c: Case = { name: 'wide', op: 'ConvTranspose', x: [1, 64, 10, 10], w: [64, 2, 2, 2], conv: { groups: 1, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] } };
    const rng = seeded(29);
    const model = caseModel(c, rng);
    const size = c.x.reduce((p, d) => p * d, 1);
    const samples: Sample[] = Array.from({ length: 2 }, () => ({ x: { dtype: 'float32', dims: c.x, data: Float32Array.from({ length: size }, () => rng() * 2 - 1) } }));
    const got = (await collectHessians(model, recoveryLayers(model, recipe), samples, run, { copies: 1, rowsPerColumn: 1 }))!.get('layer')!;
    // step ⌊100 / 32⌋ + 1 = 4 over the input's positions, phase 0 (one sample a run)
    const cols = 256;
    const h = new Float64Array(cols * cols);
    let rows = 0;
    for (const smp of samples) {
      const x = smp.x.data as Float32Array;
      for (let q = 0; q < 100; q += 4)
        for (let i = 0; i < 4; i++) {
          rows++;
          // the row of kernel position i at input position q: channel c's value at column c·4 + i
          for (let a = 0; a < 64; a++) for (let b = 0; b < 64; b++) h[(a * 4 + i) * cols + b * 4 + i] += x[a * 100 + q] * x[b * 100 + q];
        }
    }
    expect(rows).toBe(200);
    expect(got.rows).toBe(rows);
    expect(largest(h.map((v, i) => v - got.h[0][i])) / largest(h)).toBeLessThan(1e-6);
  });
});

describe('collectHessians: wide Conv layers keep about rowsPerColumn rows per column', () => {
  for (const copies of [1, 2]) {
    it(`every step-th position from a phase that moves with the sample, ${copies} sample(s) a run: H equals XᵀX over exactly those rows`, async () => {
      // 288 columns (3x3 over 32 channels), 400 positions a sample; 1 row per column over 3 samples:
      // keep 96 a sample, step ⌊400 / 96⌋ + 1 = 5, the phase the sample's slot in its run
      const c: Case = { name: 'wide', op: 'Conv', x: [1, 32, 20, 20], w: [4, 32, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] } };
      const rng = seeded(11);
      const model = caseModel(c, rng);
      const size = c.x.reduce((p, d) => p * d, 1);
      const samples: Sample[] = Array.from({ length: 3 }, () => ({ x: { dtype: 'float32', dims: c.x, data: Float32Array.from({ length: size }, () => rng() * 2 - 1) } }));
      const got = (await collectHessians(model, recoveryLayers(model, recipe), samples, run, { copies, rowsPerColumn: 1 }))!.get('layer');
      const cols = 288;
      const h = new Float64Array(cols * cols);
      let rows = 0;
      samples.forEach((smp, i) => {
        const phase = (i % copies) % 5;
        inputRows(c, smp.x.data as Float32Array)[0].forEach((r, pos) => {
          if (pos % 5 !== phase) return;
          rows++;
          for (let a = 0; a < cols; a++) for (let b = 0; b < cols; b++) h[a * cols + b] += r[a] * r[b];
        });
      });
      expect(rows).toBe(240);
      expect(got!.rows).toBe(rows);
      const scale = Math.max(...Array.from(h, Math.abs));
      expect(Math.max(...Array.from(h, (v, i) => Math.abs(v - got!.h[0][i]))) / scale).toBeLessThan(1e-6);
      // the default (64 rows per column) keeps every row of so few samples
      expect((await collectHessians(model, recoveryLayers(model, recipe), samples, run, { copies }))!.get('layer')!.rows).toBe(1200);
    });
  }

  // opset 11 or more: the kept positions' patches gathered from the padded input; opset 10: a patch Conv over every position, sliced
  const wide: Case[] = [
    { name: '2-D groups 2, stride 2, pads (1, 0, 2, 1), dilation (1, 2), batch 2', op: 'Conv', x: [2, 64, 30, 32], w: [8, 32, 3, 3], conv: { groups: 2, kernel: [3, 3], strides: [2, 2], pads: [1, 0, 2, 1], dilations: [1, 2] } },
    { name: '1-D, stride 2, pads (1, 2), dilation 2', op: 'Conv', x: [1, 96, 400], w: [4, 96, 3], conv: { groups: 1, kernel: [3], strides: [2], pads: [1, 2], dilations: [2] } },
    { name: '3-D 1x3x3, pads', op: 'Conv', x: [1, 32, 3, 10, 10], w: [4, 32, 1, 3, 3], conv: { groups: 1, kernel: [1, 3, 3], strides: [1, 1, 1], pads: [0, 1, 1, 0, 1, 1], dilations: [1, 1, 1] } },
    { name: '2-D dilation 6, pads 6 (an ASPP branch: most kernel positions in the padding at the edges)', op: 'Conv', x: [1, 32, 20, 20], w: [4, 32, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [1, 1], pads: [6, 6, 6, 6], dilations: [6, 6] } },
    { name: '1x1 over 300 channels, stride 2', op: 'Conv', x: [1, 300, 30, 30], w: [4, 300, 1, 1], conv: { groups: 1, kernel: [1, 1], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] } },
    { name: 'auto_pad SAME_UPPER (the patch Conv, not gathered)', op: 'Conv', x: [1, 32, 30, 30], w: [4, 32, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [2, 2], pads: [1, 0, 1, 1], dilations: [1, 1], autoPad: 'SAME_UPPER' } },
  ];
  for (const c of wide)
    for (const copies of [1, 2])
      it(`${c.name}, ${copies} sample(s) a run: H from the gathered patches is the patch Conv's, bit for bit`, async () => {
        const rng = seeded(31);
        const model = caseModel({ ...c, opset: 11 }, rng);
        const older = caseModel({ ...c, opset: 10 }, seeded(31));
        const size = c.x.reduce((p, d) => p * d, 1);
        const samples: Sample[] = Array.from({ length: 3 }, () => ({ x: { dtype: 'float32', dims: c.x, data: Float32Array.from({ length: size }, () => rng() * 2 - 1) } }));
        const ops = new Set<string>();
        const watched = Object.assign((bytes: Uint8Array, feeds: Sample) => {
          // (bytes emptied once their session exists: RunModel.keepsSession)
          for (const n of decodeModel(bytes).graph?.nodes ?? []) ops.add(n.opType ?? "");
          return run(bytes, feeds);
        }, run);
        const got = (await collectHessians(model, recoveryLayers(model, recipe), samples, watched, { copies, rowsPerColumn: 1 }))!.get('layer')!;
        const want = (await collectHessians(older, recoveryLayers(older, recipe), samples, run, { copies, rowsPerColumn: 1 }))!.get('layer')!;
        expect(got.rows).toBe(want.rows);
        expect(got.rows).toBeLessThan(samples.length * inputRows(c, samples[0].x.data as Float32Array)[0].length);
        expect(got.h).toEqual(want.h);
        expect(got.mean).toEqual(want.mean);
        // (several samples a run: small ones, the patch Conv kept)
        expect(ops.has('Conv')).toBe(c.conv!.autoPad !== undefined || copies > 1);
      });

  it('which layers: 256 columns or more, opset 10 or more (Slice steps), ROWS_PER_COLUMN by default', () => {
    expect(subsampleRows(288, 3, 13, 1)).toBe(96);
    expect(subsampleRows(288, 128, 13)).toBe(Math.ceil((ROWS_PER_COLUMN * 288) / 128));
    expect(subsampleRows(255, 3, 13, 1)).toBeUndefined();
    expect(subsampleRows(288, 3, 9, 1)).toBeUndefined();
    expect(subsampleRows(288, 3, 13, Infinity)).toBeUndefined();
  });
});

describe('collectHessians: samples a run', () => {
  it('when the repeated graph does not run, it runs again one sample a run, with the same result', async () => {
    const c = cases[0];
    const rng = seeded(11);
    const model = caseModel(c, rng);
    const size = c.x.reduce((p, d) => p * d, 1);
    const samples: Sample[] = Array.from({ length: 4 }, () => ({ x: { dtype: 'float32', dims: c.x, data: Float32Array.from({ length: size }, () => rng() * 2 - 1) } }));
    const layers = recoveryLayers(model, recipe);
    const copies: number[] = [];
    const failing: typeof run = (bytes, feeds) => {
      copies.push(Object.keys(feeds).length);
      return Object.keys(feeds).length > 1 ? Promise.reject(new Error('out of memory')) : run(bytes, feeds);
    };
    const got = (await collectHessians(model, layers, samples, failing, { copies: 4 })).get('layer');
    const want = (await collectHessians(model, layers, samples, run, { copies: 1 })).get('layer');
    expect(copies).toEqual([8, 1, 1, 1, 1]);
    expect(got?.rows).toBe(want?.rows);
    expect(got?.h).toEqual(want?.h);
  });
});

describe('collectHessians: layers in passes (statsBudget)', () => {
  it('one pass per layer when their statistics pass the budget: the same H, means and rows as all in one pass; each pass releases its session', async () => {
    const rng = seeded(13);
    const { model, samples } = matMulChain(rng, [8, 12, 6, 10]);
    const layers = recoveryLayers(model, recipe);
    expect(layers.map((l) => l.layer.key)).toEqual(['fc0', 'fc1', 'fc2']);
    const counted = () => {
      const models = new Set<Uint8Array>();
      const released: Uint8Array[] = [];
      const r: typeof run = (bytes, feeds) => (models.add(bytes), run(bytes, feeds));
      r.release = async (bytes) => void released.push(bytes);
      return { r, models, released };
    };
    const one = counted();
    const each = counted();
    const progress: number[] = [];
    const whole = await collectHessians(model, layers, samples, one.r);
    const split = await collectHessians(model, layers, samples, each.r, { statsBudget: 1, onProgress: (done) => progress.push(done) });
    // per pass the first sample alone and the rest with several samples a run; in passes, a light
    // copy first counts the rows of the first sample (row sums only, once for all passes): 1 + 2 per
    // pass; in one pass its own first sample counts them: 2
    expect(one.models.size).toBe(2);
    expect(each.models.size).toBe(7);
    expect(new Set(each.released)).toEqual(each.models);
    expect(progress.at(-1)).toBe(7);
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true);
    for (const key of ['fc0', 'fc1', 'fc2']) {
      expect(split.get(key)?.rows).toBe(35);
      expect(split.get(key)?.h).toEqual(whole.get(key)?.h);
      expect(split.get(key)?.mean).toEqual(whole.get(key)?.mean);
    }
  });
});

describe('statistics copies carry only the weights their nodes read', () => {
  it('a pass over fc0 holds no weight, over fc2 only w0 and w1; one pass for all holds w0 and w1, never w2 (after the last layer)', async () => {
    const rng = seeded(17);
    const { model, samples } = matMulChain(rng, [8, 12, 6, 10]);
    const layers = recoveryLayers(model, recipe);
    const weightsOf = (collect: (r: typeof run) => Promise<unknown>) => {
      const seen: string[][] = [];
      const r: typeof run = (bytes, feeds) => {
        const names = decodeModel(bytes).graph?.initializers.map((t) => t.name).filter((n) => /^w\d$/.test(n ?? '')) ?? [];
        seen.push(names.map(String).sort());
        return run(bytes, feeds);
      };
      r.release = run.release;
      return collect(r).then(() => [...new Set(seen.map((n) => n.join(',')))]);
    };
    const split = await weightsOf((r) => collectHessians(model, layers, samples, r, { statsBudget: 1 }));
    const whole = await weightsOf((r) => collectHessians(model, layers, samples, r));
    // passes: the row-counting copy (every layer's input: w0, w1), then fc0's, fc1's, fc2's
    expect(split).toEqual(['w0,w1', '', 'w0']);
    expect(whole).toEqual(['w0,w1']);
  });
});

describe('statistics copies: bytes emptied once their session exists', () => {
  it('a runner that keeps its session (keepsSession) sees the bytes whole at the first run of a copy and empty after; the same H as a runner without', async () => {
    const rng = seeded(23);
    const { model, samples } = matMulChain(rng, [8, 12, 6, 10]);
    const layers = recoveryLayers(model, recipe);
    const lengths = new Map<Uint8Array, number[]>();
    const keeping: typeof run = (bytes, feeds) => {
      lengths.set(bytes, [...(lengths.get(bytes) ?? []), bytes.length]);
      return run(bytes, feeds);
    };
    keeping.release = run.release;
    keeping.keepsSession = true;
    const kept = await collectHessians(model, layers, samples, keeping, { copies: 2 });
    const plain: typeof run = (bytes, feeds) => run(bytes, feeds);
    const want = await collectHessians(model, layers, samples, plain, { copies: 2 });
    expect(lengths.size).toBe(1);
    const seen = [...lengths.values()][0];
    // 7 samples, 2 a run: 4 runs of one copy, whole at the first only
    expect(seen.length).toBe(4);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen.slice(1)).toEqual([0, 0, 0]);
    for (const key of ['fc0', 'fc1', 'fc2']) expect(kept.get(key)?.h).toEqual(want.get(key)?.h);
  });
});

describe('statistics copies: marked as models whose runs hold large intermediates (markLargeRuns)', () => {
  it("every statistics copy a runner is given is marked, before its first run; a model's own bytes are not", async () => {
    const rng = seeded(31);
    const { model, samples } = matMulChain(rng, [8, 12, 6, 10]);
    const marked: boolean[] = [];
    const watching: typeof run = (bytes, feeds) => {
      marked.push(hasLargeRuns(bytes));
      return run(bytes, feeds);
    };
    watching.release = run.release;
    await collectHessians(model, recoveryLayers(model, recipe), samples, watching);
    expect(marked.length).toBeGreaterThan(1);
    expect(marked.every((m) => m)).toBe(true);
    expect(hasLargeRuns(encodeModel(model))).toBe(false);
  });
});

describe('statistics copies: large weights fed in place (RunModel.feedWeights)', () => {
  it('a runner that takes weights as feeds gets those of 64 KiB or more as feeds (from the model, misaligned ones copied) instead of in the bytes; the same H as a runner without', async () => {
    const rng = seeded(29);
    const { model, samples } = matMulChain(rng, [128, 160, 8, 10]);
    // w0 (128x160 float32, 80 KiB) at an odd byte offset, as raw_data read from a file often is
    const w0 = model.graph?.initializers.find((t) => t.name === 'w0');
    const raw = w0?.rawData as Uint8Array;
    const shifted = new Uint8Array(raw.length + 1);
    shifted.set(raw, 1);
    (w0 as { rawData?: Uint8Array }).rawData = shifted.subarray(1);
    const layers = recoveryLayers(model, recipe);
    const inits = new Set<string>();
    const fed = new Map<string, Float32Array>();
    let largest = 0;
    const inPlace: typeof run = (bytes, feeds) => {
      if (bytes.length > 0) for (const t of decodeModel(bytes).graph?.initializers ?? []) inits.add(String(t.name));
      largest = Math.max(largest, bytes.length);
      for (const [name, t] of Object.entries(feeds)) if (/^w\d$/.test(name)) fed.set(name, t.data as Float32Array);
      return run(bytes, feeds);
    };
    inPlace.release = run.release;
    inPlace.feedWeights = true;
    const got = await collectHessians(model, layers, samples, inPlace, { copies: 2 });
    const plain: typeof run = (bytes, feeds) => run(bytes, feeds);
    const want = await collectHessians(model, layers, samples, plain, { copies: 2 });
    expect([...fed.keys()]).toEqual(['w0']);
    expect(Array.from(fed.get('w0') as Float32Array)).toEqual(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length))));
    expect(inits.has('w0')).toBe(false);
    expect(inits.has('w1')).toBe(true);
    expect(largest).toBeLessThan(raw.length);
    for (const key of ['fc0', 'fc1', 'fc2']) {
      const [a, b] = [got.get(key), want.get(key)];
      expect(a?.rows).toBe(b?.rows);
      const h = b?.h[0] as Float64Array;
      const scale = Math.max(...Array.from(h, Math.abs));
      // (onnxruntime may sum a fed weight's products in another order: float32 rounding apart)
      expect(Math.max(...Array.from(a?.h[0] as Float64Array, (v, i) => Math.abs(v - h[i])))).toBeLessThan(1e-5 * scale);
    }
  });
});

describe("statistics: H's blocks summed by a native runtime (RunModel.nativeProducts)", () => {
  const wide = cases.filter((c) => /777 columns|520 columns a group/.test(c.name));
  // a sample of this Conv gives 100 rows ≥ its 72 columns: a product per copy, the copies' products added in the graph
  wide.push({ name: 'Conv 3x3 over 8 channels, 10x10 (rows per sample ≥ columns)', op: 'Conv', x: [1, 8, 10, 10], w: [4, 8, 3, 3], conv: { groups: 1, kernel: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] } });
  for (const c of wide)
    for (const copies of [3, undefined]) {
      it(`${c.name}, ${copies ?? 'counted'} samples a run: each run is fed the sums so far (a scalar 0 first) and returns them with its blocks added; H float32, bit for bit the sums added in JavaScript`, async () => {
        const rng = seeded(41);
        const model = caseModel(c, rng);
        const size = c.x.reduce((p, d) => p * d, 1);
        const samples: Sample[] = Array.from({ length: 7 }, () => ({ x: { dtype: 'float32', dims: c.x, data: Float32Array.from({ length: size }, () => rng() * 4 - 1.5) } }));
        const fed: { dims: readonly number[]; data: Float32Array }[][] = [];
        const native: typeof run = (bytes, feeds) => {
          // (copied: the sums a run was fed are handed back once the next run's come)
          fed.push(Object.entries(feeds).filter(([name]) => name.startsWith('__hessian_acc')).map(([, t]) => ({ dims: t.dims, data: Float32Array.from(t.data as Float32Array) })));
          return run(bytes, feeds);
        };
        native.release = run.release;
        native.nativeProducts = true;
        let plainFed = 0;
        const plain: typeof run = (bytes, feeds) => {
          plainFed += Object.keys(feeds).filter((name) => name.startsWith('__hessian_acc')).length;
          return run(bytes, feeds);
        };
        const options = copies ? { copies } : {};
        const got = (await collectHessians(model, recoveryLayers(model, recipe), samples, native, options)).get('layer');
        const want = (await collectHessians(model, recoveryLayers(model, recipe), samples, plain, options)).get('layer');
        expect(got?.rows).toBe(want?.rows);
        expect(got?.h.length).toBe(want?.h.length);
        got?.h.forEach((h, g) => {
          expect(h).toBeInstanceOf(Float32Array);
          expect(want?.h[g]).toBeInstanceOf(Float32Array);
          expect(Array.from(h)).toEqual(Array.from(want?.h[g] as Float32Array));
        });
        // the runs that compute H (not a light run counting rows): the first fed scalar zeros, the later ones [rows, cols] or [groups, rows, cols] sums
        const runs = fed.filter((f) => f.length > 0);
        expect(runs.length).toBeGreaterThan(1);
        expect(runs[0].every((t) => t.dims.length === 0 && t.data.length === 1 && t.data[0] === 0)).toBe(true);
        const groups = c.conv?.groups ?? 1;
        for (const t of runs.slice(1).flat()) {
          expect(t.dims.length).toBe(c.op === 'Conv' ? 3 : 2);
          if (c.op === 'Conv') expect(t.dims[0]).toBe(groups);
          expect(t.data.length).toBe(t.dims.reduce((p, d) => p * d, 1));
        }
        // samples `copies` a run: every run of the pass (counted: the first sample alone, then the rest)
        if (copies) expect(runs.length).toBe(Math.ceil(7 / copies));
        // a runner without native products sums them itself: fed none
        expect(plainFed).toBe(0);
      });
    }
});

describe('statistics copies: a weight read through another op stays an initializer', () => {
  it('a weight behind a Transpose is not fed (onnxruntime folds it once; fed, each copy would transpose it every run); a weight read directly is', async () => {
    const rng = seeded(31);
    const floats = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
    // fc0: x [1, 5, 128] · Transpose(w0t [160, 128]); fc1: · w1 [160, 120] (both 75-80 KiB); fc2 (its input needs fc1 run)
    const model = makeModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: makeGraph({
        nodes: [
          makeNode('Transpose', ['w0t'], ['w0'], [attr.ints('perm', [1, 0])], { name: 't0' }),
          makeNode('MatMul', ['x', 'w0'], ['m0'], [], { name: 'fc0' }),
          makeNode('Relu', ['m0'], ['r0'], [], { name: 'relu0' }),
          makeNode('MatMul', ['r0', 'w1'], ['m1'], [], { name: 'fc1' }),
          makeNode('Relu', ['m1'], ['r1'], [], { name: 'relu1' }),
          makeNode('MatMul', ['r1', 'w2'], ['y'], [], { name: 'fc2' }),
        ],
        initializers: [makeTensor('w0t', DataType.FLOAT, [160, 128], floats(160 * 128)), makeTensor('w1', DataType.FLOAT, [160, 120], floats(160 * 120)), makeTensor('w2', DataType.FLOAT, [120, 4], floats(480))],
        inputs: [makeValueInfo('x', DataType.FLOAT, [1, 5, 128])],
        outputs: [makeValueInfo('y', DataType.FLOAT)],
      }),
    });
    const samples: Sample[] = Array.from({ length: 6 }, () => ({ x: { dtype: 'float32', dims: [1, 5, 128], data: floats(5 * 128) } }));
    const fed = new Set<string>();
    const inits = new Set<string>();
    const inPlace: typeof run = (bytes, feeds) => {
      if (bytes.length > 0) for (const t of decodeModel(bytes).graph?.initializers ?? []) inits.add(String(t.name));
      for (const name of Object.keys(feeds)) if (name.startsWith('w')) fed.add(name);
      return run(bytes, feeds);
    };
    inPlace.release = run.release;
    inPlace.feedWeights = true;
    const layers = recoveryLayers(model, recipe);
    const got = await collectHessians(model, layers, samples, inPlace, { copies: 2 });
    expect([...fed]).toEqual(['w1']);
    expect(inits.has('w0t')).toBe(true);
    // (fc0's weight is not an initializer of its own: no H for it; fc1's and fc2's from the runs)
    expect(got.get('fc1')?.rows).toBe(30);
    expect(got.get('fc2')?.rows).toBe(30);
  });
});

describe('hessianSource: H streamed to compression, a pass at a time', () => {
  it('gives each layer the same H as collectHessians, runs a pass only when its first layer is taken, and frees it once its layers are released', async () => {
    const rng = seeded(11);
    const { model, samples } = matMulChain(rng, [8, 8, 8, 8]);
    const layers = recoveryLayers(model, makeRecipe('wasm', { weights: 'int8', recovery: 'gptq' }));
    const whole = await collectHessians(model, layers, samples, run);
    let runs = 0;
    const counting: typeof run = (bytes, feeds) => (runs++, run(bytes, feeds));
    const passes: string[] = [];
    const source = hessianSource(model, layers, samples, counting, { statsBudget: 1, onPass: (pass, all, done, total) => done === total && passes.push(`${pass + 1}/${all}`) });
    expect(source.count).toBe(3);
    // compression asks in its own order: fc2 first
    source.plan(['fc2', 'fc0', 'fc1']);
    expect(runs).toBe(0);
    const h2 = await source.take('fc2');
    expect(passes).toEqual(['1/3']);
    expect(h2?.h).toEqual(whole.get('fc2')?.h);
    expect(h2?.mean).toEqual(whole.get('fc2')?.mean);
    expect(h2?.rows).toBe(35);
    const afterFirst = runs;
    // taken again before release: no new pass
    await source.take('fc2');
    expect(runs).toBe(afterFirst);
    source.release('fc2');
    for (const key of ['fc0', 'fc1']) {
      const h = await source.take(key);
      expect(h?.h).toEqual(whole.get(key)?.h);
      source.release(key);
    }
    expect(passes).toEqual(['1/3', '2/3', '3/3']);
    // released: the pass's arrays are gone, so a later take runs its pass again (the same H)
    const before = runs;
    const again = await source.take('fc2');
    expect(runs).toBeGreaterThan(before);
    expect(again?.h).toEqual(whole.get('fc2')?.h);
    // the first take's arrays were handed back at its release (core/release.ts): read empty now
    expect(h2?.h.length).toBeGreaterThan(0);
    expect(h2?.h.every((a) => a.length === 0)).toBe(true);
    expect(await source.take('nope')).toBeUndefined();
  });
});

