/**
 * A voice-activity-like model the way PyTorch exports one (cf. issue #13, "Weights left behind"):
 * a chunk of features and a scalar sample rate; a feature window (a large float table multiplied
 * in, no layer's weight); an encoder MatMul; then an If on the sample rate whose branches each run
 * an LSTM whose W/R come through PyTorch's gate re-ordering (i, f, g, o → ONNX's i, o, f, c):
 *   16 kHz branch: W = Unsqueeze(Concat(Slice × 4 of W_pt)), R = Unsqueeze(Gather(R_pt, constant rows))
 *   8 kHz branch:  W, R = Unsqueeze(Concat(Split(W_pt / R_pt) re-ordered))
 * and a MatMul + Sigmoid head reading an outer-scope weight. Outputs: the head's 8 probabilities
 * and the LSTM's last hidden state. Opset 13, seeded weights.
 *
 * Also a model of already-quantized layers with real layer shapes (quantizedLayersFixture).
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { DataType, type Model, type Node, type Tensor } from '../onnx/types';
import { f32, i64, INT64, modelAt, vi, FLOAT } from './fixture-kit';
import { randomFloats, seeded, type Rng } from './random';
import { makeTensor } from '../onnx/tensor';

export const VAD = { frames: 16, features: 64, encoder: 128, hidden: 64, heads: 8 } as const;

export interface VadFixture {
  model: Model;
  /** input name -> shape (float32) */
  inputs: { audio: number[] };
  /** the scalar int64 sample-rate input; 16000 runs the then-branch, anything else the else-branch */
  sampleRate: string;
  /** the stored PyTorch-order tensors, by branch, for tests */
  stored: { w16k: Tensor; r16k: Tensor; w8k: Tensor; r8k: Tensor; window: Tensor };
}

/** PyTorch gate blocks (i, f, g, o) in ONNX order (i, o, f, c). */
export const GATE_ORDER = [0, 3, 1, 2] as const;

const H = VAD.hidden;

function lstmBranch(rng: Rng, tag: string, style: 'slice-gather' | 'split'): { graph: ReturnType<typeof makeGraph>; w: Tensor; r: Tensor } {
  const w = f32(`lstm${tag}.weight_ih_l0`, [4 * H, VAD.encoder], randomFloats(rng, 4 * H * VAD.encoder, 1 / Math.sqrt(H)));
  const r = f32(`lstm${tag}.weight_hh_l0`, [4 * H, H], randomFloats(rng, 4 * H * H, 1 / Math.sqrt(H)));
  const b = f32(`lstm${tag}.bias`, [1, 8 * H], randomFloats(rng, 8 * H, 0.1));
  const axes0 = i64(`${tag}_axes0`, [1], [0]);
  const nodes: Node[] = [];
  const inits: Tensor[] = [w, r, b, axes0];
  const n = (op: string, inputs: string[], outputs: string[], attrs: ReturnType<typeof attr.int>[] = []) => {
    nodes.push(makeNode(op, inputs, outputs, attrs, { name: `/${tag}/${op}_${nodes.length}` }));
  };
  if (style === 'slice-gather') {
    for (let g = 0; g < 4; g++) {
      inits.push(i64(`${tag}_start${g}`, [1], [g * H]), i64(`${tag}_end${g}`, [1], [(g + 1) * H]));
      n('Slice', [w.name!, `${tag}_start${g}`, `${tag}_end${g}`, `${tag}_axes0`], [`${tag}_w_gate${g}`]);
    }
    n('Concat', GATE_ORDER.map((g) => `${tag}_w_gate${g}`), [`${tag}_w_onnx`], [attr.int('axis', 0)]);
    const rows = GATE_ORDER.flatMap((g) => Array.from({ length: H }, (_, k) => g * H + k));
    inits.push(i64(`${tag}_gate_rows`, [4 * H], rows));
    n('Gather', [r.name!, `${tag}_gate_rows`], [`${tag}_r_onnx`], [attr.int('axis', 0)]);
  } else {
    inits.push(i64(`${tag}_split`, [4], [H, H, H, H]));
    for (const [t, x] of [
      [w, 'w'],
      [r, 'r'],
    ] as const) {
      n('Split', [t.name!, `${tag}_split`], [0, 1, 2, 3].map((g) => `${tag}_${x}_gate${g}`), [attr.int('axis', 0)]);
      n('Concat', GATE_ORDER.map((g) => `${tag}_${x}_gate${g}`), [`${tag}_${x}_onnx`], [attr.int('axis', 0)]);
    }
  }
  n('Unsqueeze', [`${tag}_w_onnx`, `${tag}_axes0`], [`${tag}_W`]);
  n('Unsqueeze', [`${tag}_r_onnx`, `${tag}_axes0`], [`${tag}_R`]);
  n('LSTM', ['seq', `${tag}_W`, `${tag}_R`, b.name!], [`${tag}_Y`, `${tag}_Y_h`], [attr.int('hidden_size', H)]);
  n('Squeeze', [`${tag}_Y_h`, `${tag}_axes0`], [`${tag}_h`]);
  n('MatMul', [`${tag}_h`, 'head.weight'], [`${tag}_logit`]);
  n('Sigmoid', [`${tag}_logit`], [`${tag}_prob`]);
  const graph = makeGraph({ name: `branch${tag}`, nodes, initializers: inits, outputs: [vi(`${tag}_prob`, FLOAT, [1, VAD.heads]), vi(`${tag}_h`, FLOAT, [1, H])] });
  return { graph, w, r };
}

