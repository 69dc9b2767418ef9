/**
 * Recurrent state fed back between frames: which state input pairs with which output, and, in
 * onnxruntime-node on the voice-activity-like fixture, each frame's state is the original model's
 * next state of the frame before (within a file; each file starts from the given value).
 */
import { AppError } from '../core/errors';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../onnx/codec';
import type { IoSummary } from '../onnx/summary';
import { toneWav, vadModel, VAD_STATE } from '../testing/vad';
import { decodeWav } from './audio';
import { assembleAudio } from './data-load';
import { defaultDescription, parseDataDescription, serializeDataDescription } from './dataset';
import { ortRunSession } from './evaluate';
import { feedBackStates, feedbackPairs, statePairs } from './feedback';

const io = (name: string, dtype: string, shape: (number | string)[]): IoSummary => ({ name, dtype, shape }) as IoSummary;

describe('statePairs', () => {
  it('pairs a state input with the output named after it, of the same dtype and shape', () => {
    const inputs = [io('input', 'float32', [1, '?']), io('sr', 'int64', []), io('state', 'float32', [2, 1, 128])];
    const outputs = [io('output', 'float32', [1, 1]), io('stateN', 'float32', [2, 1, 128])];
    expect(statePairs(inputs, outputs)).toEqual([{ input: 'state', output: 'stateN' }]);
  });
  it('LSTM h0/c0 -> hn/cn, and past key/values -> present', () => {
    const inputs = [io('x', 'float32', [1, 10, 40]), io('h0', 'float32', [1, 1, 64]), io('c0', 'float32', [1, 1, 64])];
    const outputs = [io('y', 'float32', [1, 10, 64]), io('hn', 'float32', [1, 1, 64]), io('cn', 'float32', [1, 1, 64])];
    expect(statePairs(inputs, outputs)).toEqual([
      { input: 'h0', output: 'hn' },
      { input: 'c0', output: 'cn' },
    ]);
    const kv = [io('input_ids', 'int64', [1, 's']), io('past_key_values.0.key', 'float32', [1, 4, 'p', 16])];
    const present = [io('logits', 'float32', [1, 's', 100]), io('present.0.key', 'float32', [1, 4, 'q', 16])];
    expect(statePairs(kv, present)).toEqual([{ input: 'past_key_values.0.key', output: 'present.0.key' }]);
  });
  it('leaves out a state with no output of its shape, or two equally likely ones', () => {
    expect(statePairs([io('state', 'float32', [2, 64])], [io('out', 'float32', [1, 1])])).toEqual([]);
    expect(statePairs([io('state', 'float32', [2, 64])], [io('a', 'float32', [2, 64]), io('b', 'float32', [2, 64])])).toEqual([]);
    // not a state by name: never fed back
    expect(statePairs([io('x', 'float32', [2, 64])], [io('y', 'float32', [2, 64])])).toEqual([]);
  });
});

describe('feedBackStates on the voice-activity fixture (onnxruntime-node)', () => {
  const model = vadModel();
  const bytes = encodeModel(model);
  const inputs = [io('input', 'float32', [1, '?']), io('sr', 'int64', []), io('state', 'float32', VAD_STATE)];
  const outputs = [io('output', 'float32', [1, 1]), io('stateN', 'float32', VAD_STATE)];
  const d = { ...defaultDescription(), audio: { sampleRate: 16000, frame: 512 } };
  const wav = (name: string, seconds: number) => {
    const a = decodeWav(name, toneWav(seconds));
    return { path: name, samples: a.samples, sampleRate: a.sampleRate };
  };

  it('each frame gets the state the original left after the frame before; each file starts from zeros; the summary says so', async () => {
    const loaded = assembleAudio([wav('a.wav', 0.2), wav('b.wav', 0.1)], inputs, d);
    expect(loaded.streams).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
    const pairs = feedbackPairs(loaded, inputs, outputs);
    expect(pairs).toEqual([{ input: 'state', output: 'stateN' }]);
    const session = await ort.InferenceSession.create(bytes);
    try {
      const run = ortRunSession(ort.Tensor, session);
      const fed = await feedBackStates(loaded, pairs, run);
      const state = (k: number) => fed.sets![k][2].data as Float32Array;
      expect(Array.from(state(0)).every((v) => v === 0)).toBe(true);
      expect(Array.from(state(6)).every((v) => v === 0)).toBe(true); // b.wav starts again
      for (const k of [1, 2, 5, 7, 8]) {
        const before = await run.run(fed.sets![k - 1]);
        const next = before.outputs.find((o) => o.name === 'stateN')!.data;
        expect(Array.from(state(k))).toEqual(Array.from(next));
        expect(Math.max(...Array.from(state(k), Math.abs))).toBeGreaterThan(0.01);
      }
      expect(fed.summary).toMatch(/; state = stateN of the previous frame, run by the original model \(zeros \[2, 1, 64\] at each file's start\)/);
      expect(fed.summary).not.toMatch(/state = zeros \[2, 1, 64\] \(set it/);
      // the frames' audio and the rate are untouched
      expect(fed.sets![3][0].data).toBe(loaded.sets![3][0].data);
      expect(fed.sets![3][1].data).toEqual(loaded.sets![3][1].data);
    } finally {
      await session.release();
    }
  });

  it("a frame the original cannot run on is an error naming what was fed and the runtime's message, not an internal error", async () => {
    const loaded = assembleAudio([wav('a.wav', 0.1)], inputs, d);
    const failing = { outputNames: ['output', 'stateN'], run: async () => Promise.reject(new Error('Pad reflect: pre-pad (96) exceeds maximum allowed (31)\nmore')) };
    const err = await feedBackStates(loaded, feedbackPairs(loaded, inputs, outputs), failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toBe('the original model does not run on the audio frames (input float32[1, 512], sr int64[], state float32[2, 1, 64]): Pad reflect: pre-pad (96) exceeds maximum allowed (31)');
    // a frame length guessed from the dim's name: said, with the dim to size
    const guessed = await feedBackStates({ ...loaded, guessedDim: 'sequence' }, feedbackPairs(loaded, inputs, outputs), failing).catch((e: unknown) => e);
    expect((guessed as AppError).message).toMatch(/; the frame length was guessed from the name of dim "sequence": set its size \(--dims sequence=N in the CLI\)$/);
  });

  it('`feedback: {}` turns it off; a pair naming no output is an error naming it; the key round-trips in data.json', () => {
    const loaded = assembleAudio([wav('a.wav', 0.1)], inputs, { ...d, feedback: {} });
    expect(feedbackPairs(loaded, inputs, outputs)).toEqual([]);
    const wrong = assembleAudio([wav('a.wav', 0.1)], inputs, { ...d, feedback: { state: 'hidden' } });
    expect(() => feedbackPairs(wrong, inputs, outputs)).toThrow('feedback: the model has no output "hidden" to feed into "state"');
    const again = parseDataDescription(JSON.parse(serializeDataDescription({ ...d, feedback: { state: 'stateN' } })));
    expect(again.feedback).toEqual({ state: 'stateN' });
    expect(() => parseDataDescription({ ...JSON.parse(serializeDataDescription(d)), feedback: { state: 3 } })).toThrow(/feedback\["state"\]/);
  });
});
