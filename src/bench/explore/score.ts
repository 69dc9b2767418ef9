/**
 * The score of one candidate model in the trade-off explorer: its outputs on the plan's fidelity
 * sets compared with the original's (metrics.ts, through compareRuns), and labeled accuracy read
 * from the same outputs when the plan has a labeled set (its batches are the fidelity sets, see
 * plan.ts), so a candidate is run over its inputs once.
 */
import { AppError } from '../../core/errors';
import { classOutput, compareRuns, type ModelPlan, type OutputValues, type RunSession } from '../evaluate';
import { accuracy, argmaxRows, classesOf, worstCosine } from '../metrics';

/** The number the explorer optimises: labeled accuracy, top-1 agreement with the original, or worst cosine. */
export type MetricKind = 'accuracy' | 'top1' | 'cosine';

export const METRIC_LABELS: Record<MetricKind, string> = {
  accuracy: 'labeled accuracy',
  top1: 'top-1 agreement with the original',
  cosine: 'cosine similarity to the original (worst input set)',
};

export interface Score {
  /** correct / total on the labeled set (when the plan has one) */
  accuracy?: number;
  correct?: number;
  total?: number;
  /** top-1 agreement with the original, pooled over rows (lowest over outputs) */
  top1: number;
  /** cosine similarity to the original: worst over input sets and outputs */
  cosine: number;
  /** SQNR in dB: worst over sets and outputs */
  sqnrDb: number;
  /** mean KL(original || candidate): largest over outputs */
  kl: number;
}

/** The value of `kind` in a score (NaN when a labeled metric is asked without labels). */
export function metricOf(score: Score, kind: MetricKind): number {
  if (kind === 'accuracy') return score.accuracy ?? NaN;
  return kind === 'top1' ? score.top1 : score.cosine;
}

/** The default metric: accuracy when there are labels, else cosine. */
export function defaultMetric(plan: ModelPlan): MetricKind {
  return plan.labeled ? 'accuracy' : 'cosine';
}

/** Runs every fidelity set of the plan through a session. */
export async function runSets(session: RunSession, plan: ModelPlan, signal?: AbortSignal): Promise<OutputValues[][]> {
  const out: OutputValues[][] = [];
  for (const set of plan.fidelitySets) {
    if (signal?.aborted) throw new AppError('aborted', 'Cancelled.');
    out.push((await session.run(set)).outputs);
  }
  return out;
}

/** Scores a candidate's outputs against the reference's on the same plan. */
export function scoreOutputs(plan: ModelPlan, reference: readonly (readonly OutputValues[])[], outputs: readonly (readonly OutputValues[])[]): Score {
  const fid = compareRuns(reference, outputs);
  const nan = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  const score: Score = {
    top1: Math.min(...fid.map((f) => nan(f.top1.rate))),
    // outputs ~0 in both models have no cosine (metrics.ts); all of them ~0: they agree to NEAR_ZERO
    cosine: nan(worstCosine(fid) ?? 1),
    sqnrDb: Math.min(...fid.map((f) => nan(f.sqnrDb.worst))),
    kl: Math.max(...fid.map((f) => (Number.isNaN(f.kl.mean) ? Infinity : f.kl.mean))),
  };
  const labeled = plan.labeled;
  if (labeled) {
    const labels = labeled.set.labels;
    const classes = Math.max(labeled.set.classNames.length, ...Array.from(labels, (l) => l + 1));
    const predictions = new Int32Array(labels.length);
    let at = 0;
    for (const set of outputs) {
      const o = classOutput(set, classes, labeled.output);
      const rows = argmaxRows(o.data, classesOf(o.dims, o.data.length));
      predictions.set(rows.subarray(0, Math.max(0, Math.min(rows.length, labels.length - at))), at);
      at += rows.length;
    }
    if (at !== labels.length) throw new AppError('invalid-argument', `the model gave ${at} predictions for ${labels.length} labeled samples`);
    const acc = accuracy(predictions, labels, classes);
    score.accuracy = acc.accuracy;
    score.correct = acc.correct;
    score.total = acc.total;
  }
  return score;
}
