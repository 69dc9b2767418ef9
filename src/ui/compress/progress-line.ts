/** The compression progress line (no store import: tested under Node). */

/** What the line reads of a compress job (CompressJob's fields). */
export interface ProgressState {
  stage: string;
  done: number;
  total: number;
  layerKey: string;
  rounds?: number;
}

/**
 * The line under the stage: `Layer 12 of 54 · /conv3/Conv`, `Sample 5 of 12`; with recovery
 * "sequential" the samples count over all rounds, so the round is said and the sample within it:
 * `Round 2 of 4 · sample 5 of 12`.
 */
export function progressLine(job: ProgressState, fraction: number): string {
  if (job.total <= 0) return `${Math.round(fraction * 100)}%`;
  if (job.stage !== 'recover') return `Layer ${job.done} of ${job.total}${job.layerKey ? ` · ${job.layerKey}` : ''}`;
  const rounds = job.rounds ?? 1;
  if (rounds <= 1) return `Sample ${job.done} of ${job.total}`;
  const per = Math.max(1, Math.round(job.total / rounds));
  const round = Math.min(rounds, Math.max(1, Math.ceil(job.done / per)));
  return `Round ${round} of ${rounds} · sample ${job.done - (round - 1) * per} of ${per}`;
}
