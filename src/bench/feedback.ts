/**
 * Recurrent state fed back between frames (issue #11): a streaming model (a voice-activity
 * detector, a keyword spotter with a cache) reads its state as an input and writes the next state
 * as an output. Fed zeros every frame, it is measured on states it never sees in use. Here the
 * original model runs over each audio file's frames in order, and each frame's state input becomes
 * the state the original model left after the frame before (the given value, zeros by default, at
 * each file's start). Every consumer then measures on those states: calibration, the runtime
 * check, Benchmark and Explore; a compressed model is fed the original's states (teacher-forced),
 * so its per-frame fidelity is not blurred by drift it did not cause.
 *
 * The runtime comes in as a RunSession (onnxruntime-web in the data worker, onnxruntime-node in
 * the CLI), so this code never imports one.
 */
import { AppError, throwIfAborted } from '../core/errors';
import type { IoSummary } from '../onnx/summary';
import type { LoadedData } from './data-load';
import { statePairs, type StatePair } from './describe-inputs';
import type { RunSession } from './evaluate';

export { statePairs, type StatePair };
import { allocate, type BenchTensor } from './tensor';

/**
 * The pairs to feed back for `loaded`: the description's (`feedback`: input -> output; `{}` none),
 * else, for audio (frames of a stream), every detected pair. Pairs naming an input or output the
 * model does not have are an error naming it.
 */
export function feedbackPairs(loaded: LoadedData, inputs: readonly IoSummary[], outputs: readonly IoSummary[]): StatePair[] {
  const given = loaded.description.feedback;
  if (given === undefined) return loaded.kind === 'audio' && loaded.sets ? statePairs(inputs, outputs) : [];
  const pairs: StatePair[] = [];
  for (const [input, output] of Object.entries(given)) {
    if (!inputs.some((i) => i.name === input)) throw new AppError('invalid-argument', `feedback: the model has no input "${input}"`);
    if (!outputs.some((o) => o.name === output)) throw new AppError('invalid-argument', `feedback: the model has no output "${output}" to feed into "${input}"`);
    pairs.push({ input, output });
  }
  if (pairs.length > 0 && !loaded.sets) throw new AppError('invalid-argument', 'feedback needs input sets (audio frames or tensor files), not a labeled set');
  return pairs;
}

export interface FeedbackOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** An output value as a tensor of the input's dtype and dims. */
function asInput(like: BenchTensor, data: Float32Array | Float64Array, dims: readonly number[]): BenchTensor {
  if (data.length !== like.data.length) {
    throw new AppError('invalid-argument', `feedback: the output has ${data.length} values ([${dims.join(', ')}]) and input "${like.name}" takes ${like.data.length} ([${like.dims.join(', ')}])`);
  }
  const out = allocate(like.dtype, data.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) for (let i = 0; i < data.length; i++) out[i] = BigInt(Math.round(data[i]));
  else (out as Float32Array).set(data);
  return { ...like, data: out };
}

/**
 * Runs the original model (`session`) over every stream's samples in order and gives each
 * sample's state inputs the outputs of the sample before in its stream (a stream: one audio file;
 * its first frame keeps the given value). Returns new loaded data (the sets replaced, the
 * summary and notes saying what the states are).
 */
export async function feedBackStates(loaded: LoadedData, pairs: readonly StatePair[], session: RunSession, options: FeedbackOptions = {}): Promise<LoadedData> {
  if (pairs.length === 0 || !loaded.sets) return loaded;
  for (const p of pairs) {
    if (!session.outputNames.includes(p.output)) throw new AppError('invalid-argument', `feedback: the model has no output "${p.output}"`);
  }
  const streams = loaded.streams ?? loaded.sets.map(() => 0);
  const sets: BenchTensor[][] = [];
  let carried: Map<string, BenchTensor> | undefined;
  for (let k = 0; k < loaded.sets.length; k++) {
    throwIfAborted(options.signal);
    const fresh = k === 0 || streams[k] !== streams[k - 1];
    const set = fresh || !carried ? loaded.sets[k] : loaded.sets[k].map((t) => carried!.get(t.name) ?? t);
    sets.push(set);
    let outputs: Awaited<ReturnType<RunSession['run']>>['outputs'];
    try {
      ({ outputs } = await session.run(set));
    } catch (e) {
      if (e instanceof AppError) throw e;
      // the data does not fit the model (a wrong frame length, a missing size): say what was fed
      const fed = set.map((t) => `${t.name} ${t.dtype}[${t.dims.join(', ')}]`).join(', ');
      throw new AppError('invalid-argument', `the original model does not run on ${loaded.kind === 'audio' ? 'the audio frames' : 'the samples'} (${fed}): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}${loaded.guessedDim ? `; the frame length was guessed from the name of dim "${loaded.guessedDim}": set its size (--dims ${loaded.guessedDim}=N in the CLI)` : ''}`);
    }
    carried = new Map();
    for (const p of pairs) {
      const o = outputs.find((v) => v.name === p.output);
      const like = set.find((t) => t.name === p.input);
      if (!o || !like) throw new AppError('invalid-argument', `feedback: output "${p.output}" or input "${p.input}" is missing in a run`);
      carried.set(p.input, asInput(like, o.data, o.dims));
    }
    options.onProgress?.(k + 1, loaded.sets.length);
  }
  const unit = loaded.kind === 'audio' ? 'frame' : 'sample';
  const stream = loaded.kind === 'audio' ? "each file's start" : 'the start';
  let summary = loaded.summary;
  const notes = (loaded.otherInputs ?? []).map((note) => {
    const p = pairs.find((q) => note.startsWith(`${q.input} =`));
    if (!p) return note;
    const start = note.slice(p.input.length + 3).replace(/ \(set it[^)]*\)$/, '');
    const fed = `${p.input} = ${p.output} of the previous ${unit}, run by the original model (${start} at ${stream})`;
    summary = summary.replace(note, fed);
    return fed;
  });
  for (const p of pairs) {
    if (!notes.some((n) => n.startsWith(`${p.input} =`))) {
      const fed = `${p.input} = ${p.output} of the previous ${unit}, run by the original model`;
      notes.push(fed);
      summary = `${summary}; ${fed}`;
    }
  }
  return { ...loaded, sets, summary, otherInputs: notes, feedback: pairs.map((p) => ({ ...p })) };
}
