/**
 * One model on one runtime, measured the same way by the page's bench worker (onnxruntime-web)
 * and the CLI's `eval` (onnxruntime-node): the runtime is passed in as a RunSession, so this code
 * never imports a runtime.
 *
 * Per model: session creation (timed by the caller), the first run, then runs repeated until the
 * median is stable (latency.ts), the outputs on the fidelity input sets, and labeled accuracy
 * (batched). Fidelity compares two models' outputs on the same sets (metrics.ts).
 */
import { AppError } from '../core/errors';
import { float16ToFloat32 } from '../core/float16';
import { latencyStats, repeatUntilStable, warmUp, type LatencyStats, type RepeatOptions, type RepeatStop, type WarmUpOptions } from './latency';
import { labeledBatch, type LabeledSet } from './labeled';
import { accuracy, argmaxRows, classesOf, compareOutput, summarizeFidelity, type AccuracyResult, type OutputFidelity } from './metrics';
import type { BenchTensor, TensorDtype } from './tensor';

/** A numeric output as floats (integers and float16 converted; bool as 0/1). */
export interface OutputValues {
  name: string;
  dims: number[];
  data: Float32Array | Float64Array;
}

/** A loaded model on some runtime. `run` times the runtime's own run call only (ms). */
export interface RunSession {
  readonly outputNames: readonly string[];
  run(feeds: readonly BenchTensor[]): Promise<{ ms: number; outputs: OutputValues[] }>;
}

/** What this code reads of an onnxruntime (web or node) output tensor. */
export interface OrtLikeOutput {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  /** web: where the data lives ('cpu', 'cpu-pinned', 'gpu-buffer', ...); node tensors are on the CPU */
  readonly location?: string;
  getData?(releaseData?: boolean): Promise<unknown>;
  dispose?(): void;
}

/** What this code uses of an onnxruntime (web or node) InferenceSession. */
export interface OrtLikeSession {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtLikeOutput>>;
}

/** onnxruntime's Tensor constructor (overloaded per dtype; the data's type matches the dtype by construction). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OrtTensorConstructor = new (type: any, data: any, dims: readonly number[]) => unknown;

/**
 * An onnxruntime session (web or node: passed in, never imported) as a RunSession: fresh input
 * tensors every run (a session may take ownership of what it is fed), only session.run timed,
 * GPU-resident outputs downloaded and then disposed, outputs as floats.
 */
export function ortRunSession(Tensor: OrtTensorConstructor, session: OrtLikeSession): RunSession {
  const onCpu = (v: OrtLikeOutput) => v.location === undefined || v.location === 'cpu' || v.location === 'cpu-pinned';
  return {
    outputNames: session.outputNames,
    async run(feeds) {
      const f: Record<string, unknown> = {};
      for (const t of feeds) f[t.name] = new Tensor(t.dtype, t.data.slice(), t.dims);
      const t0 = performance.now();
      const result = await session.run(f);
      const ms = performance.now() - t0;
      const outputs: OutputValues[] = [];
      for (const name of session.outputNames) {
        const v = result[name];
        if (!v) continue;
        const data = onCpu(v) || !v.getData ? v.data : await v.getData(true);
        const o = toOutputValues(name, v.type, v.dims, data);
        if (o) outputs.push(o);
      }
      for (const v of Object.values(result)) if (!onCpu(v)) v.dispose?.();
      return { ms, outputs };
    },
  };
}

/** An output tensor of a runtime (type name as onnxruntime gives it) as floats; undefined for strings and the like. */
export function toOutputValues(name: string, type: string, dims: readonly number[], data: unknown): OutputValues | undefined {
  const d = [...dims];
  if (type === 'float32' && data instanceof Float32Array) return { name, dims: d, data };
  if (type === 'float16') {
    if (data instanceof Uint16Array) {
      const out = new Float32Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = float16ToFloat32(data[i]);
      return { name, dims: d, data: out };
    }
    return { name, dims: d, data: Float32Array.from(data as ArrayLike<number>) };
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return { name, dims: d, data: Float64Array.from(data, (v) => Number(v)) };
  }
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    return { name, dims: d, data: Float64Array.from(data as unknown as ArrayLike<number>) };
  }
  return undefined;
}

export type ModelPhase = 'first-run' | 'warm-up' | 'latency' | 'fidelity' | 'accuracy';

export interface ModelProgress {
  phase: ModelPhase;
  done: number;
  total: number;
}

export interface LabeledPlan {
  set: LabeledSet;
  /** the input's dtype */
  dtype: TensorDtype;
  /** samples per run */
  batch: number;
  /** the output holding class scores; undefined: the first output whose last dim fits the labels */
  output?: string;
}

export interface ModelPlan {
  /** the inputs timed for latency */
  latencyInputs: readonly BenchTensor[];
  /** items in one latency run (its batch size) */
  latencyBatch: number;
  /** input sets whose outputs are kept for fidelity */
  fidelitySets: readonly (readonly BenchTensor[])[];
  labeled?: LabeledPlan;
  repeat?: Partial<RepeatOptions>;
  /** the untimed runs after the first one (latency.ts warmUp) */
  warmUp?: Partial<WarmUpOptions>;
}

