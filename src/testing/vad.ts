/**
 * A voice-activity-like model (the shape of Silero-VAD-style exports): an audio frame
 * `input float32[1, ?]` (unnamed length), a sample-rate scalar `sr int64[]` and a recurrent
 * `state float32[2, 1, 64]`; outputs a probability per frame `output [1, 1]` and the next state
 * `stateN [2, 1, 64]`. Two MatMul layers carry the weights. Used where a test needs inputs that
 * are not data (a scalar rate, a state) and a scalar output.
 */
import { attr, makeGraph, makeModel, makeNode, makeValueInfo } from '../onnx/build';
import { makeTensor } from '../onnx/tensor';
import { DataType, type Model } from '../onnx/types';
import { gaussian } from '../compress/testing/fixtures';
import { seeded } from './random';

export const VAD_STATE = [2, 1, 64];

export function vadModel(seed = 11): Model {
  const rng = seeded(seed);
  const inits = [
    makeTensor('rnn.weight', DataType.FLOAT, [128, 64], gaussian(rng, 128 * 64, Math.sqrt(1 / 128))),
    makeTensor('head.weight', DataType.FLOAT, [64, 1], gaussian(rng, 64, Math.sqrt(1 / 64))),
    makeTensor('head.bias', DataType.FLOAT, [1], [0.1]),
    makeTensor('flat_shape', DataType.INT64, [2], new BigInt64Array([1n, 128n])),
    makeTensor('state_shape', DataType.INT64, [3], new BigInt64Array(VAD_STATE.map(BigInt))),
    makeTensor('rate_unit', DataType.FLOAT, [], [16000]),
  ];
  const nodes = [
    makeNode('Abs', ['input'], ['mag'], [], { name: 'energy.abs' }),
    makeNode('ReduceMean', ['mag'], ['energy'], [attr.ints('axes', [1]), attr.int('keepdims', 1)], { name: 'energy.mean' }),
    makeNode('Cast', ['sr'], ['sr_f'], [attr.int('to', DataType.FLOAT)], { name: 'rate.cast' }),
    makeNode('Div', ['sr_f', 'rate_unit'], ['rate'], [], { name: 'rate.scale' }),
    makeNode('Mul', ['energy', 'rate'], ['e'], [], { name: 'energy.rate' }),
    makeNode('Reshape', ['state', 'flat_shape'], ['h0'], [], { name: 'rnn.flatten' }),
    makeNode('MatMul', ['h0', 'rnn.weight'], ['h1'], [], { name: 'rnn' }),
    makeNode('Add', ['h1', 'e'], ['h2'], [], { name: 'rnn.input' }),
    makeNode('Tanh', ['h2'], ['hidden'], [], { name: 'rnn.act' }),
    makeNode('Concat', ['hidden', 'hidden'], ['h3'], [attr.int('axis', 1)], { name: 'state.concat' }),
    makeNode('Reshape', ['h3', 'state_shape'], ['stateN'], [], { name: 'state.reshape' }),
    makeNode('MatMul', ['hidden', 'head.weight'], ['logit0'], [], { name: 'head' }),
    makeNode('Add', ['logit0', 'head.bias'], ['logit'], [], { name: 'head.add' }),
    makeNode('Sigmoid', ['logit'], ['output'], [], { name: 'head.sigmoid' }),
  ];
  const graph = makeGraph({
    name: 'vad',
    inputs: [makeValueInfo('input', DataType.FLOAT, [1, null]), makeValueInfo('sr', DataType.INT64, []), makeValueInfo('state', DataType.FLOAT, VAD_STATE)],
    outputs: [makeValueInfo('output', DataType.FLOAT, [1, 1]), makeValueInfo('stateN', DataType.FLOAT, VAD_STATE)],
    initializers: inits,
    nodes,
  });
  return makeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'onnx-compression-studio tests', graph });
}

/** A mono 16-bit PCM wav file: a tone that comes and goes over `seconds`, at `rate` Hz. */
export function toneWav(seconds: number, rate = 16000): Uint8Array {
  const n = Math.round(seconds * rate);
  const out = new Uint8Array(44 + n * 2);
  const v = new DataView(out.buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  text(0, 'RIFF');
  v.setUint32(4, 36 + n * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  text(36, 'data');
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const envelope = Math.sin(Math.PI * 2 * 1.5 * t) > 0 ? 0.6 : 0.05;
    v.setInt16(44 + i * 2, Math.round(envelope * Math.sin(2 * Math.PI * 440 * t) * 32767), true);
  }
  return out;
}
