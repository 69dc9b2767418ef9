/**
 * A voice-activity-like model the way PyTorch exports one (cf. issue #13, "Weights left behind"):
 * a chunk of features and a scalar sample rate; a feature window (a large float table multiplied
 * in, no layer's weight); an encoder MatMul; then an If on the sample rate whose branches each run
 * an LSTM whose W/R come through PyTorch's gate re-ordering (i, f, g, o → ONNX's i, o, f, c):
 *   16 kHz branch: W = Unsqueeze(Concat(Slice × 4 of W_pt)), R = Unsqueeze(Gather(R_pt, constant rows))
 *   8 kHz branch:  W, R = Unsqueeze(Concat(Split(W_pt / R_pt) re-ordered))
 * and a MatMul + Sigmoid head reading an outer-scope weight. Outputs: the head's 8 probabilities
 * and the LSTM's last hidden state. Opset 13, seeded weights.
 */
import { attr, makeGraph, makeNode } from '../onnx/build';
import type { Model, Node, Tensor } from '../onnx/types';
import { f32, i64, INT64, modelAt, vi, FLOAT } from './fixture-kit';
import { randomFloats, seeded, type Rng } from './random';

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