export interface ModelAccuracy extends AccuracyResult {
  /** the output read as class scores */
  output: string;
  /** the predicted class per sample */
  predictions: Int32Array;
}

export interface ModelRun {
  firstRunMs: number;
  /** the warm-up runs after the first one, not among the timed runs (each run's ms) */
  warmUpMs: number[];
  latency: LatencyStats;
  stop: RepeatStop;
  /** outputs per fidelity set */
  outputs: OutputValues[][];
  accuracy?: ModelAccuracy;
}

export interface EvalHooks {
  signal?: AbortSignal;
  onProgress?: (p: ModelProgress) => void;
  now?: () => number;
}

function checkAbort(signal?: AbortSignal) {
  if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
}

/** The output read as class scores for `classes` classes (the named one, or the first whose last dim is `classes`). */
export function classOutput(outputs: readonly OutputValues[], classes: number, name?: string): OutputValues {
  if (name !== undefined) {
    const o = outputs.find((x) => x.name === name);
    if (!o) throw new AppError('invalid-argument', `the model has no output "${name}"`);
    return o;
  }
  const fit = outputs.find((o) => o.dims.length >= 1 && o.dims[o.dims.length - 1] === classes) ?? outputs.find((o) => o.dims.length >= 1 && o.dims[o.dims.length - 1] >= classes);
  if (!fit) throw new AppError('invalid-argument', `no output has ${classes} class scores along its last axis (outputs: ${outputs.map((o) => `${o.name} [${o.dims.join(', ')}]`).join(', ')})`);
  return fit;
}

/** Runs the labeled set in batches and scores the predictions. */
export async function labeledAccuracy(session: RunSession, plan: LabeledPlan, hooks: EvalHooks = {}): Promise<ModelAccuracy> {
  const n = plan.set.labels.length;
  const classes = Math.max(plan.set.classNames.length, ...Array.from(plan.set.labels, (l) => l + 1));
  const predictions = new Int32Array(n);
  const batch = Math.max(1, plan.batch);
  let outputName = '';
  for (let start = 0; start < n; start += batch) {
    checkAbort(hooks.signal);
    const input = labeledBatch(plan.set, plan.dtype, start, batch);
    const { outputs } = await session.run([input]);
    const out = classOutput(outputs, classes, plan.output);
    outputName = out.name;
    const rows = argmaxRows(out.data, classesOf(out.dims, out.data.length));
    const count = input.dims[0];
    if (rows.length !== count) throw new AppError('invalid-argument', `output "${out.name}" gives ${rows.length} rows for a batch of ${count}`);
    predictions.set(rows, start);
    hooks.onProgress?.({ phase: 'accuracy', done: Math.min(n, start + batch), total: n });
  }
  return { ...accuracy(predictions, plan.set.labels, classes), output: outputName, predictions };
}

/** Measures one loaded model: first run, stable latency, fidelity outputs, labeled accuracy. */
export async function measureModel(session: RunSession, plan: ModelPlan, hooks: EvalHooks = {}): Promise<ModelRun> {
  const { signal, onProgress } = hooks;
  checkAbort(signal);
  onProgress?.({ phase: 'first-run', done: 0, total: 1 });
  const first = await session.run(plan.latencyInputs);
  const warmUpMs = await warmUp(async () => (await session.run(plan.latencyInputs)).ms, first.ms, plan.warmUp, {
    signal,
    now: hooks.now,
    onProgress: (done) => onProgress?.({ phase: 'warm-up', done, total: 0 }),
  });
  const { samplesMs, stop } = await repeatUntilStable(async () => (await session.run(plan.latencyInputs)).ms, plan.repeat, {
    signal,
    now: hooks.now,
    onProgress: (done, total) => onProgress?.({ phase: 'latency', done, total }),
  });
  const outputs: OutputValues[][] = [];
  for (const [i, set] of plan.fidelitySets.entries()) {
    checkAbort(signal);
    outputs.push((await session.run(set)).outputs);
    onProgress?.({ phase: 'fidelity', done: i + 1, total: plan.fidelitySets.length });
  }
  const acc = plan.labeled ? await labeledAccuracy(session, plan.labeled, hooks) : undefined;
  return { firstRunMs: first.ms, warmUpMs, latency: latencyStats(samplesMs, plan.latencyBatch), stop, outputs, accuracy: acc };
}

/** Fidelity of `test` outputs against `reference` outputs on the same sets, per output. */
export function compareRuns(reference: readonly (readonly OutputValues[])[], test: readonly (readonly OutputValues[])[]): OutputFidelity[] {
  if (reference.length !== test.length) throw new AppError('invalid-argument', `${test.length} output sets to compare with ${reference.length}`);
  return summarizeFidelity(
    reference.map((set, i) =>
      set.map((r) => {
        const t = test[i].find((o) => o.name === r.name);
        if (!t) throw new AppError('invalid-argument', `the compressed model has no output "${r.name}"`);
        return compareOutput(r.name, r.data, t.data, r.dims);
      }),
    ),
  );
}

/** The batch size the model's input allows for labeled runs: its first dim when fixed, else `preferred`. */
export function batchFor(shape: readonly (number | string)[] | null, preferred = 64): number {
  const first = shape?.[0];
  return typeof first === 'number' && first > 0 ? first : preferred;
}
