/** The compression progress line (no store import: tested under Node). */

/** What the line reads of a compress job (CompressJob's fields). */
export interface ProgressState {
  stage: string;
  done: number;
  total: number;
  layerKey: string;
  rounds?: number;
  inputs?: { pass: number; passes: number; done: number; total: number };
}

/**
 * The line under the stage: `Layer 12 of 54 · /conv3/Conv`, `Sample 5 of 12`; with recovery
 * "sequential" the samples count over all rounds, so the round is said and the sample within it:
 * `Round 2 of 4 · sample 5 of 12`. While compressing with recovery, a pass of layer-input
 * statistics runs before the layers it serves: `Layer 4 of 21 · layer inputs (pass 2 of 3): sample 5 of 12`.
 * Recovery's check runs three models on each of its samples: `Sample 5 of 16 · original, round to nearest, recovered`.
 */
export function progressLine(job: ProgressState, fraction: number): string {
  if (job.total <= 0) return `${Math.round(fraction * 100)}%`;
  if (job.stage === 'check') return `Sample ${job.done} of ${job.total} · original, round to nearest, recovered`;
  if (job.stage !== 'recover') {
    const layer = `Layer ${job.done} of ${job.total}`;
    // a pass of layer-input statistics runs before the layers it serves
    if (job.inputs) return `${layer} · layer inputs${job.inputs.passes > 1 ? ` (pass ${job.inputs.pass + 1} of ${job.inputs.passes})` : ''}: sample ${job.inputs.done} of ${job.inputs.total}`;
    return `${layer}${job.layerKey ? ` · ${job.layerKey}` : ''}`;
  }
  const rounds = job.rounds ?? 1;
  if (rounds <= 1) return `Sample ${job.done} of ${job.total}`;
  const per = Math.max(1, Math.round(job.total / rounds));
  const round = Math.min(rounds, Math.max(1, Math.ceil(job.done / per)));
  return `Round ${round} of ${rounds} · sample ${job.done - (round - 1) * per} of ${per}`;
}