/** The voice-activity-like model (about 108k float weights, 0.43 MB). */
export function vadFixture(): VadFixture {
  const rng = seeded(977);
  const { frames, features, encoder } = VAD;
  const window = f32('feature_window', [1, frames, features], Array.from({ length: frames * features }, (_, i) => 0.5 + 0.5 * Math.sin(i / 7)));
  const enc = f32('encoder.weight', [features, encoder], randomFloats(rng, features * encoder, 1 / Math.sqrt(features)));
  const head = f32('head.weight', [H, VAD.heads], randomFloats(rng, H * VAD.heads, 4 / Math.sqrt(H)));
  const b16 = lstmBranch(rng, '16k', 'slice-gather');
  const b8 = lstmBranch(rng, '8k', 'split');
  const graph = makeGraph({
    name: 'vad',
    nodes: [
      makeNode('Constant', [], ['sr_16k'], [attr.tensor('value', i64('sr_16k', [], [16000]))], { name: '/Constant' }),
      makeNode('Equal', ['sr', 'sr_16k'], ['is_16k'], [], { name: '/Equal' }),
      makeNode('Mul', ['audio', 'feature_window'], ['windowed'], [], { name: '/window/Mul' }),
      makeNode('MatMul', ['windowed', 'encoder.weight'], ['enc'], [], { name: '/encoder/MatMul' }),
      makeNode('Relu', ['enc'], ['enc_relu'], [], { name: '/encoder/Relu' }),
      makeNode('Transpose', ['enc_relu'], ['seq'], [attr.ints('perm', [1, 0, 2])], { name: '/Transpose' }),
      makeNode('If', ['is_16k'], ['prob', 'state'], [attr.graph('then_branch', b16.graph), attr.graph('else_branch', b8.graph)], { name: '/If' }),
    ],
    initializers: [window, enc, head],
    inputs: [vi('audio', FLOAT, [1, frames, features]), vi('sr', INT64, [])],
    outputs: [vi('prob', FLOAT, [1, VAD.heads]), vi('state', FLOAT, [1, H])],
  });
  return {
    model: modelAt(13, graph),
    inputs: { audio: [1, frames, features] },
    sampleRate: 'sr',
    stored: { w16k: b16.w, r16k: b16.r, w8k: b8.w, r8k: b8.r, window },
  };
}

