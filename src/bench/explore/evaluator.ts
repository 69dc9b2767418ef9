/**
 * Measures candidate recipes on one model: the same code in the page's explore workers
 * (onnxruntime-web, one wasm thread each), the CLI's `autotune` and the tests (onnxruntime-node);
 * the runtime comes in as `OpenSession`.
 *
 * Made fast for many candidates that each change a few layers:
 * - the clean-up passes (BatchNormalization folding, Constants to initializers, ...) run once,
 *   on a base copy; every candidate is compressed from that base with `cleanup: false`, so only
 *   the layers the candidate names are touched (compressModel clones structure, shares bytes);
 * - the original's outputs on the plan's inputs are computed once and kept as the reference;
 * - inputs are built once (the plan) and reused for every candidate.
 * The measured bytes are the ones a user gets: compressModel(original, recipe) runs the same
 * clean-up first, and compressing the cleaned base with the same recipe gives the same model.
 */
import { AppError, throwIfAborted } from '../../core/errors';
import { compressModel } from '../../compress/compress';
import { cloneModel } from '../../compress/graph-edit';
import { makeRecipe, type Recipe, type Target } from '../../compress/recipe';
import { encodeModel } from '../../onnx/codec';
import { findLayers } from '../../onnx/layers';
import { assignNodeNames } from '../../onnx/names';
import type { Model } from '../../onnx/types';
import type { LayerHessian } from '../../compress/recovery/hessian';
import type { Calibration } from '../../compress/activations/calibrate';
import type { ModelPlan, OutputValues, RunSession } from '../evaluate';
import { runSets, scoreOutputs, type Score } from './score';

export interface MeasureOptions {
  /** time the candidate's runs (default true) */
  latency?: boolean;
}

/** A loaded model on some runtime, released when done. */
export interface OpenedSession extends RunSession {
  release(): Promise<void>;
}

/** Loads model bytes into a runtime session. */
export type OpenSession = (bytes: Uint8Array) => Promise<OpenedSession>;

export interface Measured {
  score: Score;
  /** bytes of the compressed .onnx file */
  fileBytes: number;
  /** time spent compressing + encoding, and loading + running, in ms */
  compressMs: number;
  runMs: number;
  /** median latency of the plan's latency inputs on the runtime (LATENCY_RUNS runs after a warm-up), ms */
  latencyMs: number;
  /** layers the compressor refused (left as they were), with the reason */
  refused: { key: string; error: string }[];
}

/** The layers a recipe can name (the base's, after clean-up). */
export interface ExploreLayer {
  key: string;
  op: string;
}

export class CandidateEvaluator {
  private constructor(
    readonly plan: ModelPlan,
    readonly target: Target,
    private readonly base: Model,
    private readonly reference: OutputValues[][],
    private readonly open: OpenSession,
    /** the original model's score against itself (accuracy of the original; fidelity 1) */
    readonly baseline: Score,
    readonly layers: ExploreLayer[],
    readonly originalBytes: number,
    /** the original's latency, measured as a candidate's */
    readonly baselineLatencyMs: number,
    /** H of the layers' inputs on calibration samples: candidates asking for recovery use it */
    private readonly recovery?: ReadonlyMap<string, LayerHessian>,
    /** activation ranges on calibration samples: candidates asking for int8 activations use them */
    private readonly calibration?: Calibration,
  ) {}

  /**
   * Prepares a model (self-contained: external data inlined) for measuring: clean-up once, the
   * original's outputs once.
   */
  static async create(
    model: Model,
    plan: ModelPlan,
    open: OpenSession,
    options: { target?: Target; signal?: AbortSignal; recovery?: ReadonlyMap<string, LayerHessian>; calibration?: Calibration } = {},
  ): Promise<CandidateEvaluator> {
    const target = options.target ?? 'portable';
    const named = cloneModel(model);
    assignNodeNames(named);
    const originalBytes = encodeModel(named);
    const session = await openChecked(open, originalBytes, 'the original model');
    let reference: OutputValues[][];
    let latencyMs: number;
    try {
      reference = await runSets(session, plan, options.signal);
      latencyMs = await timeLatency(session, plan, options.signal);
    } finally {
      await session.release();
    }
    const baseline = scoreOutputs(plan, reference, reference);
    const base = compressModel(named, makeRecipe(target, {}), { signal: options.signal }).model;
    const originalKeys = new Set(findLayers(named).map((l) => l.key));
    const layers = findLayers(base)
      .filter((l) => originalKeys.has(l.key))
      .map((l) => ({ key: l.key, op: l.op }));
    return new CandidateEvaluator(plan, target, base, reference, open, baseline, layers, originalBytes.length, latencyMs, options.recovery, options.calibration);
  }