/** ConvInteger, QLinearConv (per-channel), QLinearMatMul, MatMulNBits (4-bit, block 32) and DequantizeLinear → Conv, real layer shapes. */
export function quantizedLayersFixture(): Model {
  const rng = seeded(31);
  const int8 = (name: string, dims: number[]) => makeTensor(name, DataType.INT8, dims, Int8Array.from(randomFloats(rng, dims.reduce((p, d) => p * d, 1), 127), Math.round));
  const uint8 = (name: string, dims: number[], v?: number) =>
    makeTensor(name, DataType.UINT8, dims, Uint8Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => v ?? Math.floor(rng() * 256)));
  const f32 = (name: string, dims: number[], lo: number, hi: number) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => lo + rng() * (hi - lo)));
  const K = 256;
  const N = 128;
  const pads = attr.ints('pads', [1, 1, 1, 1]);
  const g = makeGraph({
    nodes: [
      makeNode('ConvInteger', ['xu', 'ci_w', 'xu_zp'], ['ci_y'], [pads], { name: 'conv_integer' }),
      makeNode('Cast', ['ci_y'], ['ci_out'], [attr.int('to', DataType.FLOAT)], { name: 'ci_cast' }),
      makeNode('QLinearConv', ['xu', 'x_scale', 'xu_zp', 'qc_w', 'qc_w_scale', 'qc_w_zp', 'y_scale', 'y_zp', 'qc_b'], ['qc_y'], [pads], { name: 'qlinear_conv' }),
      makeNode('Cast', ['qc_y'], ['qc_out'], [attr.int('to', DataType.FLOAT)], { name: 'qc_cast' }),
      makeNode('QLinearMatMul', ['au', 'x_scale', 'xu_zp', 'qm_b', 'qm_b_scale', 'qm_b_zp', 'y_scale', 'y_zp'], ['qm_y'], [], { name: 'qlinear_matmul' }),
      makeNode('Cast', ['qm_y'], ['qm_out'], [attr.int('to', DataType.FLOAT)], { name: 'qm_cast' }),
      makeNode('MatMulNBits', ['af', 'nb_b', 'nb_scales'], ['nb_out'], [attr.int('K', K), attr.int('N', N), attr.int('bits', 4), attr.int('block_size', 32)], { name: 'matmul_nbits', domain: 'com.microsoft' }),
      makeNode('DequantizeLinear', ['dq_w', 'dq_scale'], ['dq_wf'], [attr.int('axis', 0)], { name: 'dq' }),
      makeNode('Conv', ['xf', 'dq_wf'], ['dq_out'], [pads], { name: 'dq_conv' }),
    ],
    initializers: [
      int8('ci_w', [64, 32, 3, 3]),
      uint8('xu_zp', [], 128),
      f32('x_scale', [], 0.02, 0.02),
      int8('qc_w', [64, 32, 3, 3]),
      f32('qc_w_scale', [64], 0.001, 0.003),
      makeTensor('qc_w_zp', DataType.INT8, [64], new Int8Array(64)),
      f32('y_scale', [], 0.5, 0.5),
      uint8('y_zp', [], 128),
      makeTensor('qc_b', DataType.INT32, [64], new Int32Array(64)),
      uint8('qm_b', [K, N]),
      f32('qm_b_scale', [], 0.01, 0.01),
      uint8('qm_b_zp', [], 128),
      uint8('nb_b', [N, K / 32, 16]),
      f32('nb_scales', [N * (K / 32)], 0.001, 0.01),
      int8('dq_w', [64, 32, 3, 3]),
      f32('dq_scale', [64], 0.001, 0.003),
    ],
    inputs: [
      makeValueInfo('xu', DataType.UINT8, [1, 32, 16, 16]),
      makeValueInfo('au', DataType.UINT8, [4, K]),
      makeValueInfo('af', DataType.FLOAT, [4, K]),
      makeValueInfo('xf', DataType.FLOAT, [1, 32, 16, 16]),
    ],
    outputs: ['ci_out', 'qc_out', 'qm_out', 'nb_out', 'dq_out'].map((n) => makeValueInfo(n, DataType.FLOAT)),
  });
  return makeModel({ graph: g, irVersion: 7, opsetImport: [{ domain: '', version: 13 }, { domain: 'com.microsoft', version: 1 }] });
}