  /**
   * Times several recipes side by side in this one runtime: every model loaded, one warm-up run
   * each, then `rounds` rounds that run each model once in turn; the median per recipe (ms), in
   * the order given. Alternating runs share whatever else the machine does, so the models compare
   * fairly with each other (the Benchmark's side-by-side rounds, in one worker).
   */
  async timeSideBySide(recipes: readonly Recipe[], rounds = SIDE_BY_SIDE_ROUNDS, signal?: AbortSignal): Promise<number[]> {
    const sessions: OpenedSession[] = [];
    try {
      for (const recipe of recipes) {
        throwIfAborted(signal);
        const { model } = compressModel(this.base, { ...recipe, target: this.target, cleanup: false }, { signal, ...(this.recovery ? { recovery: this.recovery } : {}), ...(this.calibration ? { calibration: this.calibration } : {}) });
        sessions.push(await openChecked(this.open, encodeModel(model), 'a candidate model'));
      }
      for (const s of sessions) await s.run(this.plan.latencyInputs);
      const times = sessions.map(() => [] as number[]);
      for (let r = 0; r < rounds; r++) {
        for (const [i, s] of sessions.entries()) {
          throwIfAborted(signal);
          times[i].push((await s.run(this.plan.latencyInputs)).ms);
        }
      }
      return times.map((t) => t.sort((a, b) => a - b)[t.length >> 1]);
    } finally {
      for (const s of sessions) await s.release();
    }
  }

  /**
   * Compresses the base with `recipe` (its clean-up setting is ignored: done once already) and
   * scores it; `latency: false` skips the timed runs (the sensitivity scan needs only the score:
   * on a large image model they are most of a candidate's time), latencyMs is then NaN.
   */
  async measure(recipe: Recipe, signal?: AbortSignal, options: MeasureOptions = {}): Promise<Measured> {
    throwIfAborted(signal);
    const t0 = performance.now();
    const { model, report } = compressModel(this.base, { ...recipe, target: this.target, cleanup: false }, { signal, ...(this.recovery ? { recovery: this.recovery } : {}), ...(this.calibration ? { calibration: this.calibration } : {}) });
    const bytes = encodeModel(model);
    const t1 = performance.now();
    const session = await openChecked(this.open, bytes, 'a candidate model');
    let outputs: OutputValues[][];
    let latencyMs: number;
    try {
      outputs = await runSets(session, this.plan, signal);
      latencyMs = options.latency === false ? NaN : await timeLatency(session, this.plan, signal);
    } finally {
      await session.release();
    }
    const score = scoreOutputs(this.plan, this.reference, outputs);
    return {
      score,
      fileBytes: bytes.length,
      compressMs: t1 - t0,
      runMs: performance.now() - t1,
      latencyMs,
      refused: report.layers.filter((l) => l.error).map((l) => ({ key: l.key, error: l.error as string })),
    };
  }
}

/** Rounds of the side-by-side timing (each round runs every model once, in turn). */
export const SIDE_BY_SIDE_ROUNDS = 15;

/** Timed runs per candidate for its latency (after the fidelity runs and one warm-up run). */
export const LATENCY_RUNS = 5;

/** Median time of LATENCY_RUNS runs of the plan's latency inputs, after one warm-up run. */
async function timeLatency(session: RunSession, plan: ModelPlan, signal?: AbortSignal): Promise<number> {
  await session.run(plan.latencyInputs);
  const times: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    throwIfAborted(signal);
    times.push((await session.run(plan.latencyInputs)).ms);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function openChecked(open: OpenSession, bytes: Uint8Array, what: string): Promise<OpenedSession> {
  try {
    return await open(bytes);
  } catch (e) {
    throw new AppError('invalid-argument', `${what} does not load in the runtime: ${e instanceof Error ? e.message : String(e)}`);
  }
}
